"""The history of one broker read by position from a real topic (engine/reading/
topic_history.py): 20,000 records of five brokers, some written without headers (as
Confluent's agent writes them) and some damaged; the newest and the oldest rows come before
the index is complete, and once it is, the rows and events are the rules' own."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from engine.cluster.session import ClusterSession
from engine.reading import rules, topic_history
from engine.reading.history import Unread
from engine.reading.reports import iter_reports
from engine.reading.topic_history import TopicHistory, open_topic_history
from engine.reporting.records import encode
from tests.support.cluster import location

pytestmark = pytest.mark.sandbox

RECORDS = 20_000
DAY = 86_400
NEVER = threading.Event()


def _basic(ts: int, token: str, state: int = 2) -> bytes:
    return encode({"timestamp": ts, "kafkaVersion": "3.9.2", "confluentPlatformVersion": None,
                   "collectorState": state, "brokerProcessUUID": token,
                   "clusterId": "abc"}, "basic")


@pytest.fixture(scope="module")
def big_topic(sandbox):
    """Brokers 1-5 in turn, a report a day each; broker 3 restarts halfway and sends a
    shutdown report before it; every 97th record has no header, every 1,001st is junk."""
    name = f"ps-history-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": sandbox.bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)]
                        )[name].result(timeout=30)
    producer = Producer({"bootstrap.servers": sandbox.bootstrap, "linger.ms": 50,
                         "enable.idempotence": True})
    t0 = int(time.time()) - RECORDS * DAY // 5
    first_ms = int(time.time() * 1000) - RECORDS * 1000
    for n in range(RECORDS):
        broker = n % 5 + 1
        day = n // 5
        token = f"b{broker}-{'late' if broker == 3 and n >= RECORDS // 2 else 'early'}"
        state = 1 if broker == 3 and RECORDS // 2 - 5 <= n < RECORDS // 2 else 2
        value = b"\x00junk" if n % 1001 == 0 else _basic(t0 + day * DAY, token, state)
        headers = [] if n % 97 == 0 else [("broker.id", str(broker).encode())]
        # Kafka times a second apart, ending now (within the topic's retention): the
        # timeline's cells then do not depend on how fast this loop produced (a pause at
        # a poll could split the restart from the shutdown report before it).
        producer.produce(name, value=value, headers=headers, timestamp=first_ms + n * 1000)
        if n % 5000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    yield name
    admin.delete_topics([name])[name].result(timeout=30)


@pytest.fixture
def session(sandbox):
    with ClusterSession(location(zookeeper=sandbox.zk_connect, timeout=10)) as s:
        yield s


def _settle(history, steps: int = 20_000) -> None:
    for _ in range(steps):
        if not history.work(NEVER) and history.idle:
            return
    raise AssertionError(f"the history never settled: {history.progress()}")


def test_the_newest_and_the_oldest_rows_come_before_the_index_is_complete(
        session, big_topic, monkeypatch):
    # Blocks of 1,024 offsets read one at a time: twenty blocks, most of them unread when
    # the first rows and the last come.
    monkeypatch.setattr(topic_history, "BLOCK", 1024)
    monkeypatch.setattr(topic_history, "INDEX_BLOCKS_PER_STEP", 1)
    history = open_topic_history(session, big_topic, 3)
    assert isinstance(history, TopicHistory)
    try:
        history.want(0, 30)
        for _ in range(3):
            history.work(NEVER)
        newest = history.rows(0, 30)
        assert not history.progress().exact and history.progress().rows > 0
        assert all(not isinstance(r, Unread) for r in newest)
        assert newest[0].offset == RECORDS - 3  # broker 3's last record
        count = history.progress().rows
        for _ in range(20):  # End: the oldest rows, read from the start of the topic
            count = history.progress().rows
            history.want(count - 30, count)
            history.work(NEVER)
            count = history.progress().rows  # the step may have corrected the estimate
            if not any(isinstance(r, Unread) for r in history.rows(count - 30, count)):
                break
        oldest = history.rows(count - 30, count)
        assert not any(isinstance(r, Unread) for r in oldest)
        assert oldest[-1].offset == 2 and history.progress().indexed < 1.0
    finally:
        history.close()


def test_once_read_the_rows_and_events_are_the_rules_own(session, big_topic):
    every = list(iter_reports(session, big_topic))
    expected = [r.summary() for r in rules.attribute(every) if r.broker_id == 3]
    history = open_topic_history(session, big_topic, 3)
    try:
        _settle(history)
        progress = history.progress()
        assert progress.done and progress.rows == len(expected)
        rows = history.rows(0, progress.rows)
        assert list(reversed(rows)) == expected
        # Records without a header joined broker 3 through its token.
        assert any(r.attributed_by == "token" for r in rows)
        found = [(e.kind, e.after.offset) for e in history.events()]
        assert found == [(e.kind, e.after.offset) for e in rules.events(expected)]
        assert {"shutdown", "restart"} <= {kind for kind, _ in found}
        # 49 cells: the restart (record 10,002 of 20,000) is not on a cell's edge.
        strip = history.timeline(49)
        assert strip is not None and strip.arrivals == len(expected)
        # The restart follows the shutdown report: one cell holds both, S shows.
        assert "S" in strip.marks_line()
        assert any({"restart", "shutdown"} <= cell.marks for cell in strip.cells)
        matches = history.matching("b3-late")
        _settle(matches)
        assert len(matches) == sum(1 for r in expected if r.token == "b3-late")
    finally:
        history.close()
