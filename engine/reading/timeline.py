"""A broker's reports over time as a strip of cells: how many arrived in each stretch of the
source's span, and the events (restart, shutdown, gap, schema change, undecodable record)
that fell in it, so that an operator sees the story without reading rows.

Pure: the caller gives the arrival times, the events (from `engine.reading.rules.events`)
and the span; stretches of a topic not read yet are given as `unread` and shown as such,
never as "no report". The console colours the strip; `ps-console open` prints it as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from engine.reading.report import ReportSummary
from engine.reading.rules import GAP, RESTART, SCHEMA_CHANGE, SHUTDOWN, UNDECODABLE, Event

# One character per event kind on the marks line; when several fall in one cell the first
# of this order wins (an undecodable record says most, a gap least).
MARKS: Final = {UNDECODABLE: "X", SHUTDOWN: "S", RESTART: "R", SCHEMA_CHANGE: "~", GAP: "-"}
LEGEND: Final = "R restart  S shutdown report  ~ Basic<->Enhanced  - gap  X undecodable"
BARS: Final = "▁▂▃▄▅▆▇█"
NO_REPORT: Final = "·"
NOT_READ: Final = " "
# For a terminal that cannot show the block characters.
ASCII_BARS: Final = "_.-=+*#@"
ASCII_NO_REPORT: Final = " "
ASCII_NOT_READ: Final = "?"


@dataclass(frozen=True, slots=True)
class Cell:
    """One stretch of the span: `count` arrivals, the event kinds in it, and whether the
    source was read there (`known` False: not yet, the count says nothing)."""

    count: int
    marks: frozenset[str]
    known: bool = True

    @property
    def mark(self) -> str:
        """The character of the cell's most telling event, a space when there is none."""
        for kind, char in MARKS.items():
            if kind in self.marks:
                return char
        return " "


@dataclass(frozen=True, slots=True)
class Timeline:
    """Cells of equal length from `start_ms` to `end_ms` (the end falls in the last)."""

    start_ms: int
    end_ms: int
    cells: tuple[Cell, ...]

    @property
    def cell_seconds(self) -> float:
        """How long one cell lasts."""
        return (self.end_ms - self.start_ms) / 1000 / max(1, len(self.cells))

    def arrivals_line(self, bars: str = BARS, empty: str = NO_REPORT,
                      unread: str = NOT_READ) -> str:
        """A bar per cell, its height the cell's arrivals against the busiest cell's;
        `empty` no report, `unread` not read yet."""
        top = max((c.count for c in self.cells), default=0)
        out = []
        for cell in self.cells:
            if not cell.known:
                out.append(unread)
            elif cell.count == 0:
                out.append(empty)
            else:
                out.append(bars[min(len(bars) - 1, (cell.count * len(bars) - 1) // top)])
        return "".join(out)

    def ascii_arrivals_line(self) -> str:
        """`arrivals_line` in ASCII."""
        return self.arrivals_line(ASCII_BARS, ASCII_NO_REPORT, ASCII_NOT_READ)

    def marks_line(self) -> str:
        """The event character of every cell (see `MARKS`)."""
        return "".join(c.mark for c in self.cells)

    @property
    def arrivals(self) -> int:
        """Arrivals counted over every cell."""
        return sum(c.count for c in self.cells)


def arrival_ms(report: ReportSummary) -> int | None:
    """When a report reached its source, the strip's axis: Kafka's time, else (a bundle
    entry) its own."""
    return report.kafka_ms if report.kafka_ms is not None else report.collected_ms


def count_arrivals(arrivals_ms: Iterable[int], start_ms: int, end_ms: int,
                   cells: int) -> list[int]:
    """Arrivals per cell of the strip over [start_ms, end_ms] (outside: the first or last
    cell). For a history read in parts, each part is counted once and the counts added."""
    n = max(1, cells)
    span = max(1, max(end_ms, start_ms) - start_ms)
    counts = [0] * n
    last = n - 1
    for ms in arrivals_ms:  # inline: a million arrivals pass here
        i = (ms - start_ms) * n // span
        counts[0 if i < 0 else last if i > last else i] += 1
    return counts


def build_timeline(arrivals_ms: Iterable[int], events: Iterable[Event], start_ms: int,
                   end_ms: int, cells: int, unread: Sequence[tuple[int, int]] = (),
                   counts: Sequence[int] | None = None) -> Timeline:
    """The strip of `cells` cells over [start_ms, end_ms].

    Arrivals and events outside the span are clamped into its first or last cell; `counts`
    (from `count_arrivals`) replaces `arrivals_ms` when given. Events are placed by the
    arrival of their report (`arrival_ms`): a gap marks every cell between its two
    reports, other events the cell of theirs (an event without a time is left out). `unread` lists [from, to) stretches (ms) not read yet: a cell entirely
    inside one, with no arrival, is not known.
    """
    n = max(1, cells)
    end_ms = max(end_ms, start_ms)
    span = max(1, end_ms - start_ms)
    if counts is None:
        counts = count_arrivals(arrivals_ms, start_ms, end_ms, n)
    elif len(counts) != n:
        raise ValueError(f"{len(counts)} counts for {n} cells")
    marks: list[set[str]] = [set() for _ in range(n)]

    def cell_of(ms: int) -> int:
        if ms <= start_ms:
            return 0
        if ms >= end_ms:
            return n - 1
        return min(n - 1, (ms - start_ms) * n // span)
    for event in events:
        at = arrival_ms(event.after)
        if event.kind == GAP and event.before is not None:
            since = arrival_ms(event.before)
            if since is not None and at is not None:
                for i in range(cell_of(min(since, at)), cell_of(max(since, at)) + 1):
                    marks[i].add(GAP)
            continue
        if at is not None:
            marks[cell_of(at)].add(event.kind)
    known = [True] * n
    for lo, hi in unread:
        for i in range(cell_of(lo), cell_of(hi) + 1):
            cell_lo = start_ms + i * span / n
            cell_hi = start_ms + (i + 1) * span / n
            if lo <= cell_lo and cell_hi <= hi and counts[i] == 0:
                known[i] = False
    return Timeline(start_ms, end_ms, tuple(Cell(counts[i], frozenset(marks[i]), known[i])
                                            for i in range(n)))
