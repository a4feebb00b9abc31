"""The ps-console App: screens, app-wide bindings, and the workers that call the engine.

The event loop never waits on ZooKeeper, Kafka or the disk: every engine call runs in a
thread worker (`tui.backend`) that posts a typed message (`tui.messages`); the handlers
here only update reactives and widgets. Cluster refreshes go through one coordinator so
they never overlap: a refresh asked for while one runs is queued, not lost, and a result
older than the last one shown is dropped.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from engine.cluster.model import BrokerLeft, ClusterEvent, ConnectionChanged, ControllerChanged
from engine.errors import PsError
from tui.backend import ConsoleBackend, Stoppable
from tui.cluster_view import BrokerRow, Presence, WarningLine, broker_rows, cluster_warnings
from tui.config import ConsoleConfig
from tui.messages import ClusterChanged, ClusterLoaded, HealthEvaluated, ServiceError
from tui.model import ClusterSnapshot
from tui.screens.cluster import ClusterScreen

if TYPE_CHECKING:
    from engine.health.finding import Finding
    from engine.health.monitor import Evaluation
    from tui.screens.report_now import ReportNowScreen
    from tui.screens.settings import SettingsScreen

# The other screens are imported when first opened: the first frame shows Cluster only,
# and Settings pulls in the engine's properties parser.

log = logging.getLogger("tui")

# Retry delays after the cluster stopped answering: quick at first, then every 30 s.
BACKOFF_START = 2.0
BACKOFF_MAX = 30.0
# Ages move every second: `now` ticks and the screens re-render their age cells only.
AGE_TICK_SECONDS = 1.0
# New reports arrive on the topic without any ZooKeeper event, so the cluster is read again
# now and then; without a watch (KRaft) that read is also what notices a broker leaving.
PERIODIC_REFRESH_SECONDS = 60.0
UNWATCHED_REFRESH_SECONDS = 10.0

# What the header says while the ZooKeeper watch is not connected (kazoo's states).
ZK_OUTAGE = {
    "suspended": "ZooKeeper unreachable, reconnecting",
    "lost": "ZooKeeper session lost, reconnecting",
}

# Actions that write something; `--read-only` hides them all.
WRITE_ACTIONS = frozenset({"report_now", "save_settings", "send_report"})
# App actions bound to a printable key: while a text field has the focus those keys type
# into it, so the footer does not offer them (esc leaves the field first).
TYPED_KEY_ACTIONS = frozenset({"quit", "help", "show_cluster", "show_reports", "show_health",
                               "settings", "report_now", "export"})
# Actions that need a live cluster; an offline bundle has none.
CLUSTER_ACTIONS = frozenset({"show_cluster", "report_now", "settings", "export",
                             "refresh_cluster"})


def _screens() -> Any:
    """The screens opened after the first frame, as one namespace (imported on first use)."""
    from types import SimpleNamespace

    from tui.screens.error import ErrorScreen
    from tui.screens.export import ExportDialog
    from tui.screens.health import HealthScreen
    from tui.screens.help import HelpScreen
    from tui.screens.report_now import ReportNowScreen
    from tui.screens.reports import ReportsScreen
    from tui.screens.settings import SettingsScreen

    return SimpleNamespace(ErrorScreen=ErrorScreen, ExportDialog=ExportDialog,
                           HealthScreen=HealthScreen, HelpScreen=HelpScreen,
                           ReportNowScreen=ReportNowScreen,
                           ReportsScreen=ReportsScreen, SettingsScreen=SettingsScreen)


def one_line(exc: BaseException) -> str:
    """An exception as one readable line: the engine's own message, or the type and text."""
    if isinstance(exc, PsError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ConsoleApp(App[int]):
    TITLE = "ps-console"
    CSS_PATH = ["styles/app.tcss"]
    # Screens narrower than 100 columns carry `-narrow`: the header and dialogs give way.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    # Textual composes this mode's screen first: starting in Textual's own blank mode and
    # switching on mount parsed and applied the whole stylesheet twice more before the first
    # frame (about 70 ms of a 0.36 s start, measured). A bundle still switches to Reports.
    DEFAULT_MODE = "cluster"
    MODES: ClassVar[dict[str, Any]] = {"cluster": ClusterScreen,
                                       "reports": lambda: _screens().ReportsScreen(),
                                       "health": lambda: _screens().HealthScreen()}

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        # Textual's ctrl+q, under an action of its own so that it still quits while a text
        # field holds the focus (and `q` types into it).
        Binding("ctrl+q", "quit_anyway", "Quit", show=False, priority=True, system=True),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("1", "show_cluster", "Cluster", id="cluster"),
        Binding("2", "show_reports", "Reports", id="reports"),
        Binding("3", "show_health", "Health", id="health"),
        Binding("s", "settings", "Settings", id="settings"),
        Binding("t", "report_now", "Report now", id="report_now"),
        Binding("e", "export", "Export", id="export"),
    ]
    # Title, help line and action of every app-wide command for the palette.
    PALETTE: ClassVar[list[tuple[str, str, str]]] = [
        ("Cluster", "Show the brokers and warnings", "show_cluster"),
        ("Reports", "Latest report of each broker, history, detail", "show_reports"),
        ("Health", "Findings of the health rules, worst first, with what to do",
         "show_health"),
        ("Settings", "Proactive Support settings of a broker's server.properties",
         "settings"),
        ("Report now", "Dry run, then send a report after a confirmation", "report_now"),
        ("Export bundle", "Write the support topic into a zip", "export"),
        ("Refresh cluster", "Read ZooKeeper and the latest reports again", "refresh_cluster"),
        ("Help", "Keys of the current screen", "help"),
        ("Quit", "Leave ps-console", "quit"),
    ]

    cluster_id: reactive[str] = reactive("")
    reached_via: reactive[str] = reactive("")
    conn_state: reactive[str] = reactive("starting")
    snapshot: reactive[ClusterSnapshot | None] = reactive(None, always_update=True)
    # The clock as of the last tick: every age on every screen is computed against it.
    now: reactive[float] = reactive(0.0)
    # When the cluster was last read whole (None: not yet), for the header.
    read_at: reactive[float | None] = reactive(None)
    # The latest evaluation of the health rules (None: none yet), and why the latest
    # attempt gave none (None: it did).
    health: reactive[Evaluation | None] = reactive(None, always_update=True)
    health_problem: reactive[str | None] = reactive(None)

    def __init__(self, config: ConsoleConfig, backend: ConsoleBackend,
                 clock: Callable[[], float] = time.time, watch: bool = True,
                 settle_heap: bool = False) -> None:
        super().__init__()
        self._settle_heap = settle_heap
        self.config = config
        self.backend = backend
        self.read_only = config.read_only
        # Where a relative file name (the export's) lands.
        self.workdir = Path.cwd()
        self.clock = clock
        self._use_watch = watch
        self._watch: Stoppable | None = None
        # Guards _watch between the worker that starts the watch and on_unmount, so that a
        # watch started while the app closes is stopped rather than left running.
        self._watch_lock = threading.Lock()
        self._closing = False
        self._refresh_busy = False
        self._refresh_pending = False
        self._refresh_generation = 0
        self._shown_generation = -1
        self._health_generation = -1
        self._backoff = BACKOFF_START
        self._retry_timer: Any = None
        # The watch's last word on ZooKeeper when it is not "connected" (else None).
        self._zk_down: str | None = None
        self._export_opening = False  # `e` pressed twice before the dialog shows
        # The brokers seen this session: one that leaves stays on screen as DOWN.
        self.presence = Presence()
        self._view_key: tuple[object, ...] | None = None
        self._view: tuple[list[BrokerRow], list[WarningLine]] = ([], [])
        self.reached_via = backend.description
        if config.keys:
            self.set_keymap(config.keys)

    # -- start and stop ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.now = self.clock()
        self.switch_mode(self.initial_mode())
        self.set_interval(AGE_TICK_SECONDS, self._tick)
        if self.backend.offline:
            self.conn_state = "offline"
            self.call_after_refresh(self.settle_heap)
            return
        self.conn_state = "connecting"
        # After the first frame is on screen: the refresh worker's first engine call imports
        # kazoo and confluent-kafka, and that import would compete with the first paint.
        self.call_after_refresh(self.request_refresh)
        watched = self._use_watch and self.backend.watchable
        self.set_interval(PERIODIC_REFRESH_SECONDS if watched else UNWATCHED_REFRESH_SECONDS,
                          self.request_refresh)

    def initial_mode(self) -> str:
        return "reports" if self.backend.offline else "cluster"

    def on_unmount(self) -> None:
        with self._watch_lock:
            self._closing = True
            watch, self._watch = self._watch, None
        if watch is not None:
            # kazoo's stop() can wait on its connection thread; never on the UI thread.
            threading.Thread(target=watch.stop, name="ps-console-watch-stop",
                             daemon=True).start()
        # The backend may hold a reader open (Kafka consumer, zip file); closing one can
        # wait on the network too.
        threading.Thread(target=self.backend.close, name="ps-console-backend-close",
                         daemon=True).start()

    def _tick(self) -> None:
        self.now = self.clock()

    # -- what the Cluster screen and the header show ------------------------------------

    def cluster_view(self) -> tuple[list[BrokerRow], list[WarningLine]]:
        """The broker rows (registered and DOWN) and the warning lines, as of `now`;
        computed once per snapshot and tick whoever asks (the screen, every header)."""
        snap = self.snapshot
        key = (id(snap), id(self.health), self.presence.version, self.now)
        if key != self._view_key:
            if snap is None:
                self._view = ([], [])
            else:
                findings = self.findings()
                rows = broker_rows(snap, self.presence, self.now, findings)
                self._view = (rows, cluster_warnings(snap, findings))
            self._view_key = key
        return self._view

    def findings(self) -> tuple[Finding, ...]:
        """The latest evaluation's findings, worst first (none before the first)."""
        return self.health.findings if self.health is not None else ()

    # -- the refresh coordinator ---------------------------------------------------------

    def request_refresh(self) -> None:
        """Refresh the cluster view now, or right after the refresh that is running."""
        if self.backend.offline:
            return
        if self._refresh_busy:
            self._refresh_pending = True
            return
        if self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None
        self._refresh_busy = True
        self._refresh_generation += 1
        self.load_cluster(self._refresh_generation, self.clock(),
                          tuple(sorted(self.presence.known())))

    @work(thread=True, exclusive=True, exit_on_error=False, group="cluster")
    def load_cluster(self, generation: int, started: float, known: tuple[int, ...]) -> None:
        try:
            results = self.backend.refresh(known)
            snap = next(results)
        except PsError as exc:
            self.post_message(ServiceError("cluster", str(exc)))
            return
        try:
            assert isinstance(snap, ClusterSnapshot)
            self.post_message(ClusterLoaded(snap, generation, started))
            # Then the health rules, in the same session (the Cluster screen shows its
            # brokers without waiting for them); the refresh ends when they are done.
            try:
                evaluation = next(results)
            except Exception as exc:  # noqa: BLE001 - one line on the Health screen
                if not isinstance(exc, PsError):
                    log.error("health evaluation failed", exc_info=exc)
                self.post_message(HealthEvaluated(None, generation, one_line(exc)))
                return
            assert not isinstance(evaluation, ClusterSnapshot)
            self.post_message(HealthEvaluated(evaluation, generation))
        finally:
            results.close()  # the session closes now, whatever happened

    def _refresh_done(self) -> None:
        self._refresh_busy = False
        if self._refresh_pending:
            self._refresh_pending = False
            self.request_refresh()

    def on_cluster_loaded(self, message: ClusterLoaded) -> None:
        if message.generation < self._shown_generation:
            return  # an older look at the cluster finished late
        self._shown_generation = message.generation
        self._backoff = BACKOFF_START
        snap = message.snapshot
        self.cluster_id = snap.cluster_id or "?"
        if self._zk_down is None:
            self.conn_state = "connected"
        self.presence.observe(snap.brokers, message.started)
        # Ages of reports read just now are measured against now, not the last tick.
        self.now = self.read_at = self.clock()
        self.snapshot = snap
        if self._use_watch and self._watch is None and self.backend.watchable:
            self.start_watch()
        self.call_after_refresh(self.settle_heap)

    def settle_heap(self) -> None:
        """Once the console has started (its libraries imported, its screens built), in
        the process that runs it (`ps-console`; not in tests, which run many apps): a
        full collection, then every object left is kept out of later collections. What
        the interpreter's collector scans from then on is what the console made since;
        before, a collection of the oldest generation stopped both threads for 40-60 ms
        several times a second while a history was read (measured: 8-12 ms after)."""
        if self._settle_heap:
            self._settle_heap = False
            gc.collect()
            gc.freeze()

    def on_health_evaluated(self, message: HealthEvaluated) -> None:
        self._refresh_done()
        if message.generation < self._health_generation:
            return
        self._health_generation = message.generation
        evaluation = message.evaluation
        if evaluation is None:
            self.health_problem = message.problem
        elif not evaluation.reachable:
            self.health_problem = "; ".join(evaluation.problems) or "the cluster did not answer"
        else:
            self.health_problem = None
            self.health = evaluation

    def on_service_error(self, message: ServiceError) -> None:
        if message.what != "cluster":
            self.notify(message.message, title=message.what, severity="error", timeout=8)
            return
        self._refresh_done()
        delay = self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)
        self.conn_state = f"unreachable, retry in {delay:g}s (r: now)"
        self.notify(message.message, title="cluster unreachable", severity="error",
                    timeout=6)
        self._retry_timer = self.set_timer(delay, self.request_refresh)

    # -- live updates from ZooKeeper -----------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="watch")
    def start_watch(self) -> None:
        try:
            # post_message is thread-safe and returns at once: the kazoo thread never waits
            # for the UI.
            watch = self.backend.watch(self._post_cluster_event)
        except PsError as exc:
            self.post_message(ServiceError("watch", f"live updates off: {exc}"))
            return
        with self._watch_lock:
            if not self._closing:
                self._watch = watch
                return
        watch.stop()  # the console closed while the watch was starting

    def _post_cluster_event(self, event: ClusterEvent) -> None:
        # The health rules remember it too (broker-down for a broker seen this session,
        # restarts, controller changes); the monitor takes a lock for a moment only.
        self.backend.observe(event)
        self.post_message(ClusterChanged(event))

    def on_cluster_changed(self, message: ClusterChanged) -> None:
        event = message.event
        snap = self.snapshot
        match event:
            case BrokerLeft(broker_id=gone) if snap is not None:
                self.presence.left(gone, self.clock())
                self.snapshot = dataclasses.replace(
                    snap, brokers=[b for b in snap.brokers if b.id != gone])
                self.notify(f"broker {gone} left the cluster", severity="warning")
            case ConnectionChanged(state="connected"):
                self._zk_down = None
                self.conn_state = "ZooKeeper back, reading the cluster..."
            case ConnectionChanged(state=state):
                self._zk_down = state
                self.conn_state = ZK_OUTAGE.get(state, f"ZooKeeper {state}")
                self.notify(f"lost the connection to ZooKeeper ({state}); the console "
                            "reconnects by itself", title="ZooKeeper", severity="warning",
                            timeout=6)
                return
            case ControllerChanged(controller_id=controller) if snap is not None:
                self.snapshot = dataclasses.replace(snap, controller_id=controller)
        self.request_refresh()

    # -- errors from workers -------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "export-name" and event.state in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._export_opening = False  # the dialog is up (or will not come)
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        assert error is not None
        log.error("worker %s failed", event.worker.name, exc_info=error)
        if event.worker.group == "cluster":
            self.post_message(ServiceError("cluster", one_line(error)))
        else:
            self.notify(one_line(error), title=event.worker.name, severity="error",
                        timeout=8)

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITE_ACTIONS and self.read_only:
            return False
        if action in CLUSTER_ACTIONS and self.backend.offline:
            return False
        if action in TYPED_KEY_ACTIONS and self._editing():
            return False
        return True

    def _editing(self) -> bool:
        """A text field of a full screen has the focus (not the palette's, not a dialog's:
        those screens show no footer and their own keys)."""
        from textual.widgets import Input

        screen = self.screen
        return not isinstance(screen, ModalScreen) and isinstance(screen.focused, Input)

    def action_show_cluster(self) -> None:
        self.switch_mode("cluster")

    def action_show_reports(self) -> None:
        self.switch_mode("reports")

    def action_show_health(self) -> None:
        self.switch_mode("health")

    def _need_broker_config(self) -> bool:
        if self.config.broker_configs:
            return True
        self.show_error("No broker config", "Give a broker's server.properties with "
                        "--broker-config FILE (repeatable), or broker_configs in the "
                        "profile of the config file.")
        return False

    def _may_open(self, kind: type[Screen[Any]]) -> bool:
        """Whether `s`, `t` or `e` may open `kind` now: never a second copy of the screen
        on top, and never over a dialog (help, confirmation, error) still waiting for an
        answer."""
        top = self.screen
        return not isinstance(top, (kind, ModalScreen))

    def _open(self, screen: Screen[Any]) -> None:
        """Show a Settings or Report now screen: on top of Cluster or Reports, or in place
        of the other one (the stack never grows past one of them). Settings with unsaved
        edits asks before it makes way."""
        screens = _screens()
        top = self.screen
        if isinstance(top, screens.SettingsScreen):
            top.confirm_leave(partial(self.switch_screen, screen))
        elif isinstance(top, screens.ReportNowScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def _form(self) -> tuple[str, Screen[Any]] | None:
        """The Settings or Report now screen, if one is open, and the mode whose screen
        stack holds it."""
        screens = _screens()
        forms = (screens.SettingsScreen, screens.ReportNowScreen)
        for mode in self.MODES:
            try:
                stack = self.get_screen_stack(mode)
            except KeyError:
                continue  # a mode not shown yet holds nothing
            for screen in stack:
                if isinstance(screen, forms):
                    return mode, screen
        return None

    def _open_form(self, kind: type[SettingsScreen | ReportNowScreen]) -> None:
        """`s` and `t`. Each mode has its own stack, so asked for from the other mode a
        second Settings could edit the same file beside the first: go back to the mode
        that holds one (its unsaved edits still in the form) and open from there."""
        form = self._form()
        if form is not None:
            self.switch_mode(form[0])
        if self._may_open(kind) and self._need_broker_config():
            self._open(kind(self.config.broker_configs))

    def action_settings(self) -> None:
        self._open_form(_screens().SettingsScreen)

    def action_report_now(self) -> None:
        self._open_form(_screens().ReportNowScreen)

    def action_export(self) -> None:
        if self._may_open(_screens().ExportDialog) and not self._export_opening:
            self._export_opening = True
            self.open_export()

    @work(thread=True, exclusive=True, exit_on_error=False, group="export-name")
    def open_export(self) -> None:
        # The default name reads the clock only, but the engine module imports Kafka's
        # client on first use: keep that off the event loop too.
        name = self.backend.default_bundle_name()
        self.call_from_thread(self.push_screen, _screens().ExportDialog(name))

    async def action_quit(self) -> None:
        """`q`, ctrl+q and the palette's Quit. Unsaved Settings edits are asked about
        first, in the mode that holds the form, so that "keep editing" lands on it."""
        form = self._form()
        if form is None or not isinstance(form[1], _screens().SettingsScreen):
            self.exit()
            return
        self.switch_mode(form[0])
        form[1].confirm_leave(self.exit)

    async def action_quit_anyway(self) -> None:
        await self.action_quit()

    def action_refresh_cluster(self) -> None:
        self.request_refresh()

    def show_history(self, broker_id: int) -> None:
        """Every report of one broker, on the Reports screen (Enter on a Cluster row)."""
        self.switch_mode("reports")
        reports = self.get_screen_stack("reports")[0]
        assert isinstance(reports, _screens().ReportsScreen)
        reports.show_history(broker_id)

    def action_help(self) -> None:
        screen = self.screen
        keys: dict[str, tuple[str, str, str]] = {}
        # Ours first (they have ids), the screen's before the app's; then Textual's own
        # (focus, copy) and the focused widget's (a table's cursor keys are the same
        # everywhere).
        actives = sorted(screen.active_bindings.values(),
                         key=lambda a: (a.binding.id is None,
                                        0 if a.node is screen else 1 if a.node is self else 2))
        for active in actives:
            binding = active.binding
            if not binding.description or binding.system:
                continue
            # One line per action, and ours over Textual's own (its ctrl+q Quit has no id;
            # our q does, and the config file remaps by id).
            held = keys.get(binding.action)
            if held is not None and (held[2] or not binding.id):
                continue
            keys[binding.action] = (self.get_key_display(binding), binding.description,
                                    binding.id or "")
        title = type(screen).__name__.removesuffix("Screen")
        about = getattr(screen, "HELP", "") or ""
        self.push_screen(_screens().HelpScreen(f"{title}: keys", about, list(keys.values())))

    def show_error(self, title: str, message: str) -> None:
        self.push_screen(_screens().ErrorScreen(title, message))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            # Textual's own Quit would be a second entry beside ours.
            if command.title != "Quit":
                yield command
        for title, help_text, action in self.PALETTE:
            if self.check_action(action, ()):
                yield SystemCommand(title, help_text, partial(self.run_action, action))
        for title, help_text, action in getattr(screen, "PALETTE", ()):
            if screen.check_action(action, ()) is not False and \
                    self.check_action(action, ()) is not False:
                yield SystemCommand(title, help_text,
                                    partial(screen.run_action, action))
