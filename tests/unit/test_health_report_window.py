"""The report window's bookkeeping (engine/health/report_window.py) over an in-memory
topic: what it reads back and forward, and when it starts afresh. The reading itself is
the real TopicReader's in the integration tests; this is the pure logic around it."""

from __future__ import annotations

import uuid

import pytest

from engine.errors import NotFound
from engine.health.report_window import FIRST_WINDOW, ReportWindow
from engine.reading.topic_reader import PartitionRange, TopicRecord
from engine.reporting.records import encode

NOW_MS = 1_800_000_000_000
HOUR_MS = 3_600_000


def value(ts_ms: int, token: str) -> bytes:
    return encode({"timestamp": ts_ms // 1000, "kafkaVersion": "3.9.2",
                   "confluentPlatformVersion": None, "collectorState": 2,
                   "brokerProcessUUID": token, "clusterId": "NA"}, "basic")


class MemoryTopic:
    """A topic of partitions in memory, read the way TopicReader reads: end offsets, a
    backward window, a forward range."""

    def __init__(self, partitions: int = 1) -> None:
        self.records: dict[int, list[TopicRecord]] = {p: [] for p in range(partitions)}
        self.low: dict[int, int] = dict.fromkeys(range(partitions), 0)
        self.exists = True
        self.fetched = 0

    def add(self, partition: int, broker: int, ts_ms: int, token: str | None = None) -> None:
        rows = self.records[partition]
        rows.append(TopicRecord(partition, len(rows), ts_ms, value(ts_ms, token or f"t{broker}"),
                                {"broker.id": str(broker).encode(),
                                 "report.id": str(uuid.uuid4()).encode()}))

    def end_offsets(self, topic: str) -> list[PartitionRange]:
        if not self.exists:
            raise NotFound(f"topic {topic} does not exist")
        return [PartitionRange(p, self.low[p], len(rows)) for p, rows in self.records.items()]

    def read_window(self, topic: str, partition: int, start: int, stop: int
                    ) -> list[TopicRecord]:
        rows = self.records[partition][max(start, self.low[partition]):stop]
        self.fetched += len(rows)
        return rows

    def iter_records(self, topic: str, ranges: list[PartitionRange]):
        for r in ranges:
            yield from self.read_window(topic, r.partition, r.low, r.high)


def hourly(topic: MemoryTopic, hours: int, brokers: tuple[int, ...] = (1, 2, 3),
           partition: int = 0) -> None:
    for h in range(hours, 0, -1):
        for b in brokers:
            topic.add(partition, b, NOW_MS - h * HOUR_MS)


def test_a_fresh_window_reads_back_to_the_horizon_then_only_what_is_new():
    topic = MemoryTopic()
    hourly(topic, 24 * 20)
    window = ReportWindow("t")
    facts = window.refresh(topic, [1, 2, 3], NOW_MS - 50 * HOUR_MS)  # type: ignore[arg-type]
    assert sorted(facts.latest) == [1, 2, 3] and facts.complete is False
    assert len(facts.recent) >= 3 * 49 and facts.records_read < 3 * 50 * 1.5 + FIRST_WINDOW
    assert all(r.kafka_ms >= NOW_MS - 50 * HOUR_MS for r in facts.recent)
    topic.add(0, 2, NOW_MS, token="new")
    again = window.refresh(topic, [1, 2, 3], NOW_MS - 49 * HOUR_MS)  # type: ignore[arg-type]
    assert again.records_read == 1 and again.latest[2].token == "new"
    assert all(r.kafka_ms >= NOW_MS - 49 * HOUR_MS for r in again.recent)


def test_a_broker_without_reports_makes_it_read_everything_once():
    topic = MemoryTopic()
    hourly(topic, 24 * 20)
    window = ReportWindow("t")
    facts = window.refresh(topic, [1, 2, 3, 4], NOW_MS - 50 * HOUR_MS)  # type: ignore[arg-type]
    assert 4 not in facts.latest and facts.complete
    assert facts.records_read == 3 * 24 * 20
    assert window.refresh(topic, [1, 2, 3, 4],  # type: ignore[arg-type]
                          NOW_MS - 50 * HOUR_MS).records_read == 0


def test_every_partition_is_read_back_past_the_horizon():
    topic = MemoryTopic(partitions=2)
    hourly(topic, 24 * 5, brokers=(1, 2), partition=0)
    hourly(topic, 24 * 5, brokers=(3,), partition=1)
    facts = ReportWindow("t").refresh(topic, [1, 2, 3],  # type: ignore[arg-type]
                                      NOW_MS - 30 * HOUR_MS)
    assert {r.broker_id for r in facts.recent} == {1, 2, 3}
    assert sum(1 for r in facts.recent if r.broker_id == 3) >= 29


def test_a_topic_that_shrank_or_vanished_is_read_afresh():
    topic = MemoryTopic()
    hourly(topic, 10)
    window = ReportWindow("t")
    window.refresh(topic, [1, 2, 3], NOW_MS - 50 * HOUR_MS)  # type: ignore[arg-type]
    topic.exists = False
    with pytest.raises(NotFound):
        window.refresh(topic, [1, 2, 3], NOW_MS - 50 * HOUR_MS)  # type: ignore[arg-type]
    topic.exists = True
    topic.records[0] = []
    hourly(topic, 2, brokers=(1,))  # created again: its offsets start over
    facts = window.refresh(topic, [1, 2, 3], NOW_MS - 50 * HOUR_MS)  # type: ignore[arg-type]
    assert sorted(facts.latest) == [1] and facts.records_read == 2


def test_retention_moving_the_start_is_not_a_new_topic():
    topic = MemoryTopic()
    hourly(topic, 30)
    window = ReportWindow("t")
    first = window.refresh(topic, [1, 2, 3], NOW_MS - 10 * HOUR_MS)  # type: ignore[arg-type]
    topic.low[0] = 60
    topic.add(0, 1, NOW_MS)
    later = window.refresh(topic, [1, 2, 3], NOW_MS - 10 * HOUR_MS)  # type: ignore[arg-type]
    assert later.records_read == 1 and sorted(later.latest) == sorted(first.latest)


def test_recent_reports_are_bounded():
    topic = MemoryTopic()
    hourly(topic, 100)
    facts = ReportWindow("t", max_recent=50).refresh(  # type: ignore[arg-type]
        topic, [1, 2, 3], NOW_MS - 100 * HOUR_MS)
    assert len(facts.recent) == 50 and facts.truncated
    assert min(r.kafka_ms for r in facts.recent) > NOW_MS - 20 * HOUR_MS
