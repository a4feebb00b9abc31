"""The one way the console shows a decoded report: the sections of
`engine.reading.detail.report_sections` as a two-column table at the width it is given,
every value beside its key. Used by the Reports detail pane (live and offline) and by
Report now's preview.

A key wider than its column is folded after a dot (`transaction.state.log.` /
`  replication.factor`), never cut; values wrap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from engine.reading.detail import Section, report_sections
from engine.text import UNSAFE, printable

# The key column takes at most this share of the width, and never less than this many
# columns; the rest is the value's.
KEY_SHARE = 0.45
MIN_KEY = 14
MIN_VALUE = 20

Row = tuple[str, RenderableType]


def fold_key(key: str, width: int) -> Text:
    """`key` in lines of at most `width` characters, broken after dots (or anywhere in a
    part longer than the line), the later lines indented by two."""
    if len(key) <= width or width < 4:
        return Text(key)
    parts = [p + "." for p in key.split(".")]
    parts[-1] = parts[-1][:-1]
    lines: list[str] = []
    line = ""
    for part in parts:
        limit = width if not lines else width - 2
        if line and len(line) + len(part) > limit:
            lines.append(line)
            line = ""
            limit = width - 2
        while len(part) > limit:
            room = limit - len(line)
            line += part[:room]
            part = part[room:]
            lines.append(line)
            line = ""
            limit = width - 2
        line += part
    if line:
        lines.append(line)
    return Text("\n".join(lines[:1] + ["  " + x for x in lines[1:]]))


def key_width(keys: Iterable[str], width: int) -> int:
    """The key column's width for these keys in `width` columns."""
    longest = max((len(k) for k in keys), default=MIN_KEY)
    share = max(MIN_KEY, int(width * KEY_SHARE), width - MIN_VALUE - 2) \
        if width < MIN_KEY + MIN_VALUE + 2 else max(MIN_KEY, int(width * KEY_SHARE))
    return max(4, min(longest, share, width - 4))


def detail_table(sections: Sequence[Section], width: int, head: Sequence[Row] = (),
                 title: str | None = None) -> Table:
    """`head` rows (position, size, ...), then every section under its heading, in
    `width` columns."""
    keys = [k for k, _ in head] + [k for s in sections for k, _ in s.rows]
    kw = key_width(keys, width)
    table = Table(box=None, show_header=False, expand=True, padding=(0, 1), title=title,
                  title_justify="left", title_style="bold", pad_edge=False)
    table.add_column("key", style="bold", width=kw, no_wrap=True)
    table.add_column("value", overflow="fold", ratio=1)
    for key, value in head:
        if isinstance(value, Text) and UNSAFE.search(value.plain):
            value = Text(printable(value.plain), style=value.style)  # an entry name, an error
        table.add_row(fold_key(key, kw), value)
    for section in sections:
        style = "bold underline" if section.level == 1 else "bold italic"
        table.add_row(Text(section.title, style=style), "", end_section=False)
        for key, value in section.rows:
            table.add_row(fold_key(key, kw), Text(value))
    return table


def report_detail(fields: Mapping[str, Any] | None, now: float, width: int,
                  head: Sequence[Row] = (), title: str | None = None) -> Table:
    """A decoded record (None: only `head`) as the console shows it."""
    return detail_table(report_sections(fields, now) if fields is not None else [], width,
                        head, title)
