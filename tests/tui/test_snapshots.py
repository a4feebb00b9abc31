"""SVG snapshots of every screen and dialog on deterministic data (fake backend, fixed
clock, no user config). Update with `pytest tests/tui/test_snapshots.py --snapshot-update`
after a deliberate change, and look at the report before committing."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from tools.console_fake import fake_app, settle, write_broker_config

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_broker_config(tmp_path)
    monkeypatch.chdir(tmp_path)


def _keys(*keys: str):
    async def run(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
    return run


def test_cluster(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_keys())


def test_cluster_read_only(snap_compare):
    assert snap_compare(fake_app(read_only=True), terminal_size=SIZE, run_before=_keys())


def test_reports(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_keys("2"))


def test_reports_raw_view_of_undecodable(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE,
                        run_before=_keys("2", "end", "v"))


def test_reports_history_filtered(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE,
                        run_before=_keys("2", "h", "slash", *"shutting", "enter"))


def test_bundle_offline(snap_compare):
    """The header names the bundle's cluster; the identity line its comment's facts."""
    assert snap_compare(fake_app(bundle=True), terminal_size=SIZE, run_before=_keys())


def test_reports_history_with_events(snap_compare):
    """Broker 1's history: token and state per row, every event marked, the strip of
    arrivals above; the cursor on the restart."""
    assert snap_compare(fake_app(), terminal_size=SIZE,
                        run_before=_keys("2", "h", "down", "down", "down", "down"))


def test_reports_enhanced_detail_120(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE,
                        run_before=_keys("2", "h", "down", "down"))


def test_reports_enhanced_detail_80x24(snap_compare):
    """At 80 columns the detail goes under the table, each value beside its key; the
    footer and the strip stay inside the screen."""
    assert snap_compare(fake_app(), terminal_size=(80, 24),
                        run_before=_keys("2", "h", "down", "down"))


def test_reports_latest_80x24(snap_compare):
    assert snap_compare(fake_app(), terminal_size=(80, 24), run_before=_keys("2"))


def test_bundle_history_at_200_columns(snap_compare):
    """Side by side at 200 columns: every column whole, the detail beside the table."""
    assert snap_compare(fake_app(bundle=True), terminal_size=(200, 50),
                        run_before=_keys("h", "down", "down"))


def test_help(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_keys("question_mark"))


def test_export_dialog(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_keys("e"))


def test_export_done(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_keys("e", "enter"))


def test_settings_with_invalid_value(snap_compare):
    async def run(pilot) -> None:
        await _keys("s")(pilot)
        pilot.app.screen.query_one("#setting-1", Input).value = "acme"
        await settle(pilot)
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run)


def _edited_settings(*keys: str):
    """Settings with report.interval.hours changed to 6 and not saved, then `keys`."""
    async def run(pilot) -> None:
        await _keys("s")(pilot)
        pilot.app.screen.query_one("#setting-3", Input).value = "6"
        await settle(pilot)
        await _keys(*keys)(pilot)
    return run


def test_settings_diff(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_edited_settings("ctrl+s"))


def test_settings_discard_question(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_edited_settings("escape"))


def test_report_now_dry_run(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_keys("t"))


def test_report_now_sent(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE,
                        run_before=_keys("t", "ctrl+t", "y"))


def test_error_without_broker_config(snap_compare):
    assert snap_compare(fake_app(broker_configs=()), terminal_size=SIZE,
                        run_before=_keys("s"))


def test_settings_changed_on_disk(snap_compare):
    async def run(pilot) -> None:
        await _keys("s")(pilot)
        pilot.app.screen.query_one("#setting-3", Input).value = "6"
        with open("server.properties", "a") as fh:
            fh.write("# edited by someone else\n")
        await settle(pilot)
        await _keys("ctrl+s", "y")(pilot)
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run)


def test_cluster_with_a_down_broker(snap_compare):
    from engine.cluster.model import BrokerLeft
    from tui.messages import ClusterChanged

    async def run(pilot) -> None:
        await settle(pilot)
        # Broker 3 leaves and the watch tells: the refresh that follows no longer lists
        # it, and the health rules (which saw it registered) raise broker-down.
        app = pilot.app
        app.backend.brokers = [b for b in app.backend.brokers if b.id != 3]
        app.backend.observe(BrokerLeft(3))
        app.post_message(ClusterChanged(BrokerLeft(3)))
        await settle(pilot)
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run)


# -- Health ------------------------------------------------------------------------------

def test_health(snap_compare):
    """Findings worst first; the first one's hint under the table."""
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_keys("3"))


def test_health_finding_with_details(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=_keys("3", "down"))


def test_health_offline(snap_compare):
    assert snap_compare(fake_app(bundle=True), terminal_size=SIZE, run_before=_keys("3"))


def test_200_columns_health(snap_compare):
    """Every message whole at 200 columns."""
    assert snap_compare(fake_app(), terminal_size=(200, 40), run_before=_keys("3"))


# -- 80x24: every screen and dialog of the console inside a small terminal ---------------

SMALL = (80, 24)


@pytest.mark.parametrize("keys", [(), ("question_mark",), ("e",), ("e", "enter"), ("s",),
                                  ("t",), ("t", "ctrl+t"), ("t", "ctrl+t", "y"), ("3",)],
                         ids=["cluster", "help", "export", "export-done", "settings",
                              "report-now", "send-question", "sent", "health"])
def test_80x24(snap_compare, keys):
    assert snap_compare(fake_app(), terminal_size=SMALL, run_before=_keys(*keys))


def test_80x24_read_only_settings(snap_compare):
    assert snap_compare(fake_app(read_only=True), terminal_size=SMALL,
                        run_before=_keys("s"))


def test_80x24_settings_diff(snap_compare):
    assert snap_compare(fake_app(), terminal_size=SMALL,
                        run_before=_edited_settings("ctrl+s"))


def test_80x24_error(snap_compare):
    assert snap_compare(fake_app(broker_configs=()), terminal_size=SMALL,
                        run_before=_keys("s"))


def test_200_columns_cluster(snap_compare):
    assert snap_compare(fake_app(), terminal_size=(200, 40), run_before=_keys())


def test_cluster_during_zookeeper_outage(snap_compare):
    from engine.cluster.model import ConnectionChanged
    from tui.messages import ClusterChanged

    async def run(pilot) -> None:
        await settle(pilot)
        pilot.app.post_message(ClusterChanged(ConnectionChanged("suspended")))
        await settle(pilot)
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run)
