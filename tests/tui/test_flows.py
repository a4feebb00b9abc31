"""Pilot tests of every console flow against the real sandbox (ZooKeeper + 3 brokers)."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Input

from engine.config.settings import BLOCK_LABEL
from engine.reading.bundle import open_bundle
from engine.reporting.records import decode
from tests.support.console import (
    SIZE,
    basic_report,
    produce,
    sandbox_app,
    status_of,
    table_rows,
    wait_for,
)
from tui.screens.confirm import ConfirmDialog
from tui.screens.export import ExportDialog
from tui.screens.report_now import ReportNowScreen
from tui.screens.settings import SettingsScreen
from tui.widgets.row_table import RowTable
from tui.widgets.virtual_table import VirtualTable

pytestmark = pytest.mark.anyio


def _text(widget) -> str:
    """What a Static shows, as plain text (a Rich table's str() is only its repr)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def _broker_config(cluster, tmp_path: Path, topic: str) -> Path:
    """A copy of broker 1's server.properties reporting to `topic`, HTTP switched off."""
    original = Path(cluster.box.state.brokers[0].config).read_text("latin-1")
    path = tmp_path / "server.properties"
    path.write_text(original + "\nconfluent.support.metrics.enable=true"
                    "\nconfluent.support.metrics.topic=" + topic +
                    "\nconfluent.support.metrics.endpoint.secure.enable=false"
                    "\nconfluent.support.metrics.endpoint.insecure.enable=false\n", "latin-1")
    return path


async def test_cluster_screen_lists_the_three_brokers(cluster, report_topic):
    app = sandbox_app(cluster, report_topic)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#brokers", RowTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        ids = [str(table.get_row_at(r)[0]) for r in range(3)]
        assert ids == [str(b) for b in sorted(cluster.broker_ids)]
        # Every broker reported to the fixture's topic: an age, not "missing".
        assert all(str(table.get_row_at(r)[2]) != "missing" for r in range(3))
        assert all(str(table.get_row_at(r)[1]) == "ok" for r in range(3))
        assert app.cluster_id and app.cluster_id != "?"


async def test_reports_screen_shows_latest_detail_and_undecodable(cluster, report_topic):
    app = sandbox_app(cluster, report_topic)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        screen = app.screen
        table = screen.query_one("#reports", VirtualTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        rows = table_rows(table)
        assert [r[1] for r in rows] == ["1", "2", "3", "-"]
        assert rows[3][4] == "undecodable"
        detail = screen.query_one("#detail-body")
        await wait_for(pilot, lambda: "brokerProcessUUID" in _text(detail))
        assert "identity" in _text(detail)  # the fields under their headings
        await pilot.press("h")  # history of broker 1: both of its reports
        await wait_for(pilot, lambda: "history of broker 1: 2 rows" in status_of(screen)
                       and all(table_rows(table)))
        assert [r[0] for r in table_rows(table)] == ["0@3", "0@0"]  # newest first
        assert all(r[5] == "tok-1" for r in table_rows(table))
        await pilot.press("l", "slash", *"tok-3", "enter")
        await wait_for(pilot, lambda: table.row_count == 1)


async def test_reports_follow_the_topic_and_an_open_history_grows(sandbox, report_topic):
    """New reports appear without `r`: in the latest view (a look at the end of the topic
    every few seconds) and in an open history (it follows the end too)."""
    app = sandbox_app(sandbox, report_topic)
    now = int(time.time())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        screen = app.screen
        table = screen.query_one("#reports", VirtualTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        produce(sandbox.bootstrap, report_topic,
                [(basic_report(now, "tok-new", kafka="4.0.0"), {"broker.id": "1"})])
        await wait_for(pilot, lambda: any(r[:2] == ["0@7", "1"] and "4.0.0" in r
                                          for r in table_rows(table)), timeout=30)
        assert table.row_count == 4  # broker 1's newer report took its place
        table.move_cursor(0)
        await pilot.press("h")
        await wait_for(pilot, lambda: "history of broker 1: 3 rows" in status_of(screen)
                       and all(table_rows(table)))
        assert "restart" in table_rows(table)[0][-1]  # tok-1 -> tok-new
        produce(sandbox.bootstrap, report_topic,
                [(basic_report(now + 1, "tok-new"), {"broker.id": "1"}),
                 (basic_report(now + 1, "tok-2"), {"broker.id": "2"})])
        await wait_for(pilot, lambda: "history of broker 1: 4 rows" in status_of(screen)
                       and table_rows(table)[0][:1] == ["0@8"], timeout=30)
        assert table.cursor_row == 0  # following the newest


async def test_e_then_enter_writes_a_bundle_of_the_topic(cluster, report_topic, tmp_path,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default file name is relative to the current folder
    app = sandbox_app(cluster, report_topic)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))
        dialog = app.screen
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.result is not None)
        result = dialog.result
        assert result.complete and result.records == 7
        opened = open_bundle(result.path)
        assert Path(result.path).parent.resolve() == tmp_path.resolve()
        assert len(opened.entries) == 7
        assert sum(e.ok for e in opened.entries) == 6
        assert {e.token for e in opened.entries if e.ok} == \
            {"tok-1", "tok-2", "tok-3"}
        with zipfile.ZipFile(result.path) as zf:
            assert not decode(zf.read(zf.namelist()[-1])).ok
        await pilot.press("escape")
        assert not isinstance(app.screen, ExportDialog)


async def test_t_sends_a_report_that_appears_in_reports(cluster, report_topic, tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table = app.screen.query_one("#reports", VirtualTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportNowScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.dry is not None, timeout=60)
        assert screen.plan == [("topic", report_topic)]
        await pilot.press("ctrl+t")
        await pilot.pause(0.2)
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.sent is not None, timeout=60)
        topic_result = [d for d in screen.sent.destinations if d.destination == "topic"]
        assert topic_result and topic_result[0].ok
        # After sending, no pane still shows the dry run's "would send".
        result = _text(screen.query_one("#report-result"))
        detail = _text(screen.query_one("#report-detail"))
        assert "result per destination" in result and "ok" in result
        assert "would send" not in result + detail
        assert "The report that was sent" in detail
        # Every destination listed is counted: the two disabled ones as skipped.
        assert _text(screen.query_one("#report-status")).startswith(
            "SENT: 1 of 3 destinations accepted the report (topic), 2 skipped (https, http)")
        await pilot.press("escape")
        await pilot.press("r")
        await wait_for(pilot, lambda: any(r[0] == "0@7" for r in table_rows(table)))


async def open_settings(pilot) -> SettingsScreen:
    """Press `s` and wait until the Settings form has loaded its file."""
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.loaded is not None)
    return screen


async def test_settings_edit_is_saved_and_only_that_line_changes(cluster, report_topic,
                                                                 tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    before = config.read_text("latin-1")
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        box = screen.query_one("#setting-3", Input)  # report.interval.hours
        box.value = "0"
        await pilot.pause(0.1)
        assert "problem" not in str(screen.query_one("#problem-3").visual)
        assert str(screen.query_one("#problem-3").visual).strip()  # 0 is refused as typed
        box.value = "6"
        await pilot.pause(0.1)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        await pilot.press("y")
        await wait_for(pilot, lambda: config.read_text("latin-1") != before)
    after = config.read_text("latin-1")
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    # The key was not in the file: the engine appends it under its labelled block.
    assert added == [BLOCK_LABEL, "confluent.support.metrics.report.interval.hours=6"]
    assert removed == []


async def test_settings_changed_on_disk_is_not_overwritten(cluster, report_topic, tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        screen.query_one("#setting-1", Input).value = "c0"
        config.write_text(config.read_text("latin-1") + "# edited by someone else\n",
                          "latin-1")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        await pilot.press("y")
        status = screen.query_one("#settings-status")
        await wait_for(pilot, lambda: "changed on disk" in str(status.visual))
        assert "customer.id" not in config.read_text("latin-1")
        # The way forward: read the file again keeping the edit, review the new diff, save.
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "your edits kept" in str(status.visual))
        assert screen.query_one("#setting-1", Input).value == "c0"
        assert screen.changes() == {"confluent.support.customer.id": "c0"}
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        await pilot.press("y")
        await wait_for(pilot, lambda: "customer.id=c0" in config.read_text("latin-1"))
    after = config.read_text("latin-1")
    assert "# edited by someone else" in after  # the other writer's change survived


async def _edit_then(pilot, config: Path, *keys: str) -> SettingsScreen:
    """Open Settings, change one value without saving, press `keys`, and wait for the
    discard question."""
    screen = await open_settings(pilot)
    screen.query_one("#setting-1", Input).value = "c0"  # customer.id, not saved
    await pilot.pause(0.1)
    await pilot.press(*keys)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), timeout=5)
    title = str(pilot.app.screen.query_one("#confirm-title").visual)
    assert f"Discard unsaved changes to {config}?" in title
    return screen


async def test_settings_esc_with_unsaved_edits_asks_before_leaving(cluster, report_topic,
                                                                   tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    before = config.read_text("latin-1")
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _edit_then(pilot, config, "escape")
        dialog = app.screen
        assert "Keep editing" in str(dialog.query_one("#confirm-no").label)
        assert "Discard" in str(dialog.query_one("#confirm-yes").label)
        await pilot.press("escape")  # esc in the dialog keeps editing
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.changes() == {"confluent.support.customer.id": "c0"}
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#confirm-no")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.changes() == {"confluent.support.customer.id": "c0"}
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#confirm-yes")
        await wait_for(pilot, lambda: not isinstance(app.screen, (SettingsScreen,
                                                                  ConfirmDialog)))
        assert screen not in app.screen_stack
    assert config.read_text("latin-1") == before


async def test_settings_esc_without_edits_leaves_at_once(cluster, report_topic, tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        base = len(app.screen_stack)
        screen = await open_settings(pilot)
        screen.query_one("#setting-1", Input).value = "c0"
        await pilot.pause(0.1)
        screen.query_one("#setting-1", Input).value = ""  # typed, then taken back
        await pilot.pause(0.1)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert len(app.screen_stack) == base and not isinstance(app.screen, ConfirmDialog)


async def test_report_now_over_unsaved_settings_asks_first(cluster, report_topic, tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    before = config.read_text("latin-1")
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _edit_then(pilot, config, "t")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.changes() == {"confluent.support.customer.id": "c0"}
        # From the other mode too: `t` goes back to the mode holding Settings, then asks.
        await pilot.press("2")
        await wait_for(pilot, lambda: app.current_mode == "reports")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert app.current_mode == "cluster"
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportNowScreen))
        assert _forms(app) == [app.screen]
    assert config.read_text("latin-1") == before


async def test_quit_with_unsaved_settings_asks_first(cluster, report_topic, tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    before = config.read_text("latin-1")
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _edit_then(pilot, config, "q")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert app.return_code is None  # still running
        await pilot.press("2")
        await wait_for(pilot, lambda: app.current_mode == "reports")
        await pilot.press("q")  # from the other mode: shown over the form it is about
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert app.current_mode == "cluster"
        await pilot.press("q")  # a second `q` does not stack a second question
        await pilot.pause(0.2)
        assert sum(isinstance(s, ConfirmDialog) for s in app.screen_stack) == 1
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert config.read_text("latin-1") == before


async def test_app_keys_never_stack_a_second_copy(cluster, report_topic, tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        base = len(app.screen_stack)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        settings = app.screen
        await pilot.press("s")
        await pilot.pause(0.2)
        assert app.screen is settings and len(app.screen_stack) == base + 1
        await pilot.press("t")  # Report now takes the place of Settings
        await wait_for(pilot, lambda: isinstance(app.screen, ReportNowScreen))
        assert len(app.screen_stack) == base + 1
        await pilot.press("t")
        await pilot.pause(0.2)
        assert len(app.screen_stack) == base + 1
        await pilot.press("e", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))
        await pilot.press("e")  # typed into the file name, not a second dialog
        await pilot.pause(0.2)
        assert sum(isinstance(s, ExportDialog) for s in app.screen_stack) == 1
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == base)


def _forms(app) -> list:
    """Every Settings and Report now screen in the stacks of both modes."""
    return [screen for mode in ("cluster", "reports") for screen in app.get_screen_stack(mode)
            if isinstance(screen, (SettingsScreen, ReportNowScreen))]


async def test_settings_asked_for_in_the_other_mode_is_the_one_already_open(
        cluster, report_topic, tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        settings = await open_settings(pilot)
        settings.query_one("#setting-1", Input).value = "c0"  # not saved
        # The form itself has the focus, not one of its boxes: `2` reaches the app.
        await pilot.press("2")
        await wait_for(pilot, lambda: app.current_mode == "reports")
        await pilot.press("s")
        await pilot.pause(0.2)
        assert app.current_mode == "cluster" and app.screen is settings
        assert settings.changes() == {"confluent.support.customer.id": "c0"}
        assert _forms(app) == [settings]


async def test_report_now_and_settings_stay_one_screen_across_modes(cluster, report_topic,
                                                                    tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportNowScreen))
        report = app.screen
        await pilot.press("2")
        await wait_for(pilot, lambda: app.current_mode == "reports")
        await pilot.press("t")
        await pilot.pause(0.2)
        assert app.current_mode == "cluster" and app.screen is report
        assert _forms(app) == [report]
        # The other kind, asked for from the other mode: it takes Report now's place, as
        # `s` does over Report now within one mode.
        await pilot.press("2")
        await wait_for(pilot, lambda: app.current_mode == "reports")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert app.current_mode == "cluster"
        assert _forms(app) == [app.screen]


async def test_read_only_offers_no_save_and_no_report_now(cluster, report_topic, tmp_path):
    config = _broker_config(cluster, tmp_path, report_topic)
    before = config.read_text("latin-1")
    app = sandbox_app(cluster, report_topic, broker_configs=(str(config),), read_only=True)
    app.read_only = True
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.query_one("#hdr-readonly").display
        keys = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "report_now" not in keys and "export" in keys
        await pilot.press("t")
        assert not isinstance(app.screen, ReportNowScreen)
        screen = await open_settings(pilot)
        assert "save_settings" not in {b.binding.action
                                       for b in screen.active_bindings.values()}
        screen.query_one("#setting-3", Input).value = "6"
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        commands = [c.title for c in app.get_system_commands(screen)]
        assert "Settings: save" not in commands and "Report now" not in commands
        # Edits that can never be saved are not asked about when leaving.
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        assert not isinstance(app.screen, ConfirmDialog)
    assert config.read_text("latin-1") == before
