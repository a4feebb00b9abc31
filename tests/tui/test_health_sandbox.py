"""The Health screen against a real cluster: crafted reports on a fresh support topic, one
broker on another Kafka version, and the topic's single replica, show up as findings on
the screen, in the Cluster screen's warning lines and in the header. Stops nothing."""

from __future__ import annotations

import time

import pytest

from tests.support.console import SIZE, basic_report, make_topic, produce, sandbox_app, wait_for

pytestmark = [pytest.mark.anyio]


def _rules(screen) -> list[str]:
    table = screen.query_one("#findings")
    return [table.get_row_at(i)[1] for i in range(table.row_count)]


async def test_crafted_reports_raise_version_drift_and_support_topic_on_screen(sandbox):
    topic = make_topic(sandbox.bootstrap, "ps-health-screen")  # replication factor 1
    ids = sorted(sandbox.broker_ids)
    now = int(time.time())
    odd = ids[-1]
    produce(sandbox.bootstrap, topic, [
        (basic_report(now - 30, f"tok-{i}", kafka="3.8.1" if i == odd else "3.9.2"),
         {"broker.id": str(i)}) for i in ids])
    app = sandbox_app(sandbox, topic)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.health is not None, timeout=60)
        await pilot.press("3")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HealthScreen")
        screen = app.screen
        await wait_for(pilot, lambda: {"version-drift", "support-topic"} <= set(_rules(screen)),
                       timeout=30)
        assert "report-missing" not in _rules(screen)  # every broker has its report
        # Down to version-drift: its details say who runs what.
        await pilot.press(*["down"] * _rules(screen).index("version-drift"))
        detail = str(screen.query_one("#finding-detail").visual)
        assert f"3.8.1 (broker {odd})" in detail and "what to do:" in detail
        assert "warnings" in str(screen.query_one("#hdr-findings").visual)
        await pilot.press("1")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ClusterScreen")
        warnings = str(app.screen.query_one("#cluster-warnings").visual)
        assert "brokers run different versions" in warnings
        assert f"support topic {topic}" in warnings
