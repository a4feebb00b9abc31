"""The one-line header every screen shows: which cluster, how reached, state, read-only."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class ConsoleHeader(Horizontal):
    """Follows the app's `cluster_id`, `reached_via` and `conn_state` reactives."""

    DEFAULT_CSS = """
    ConsoleHeader { height: 1; background: $primary-background; color: $text; }
    ConsoleHeader > Static { width: auto; padding: 0 1; }
    ConsoleHeader > #hdr-title { text-style: bold; }
    ConsoleHeader > #hdr-state { width: 1fr; }
    ConsoleHeader > #hdr-readonly { background: $warning; color: $background;
        text-style: bold; }
    ConsoleHeader > #hdr-screen { color: $text-muted; }
    """

    def __init__(self, screen_title: str) -> None:
        super().__init__()
        self._screen_title = screen_title

    def compose(self) -> ComposeResult:
        yield Static("ps-console", id="hdr-title")
        yield Static(self._screen_title, id="hdr-screen")
        yield Static("", id="hdr-cluster")
        yield Static("", id="hdr-state")
        yield Static(" READ-ONLY ", id="hdr-readonly")

    def on_mount(self) -> None:
        app = self.app
        self.query_one("#hdr-readonly").display = bool(getattr(app, "read_only", False))
        for name in ("cluster_id", "reached_via", "conn_state"):
            self.watch(app, name, self._refresh_text, init=False)
        self._refresh_text()

    def _refresh_text(self, _value: object = None) -> None:
        app = self.app
        cid = getattr(app, "cluster_id", "") or "?"
        # Text, not markup: a connect string may hold brackets (IPv6 literals).
        self.query_one("#hdr-cluster", Static).update(Text.assemble(
            "cluster ", (cid, "bold"), f" via {getattr(app, 'reached_via', '')}"))
        self.query_one("#hdr-state", Static).update(Text(str(getattr(app, "conn_state", ""))))
