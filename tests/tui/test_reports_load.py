"""Size: the Reports screen on a history of 1,000,000 rows (a deterministic history made
on the fly, test-only) opens, goes to the end, scrolls and answers keys while the history
is still reading, asking for the rows on screen only.

The history's `work` holds until the test lets it go, so it is certainly still reading
when `?` is pressed: the help screen must come up meanwhile. The real history of a topic
is measured by `bench/console_history_bench.py` and tested on a real topic in
tests/integration/test_topic_history.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from engine.reading.history import History, Progress, Row
from engine.reading.report import ReportSummary
from engine.reading.rules import Event
from engine.reading.timeline import Timeline, build_timeline
from tests.support.console import SIZE, status_of, wait_for
from tools.console_fake import NOW, FakeBackend
from tui.app import ConsoleApp
from tui.config import ConsoleConfig
from tui.screens.help import HelpScreen
from tui.screens.reports import ReportsScreen
from tui.widgets.virtual_table import VirtualTable

pytestmark = [pytest.mark.anyio]

ROWS = 1_000_000


class MillionHistory(History):
    """A million reports of broker 1, one an hour, made when asked for; `work` waits for
    `gate` once, so the history counts as still reading until the test opens it."""

    label = "history of broker 1"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.working = threading.Event()
        self.asked: list[tuple[int, int]] = []
        self.done = False

    def progress(self) -> Progress:
        return Progress(rows=ROWS, exact=True, decoded=1.0 if self.done else 0.5,
                        following=not self.done)

    def _row(self, r: int) -> ReportSummary:
        offset = ROWS - 1 - r
        return ReportSummary(partition=0, offset=offset, time_s=int(NOW) - r * 3600,
                             broker_id=1, attributed_by="header", token="load", state=2,
                             schema="SupportKafkaMetricsBasic", kafka_version="3.9.2",
                             size=781)

    def rows(self, start: int, stop: int) -> list[Row]:
        self.asked.append((start, stop))
        return [self._row(r) for r in range(max(0, start), min(stop, ROWS))]

    def work(self, cancel: threading.Event) -> bool:
        if self.done:
            return False
        self.working.set()
        self.gate.wait(60)  # bounded: a test that never opens the gate still ends
        self.done = True
        return True

    @property
    def idle(self) -> bool:
        return self.done

    def wait(self, seconds: float) -> None:
        time.sleep(min(seconds, 0.05))

    def events_of(self, row: ReportSummary) -> list[Event]:
        return []

    def events(self) -> list[Event]:
        return []

    def timeline(self, cells: int) -> Timeline | None:
        return build_timeline([], [], 0, 1, cells)

    def find(self, row: ReportSummary) -> int | None:
        return ROWS - 1 - row.offset

    def matching(self, text: str) -> History:
        return self


class LoadBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__()
        self.history = MillionHistory()

    def open_history(self, broker_id: int | None, interval_s: float) -> History:
        return self.history


async def test_a_million_rows_open_at_once_and_keys_answer_while_it_reads():
    backend = LoadBackend()
    history = backend.history
    config = ConsoleConfig(zookeeper="zk-1:2181/kafka")
    app = ConsoleApp(config, backend, clock=lambda: NOW, watch=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: isinstance(app.screen, ReportsScreen))
            screen = app.screen
            table = screen.query_one("#reports", VirtualTable)
            await wait_for(pilot, lambda: table.row_count == 4)
            await pilot.press("h")  # the history of broker 1, the first row
            await wait_for(pilot, lambda: table.row_count == ROWS and history.working.is_set())
            assert "history of broker 1: 1,000,000 rows" in status_of(screen)
            assert table.cells_at(0)[0].plain == f"0@{ROWS - 1}"
            # Only rows on screen (and single rows the test or the detail pane read) were
            # asked for, never the million.
            assert max(stop - start for start, stop in history.asked) <= SIZE[1]
            await pilot.press("end")
            await pilot.pause()
            assert table.cursor_row == ROWS - 1
            assert screen.selected() is not None and screen.selected().offset == 0
            await pilot.press("pageup")
            assert 0 < table.cursor_row < ROWS - 1
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=20)
            assert not history.done  # still reading: the key did not wait for it
            history.gate.set()
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            await wait_for(pilot, lambda: history.done)
            assert max(stop - start for start, stop in history.asked) <= SIZE[1]
    finally:
        history.gate.set()
