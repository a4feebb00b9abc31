"""Load: the Reports screen takes a history of 100,000 rows from a deterministic backend
(test-only) and answers keys while it loads.

The backend holds the second half of the history back until the test lets it go, so the
load is certainly still running when `?` is pressed: the help screen must come up before
the load ends. Had the load run on the event loop, `?` could only be answered after it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from textual.widgets import DataTable, Static

from engine.reading.report import ReportSummary, build_report
from engine.reporting.records import encode
from tests.support.console import SIZE, wait_for
from tools.console_fake import NOW, FakeBackend
from tui.app import ConsoleApp
from tui.config import ConsoleConfig
from tui.screens.help import HelpScreen
from tui.screens.reports import ReportsScreen

pytestmark = [pytest.mark.anyio]

LOAD_ROWS = 100_000
BATCH = 2_000


class LoadBackend(FakeBackend):
    """The fake cluster, with a history of LOAD_ROWS reports of broker 1, the second half
    of it released only when `gate` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.half_sent = threading.Event()
        value = encode({"timestamp": int(NOW), "kafkaVersion": "3.9.2",
                        "confluentPlatformVersion": "7.9.0", "collectorState": 2,
                        "brokerProcessUUID": "load", "clusterId": "load"}, "basic")
        self._summary = build_report(value, partition=0, offset=0, kafka_ms=int(NOW * 1000),
                                     headers={"broker.id": b"1"}).summary()

    def history(self, broker_id: int | None, cancel: threading.Event
                ) -> Iterator[list[ReportSummary]]:
        for start in range(0, LOAD_ROWS, BATCH):
            if start == LOAD_ROWS // 2:
                self.half_sent.set()
                # Bounded: a test that never opens the gate still ends.
                self.gate.wait(60)
            if cancel.is_set():
                return
            yield [replace(self._summary, offset=n, time_s=int(NOW) - (LOAD_ROWS - n))
                   for n in range(start, start + BATCH)]


async def test_help_answers_while_100k_rows_load():
    backend = LoadBackend()
    config = ConsoleConfig(zookeeper="zk-1:2181/kafka")
    app = ConsoleApp(config, backend, clock=lambda: NOW, watch=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: isinstance(app.screen, ReportsScreen))
            screen = app.screen
            table = screen.query_one("#reports", DataTable)
            await wait_for(pilot, lambda: table.row_count == 4 and not screen._loading)
            await pilot.press("h")  # the history of broker 1, the first row
            await wait_for(pilot, lambda: backend.half_sent.is_set() and table.row_count > 0)
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=20)
            assert screen._loading and len(screen.rows) < LOAD_ROWS
            backend.gate.set()
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            await wait_for(pilot, lambda: not screen._loading, timeout=120)
            assert table.row_count == LOAD_ROWS
            status = str(screen.query_one("#reports-status", Static).visual)
            assert "history of broker 1: 100,000 rows" in status
    finally:
        backend.gate.set()
