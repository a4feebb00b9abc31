"""The reports the health rules need, read from the support topic and kept between
evaluations: every broker's latest report, and every report back to a horizon.

The first `refresh` reads each partition backwards from its end (windows of 64, 256, ...
records, as `engine.reading.reports.latest_per_broker` does) until the read passed the
horizon (Kafka time) and every wanted broker's latest report is decided: found, with no
partition left that could hold a newer one, or known to be absent because the whole topic
was read. Later refreshes read only what was appended since, and go further back only
when a newly wanted broker is not found yet. So a console or an exporter pays for the
topic's history once, and a one-shot `ps-console health` reads about the horizon's worth
of records (plus, for a registered broker that never reported, the whole topic).

Kafka time decides how far to read (records of a partition are in Kafka-time order); the
rules judge a report by its own collected time. A topic whose partitions change, or whose
offsets go back (deleted and created again), is read afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from engine.reading.report import Report, ReportSummary
from engine.reading.reports import MAX_STRAYS, to_report
from engine.reading.rules import Latest
from engine.reading.topic_reader import PartitionRange, TopicReader, TopicRecord

FIRST_WINDOW: Final = 64
WINDOW_GROWTH: Final = 4
MAX_WINDOW: Final = 262_144
# The recent reports kept in memory at most (a summary is a few hundred bytes): 1,000
# brokers reporting hourly fill 50,000 in two days. Beyond it the oldest are dropped and
# the facts say so.
MAX_RECENT: Final = 200_000


@dataclass(frozen=True)
class ReportFacts:
    """The support topic's reports as one refresh left them.

    `latest`: each broker's newest report (with its fields), attributed by header,
    Enhanced `brokerId` or token. `recent`: every report whose Kafka time is at or after
    `horizon_ms`, summaries only, attributed the same way, in no particular order.
    `complete`: the topic was read back to its start, so a broker absent from `latest`
    has no report in it at all. `truncated`: `recent` hit `MAX_RECENT` and lost its
    oldest. `records_read`: what this refresh fetched from Kafka.
    """

    topic: str
    latest: Mapping[int, Report]
    recent: tuple[ReportSummary, ...]
    horizon_ms: int
    complete: bool
    truncated: bool = False
    records_read: int = 0


class ReportWindow:
    """See the module docstring. One per monitor; not thread-safe (one evaluation at a
    time uses it)."""

    def __init__(self, topic: str, max_recent: int = MAX_RECENT) -> None:
        self.topic = topic
        self._max_recent = max_recent
        self._reset()

    def _reset(self) -> None:
        # Per partition: offsets [low, high) read so far, and the oldest Kafka time read.
        self._low: dict[int, int] = {}
        self._high: dict[int, int] = {}
        self._oldest_ms: dict[int, int] = {}
        self._newest_ms: dict[int, int] = {}
        self._latest: Latest[Report] = Latest(max_strays=MAX_STRAYS)
        self._recent: list[ReportSummary] = []
        self._truncated = False
        self._horizon_ms = 0
        self._read = 0

    def forget(self) -> None:
        """Drop everything read (the topic is gone, or the caller wants a fresh read)."""
        self._reset()

    # -- reading ---------------------------------------------------------------------------

    def refresh(self, reader: TopicReader, wanted: Iterable[int], horizon_ms: int
                ) -> ReportFacts:
        """Bring the window up to date (see the module docstring) and return its facts.

        NotFound when the topic does not exist (what was read is dropped), a
        ConnectionFailure when Kafka stops answering.
        """
        from engine.errors import NotFound

        self._read = 0
        self._horizon_ms = horizon_ms
        try:
            ranges = {r.partition: r for r in reader.end_offsets(self.topic)}
        except NotFound:
            self._reset()
            raise
        if self._changed(ranges):
            self._reset()
            self._horizon_ms = horizon_ms
        for partition, rng in ranges.items():
            if partition not in self._high:
                self._low[partition] = self._high[partition] = rng.high
                continue
            start = max(self._high[partition], rng.low)
            if rng.high > start:
                for rec in reader.iter_records(self.topic,
                                               [PartitionRange(partition, start, rng.high)]):
                    self._take(rec)
                self._high[partition] = rng.high
            self._low[partition] = max(self._low[partition], min(rng.low, self._high[partition]))
        self._read_back(reader, ranges, set(wanted))
        self._prune()
        complete = all(self._low[p] <= r.low for p, r in ranges.items())
        owners = self._latest.owners
        latest = {r.broker_id: r for r in self._latest.result() if r.broker_id is not None}
        recent = tuple(owners.attribute(r) for r in self._recent)
        return ReportFacts(topic=self.topic, latest=latest, recent=recent,
                           horizon_ms=horizon_ms, complete=complete,
                           truncated=self._truncated, records_read=self._read)

    def _changed(self, ranges: Mapping[int, PartitionRange]) -> bool:
        if not self._high:
            return False
        if set(ranges) != set(self._high):
            return True
        return any(r.high < self._high[p] for p, r in ranges.items())

    def _read_back(self, reader: TopicReader, ranges: Mapping[int, PartitionRange],
                   wanted: set[int]) -> None:
        size = dict.fromkeys(ranges, FIRST_WINDOW)
        while True:
            pending = [p for p, r in ranges.items()
                       if self._low[p] > r.low and self._needs_more(p, wanted)]
            if not pending:
                return
            for partition in pending:
                stop = self._low[partition]
                start = max(ranges[partition].low, stop - size[partition])
                for rec in reader.read_window(self.topic, partition, start, stop):
                    self._take(rec)
                self._low[partition] = start
                size[partition] = self._next_window(partition, size[partition])

    def _next_window(self, partition: int, size: int) -> int:
        """How many records the next backward window of `partition` reads: what reaches
        the horizon at the rate seen so far, plus a tenth; else four times the last."""
        grown = min(size * WINDOW_GROWTH, MAX_WINDOW)
        oldest, newest = self._oldest_ms.get(partition), self._newest_ms.get(partition)
        read = self._high[partition] - self._low[partition]
        if oldest is None or newest is None or oldest < self._horizon_ms or newest <= oldest \
                or read < FIRST_WINDOW:
            return grown
        per_ms = read / (newest - oldest)
        wanted = int((oldest - self._horizon_ms) * per_ms * 1.1) + FIRST_WINDOW
        return max(FIRST_WINDOW, min(wanted, grown * WINDOW_GROWTH, MAX_WINDOW))

    def _needs_more(self, partition: int, wanted: set[int]) -> bool:
        """Whether `partition` may still hide something the rules need: a record after the
        horizon, a wanted broker not found yet, or a report newer than one held."""
        oldest = self._oldest_ms.get(partition)
        if oldest is None or oldest >= self._horizon_ms:
            return True
        found = self._latest.brokers()
        if not wanted <= found:
            return True
        held = [self._latest.of(b) for b in wanted]
        stamps = [r.kafka_ms for r in held if r is not None and r.kafka_ms is not None]
        return bool(stamps) and oldest > min(stamps)

    def _take(self, rec: TopicRecord) -> None:
        self._read += 1
        report = to_report(rec)
        self._latest.add(report)
        stamp = rec.timestamp_ms
        held = self._oldest_ms.get(rec.partition)
        if held is None or stamp < held:
            self._oldest_ms[rec.partition] = stamp
        top = self._newest_ms.get(rec.partition)
        if top is None or stamp > top:
            self._newest_ms[rec.partition] = stamp
        if stamp >= self._horizon_ms:
            self._recent.append(report.summary())

    def _prune(self) -> None:
        horizon = self._horizon_ms
        kept = [r for r in self._recent if r.kafka_ms is None or r.kafka_ms >= horizon]
        if len(kept) > self._max_recent:
            kept.sort(key=lambda r: r.kafka_ms or 0)
            kept = kept[-self._max_recent:]
            self._truncated = True
        self._recent = kept
