"""The support topic as a source of reports: the latest per broker, every report in order,
or one record again by its position.

Records become `engine.reading.report.Report`s (`build_report`) and go through the rules of
`engine.reading.rules`: the same newer-than, attribution and latest-per-broker rules the
bundle source and the console use.

`latest_per_broker` reads backwards from the end of the topic in growing windows and stops
as soon as every wanted broker has been seen, so its cost follows the number of brokers
(and how often they report), not the length of the topic. `iter_reports` reads everything,
in topic order, for `--all` and histories.

Reports resent from an agent's spool carry the same `report.id` header as their first
attempt; readers drop such duplicates.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from engine.cluster.session import ClusterSession
from engine.reading.report import (
    BROKER_ID_HEADER,
    REPORT_ID_HEADER,
    Report,
    ReportSummary,
    build_report,
)
from engine.reading.rules import Latest
from engine.reading.topic_reader import PartitionRange, TopicReader, TopicRecord

__all__ = ["BROKER_ID_HEADER", "MAX_TAIL", "REPORT_ID_HEADER", "ReadStats", "Report",
           "TailMark", "iter_reports", "latest_from_reader", "latest_per_broker",
           "read_one", "read_reports", "read_since", "to_report", "unique_reports"]

# Backward windows per partition: start small (a healthy cluster's latest reports are all
# in the last few records), grow fast so an old or missing broker costs few round trips.
FIRST_WINDOW = 64
WINDOW_GROWTH = 4
MAX_WINDOW = 262_144
# How many report ids `iter_reports` remembers for dropping resent duplicates. A resend
# follows its first attempt within one outage, far fewer records later than this.
DEDUPE_MEMORY = 100_000
# Undecodable, unattributable records met by `latest_per_broker` are listed too (the user
# should see them), but only this many, newest first.
MAX_STRAYS = 20


@dataclass
class ReadStats:
    """What a read cost: records fetched from Kafka and windows (round trips) used."""

    records_read: int = 0
    windows: int = 0
    partitions: list[PartitionRange] = field(default_factory=list)

    @property
    def topic_size(self) -> int:
        """Offsets in the topic when the read started."""
        return sum(r.offsets for r in self.partitions)


def to_report(rec: TopicRecord) -> Report:
    """Decode and summarise one topic record (attributed by its header or `brokerId`);
    never raises."""
    return build_report(rec.value, partition=rec.partition, offset=rec.offset,
                        kafka_ms=rec.timestamp_ms, headers=rec.headers)


def latest_per_broker(session: ClusterSession, topic: str,
                      broker_ids: Iterable[int] | None = None,
                      stats: ReadStats | None = None,
                      reader: TopicReader | None = None) -> list[Report]:
    """The newest report of every broker (and of every token group met on the way).

    Reads each partition backwards from its end in windows of 64, 256, 1024, ... records
    and stops once every broker in `broker_ids` (default: the live brokers) has a report
    and no partition can still hold a newer one, or at the start of the topic. Brokers
    that never reported are simply absent. Undecodable records met on the way that cannot
    be attributed are listed too (at most `MAX_STRAYS`). Pass `stats` to learn the cost.
    """
    own = reader is None
    rd = TopicReader(session) if reader is None else reader
    try:
        if broker_ids is None:
            from engine.cluster.discovery import live_broker_ids

            # Registered in ZooKeeper, or without ZooKeeper every broker in the metadata.
            broker_ids = live_broker_ids(session)
        return latest_from_reader(rd, topic, broker_ids, stats)
    finally:
        if own:
            rd.close()


def latest_from_reader(reader: TopicReader, topic: str, broker_ids: Iterable[int],
                       stats: ReadStats | None = None) -> list[Report]:
    """`latest_per_broker` on a reader the caller owns, for the brokers `broker_ids`.

    The newest report is decided by `engine.reading.rules` (collected time, then position;
    Basic reports attributed by token). The read stops early on Kafka time: it assumes a
    broker's reports reach the topic about when they are made, so once every partition is
    read back past the Kafka time of the oldest of the reports held, none is left unread
    that could be newer. (A spooled report resent after an outage is older than what it
    follows, never newer.)
    """
    stats = stats if stats is not None else ReadStats()
    ranges = reader.end_offsets(topic)
    stats.partitions = list(ranges)
    wanted = set(broker_ids)
    latest: Latest[Report] = Latest(max_strays=MAX_STRAYS)
    # Per partition: the offset the next window ends at, the window size, and the oldest
    # Kafka timestamp read so far there (records of one partition are in time order,
    # roughly).
    cursor = {r.partition: r.high for r in ranges if r.high > r.low}
    low = {r.partition: r.low for r in ranges}
    # Every broker reports about as often as the others: the newest records hold roughly
    # one report of each, so the first window covers the brokers wanted (one round trip
    # for a thousand brokers, not three).
    size = dict.fromkeys(cursor, min(max(FIRST_WINDOW, len(wanted) + len(wanted) // 4),
                                     MAX_WINDOW))
    oldest_seen: dict[int, int] = {}

    def done() -> bool:
        if not wanted <= latest.brokers():
            return False
        # Another partition may still hide a newer report of a found broker, unless we
        # already read past the time of the oldest of the reports we hold.
        held = [latest.of(b) for b in wanted]
        stamps = [r.kafka_ms for r in held if r is not None and r.kafka_ms is not None]
        if not stamps:
            return True
        horizon = min(stamps)
        return all(p in oldest_seen and oldest_seen[p] <= horizon for p in cursor)

    while cursor:
        for partition in list(cursor):
            stop = cursor[partition]
            start = max(low[partition], stop - size[partition])
            window = reader.read_window(topic, partition, start, stop)
            stats.windows += 1
            stats.records_read += len(window)
            for rec in reversed(window):
                latest.add(to_report(rec))
                oldest_seen[partition] = min(oldest_seen.get(partition, rec.timestamp_ms),
                                             rec.timestamp_ms)
            if start <= low[partition]:
                del cursor[partition]  # reached the start of this partition
                oldest_seen.setdefault(partition, -1)
            else:
                cursor[partition] = start
                size[partition] = min(size[partition] * WINDOW_GROWTH, MAX_WINDOW)
        if done():
            break  # with no broker wanted, that is after the first round: recent reports
    return latest.result()


def unique_reports(records: Iterable[TopicRecord]) -> Iterator[Report]:
    """The records as reports, in the order given, resent duplicates (a `report.id` seen
    in the last `DEDUPE_MEMORY` records) dropped."""
    seen: OrderedDict[str, None] = OrderedDict()
    for rec in records:
        report = to_report(rec)
        rid = report.report_id
        if rid is not None:
            if rid in seen:
                continue
            seen[rid] = None
            if len(seen) > DEDUPE_MEMORY:
                seen.popitem(last=False)
        yield report


def read_reports(reader: TopicReader, topic: str, deadline: float | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancel: threading.Event | None = None,
                 stats: ReadStats | None = None) -> Iterator[Report]:
    """Every report in the topic through a reader the caller owns, in topic order
    (partition by partition), resent duplicates dropped. Ends at the end offsets taken at
    the start, at `deadline` or when `cancel` is set."""
    records = reader.iter_records(topic, None, deadline, progress, cancel)
    if stats is not None:
        records = _counted(records, stats)
    yield from unique_reports(records)


def _counted(records: Iterator[TopicRecord], stats: ReadStats) -> Iterator[TopicRecord]:
    for rec in records:
        stats.records_read += 1
        yield rec


def iter_reports(session: ClusterSession, topic: str, deadline: float | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancel: threading.Event | None = None,
                 stats: ReadStats | None = None) -> Iterator[Report]:
    """Every report in the topic, in topic order (partition by partition), resent
    duplicates (same `report.id`) dropped. Ends at the end offsets taken at the start."""
    with TopicReader(session) as reader:
        yield from read_reports(reader, topic, deadline, progress, cancel, stats)


# A tail read takes at most this many records per partition; more means the console fell
# far behind (or a burst): it reads the latest per broker again instead.
MAX_TAIL = 10_000

TailMark = dict[int, int]  # partition -> the next offset to read


def read_since(reader: TopicReader, topic: str, mark: TailMark | None
               ) -> tuple[list[Report], TailMark, bool]:
    """The reports that reached `topic` since `mark` (None: none, only a mark of where the
    end is now), the new mark, and whether more than `MAX_TAIL` records of a partition
    arrived (then only its newest `MAX_TAIL` are read). A cheap, bounded look at the end of
    the topic for a view that follows it."""
    ranges = reader.end_offsets(topic)
    now = {r.partition: r.high for r in ranges}
    if mark is None:
        return [], now, False
    found: list[Report] = []
    overflow = False
    for rng in ranges:
        start = max(mark.get(rng.partition, rng.low), rng.low)
        if rng.high <= start:
            continue
        if rng.high - start > MAX_TAIL:
            overflow = True
            start = rng.high - MAX_TAIL
        found += [to_report(rec) for rec in reader.read_window(topic, rng.partition, start,
                                                               rng.high)]
    return found, now, overflow


def read_one(reader: TopicReader, topic: str, summary: ReportSummary) -> Report | None:
    """The record at `summary`'s position read again, with its fields and bytes, and the
    summary's attribution (which may come from the rest of the sequence). None when the
    record is gone (retention) or the summary is not a topic record."""
    if summary.partition is None:
        return None
    found = reader.read_window(topic, summary.partition, summary.offset, summary.offset + 1)
    if not found or found[0].offset != summary.offset:
        return None
    report = to_report(found[0])
    if report.broker_id is None and summary.broker_id is not None:
        return summary.with_detail(report.fields, report.value)
    return report
