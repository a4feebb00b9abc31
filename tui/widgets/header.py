"""The one-line header every screen shows: which cluster, how reached, how many critical and
warning findings, the connection state and how long ago the cluster was read, read-only.

At 80 columns it still fits: the product name goes (the screens carry the `-narrow`
class, `ConsoleApp.HORIZONTAL_BREAKPOINTS`; the rule is in the app's styles, a widget's
own CSS cannot look at its screen) and the cluster's description is the part that gives
way, cut with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from engine.text import printable
from tui.model import fmt_age


def finding_counts(counts: Mapping[str, int]) -> Text:
    """`2 critical  1 warning` (`3 warnings`) from the findings per severity
    (`Evaluation.counts`), each only when there is one; empty when all is well."""
    critical = counts.get("critical", 0)
    warning = counts.get("warning", 0)
    parts: list[Text] = []
    if critical:
        parts.append(Text(f"{critical} critical", style="bold red"))
    if warning:
        parts.append(Text(f"{warning} warning{'' if warning == 1 else 's'}",
                          style="bold yellow"))
    return Text("  ").join(parts)


class ConsoleHeader(Horizontal):
    """Follows the app's `cluster_id`, `reached_via`, `conn_state`, `snapshot`, `health`,
    `read_at` and `now` reactives."""

    DEFAULT_CSS = """
    ConsoleHeader { height: 1; background: $primary-background; color: $text; }
    ConsoleHeader > Static { width: auto; padding: 0 1; text-wrap: nowrap; }
    ConsoleHeader > #hdr-title { text-style: bold; }
    ConsoleHeader > #hdr-cluster { width: 1fr; text-overflow: ellipsis; }
    ConsoleHeader > #hdr-findings { padding: 0 1; }
    ConsoleHeader > #hdr-read { color: $text-muted; padding: 0 1 0 0; }
    ConsoleHeader > #hdr-readonly { background: $warning; color: $background;
        text-style: bold; }
    ConsoleHeader > #hdr-screen { color: $text-muted; }
    """

    def __init__(self, screen_title: str) -> None:
        super().__init__()
        self._screen_title = screen_title
        self._widths: dict[str, int] = {}

    def _put(self, part: Static, text: Text) -> None:
        """Show `text` in one part of the header. The parts are as wide as their text: a
        text as wide as the last one needs no layout pass, which would draw the whole
        screen again (the age of the last read changes every second, its width seldom)."""
        width = text.cell_len
        same = self._widths.get(part.id or "") == width
        self._widths[part.id or ""] = width
        part.update(text, layout=not same)

    def compose(self) -> ComposeResult:
        yield Static("ps-console", id="hdr-title")
        yield Static(self._screen_title, id="hdr-screen")
        yield Static("", id="hdr-cluster")
        yield Static("", id="hdr-findings")
        yield Static("", id="hdr-state")
        yield Static("", id="hdr-read")
        yield Static(" READ-ONLY ", id="hdr-readonly")

    def on_mount(self) -> None:
        app = self.app
        self.query_one("#hdr-readonly").display = bool(getattr(app, "read_only", False))
        for name in ("cluster_id", "reached_via", "conn_state"):
            self.watch(app, name, self._refresh_text, init=False)
        for name in ("snapshot", "health", "now", "read_at"):
            self.watch(app, name, self._refresh_live, init=False)
        self._refresh_text()
        self._refresh_live()

    def _refresh_text(self, _value: object = None) -> None:
        app = self.app
        # A bundle's cluster id is what its records say: escaped like every such string.
        cid = printable(getattr(app, "cluster_id", "") or "?")
        # Text, not markup: a connect string may hold brackets (IPv6 literals).
        self._put(self.query_one("#hdr-cluster", Static), Text.assemble(
            "cluster ", (cid, "bold"), f" via {getattr(app, 'reached_via', '')}"))
        self._put(self.query_one("#hdr-state", Static),
                  Text(str(getattr(app, "conn_state", ""))))

    def _refresh_live(self, _value: object = None) -> None:
        """What moves with the clock: the findings and the age of the last read."""
        app: Any = self.app
        findings = self.query_one("#hdr-findings", Static)
        read = self.query_one("#hdr-read", Static)
        if getattr(app, "snapshot", None) is None:
            findings.display = read.display = False
            return
        health = getattr(app, "health", None)
        counts = finding_counts(health.counts if health is not None else {})
        findings.display = bool(counts)
        self._put(findings, counts)
        read_at = getattr(app, "read_at", None)
        read.display = read_at is not None
        if read_at is not None:
            self._put(read, Text(f"read {fmt_age(max(0.0, app.now - read_at))} ago"))
