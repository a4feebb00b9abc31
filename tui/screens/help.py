"""`?`: the keys of the screen the operator was on, with what each does."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="close")]

    def __init__(self, title: str, about: str, keys: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self._title = title
        self._about = about
        self._keys = keys

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        # Text, not str: Rich would read "[keys]" as markup and drop it, and a remapped key
        # or a description is data too.
        table.add_column(Text("key"), no_wrap=True)
        table.add_column(Text("action"))
        table.add_column(Text("id (for [keys] in the config file)"), style="dim")
        for key, description, binding_id in self._keys:
            table.add_row(Text(key), Text(description), Text(binding_id))
        with VerticalScroll(id="help-box"):
            yield Static(Text(self._title, style="bold"), id="help-title")
            yield Static(self._about, id="help-about", markup=False)
            yield Static(table, id="help-keys")
            yield Static("ctrl+p opens the command palette with every action. "
                         "esc closes this help.", id="help-foot", markup=False)
