"""A broker that stops disappears from the Cluster screen with no key pressed (ZooKeeper
watch), and comes back when it restarts. Stops a broker: private sandbox only."""

from __future__ import annotations

import asyncio
import os

import pytest
from textual.widgets import DataTable

from tests.support.console import SIZE, sandbox_app, wait_for

pytestmark = [pytest.mark.sandbox, pytest.mark.anyio, pytest.mark.private_sandbox]


def _ids(table: DataTable) -> list[str]:
    return [str(table.get_row_at(r)[0]) for r in range(table.row_count)]


async def test_stopped_broker_leaves_the_cluster_screen(sandbox, report_topic):
    if os.environ.get("PS_SANDBOX_REUSE"):
        pytest.skip("stops a broker: run without PS_SANDBOX_REUSE (a private sandbox), "
                    "never against the shared one")
    victim = sorted(sandbox.broker_ids)[-1]
    app = sandbox_app(sandbox, report_topic)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#brokers", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await wait_for(pilot, lambda: app._watch is not None)
        # In a thread: the app keeps running while the broker shuts down.
        await asyncio.to_thread(sandbox.box.stop_broker, victim)
        try:
            await wait_for(pilot, lambda: str(victim) not in _ids(table), timeout=60)
            assert len(_ids(table)) == 2
        finally:
            await asyncio.to_thread(sandbox.box.start_broker, victim)
        await wait_for(pilot, lambda: str(victim) in _ids(table), timeout=90)
