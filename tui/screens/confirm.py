"""A yes/no dialog showing exactly what is about to happen (a diff, a report, the
edits about to be discarded)."""

from __future__ import annotations

from rich.console import RenderableType
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [Binding("escape,n", "answer(False)", "No", id="no"),
                Binding("y", "answer(True)", "Yes", id="yes")]
    AUTO_FOCUS = "#confirm-no"  # Enter alone never writes: the operator moves to "yes"

    def __init__(self, title: str, body: RenderableType, yes: str,
                 no: str = "Cancel") -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self._title, id="confirm-title", markup=False)
            with VerticalScroll(id="confirm-body"):
                yield Static(self._body)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self._yes} (y)", id="confirm-yes", variant="warning")
                yield Button(f"{self._no} (n)", id="confirm-no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")
