"""A history as a view reads it: rows by position, newest first, however many there are.

A view (the console's table) shows a window of rows and asks the history for exactly
those: `rows(start, stop)`. A history may not know every row yet: `TopicHistory`
(`engine.reading.topic_history`) finds a broker's records in the topic in the background
and decodes them lazily, so a row can be `Unread` (where it is, when that is known) until
its record is read. `want(start, stop)` tells the history what the view shows, so that it
reads those first; `work()` does one bounded step of whatever is left and says whether the
view should redraw. A history that holds everything from the start (`ListHistory`, for
bundles and tests) has nothing to do.

The events between consecutive reports and the timeline come from the same rules
everywhere (`engine.reading.rules.events`, `engine.reading.timeline`). A filter is a
history of its own (`matching`), over the rows decoded so far, that follows its parent as
more are decoded.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from engine.reading import rules
from engine.reading.report import ReportSummary
from engine.reading.report_log import ReportLog
from engine.reading.rules import Event
from engine.reading.timeline import Timeline, arrival_ms, build_timeline


@dataclass(frozen=True, slots=True)
class Unread:
    """A row whose record is not decoded yet: its position when the index knows it (None:
    the stretch of the topic it lies in is not indexed yet, the row is an estimate)."""

    partition: int | None = None
    offset: int | None = None
    kafka_ms: int | None = None

    @property
    def position(self) -> str:
        """`partition@offset`, or `?` when the row is an estimate."""
        return f"{self.partition}@{self.offset}" if self.offset is not None else "?"


Row = ReportSummary | Unread


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a history is: rows (exact or estimated), the share of its source indexed
    and decoded (0..1), and whether it follows new records."""

    rows: int
    exact: bool
    indexed: float = 1.0
    decoded: float = 1.0
    following: bool = False
    problem: str | None = None  # the last read failed: why (the history retries)

    @property
    def done(self) -> bool:
        """Every row is known and decoded."""
        return self.exact and self.decoded >= 1.0


class History(ABC):
    """Rows newest first (row 0 is the newest report); see the module docstring."""

    label: str = "history"
    interval_s: float = rules.DEFAULT_INTERVAL_S

    @abstractmethod
    def progress(self) -> Progress:
        """How many rows, and how much of the source is read."""

    def __len__(self) -> int:
        return self.progress().rows

    @abstractmethod
    def rows(self, start: int, stop: int) -> list[Row]:
        """Rows [start, stop), clipped to the rows there are; never blocks on I/O."""

    def want(self, start: int, stop: int) -> None:  # noqa: B027 - nothing to read first
        """The view shows rows [start, stop): read them first."""

    def work(self, cancel: threading.Event) -> bool:
        """One bounded step of reading (I/O, in a worker thread); True when the view
        should redraw. False and `idle` when there is nothing to do."""
        return False

    @property
    def idle(self) -> bool:
        """True when `work` has nothing to do until something changes."""
        return True

    @property
    def behind_view(self) -> bool:
        """True while rows the view shows wait for `work` to read them: what that step
        brings is worth drawing at once."""
        return False

    def wait(self, seconds: float) -> None:
        """Sleep until `want` asks for something, or `seconds` pass (worker threads)."""
        time.sleep(max(0.0, seconds))

    @abstractmethod
    def events_of(self, row: ReportSummary) -> list[Event]:
        """The events between this row and the one before it (empty when not known)."""

    @abstractmethod
    def events(self) -> list[Event]:
        """Every event known so far, oldest first."""

    @abstractmethod
    def timeline(self, cells: int) -> Timeline | None:
        """The strip of arrivals and events over the source's span; None when empty."""

    @abstractmethod
    def find(self, row: ReportSummary) -> int | None:
        """The row number of a report of this history, None when it is not one."""

    @abstractmethod
    def matching(self, text: str) -> History:
        """The rows decoded so far whose search text holds `text` (lower case), as a
        history that keeps up with this one."""

    def close(self) -> None:  # noqa: B027 - a history held in memory holds nothing open
        """Release what the history holds open; idempotent."""


# ------------------------------------------------------------------------------ in memory

class ListHistory(History):
    """A history held whole: summaries oldest first (a bundle's, or a test's)."""

    def __init__(self, reports: Sequence[ReportSummary], label: str = "history",
                 interval_s: float = rules.DEFAULT_INTERVAL_S,
                 span_ms: tuple[int, int] | None = None) -> None:
        self.label = label
        self.interval_s = interval_s
        self._log = reports if isinstance(reports, ReportLog) else ReportLog(reports)
        self._span = span_ms
        found = rules.events(self._log, interval_s)
        self._events = found
        self._by_key: dict[str, list[Event]] = {}
        for event in found:
            self._by_key.setdefault(event.after.key, []).append(event)

    def progress(self) -> Progress:
        return Progress(rows=len(self._log), exact=True)

    def rows(self, start: int, stop: int) -> list[Row]:
        n = len(self._log)
        start, stop = max(0, start), min(stop, n)
        if start >= stop:
            return []
        # Row r is the (r+1)-th newest: the log is oldest first.
        return list(reversed(self._log[n - stop:n - start]))

    def events_of(self, row: ReportSummary) -> list[Event]:
        return self._by_key.get(row.key, [])

    def events(self) -> list[Event]:
        return list(self._events)

    def timeline(self, cells: int) -> Timeline | None:
        times = [ms for r in self._log if (ms := arrival_ms(r)) is not None]
        if not times:
            return None
        start, end = self._span if self._span is not None else (min(times), max(times))
        return build_timeline(times, self._events, start, end, cells)

    def find(self, row: ReportSummary) -> int | None:
        for i in range(len(self._log) - 1, -1, -1):
            if self._log[i].key == row.key:
                return len(self._log) - 1 - i
        return None

    def matching(self, text: str) -> History:
        if not text:
            return self
        hits = self._log.matching(text)
        return _Picked(self, [self._log[i] for i in hits])


class _Picked(History):
    """Some rows of a parent held whole (a filter over a `ListHistory`), oldest first;
    events and the timeline stay the parent's, so a filtered row keeps its marks."""

    def __init__(self, parent: History, reports: Sequence[ReportSummary]) -> None:
        self.parent = parent
        self.label = parent.label
        self.interval_s = parent.interval_s
        self._log = ReportLog(reports)

    def progress(self) -> Progress:
        return Progress(rows=len(self._log), exact=True)

    def rows(self, start: int, stop: int) -> list[Row]:
        n = len(self._log)
        start, stop = max(0, start), min(stop, n)
        return list(reversed(self._log[n - stop:n - start])) if start < stop else []

    def events_of(self, row: ReportSummary) -> list[Event]:
        return self.parent.events_of(row)

    def events(self) -> list[Event]:
        return self.parent.events()

    def timeline(self, cells: int) -> Timeline | None:
        return self.parent.timeline(cells)

    def find(self, row: ReportSummary) -> int | None:
        for i in range(len(self._log) - 1, -1, -1):
            if self._log[i].key == row.key:
                return len(self._log) - 1 - i
        return None

    def matching(self, text: str) -> History:
        return self.parent.matching(text)

