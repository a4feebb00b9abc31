"""The virtual table on its own, in a small app: what a line shows (each cell's own
style, escapes, ellipsis, alignment), that a key scrolls at once to rows that have only
just arrived, and that the source hears at once which rows are on screen."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from tui.widgets.virtual_table import Column, VirtualTable

pytestmark = [pytest.mark.anyio]

COLUMNS = [Column("position", 8), Column("state", 12), Column("size", 6, justify="right")]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[int, int]] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, shown=lambda start, stop: self.shown.append((start, stop)))


def rows_of(cells: list[tuple[Text, ...]]):
    return lambda start, stop: cells[start:stop]


def line_text(table: VirtualTable, y: int) -> str:
    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return "".join(segment.text for segment in strips[y])


async def test_a_line_keeps_each_cell_style_and_escapes_what_it_shows():
    cells = [(Text("0@0"), Text("running"), Text("781 B")),  # under the cursor
             (Text("0@1"), Text("undecodable", style="bold red"), Text("781 B")),
             (Text("0@\x1b[2J"), Text("a state too long to fit"), Text("1 KiB"))]
    app = TableApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_source(len(cells), rows_of(cells))
        await pilot.pause()
        strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
        first = strips[2]
        styled = [s for s in first if s.text.strip() == "undecodable"]
        plain = [s for s in first if s.text.startswith("0@1")]
        assert styled and plain and styled[0].style and plain[0].style
        assert styled[0].style.bold and not plain[0].style.bold
        assert styled[0].style.color != plain[0].style.color  # red, as the screen asked
        second = "".join(s.text for s in strips[3])
        assert "\x1b" not in second and "\\x1b" in second  # written as an escape
        assert "a state too\u2026" in second  # cut at its column, with an ellipsis
        assert second.index("1 KiB") + len("1 KiB") == 8 + 1 + 12 + 1 + 6  # right-aligned
        assert all(strip.cell_length == table.scrollable_content_region.width
                   for strip in strips)


async def test_end_right_after_a_million_rows_arrive_shows_the_last_rows():
    few = [(Text(f"0@{n}"), Text("running"), Text("1 KiB")) for n in range(3)]

    def million(start: int, stop: int) -> list[tuple[Text, ...]]:
        return [(Text(f"0@{n}"), Text("running"), Text("1 KiB")) for n in range(start, stop)]

    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_source(len(few), rows_of(few))
        await pilot.pause()
        assert not table.show_vertical_scrollbar  # three rows fit
        # No pause in between: Textual has not laid the table out for a million rows yet.
        table.set_source(1_000_000, million)
        table.action_last()
        assert table.cursor_row == 999_999
        assert round(table.scroll_y) == 1_000_000 - table._body_height()
        assert app.shown[-1] == (1_000_000 - table._body_height(), 1_000_000)
        await pilot.pause()
        assert line_text(table, table.size.height - 1).startswith("0@999999")
