"""The Health screen on the deterministic backend: findings worst first with their hint,
a finding that clears, the header's counts, the [health] settings, the clock, 80x24 and
200 columns. The rules and the tracker are the engine's: the fake only fixes the facts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.health.facts import PartitionState
from tools.console_fake import NOW, basic_report, fake_app, settle, write_broker_config
from tui.config import load_config

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_broker_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PS_CONSOLE_CONFIG", str(tmp_path / "no-such.toml"))


def _rows(screen) -> list[list[str]]:
    table = screen.query_one("#findings")
    return [table.get_row_at(i) for i in range(table.row_count)]


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector).visual)


async def _open(pilot) -> object:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    return pilot.app.screen


async def test_findings_worst_first_with_the_selected_hint_and_details():
    app = fake_app()
    # A partition without a leader: a critical finding among the warnings.
    app.backend.unhealthy.append(PartitionState("payments", 0, None, (3,), ()))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        assert type(screen).__name__ == "HealthScreen"
        rows = _rows(screen)
        severities = [r[0] for r in rows]
        assert severities == sorted(severities, key=["critical", "warning", "info"].index)
        assert rows[0][:3] == ["critical", "offline-partitions", "cluster"]
        assert {r[1] for r in rows} >= {"report-stale", "version-drift",
                                        "under-replicated-partitions", "support-topic",
                                        "broker-restarted"}
        detail = _text(screen, "#finding-detail")
        assert "what to do: bring back the brokers" in detail
        assert "payments: partition 0" in detail  # the details name the topic locally
        await pilot.press("down")
        detail = _text(screen, "#finding-detail")
        assert "report-stale" in detail and "ps-console agent --check" in detail
        assert "1 critical  4 warnings" in str(
            screen.query_one("#hdr-findings").visual)


async def test_a_finding_clears_and_the_header_and_cluster_screen_follow():
    app = fake_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        header = str(app.screen.query_one("#hdr-findings").visual)
        assert header == "4 warnings"
        warnings = _text(app.screen, "#cluster-warnings")
        assert "brokers run different versions" in warnings
        screen = await _open(pilot)
        assert "version-drift" in [r[1] for r in _rows(screen)]
        # Broker 3 is upgraded and reports again: version-drift and report-stale clear.
        app.backend.reports.append(basic_report(len(app.backend.reports), 3, 30))
        await pilot.press("r")
        await settle(pilot)
        shown = [r[1] for r in _rows(screen)]
        assert "version-drift" not in shown and "report-stale" not in shown
        assert {"under-replicated-partitions", "support-topic"} <= set(shown)
        assert {f.rule for f in app.health.cleared} == {"version-drift", "report-stale"}
        assert str(screen.query_one("#hdr-findings").visual) == "2 warnings"
        await pilot.press("1")
        await settle(pilot)
        warnings = _text(app.screen, "#cluster-warnings")
        assert "different versions" not in warnings and "under-replicated" in warnings


async def test_nothing_at_warning_or_above_leaves_the_header_without_counts():
    app = fake_app()
    backend = app.backend
    backend.unhealthy.clear()
    backend.support_replicas = 3
    backend.reports.append(basic_report(len(backend.reports), 3, 30))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        assert [r[0] for r in _rows(screen)] == ["info"]  # broker 1's restart
        assert not screen.query_one("#hdr-findings").display
        assert "0 critical  0 warnings  1 info" in _text(screen, "#health-summary")


async def test_health_settings_of_the_config_file_apply_as_to_the_cli(tmp_path):
    config = tmp_path / "console.toml"
    config.write_text('[health]\nsilence = ["version-drift"]\n'
                      '[health.severity]\nsupport-topic = "critical"\n')
    app = fake_app(health=load_config(path=config).health)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        rows = _rows(screen)
        assert rows[0][:2] == ["critical", "support-topic"]
        assert "version-drift" not in [r[1] for r in rows]
        assert "version-drift" not in app.health.rules
        assert "1 critical  2 warnings" in str(screen.query_one("#hdr-findings").visual)


async def test_since_ticks_with_the_app_clock_and_the_evaluation_is_off_the_ui_thread():
    app = fake_app()
    threads: list[str] = []
    evaluate = app.backend.health

    def recorded():
        threads.append(threading.current_thread().name)
        return evaluate()

    app.backend.health = recorded
    clock = [NOW]
    app.clock = lambda: clock[0]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        assert threads and threading.main_thread().name not in threads
        version = next(r for r in _rows(screen) if r[1] == "version-drift")
        assert version[3] == "0s"
        clock[0] = NOW + 150
        await pilot.pause(1.3)  # the age tick is 1 s
        version = next(r for r in _rows(screen) if r[1] == "version-drift")
        assert version[3] == "2m"


async def test_80x24_keeps_the_hint_on_screen_and_200_columns_the_whole_message():
    app = fake_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        pane = screen.query_one("#finding-pane")
        assert pane.region.bottom <= 24 and pane.region.width == 80
        detail = _text(screen, "#finding-detail")
        assert "more than its interval" in detail and "what to do:" in detail
        footer = screen.query_one("ConsoleFooter")
        assert footer.region.bottom == 24 and "3" in [e[0] for e in footer.entries()]
    app = fake_app()
    async with app.run_test(size=(200, 40)) as pilot:
        screen = await _open(pilot)
        table = screen.query_one("#findings")
        assert table.virtual_size.width <= table.size.width  # no column cut short
        messages = [f.message for f in app.health.findings]
        assert [r[4] for r in _rows(screen)] == messages


async def test_offline_the_screen_says_why_it_has_nothing():
    app = fake_app(bundle=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        assert "No health findings offline" in _text(screen, "#health-summary")
        assert not screen.query_one("#findings").display
        assert app.health is None
