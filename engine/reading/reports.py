"""Reading reports back from the support topic: the latest per broker, or all of them.

A report is attributed to a broker by its `broker.id` header (written by this project),
else by the Enhanced schema's `brokerId`, else not at all: CP's Basic reports carry no
broker id, so they are grouped by their broker token (`broker_id` None).

`latest_per_broker` reads backwards from the end of the topic in growing windows and stops
as soon as every wanted broker has been seen, so its cost follows the number of brokers
(and how often they report), not the length of the topic. `iter_reports` reads everything,
in topic order, for `--all` and exports.

Reports resent from an agent's spool carry the same `report.id` header as their first
attempt; readers drop such duplicates.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.cluster.session import ClusterSession
from engine.reading.topic_reader import PartitionRange, TopicReader, TopicRecord
from engine.reporting.records import DecodedRecord, decode

BROKER_ID_HEADER = "broker.id"
REPORT_ID_HEADER = "report.id"

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


@dataclass(frozen=True)
class Report:
    """One record of the support topic, decoded (or not) and attributed (or not)."""

    partition: int
    offset: int
    timestamp_ms: int
    broker_id: int | None
    token: str | None
    decoded: DecodedRecord
    size: int
    report_id: str | None = None

    @property
    def position(self) -> str:
        """`partition@offset`, how an operator finds the record again."""
        return f"{self.partition}@{self.offset}"

    @property
    def report_time_s(self) -> int | None:
        """The report's own `timestamp` field (seconds), None if it has none."""
        rec = self.decoded.record or {}
        value = rec.get("timestamp")
        return value if isinstance(value, int) else None

    @property
    def collected_ms(self) -> int:
        """When the report was made: its `timestamp` field, else the Kafka timestamp."""
        seconds = self.report_time_s
        return seconds * 1000 if seconds is not None else self.timestamp_ms

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: position, attribution, schema and the decoded fields."""
        return {
            "partition": self.partition,
            "offset": self.offset,
            "timestamp_ms": self.timestamp_ms,
            "time": _iso(self.timestamp_ms),
            "broker_id": self.broker_id,
            "token": self.token,
            "report_id": self.report_id,
            "size": self.size,
            "ok": self.decoded.ok,
            "schema": self.decoded.schema,
            "schema_kind": self.decoded.schema_kind,
            "error": self.decoded.error,
            "fields": self.decoded.record,
        }


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


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _header_text(headers: dict[str, bytes], name: str) -> str | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8").strip() or None
    except UnicodeDecodeError:
        return None


def to_report(rec: TopicRecord) -> Report:
    """Decode and attribute one topic record; never raises."""
    decoded = decode(rec.value)
    broker_id: int | None = None
    text = _header_text(rec.headers, BROKER_ID_HEADER)
    if text is not None and text.lstrip("-").isdigit():
        broker_id = int(text)
    fields = decoded.record or {}
    if broker_id is None and decoded.schema_kind == "enhanced":
        value = fields.get("brokerId")
        broker_id = value if isinstance(value, int) else None
    token = fields.get("brokerProcessUUID")
    return Report(
        partition=rec.partition, offset=rec.offset, timestamp_ms=rec.timestamp_ms,
        broker_id=broker_id, token=token if isinstance(token, str) else None,
        decoded=decoded, size=len(rec.value or b""),
        report_id=_header_text(rec.headers, REPORT_ID_HEADER))


def attribution(report: Report) -> tuple[str, str] | None:
    """The key a report is grouped under: its broker, else its token, else None."""
    if report.broker_id is not None:
        return ("broker", str(report.broker_id))
    if report.token is not None:
        return ("token", report.token)
    return None


def sort_key(report: Report) -> tuple[int, int, str, int, int]:
    """Brokers by id, then token groups, then unattributed records by position."""
    if report.broker_id is not None:
        return (0, report.broker_id, "", 0, 0)
    if report.token is not None:
        return (1, 0, report.token, 0, 0)
    return (2, 0, "", report.partition, report.offset)


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
    stats = stats if stats is not None else ReadStats()
    own = reader is None
    rd = TopicReader(session) if reader is None else reader
    try:
        ranges = rd.end_offsets(topic)
        stats.partitions = list(ranges)
        if broker_ids is None:
            from engine.cluster.discovery import live_broker_ids

            # Registered in ZooKeeper, or without ZooKeeper every broker in the metadata.
            broker_ids = live_broker_ids(session)
        wanted = set(broker_ids)
        return _scan_backwards(rd, topic, ranges, wanted, stats)
    finally:
        if own:
            rd.close()


def _scan_backwards(reader: TopicReader, topic: str, ranges: list[PartitionRange],
                    wanted: set[int], stats: ReadStats) -> list[Report]:
    best: dict[tuple[str, str], Report] = {}
    strays: list[Report] = []
    # Per partition: the offset the next window ends at, the window size, and the oldest
    # timestamp read so far there (records of one partition are in time order, roughly).
    cursor = {r.partition: r.high for r in ranges if r.high > r.low}
    low = {r.partition: r.low for r in ranges}
    size = dict.fromkeys(cursor, FIRST_WINDOW)
    oldest_seen: dict[int, int] = {}

    def done() -> bool:
        found = {int(k[1]) for k in best if k[0] == "broker"}
        if not wanted <= found:
            return False
        # Another partition may still hide a newer report of a found broker, unless we
        # already read past the time of the oldest of the reports we hold.
        horizon = min((best[("broker", str(b))].timestamp_ms for b in wanted),
                      default=None)
        if horizon is None:
            return True
        return all(p in oldest_seen and oldest_seen[p] <= horizon for p in cursor)

    while cursor:
        for partition in list(cursor):
            stop = cursor[partition]
            start = max(low[partition], stop - size[partition])
            window = reader.read_window(topic, partition, start, stop)
            stats.windows += 1
            stats.records_read += len(window)
            for rec in reversed(window):
                report = to_report(rec)
                key = attribution(report)
                if key is None:
                    if len(strays) < MAX_STRAYS:
                        strays.append(report)
                elif key not in best or best[key].timestamp_ms < report.timestamp_ms:
                    best[key] = report
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
    return sorted([*best.values(), *strays], key=sort_key)


def iter_reports(session: ClusterSession, topic: str, deadline: float | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancel: threading.Event | None = None,
                 stats: ReadStats | None = None) -> Iterator[Report]:
    """Every report in the topic, in topic order (partition by partition), resent
    duplicates (same `report.id`) dropped. Ends at the end offsets taken at the start."""
    seen: OrderedDict[str, None] = OrderedDict()
    with TopicReader(session) as reader:
        for rec in reader.iter_records(topic, None, deadline, progress, cancel):
            if stats is not None:
                stats.records_read += 1
            report = to_report(rec)
            rid = report.report_id
            if rid is not None:
                if rid in seen:
                    continue
                seen[rid] = None
                if len(seen) > DEDUPE_MEMORY:
                    seen.popitem(last=False)
            yield report
