"""A broker that stops turns into a DOWN row of the Cluster screen with no key pressed
(ZooKeeper watch), with a warning line, and is back to normal when it restarts. Stops a
broker: private sandbox only."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.support.console import SIZE, sandbox_app, wait_for
from tui.widgets.row_table import RowTable

pytestmark = [pytest.mark.sandbox, pytest.mark.anyio, pytest.mark.private_sandbox]


def _states(table: RowTable) -> dict[str, str]:
    """Broker id -> the state column."""
    return {str(table.get_row_at(r)[0]): str(table.get_row_at(r)[1])
            for r in range(table.row_count)}


async def test_stopped_broker_is_a_down_row_then_normal_again(sandbox, report_topic):
    if os.environ.get("PS_SANDBOX_REUSE"):
        pytest.skip("stops a broker: run without PS_SANDBOX_REUSE (a private sandbox), "
                    "never against the shared one")
    victim = sorted(sandbox.broker_ids)[-1]
    app = sandbox_app(sandbox, report_topic)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#brokers", RowTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await wait_for(pilot, lambda: app._watch is not None)
        # In a thread: the app keeps running while the broker shuts down.
        await asyncio.to_thread(sandbox.box.stop_broker, victim)
        try:
            await wait_for(pilot, lambda: _states(table).get(str(victim), "")
                           .startswith("DOWN since"), timeout=60)
            assert len(_states(table)) == 3  # still listed
            # The broker-down finding comes with the health evaluation of the refresh
            # that the watch's event started, a moment after the DOWN row.
            await wait_for(pilot, lambda: f"broker {victim} is not registered" in str(
                app.screen.query_one("#cluster-warnings").visual), timeout=30)
            assert "critical" in str(app.screen.query_one("#hdr-findings").visual)
        finally:
            await asyncio.to_thread(sandbox.box.start_broker, victim)
        await wait_for(pilot, lambda: not _states(table)[str(victim)].startswith("DOWN"),
                       timeout=90)
        await wait_for(pilot, lambda: "not registered" not in str(
            app.screen.query_one("#cluster-warnings").visual), timeout=30)
