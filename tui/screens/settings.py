"""Settings (`s`): the nine Proactive Support settings of a broker's server.properties,
validated as the operator types, saved through the engine after a diff is confirmed.

Above the form, what the agent does with the file as it is on disk (the engine's plan:
reporting enabled, disabled or refused, and why); beside each setting, what it does.
Nothing here decides: both come from `SettingsFile.plan` and `Setting.effect`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static

from engine.config.settings import DEFAULTS, KEYS, FileChangedError, Plan, validate
from engine.errors import PsError
from tui.backend import SettingsChange
from tui.messages import ServiceError, SettingsLoaded, SettingsSaved
from tui.screens.confirm import ConfirmDialog
from tui.widgets.footer import ConsoleFooter
from tui.widgets.header import ConsoleHeader

if TYPE_CHECKING:
    from tui.app import ConsoleApp


def plan_text(plan: Plan) -> Text:
    """The plan's one line, loud when nothing is reported."""
    if plan.enabled:
        return Text.assemble(("agent: ", "bold"), plan.summary)
    return Text.assemble(("agent: ", "bold"), (plan.summary, "bold red"))


class SettingsScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+s", "save_settings", "Save", id="save_settings"),
        Binding("ctrl+r", "reload", "Reload", id="reload"),
        Binding("escape", "back", "Back", id="back"),
    ]
    HELP = ("The Proactive Support settings of one broker's server.properties. The line "
            "above the form says what the agent does with the file as saved (reporting "
            "only with confluent.support.metrics.enable=true), and each setting says what "
            "it does. Values are checked as you type; ctrl+s shows the diff and saves "
            "after you confirm. "
            "Every other line of the file stays as it is. If someone else changed the file "
            "meanwhile, nothing is written: ctrl+r reads it again and keeps your edits, and "
            "the next ctrl+s shows them as a diff against the new content. While a field "
            "has the focus, keys type into it: esc leaves the field, and then q, t, 1, 2 "
            "and esc work again. Leaving with unsaved edits (esc, Report now, quit) asks "
            "first. In read-only mode the fields show the file and cannot be edited.")
    PALETTE = [
        ("Settings: save", "Show the diff, then write the file", "save_settings"),
        ("Settings: reload", "Read the file again, keeping your edits", "reload"),
        ("Settings: reload and discard edits", "Read the file again, drop your edits",
         "discard"),
    ]

    def __init__(self, paths: tuple[str, ...]) -> None:
        super().__init__()
        self.paths = paths
        self.path = paths[0]
        self.loaded: Any = None  # engine.config.settings.SettingsFile
        self._initial: dict[str, str] = {}
        # Edits to put back over the file once it is read again (reload keeping edits).
        self._kept: dict[str, str] = {}
        self._note: Text | None = None
        self._asking_leave = False  # the discard question is on screen

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Settings")
        if len(self.paths) > 1:
            yield Select([(p, p) for p in self.paths], value=self.path, allow_blank=False,
                         id="settings-file")
        yield Static(Text(self.path), id="settings-path")
        yield Static("", id="settings-plan")
        with VerticalScroll(id="settings-form"), Grid(id="settings-grid"):
            for i, key in enumerate(KEYS):
                yield Label(key, classes="setting-key")
                # The value first: a narrow field still shows it whole, "(default)" goes.
                yield Input(placeholder=f"{DEFAULTS[key] or 'empty'} (default)",
                            id=f"setting-{i}", disabled=True)
                yield Static("", id=f"problem-{i}", classes="setting-problem")
        yield Static("", id="settings-status")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save_settings" and self.console.read_only:
            return False
        return True

    # -- loading -------------------------------------------------------------------------

    def load(self) -> None:
        self.query_one("#settings-status", Static).update("reading the file...")
        self.read_file(self.path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="settings")
    def read_file(self, path: str) -> None:
        try:
            loaded = self.console.backend.load_settings(path)
        except PsError as exc:
            self.post_message(ServiceError("settings", str(exc)))
            return
        self.post_message(SettingsLoaded(path, loaded))

    def on_settings_loaded(self, message: SettingsLoaded) -> None:
        message.stop()
        if message.path != self.path:
            return
        self.loaded = message.settings
        effective = self.loaded.effective
        self._initial = {}
        self.query_one("#settings-plan", Static).update(plan_text(self.loaded.plan))
        for i, key in enumerate(KEYS):
            setting = effective[key]
            raw = setting.raw if setting.raw is not None else ""
            self._initial[key] = raw
            box = self.query_one(f"#setting-{i}", Input)
            box.value = self._kept.get(key, raw)
            # Read-only: the file is shown, never edited (an edit could not be saved).
            box.disabled = self.console.read_only
            self._show_effect(i, box.value)
        kept, self._kept = self._kept, {}
        # Stays in the status line until the next read of the file.
        self._note = Text("file read again, your edits kept over its new content. ",
                          style="bold") if kept else None
        self._status()

    @on(Select.Changed, "#settings-file")
    def _file_chosen(self, event: Select.Changed) -> None:
        self.path = str(event.value)
        self.query_one("#settings-path", Static).update(Text(self.path))
        self.load()

    # -- editing -------------------------------------------------------------------------

    def changes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for i, key in enumerate(KEYS):
            value = self.query_one(f"#setting-{i}", Input).value
            if key in self._initial and value != self._initial[key]:
                out[key] = value
        return out

    def problems(self) -> dict[str, str]:
        out = {}
        for key, value in self.changes().items():
            problem = validate(key, value)
            if problem:
                out[key] = problem
        return out

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        ident = event.input.id or ""
        if not ident.startswith("setting-"):
            return
        i = int(ident.removeprefix("setting-"))
        key = KEYS[i]
        problem = validate(key, event.value) if event.value != self._initial.get(key) else None
        event.input.set_class(bool(problem), "-invalid-setting")
        self._show_effect(i, event.value)
        self._status()

    def _show_effect(self, i: int, value: str) -> None:
        """Beside a setting: what the agent does with the file's value, or, for an edit,
        what is wrong with it (the effect of an edit shows once it is saved)."""
        key = KEYS[i]
        cell = self.query_one(f"#problem-{i}", Static)
        if self.loaded is None or value != self._initial.get(key):
            problem = validate(key, value) if self.loaded is not None else None
            cell.update(Text(problem or "", style="bold red"))
            return
        setting = self.loaded.effective[key]
        bad = bool(setting.problem and setting.raw is not None)
        cell.update(Text(setting.explanation, style="bold red" if bad else "dim"))

    def _status(self, extra: Text | None = None) -> None:
        status = self.query_one("#settings-status", Static)
        if extra is not None:
            status.update(extra)
            return
        n, bad = len(self.changes()), len(self.problems())
        if self.console.read_only:
            text = Text("read-only: the file is shown as it is and cannot be edited",
                        style="bold")
        elif bad:
            text = Text(f"{n} change(s), {bad} invalid: fix them to save", style="bold red")
        else:
            text = Text(f"{n} change(s)" + ("; ctrl+s to review and save" if n else ""))
        if isinstance(self.focused, Input) and not self.console.read_only:
            text.append("   editing: keys type into the field, esc leaves it",
                        style="dim")
        status.update(Text.assemble(self._note, text) if self._note else text)

    def on_descendant_focus(self, _event: object) -> None:
        self._status()

    def on_descendant_blur(self, _event: object) -> None:
        self._status()

    # -- leaving -------------------------------------------------------------------------

    def action_back(self) -> None:
        """esc: out of the field being edited first (its keys type), then off the screen."""
        if isinstance(self.focused, Input):
            self.set_focus(None)
            self._status()
            return
        self.confirm_leave(self.app.pop_screen)

    def confirm_leave(self, leave: Callable[[], object]) -> None:
        """Run `leave`, which takes this screen and its edits away: at once when nothing
        would be lost, else only after the operator chose to discard the edits."""
        # Read-only edits can never be saved: asking would only be in the way.
        changes = {} if self.console.read_only else self.changes()
        if not changes:
            leave()
            return
        if self._asking_leave:
            return
        self._asking_leave = True

        def answered(discard: bool | None) -> None:
            self._asking_leave = False
            if discard:
                leave()

        # Not the diff: an invalid value has none, and it is still an edit to lose.
        edits = Table(box=None, padding=(0, 1), expand=True)
        edits.add_column("setting", overflow="fold")
        edits.add_column("in the file", overflow="fold")
        edits.add_column("your edit", overflow="fold")
        for key, value in changes.items():
            was = "(not set)" if self.loaded.effective[key].raw is None else \
                self._initial[key] or "(empty)"
            edits.add_row(key, was, value or "(empty)")
        self.app.push_screen(ConfirmDialog(f"Discard unsaved changes to {self.path}?",
                                           edits, "Discard", no="Keep editing"), answered)

    # -- saving --------------------------------------------------------------------------

    def action_reload(self) -> None:
        """Read the file again; the operator's edits stay in the form, so a save after a
        change on disk is a new diff against what is there now, never a blind overwrite."""
        self._kept = self.changes() if self.loaded is not None else {}
        self.load()

    def action_discard(self) -> None:
        self._kept = {}
        self.load()

    def action_save_settings(self) -> None:
        if self.console.read_only or self.loaded is None:
            return
        changes = self.changes()
        if not changes:
            self.notify("nothing changed", timeout=3)
            return
        problems = self.problems()
        if problems:
            key, problem = next(iter(problems.items()))
            self.notify(f"{key}: {problem}", title="cannot save", severity="error")
            return
        diff = self.loaded.diff(changes)
        body = Syntax(diff, "diff", theme="ansi_dark", word_wrap=True)
        change = SettingsChange(self.path, changes, self.loaded)

        def answered(yes: bool | None) -> None:
            if yes:
                self._status(Text("saving..."))
                self.write_file(change)

        self.app.push_screen(ConfirmDialog(f"Save {len(changes)} change(s) to {self.path}?",
                                           body, "Save"), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="settings")
    def write_file(self, change: SettingsChange) -> None:
        try:
            backup = self.console.backend.save_settings(change)
        except FileChangedError:
            # The console's own way forward, not the engine's generic hint: it offers no
            # forced overwrite.
            self.post_message(ServiceError(
                "settings", f"{change.path} changed on disk since it was read; nothing "
                            "was written. ctrl+r reads it again and keeps your edits; "
                            "ctrl+s then shows them as a diff against the new content."))
            return
        except PsError as exc:
            self.post_message(ServiceError("settings", str(exc)))
            return
        self.post_message(SettingsSaved(change.path, str(backup)))

    def on_settings_saved(self, message: SettingsSaved) -> None:
        message.stop()
        self.notify(f"saved {message.path} (previous content in {message.backup})",
                    title="settings saved", timeout=6)
        self.load()

    def on_service_error(self, message: ServiceError) -> None:
        if message.what != "settings":
            return
        message.stop()
        self._status(Text(message.message, style="bold red"))
