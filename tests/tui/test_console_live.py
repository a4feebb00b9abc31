"""Pilot tests of the console's liveness and small defects on the deterministic backend (no
cluster): ages tick every second without rebuilding the table, a broker that leaves stays
as a DOWN row and comes back, Enter opens a broker's history, help and palette, Settings'
editing keys and read-only mode, Report now's wording, Export's path and failure.

The real console against a real cluster is tests/tui/test_broker_stop.py and
tests/tui/test_console_tmux.py."""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Input, ProgressBar, Static

from engine.cluster.model import Broker, BrokerLeft
from engine.errors import ConnectionFailure
from tests.support.console import wait_for
from tools.console_fake import NOW, FakeBackend, fixed_brokers, settle, write_broker_config
from tui.app import ConsoleApp
from tui.config import ConsoleConfig
from tui.messages import ClusterChanged
from tui.model import ClusterSnapshot
from tui.screens.confirm import ConfirmDialog
from tui.screens.export import ExportDialog
from tui.screens.help import HelpScreen
from tui.screens.report_now import ReportNowScreen
from tui.screens.reports import ReportsScreen
from tui.screens.settings import SettingsScreen
from tui.widgets.row_table import RowTable

pytestmark = [pytest.mark.anyio]

SIZE = (120, 40)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class LiveBackend(FakeBackend):
    """The fake cluster whose registered brokers the test changes."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.registered = {1, 2, 3}
        self.known_asked: list[tuple[int, ...]] = []

    def registered_brokers(self) -> list[Broker]:
        return [b for b in self.brokers if b.id in self.registered]

    def snapshot(self, known=()) -> ClusterSnapshot:
        self.known_asked.append(tuple(known))
        return super().snapshot(known)


def _app(tmp_path: Path, backend: FakeBackend | None = None, clock: Clock | None = None,
         **cfg: object) -> ConsoleApp:
    write_broker_config(tmp_path)
    config = ConsoleConfig(zookeeper="zk-1:2181/kafka",
                           broker_configs=(str(tmp_path / "server.properties"),), **cfg)
    backend = backend or LiveBackend()
    clock = clock or Clock()
    backend.clock = clock  # the health rules' time is the app's
    app = ConsoleApp(config, backend, clock=clock, watch=False)
    app.workdir = tmp_path
    return app


def _row(app: ConsoleApp, broker_id: int) -> list[str]:
    table = app.screen.query_one("#brokers", RowTable)
    return [str(c) for c in table.get_row(str(broker_id))]


def _text(widget: Static) -> str:
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


async def test_ages_tick_every_second_and_only_cells_change(tmp_path):
    clock = Clock()
    app = _app(tmp_path, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        rebuilds: list[int] = []
        original = screen._rebuild
        screen._rebuild = lambda *a: (rebuilds.append(1), original(*a))  # type: ignore[method-assign]
        assert _row(app, 2)[2] == "9m"
        clock.now += 60
        await pilot.pause(1.5)  # the app's own one-second tick, no key pressed
        assert _row(app, 2)[2] == "10m"
        assert "read 1m ago" in str(screen.query_one("#hdr-read", Static).visual)
        assert rebuilds == []


async def test_a_broker_that_leaves_is_a_down_row_then_normal_again(tmp_path):
    clock = Clock()
    backend = LiveBackend()
    app = _app(tmp_path, backend, clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        backend.registered.discard(3)
        clock.now += 5
        app.post_message(ClusterChanged(BrokerLeft(3)))
        await settle(pilot)
        assert _row(app, 3)[1] == "DOWN since 14:13:25"
        warnings = _text(app.screen.query_one("#cluster-warnings", Static))
        # The health rules' broker-down: the refresh after the departure evaluated them.
        assert "broker 3 is not registered (registered 5 s ago" in warnings
        assert "1 critical" in str(app.screen.query_one("#hdr-findings", Static).visual)
        # The refresh that follows asks for the reports of the broker it saw leave.
        assert 3 in backend.known_asked[-1]
        clock.now += 120
        await pilot.pause(1.5)
        assert _row(app, 3)[1] == "DOWN since 14:13:25"
        assert "broker 3 is not registered" in _text(
            app.screen.query_one("#cluster-warnings", Static))
        backend.registered.add(3)
        app.request_refresh()
        await settle(pilot)
        assert _row(app, 3)[1] != "DOWN since 14:13:25"
        assert "not registered" not in _text(app.screen.query_one("#cluster-warnings", Static))


async def test_without_a_watch_the_periodic_refresh_notices_a_departure(tmp_path, monkeypatch):
    import tui.app as app_module

    monkeypatch.setattr(app_module, "UNWATCHED_REFRESH_SECONDS", 0.3)
    backend = LiveBackend()
    app = _app(tmp_path, backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        backend.registered.discard(2)
        await wait_for(pilot, lambda: _row(app, 2)[1].startswith("DOWN"), timeout=10)


async def test_enter_on_a_broker_opens_its_history(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        status = str(app.screen.query_one("#reports-status", Static).visual)
        assert status.startswith("history of broker 2: 2 rows")


async def test_help_shows_its_header_whole_q_to_quit_and_the_palette_one_quit(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles.count("Quit") == 1
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = {description: key for key, description, _ in app.screen._keys}
        assert keys["Quit"] == "q"
        assert keys["History"] == "⏎"
        rendered = _text(app.screen.query_one("#help-keys", Static))
        assert "id (for [keys] in the config file)" in rendered


async def test_settings_keys_type_into_a_field_and_esc_leaves_it_first(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        box = screen.query_one("#setting-1", Input)
        box.focus()
        await settle(pilot)
        # While editing, the app's letter keys are not offered: they type.
        assert app.check_action("quit", ()) is False
        assert "q Quit" not in " ".join(d for _, d, _ in screen.query_one(
            "ConsoleFooter").entries())
        box.value = ""
        await pilot.press("t", "q")
        await settle(pilot)
        assert box.value == "tq" and app.screen is screen
        await pilot.press("escape")  # out of the field
        await settle(pilot)
        assert screen.focused is None and app.screen is screen
        await pilot.press("q")  # now q quits, after asking about the edit
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)


async def test_read_only_settings_fields_cannot_be_edited(tmp_path):
    app = _app(tmp_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        boxes = list(app.screen.query(Input))
        assert boxes and all(b.disabled for b in boxes)
        assert boxes[0].value == "true"  # the file is shown
        await pilot.click("#setting-1")
        await pilot.press("x")
        await settle(pilot)
        assert app.screen.query_one("#setting-1", Input).value == "anonymous"


async def test_report_now_says_where_it_sends_and_counts_every_destination(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert app.screen._title == "Send broker 1's report now, to the topic and HTTPS?"
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ReportNowScreen)
        status = str(app.screen.query_one("#report-status", Static).visual)
        assert status.startswith("SENT: 2 of 3 destinations accepted the report "
                                 "(topic, https), 1 skipped (http)")


class FailingExport(LiveBackend):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def export(self, path, runtime, progress, cancel):
        self.release.wait(10)
        raise ConnectionFailure("Kafka at b1:9092 did not answer within 5 s")


async def test_export_shows_the_absolute_path_and_stops_its_bar_on_failure(tmp_path):
    backend = FailingExport()
    app = _app(tmp_path, backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))
        dialog = app.screen
        where = str(dialog.query_one("#export-where", Static).visual)
        assert where == f"lands in {tmp_path / backend.default_bundle_name()}"
        await pilot.press("enter")
        bar = dialog.query_one("#export-progress", ProgressBar)
        await wait_for(pilot, lambda: bar.display)
        backend.release.set()
        await wait_for(pilot, lambda: "not written" in str(
            dialog.query_one("#export-status", Static).visual))
        assert not bar.display


class Recorder(FakeBackend):
    """The fake backend, remembering the path an export was asked to write."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def export(self, path, runtime, progress, cancel):
        self.paths.append(path)
        return super().export(path, runtime, progress, cancel)


async def test_export_writes_where_it_said_and_names_that_path(tmp_path):
    backend = Recorder()
    app = _app(tmp_path, backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))
        await pilot.press("enter")
        await settle(pilot)
        target = str(tmp_path / backend.default_bundle_name())
        assert backend.paths == [target]
        assert target in str(app.screen.query_one("#export-status", Static).visual)


# -- any terminal ------------------------------------------------------------------------

def _screens() -> list[tuple[str, tuple[str, ...], Callable[[ConsoleApp], object] | None]]:
    edit = lambda app: setattr(app.screen.query_one("#setting-3", Input), "value", "6")  # noqa: E731
    return [("cluster", (), None), ("help", ("question_mark",), None),
            ("reports", ("2",), None), ("settings", ("s",), None),
            ("settings diff", ("s",), edit), ("report now", ("t",), None),
            ("send question", ("t", "ctrl+t"), None), ("export", ("e",), None),
            ("export done", ("e", "enter"), None)]


@pytest.mark.parametrize("name,keys,then", _screens(), ids=[s[0] for s in _screens()])
async def test_at_80x24_everything_stays_inside_the_screen(tmp_path, name, keys, then):
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if then is not None:
            then(app)
            await settle(pilot)
            await pilot.press("escape" if name != "settings diff" else "ctrl+s")
            await settle(pilot)
        screen = app.screen
        for widget in screen.query("*"):
            if widget.display and widget.region.area:
                assert widget.region.right <= 80 or widget.parent is not screen and \
                    widget.parent.region.right <= 80, (name, widget)
        base = app.screen_stack[-2] if len(app.screen_stack) > 1 and \
            screen.is_modal else screen
        footer = base.query_one("ConsoleFooter")
        shown = "\n".join(t.plain for t in footer.lines(80))
        for _, description, _ in footer.entries():
            assert description in shown, (name, description)
        assert footer.region.bottom == 24 and len(footer.lines(80)) <= 3


async def test_at_200_columns_nothing_is_cut_short(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        header = app.screen.query_one("#hdr-cluster", Static)
        text = str(header.visual)
        assert text.endswith("via zk zk-1:2181/kafka")
        assert header.region.width >= len(text)
        assert len(app.screen.query_one("ConsoleFooter").lines(200)) == 1
        table = app.screen.query_one("#brokers", RowTable)
        assert table.region.width >= table.virtual_size.width


async def test_brokers_missing_from_the_fake_stay_down_across_refreshes(tmp_path):
    # A DOWN row keeps its first "since" whatever the refreshes that follow see.
    clock = Clock()
    backend = LiveBackend()
    app = _app(tmp_path, backend, clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        backend.registered = {1, 2}
        clock.now += 30
        app.request_refresh()
        await settle(pilot)
        first = _row(app, 3)[1]
        clock.now += 30
        app.request_refresh()
        await settle(pilot)
        assert _row(app, 3)[1] == first == "DOWN since 14:13:50"


def test_fixed_brokers_are_three():
    # The fake the snapshots use: three brokers, the DOWN test removes the third.
    assert [b.id for b in fixed_brokers()] == [1, 2, 3]
    assert dataclasses.is_dataclass(ClusterSnapshot)
