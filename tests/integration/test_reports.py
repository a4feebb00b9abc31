"""Reading reports back from a real topic: latest per broker, --all, odd records."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from engine.reading.reports import ReadStats, iter_reports, latest_per_broker
from engine.reporting.records import encode
from tests.support.cp_records import cp30_basic

REPO_PS = [str(Path(sys.executable).with_name("ps-console"))]


def _topic(cluster, partitions: int = 1) -> str:
    name = f"ps-reports-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]
                        )[name].result(timeout=30)
    return name


def _basic(ts: int, token: str, state: int = 2) -> bytes:
    return encode({"timestamp": ts, "kafkaVersion": "3.9.2",
                   "confluentPlatformVersion": None, "collectorState": state,
                   "brokerProcessUUID": token, "clusterId": "abc"}, "basic")


def _produce(cluster, topic: str, items: list[tuple[bytes, dict[str, str]]],
             partition: int | None = None) -> None:
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 20,
                         "enable.idempotence": True})
    for value, headers in items:
        kwargs = {} if partition is None else {"partition": partition}
        producer.produce(topic, value=value, headers=list(headers.items()), **kwargs)
        producer.poll(0)
    assert producer.flush(30) == 0


def test_latest_per_broker_reads_only_the_end_and_survives_odd_records(cluster, open_session):
    topic = _topic(cluster)
    # A lone old report of broker 9 at the start, then CP 3.0 and garbage records, then
    # 3000 reports of brokers 1-3 in turn.
    items = [(_basic(1_000, "tok-9"), {"broker.id": "9"}),
             (cp30_basic(token="cp-token"), {}),
             (b"\x00garbage, not avro", {})]
    items += [(_basic(2_000 + n, f"tok-{n % 3 + 1}"), {"broker.id": str(n % 3 + 1),
                                                        "report.id": str(uuid.uuid4())})
              for n in range(3000)]
    _produce(cluster, topic, items)
    target = open_session(bootstrap=cluster.bootstrap)

    stats = ReadStats()
    latest = latest_per_broker(target, topic, broker_ids=[1, 2, 3], stats=stats)
    assert [r.broker_id for r in latest] == [1, 2, 3]
    assert [r.time_s for r in latest] == [4997, 4998, 4999]
    assert stats.topic_size == 3003
    assert stats.records_read == 64 and stats.windows == 1

    # Broker 9 reported once, long ago: the backward read grows until it reaches it,
    # passing the CP 3.0 record (grouped by token) and the garbage (shown, undecodable).
    stats = ReadStats()
    latest = latest_per_broker(target, topic, broker_ids=[1, 2, 3, 9], stats=stats)
    by_broker = {r.broker_id: r for r in latest if r.broker_id is not None}
    assert sorted(by_broker) == [1, 2, 3, 9] and by_broker[9].offset == 0
    cp = [r for r in latest if r.broker_id is None and r.token == "cp-token"]
    assert len(cp) == 1 and cp[0].ok and cp[0].cluster_id == "NA"
    bad = [r for r in latest if not r.ok]
    assert [(b.offset, b.broker_id) for b in bad] == [(2, None)]
    assert stats.records_read == 3003

    every = list(iter_reports(target, topic))
    assert len(every) == 3003 and [r.offset for r in every] == list(range(3003))
    assert not every[2].ok


def test_duplicates_by_report_id_are_dropped_and_partitions_are_merged(cluster, open_session):
    topic = _topic(cluster, partitions=2)
    rid = str(uuid.uuid4())
    first = (_basic(10, "t1"), {"broker.id": "1", "report.id": rid})
    _produce(cluster, topic, [first], partition=0)
    _produce(cluster, topic, [(_basic(11, "t2"), {"broker.id": "2"})], partition=0)
    # The resend of the same report lands later (here in the other partition).
    _produce(cluster, topic, [first], partition=1)
    _produce(cluster, topic, [(_basic(12, "t1b"), {"broker.id": "1"})], partition=1)
    target = open_session(bootstrap=cluster.bootstrap)
    assert [r.report_id for r in iter_reports(target, topic)] == [rid, None, None]
    latest = latest_per_broker(target, topic, broker_ids=[1, 2])
    assert [(r.broker_id, r.token) for r in latest] == [(1, "t1b"), (2, "t2")]


def test_reports_cli_json_and_all(cluster):
    topic = _topic(cluster)
    _produce(cluster, topic, [(_basic(100 + n, f"tok{n}"), {"broker.id": str(n)})
                              for n in (1, 2, 3)] + [(b"junk", {"broker.id": "2"})])
    run = subprocess.run([*REPO_PS, "reports", *cluster.cli,
                          "--topic", topic, "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert [(d["broker_id"], d["ok"]) for d in doc] == [(1, True), (2, False), (3, True)]
    assert doc[0]["schema"].endswith("SupportKafkaMetricsBasic")
    assert doc[0]["fields"]["brokerProcessUUID"] == "tok1"

    run = subprocess.run([*REPO_PS, "reports", "--bootstrap-server", cluster.bootstrap,
                          "--topic", topic, "--all", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [d["offset"] for d in lines] == [0, 1, 2, 3]
    assert lines[3]["error"]

    run = subprocess.run([*REPO_PS, "reports", "--bootstrap-server", cluster.bootstrap,
                          "--topic", "no-such-topic-" + uuid.uuid4().hex[:6]],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "does not exist" in run.stderr
    assert "Traceback" not in run.stderr


def _settle(history, steps: int = 5_000) -> None:
    import threading

    never = threading.Event()
    for _ in range(steps):
        if not history.work(never) and history.idle:
            return
    raise AssertionError(f"the history never settled: {history.progress()}")


def test_the_console_adapter_reads_a_history_and_one_report_again(sandbox):
    """The live adapter: latest reports carry their fields; a history is summaries in
    arrival order, newest first (a CP Basic report joins the broker that owns its
    token); the detail pane's report is read again by position, with the history's
    attribution; the latest view's look at the end of the topic sees what came since."""
    from tests.support.cluster import location
    from tui.backend import ClusterBackend

    topic = _topic(sandbox)
    later = _basic(300, "tok-1")
    items = [(later, {"broker.id": "1"}),
             (_basic(100, "tok-1"), {}),  # CP's: no header; broker 1 owns the token
             (_basic(200, "tok-2"), {"broker.id": "2"})]
    _produce(sandbox, topic, items)
    backend = ClusterBackend(location(zookeeper=sandbox.zk_connect, timeout=10), topic)
    try:
        latest = backend.latest_reports([1, 2])
        assert [(r.broker_id, r.offset) for r in latest] == [(1, 0), (2, 2)]
        assert backend.report(latest[0]) is latest[0]  # it has its fields already
        opened = backend.open_history(1, 86_400)
        try:
            _settle(opened)
            history = opened.rows(0, len(opened))
        finally:
            opened.close()
        assert [(r.offset, r.attributed_by) for r in history] == [(1, "token"), (0, "header")]
        assert all(not hasattr(r, "fields") for r in history)
        again = backend.report(history[0])
        assert again is not None and again.fields["timestamp"] == 100
        assert (again.broker_id, again.attributed_by) == (1, "token")
        assert backend.raw_value(history[1]) == later
        every = backend.open_history(None, 86_400)
        try:
            _settle(every)
            assert [r.offset for r in every.rows(0, 9)] == [2, 1, 0]
        finally:
            every.close()

        _, mark, _ = backend.poll_latest(None)
        _produce(sandbox, topic, [(_basic(400, "tok-1"), {"broker.id": "1"})])
        found, mark2, overflow = backend.poll_latest(mark)
        assert [(r.offset, r.broker_id) for r in found] == [(3, 1)] and not overflow
        assert mark2 == {0: 4} and backend.poll_latest(mark2)[0] == []
    finally:
        backend.close()


def test_a_history_of_several_partitions_is_read_whole_in_the_rules_order(sandbox):
    from engine.reading.history import ListHistory
    from engine.reading.topic_history import open_topic_history

    topic = _topic(sandbox, partitions=2)
    _produce(sandbox, topic, [(_basic(300, "t"), {"broker.id": "1"})], partition=0)
    _produce(sandbox, topic, [(_basic(100, "t"), {"broker.id": "1"}),
                              (_basic(200, "u"), {"broker.id": "2"})], partition=1)
    with _session(sandbox) as session:
        history = open_topic_history(session, topic, 1)
    assert isinstance(history, ListHistory)
    assert [(r.partition, r.time_s) for r in history.rows(0, 5)] == [(0, 300), (1, 100)]


def _session(sandbox):
    from engine.cluster.session import ClusterSession
    from tests.support.cluster import location

    return ClusterSession(location(bootstrap=sandbox.bootstrap, timeout=10))
