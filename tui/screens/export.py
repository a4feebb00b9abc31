"""Export (`e`): the bundle's file name (editable) and runtime, a progress bar fed by the
engine's progress callback, cancellation, and the result. `e` then Enter exports with the
defaults."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Static

from engine.errors import PsError
from engine.text import format_size
from tui.messages import BundleProgress, BundleWritten, ServiceError

if TYPE_CHECKING:
    from tui.app import ConsoleApp

DEFAULT_RUNTIME = 10.0


class ExportDialog(ModalScreen[None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel / close", id="cancel")]
    HELP = ("Writes every record of the support topic into a zip for a support ticket. "
            "Enter in the file name starts; esc cancels a running export.")
    AUTO_FOCUS = "#export-path"

    def __init__(self, default_name: str, runtime: float = DEFAULT_RUNTIME) -> None:
        super().__init__()
        self._default_name = default_name
        self._runtime = runtime
        self._cancel: threading.Event | None = None
        self.result: object = None

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static(f"Export the support topic {self.console.backend.topic}",
                         id="export-title", markup=False)
            yield Label("file name")
            yield Input(self._default_name, id="export-path")
            yield Static(self._lands_in(self._default_name), id="export-where")
            yield Label("runtime (seconds; the bundle is marked incomplete when it runs out)")
            yield Input(f"{self._runtime:g}", id="export-runtime", type="number")
            bar = ProgressBar(id="export-progress", show_eta=False)
            bar.display = False  # an idle bar would pulse; it appears when the export starts
            yield bar
            yield Static("", id="export-status")
            with Horizontal(id="export-buttons"):
                yield Button("Export", id="export-start", variant="primary")
                yield Button("Close", id="export-close")

    def target(self, name: str) -> Path:
        """Where a file name typed in the dialog lands: relative names in the console's
        working folder."""
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.console.workdir / path

    def _lands_in(self, name: str) -> Text:
        if not name.strip():
            return Text("")
        return Text.assemble(("lands in ", "dim"), str(self.target(name.strip())))

    @on(Input.Changed, "#export-path")
    def _name_changed(self, event: Input.Changed) -> None:
        self.query_one("#export-where", Static).update(self._lands_in(event.value))

    # -- starting ------------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Button.Pressed, "#export-start")
    def start(self) -> None:
        if self._cancel is not None:
            return  # already running
        path = self.query_one("#export-path", Input).value.strip()
        status = self.query_one("#export-status", Static)
        try:
            runtime = float(self.query_one("#export-runtime", Input).value or "0")
        except ValueError:
            status.update(Text("runtime must be a number of seconds", style="bold red"))
            return
        if not path or runtime <= 0:
            status.update(Text("give a file name and a runtime above 0", style="bold red"))
            return
        self._cancel = threading.Event()
        self.query_one("#export-start", Button).disabled = True
        self.query_one("#export-close", Button).label = "Cancel"
        status.update("reading the topic...")
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.export(str(self.target(path)), runtime, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def export(self, path: str, runtime: float, cancel: threading.Event) -> None:
        def progress(p: object) -> None:
            # Called on this worker thread by the engine; post_message never blocks it.
            self.post_message(BundleProgress(p.records, p.total, p.elapsed,  # type: ignore[attr-defined]
                                             p.size_bytes))  # type: ignore[attr-defined]

        try:
            result = self.console.backend.export(path, runtime, progress, cancel)
        except PsError as exc:
            self.post_message(ServiceError("export", str(exc)))
            return
        self.post_message(BundleWritten(result))

    # -- progress and result -------------------------------------------------------------

    def on_bundle_progress(self, message: BundleProgress) -> None:
        message.stop()
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        self.query_one("#export-status", Static).update(
            f"{message.done:,} of {message.total:,} records, "
            f"{format_size(message.size_bytes)}, {message.elapsed:.1f} s")

    def on_bundle_written(self, message: BundleWritten) -> None:
        message.stop()
        res = message.result
        self.result = res
        self._finish()
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=max(res.total, 1), progress=res.records)
        complete = "complete" if res.complete else \
            "INCOMPLETE: the runtime ran out before the end of the topic"
        self.query_one("#export-status", Static).update(Text.assemble(
            ("written ", "bold green"), res.path, f"\n{res.records:,} of {res.total:,} "
            f"records, {format_size(res.size_bytes)}, {complete}"))

    def on_service_error(self, message: ServiceError) -> None:
        if message.what != "export":
            return
        message.stop()
        self._finish()
        # An export that never learnt its total would pulse on; a failed one shows no bar.
        self.query_one("#export-progress", ProgressBar).display = False
        self.query_one("#export-start", Button).disabled = False
        self.query_one("#export-status", Static).update(
            Text(f"not written: {message.message}", style="bold red"))

    def _finish(self) -> None:
        self._cancel = None
        self.query_one("#export-close", Button).label = "Close"
        self.query_one("#export-close", Button).focus()

    # -- leaving -------------------------------------------------------------------------

    @on(Button.Pressed, "#export-close")
    def action_cancel(self) -> None:
        if self._cancel is not None:
            # The engine stops at its next batch and removes its temporary file; the
            # ServiceError that follows re-enables the dialog.
            self._cancel.set()
            self.query_one("#export-status", Static).update("cancelling...")
            return
        self.dismiss(None)
