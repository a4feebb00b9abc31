"""Faults while the console is open (issue 7): a broker killed with SIGKILL, and ZooKeeper
stopped and started again. Both stop sandbox processes, so they run on a private sandbox
only (never under PS_SANDBOX_REUSE) and start again, in `finally`, whatever they stopped.

The console is left alone while it recovers: no key press brings the cluster back."""

from __future__ import annotations

import asyncio
import os

import pytest
from textual.widgets import Static

from tests.support.console import SIZE, sandbox_app, wait_for
from tools.sandbox.kafka_sandbox import CACHE
from tui.screens.cluster import ClusterScreen
from tui.screens.help import HelpScreen
from tui.widgets.row_table import RowTable

pytestmark = [
    pytest.mark.sandbox, pytest.mark.anyio, pytest.mark.private_sandbox,
    pytest.mark.skipif(bool(os.environ.get("PS_SANDBOX_REUSE")),
                       reason="stops sandbox processes: refused under PS_SANDBOX_REUSE "
                              "(the shared sandbox); run it on a private one"),
]


@pytest.fixture
def private_box(sandbox):
    """The sandbox handle, after checking it is not the shared one."""
    if sandbox.box.state_dir.resolve() == (CACHE / "run").resolve():
        pytest.fail("refusing to stop processes of the shared sandbox")
    return sandbox.box


def _ids(table: RowTable) -> list[str]:
    """The registered brokers' rows (a broker that left stays as a DOWN row)."""
    return [str(table.get_row_at(r)[0]) for r in range(table.row_count)
            if not str(table.get_row_at(r)[1]).startswith("DOWN")]


def _header_state(app) -> str:
    return str(app.screen.query_one("#hdr-state", Static).visual)


async def test_killed_broker_is_shown_gone_console_answers_and_it_returns(
        sandbox, private_box, report_topic):
    victim = sorted(sandbox.broker_ids)[0]
    app = sandbox_app(sandbox, report_topic)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#brokers", RowTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        await wait_for(pilot, lambda: app._watch is not None)
        # In a thread: the app keeps running while the process dies.
        await asyncio.to_thread(private_box.stop_broker, victim, kill=True)
        try:
            # No clean shutdown: the registration goes when its ZooKeeper session expires.
            await wait_for(pilot, lambda: str(victim) not in _ids(table), timeout=60)
            assert len(_ids(table)) == 2 and table.row_count == 3  # the victim is DOWN
            # Still answering keys while a broker is gone.
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=10)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen), timeout=10)
        finally:
            await asyncio.to_thread(private_box.start_broker, victim)
        await wait_for(pilot, lambda: str(victim) in _ids(table), timeout=90)
        assert sorted(_ids(table)) == sorted(str(b) for b in sandbox.broker_ids)


async def test_zookeeper_outage_is_shown_and_the_console_recovers_by_itself(
        sandbox, private_box, report_topic):
    app = sandbox_app(sandbox, report_topic)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#brokers", RowTable)
        await wait_for(pilot, lambda: table.row_count == 3 and app.conn_state == "connected")
        await wait_for(pilot, lambda: app._watch is not None)
        await asyncio.to_thread(private_box.stop_zookeeper)
        try:
            await wait_for(pilot, lambda: "ZooKeeper" in _header_state(app), timeout=30)
            state = _header_state(app)
            assert "reconnecting" in state and "Traceback" not in state
            assert isinstance(app.screen, ClusterScreen)  # no error screen took over
        finally:
            await asyncio.to_thread(private_box.start_zookeeper)
        await wait_for(pilot, lambda: app.conn_state == "connected" and
                       len(_ids(table)) == 3, timeout=120)
        assert _header_state(app) == "connected"
        assert sorted(_ids(table)) == sorted(str(b) for b in sandbox.broker_ids)
