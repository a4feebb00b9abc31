"""What every benchmark script shares: where the sandbox is, and how a result is printed.

Each script prints human-readable lines as it goes and ends with one machine-readable line,
`BENCH-RESULT {json}`, that `bench/run_all.py` collects into the table of `make bench`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MARK = "BENCH-RESULT "


def session(zookeeper: str | None = None, bootstrap: str | None = None,
            timeout: float = 10.0) -> Any:
    """A ClusterSession named as a command line names it (close it, or use `with`)."""
    from engine.cluster.location import ClusterOptions, locate
    from engine.cluster.session import ClusterSession

    return ClusterSession(locate(ClusterOptions(zookeeper=zookeeper, bootstrap=bootstrap,
                                                timeout=timeout)))


def _sandbox_module():
    from tools.sandbox import kafka_sandbox

    return kafka_sandbox


def sandbox_facts() -> dict[str, Any]:
    """The running sandbox named by PS_SANDBOX_DIR (default `.sandbox/run`)."""
    sandbox = _sandbox_module()
    state_dir = Path(os.environ.get("PS_SANDBOX_DIR", sandbox.DEFAULT_STATE))
    box = sandbox.Sandbox(state_dir)
    if not box.is_running():
        sys.exit(f"bench: no sandbox runs in {state_dir}; start one with `make sandbox-up`")
    facts = box.state.facts()
    return {
        "bootstrap": facts["KAFKA_BOOTSTRAP"],
        "zk_connect": facts.get("KAFKA_ZK_CONNECT"),
        "zk_hosts": (facts.get("KAFKA_ZK_CONNECT") or "").split("/", 1)[0] or None,
        "brokers": [{"id": int(b.name.split("-")[1]), "config": b.config}
                    for b in box.state.brokers],
        "lib": str(sandbox.lib_dir(box.state.version)),
    }


def emit(name: str, figures: dict[str, Any], reference: dict[str, Any] | None = None,
         ratio: dict[str, Any] | None = None) -> None:
    """Print the one line the harness reads: figures, the reference's, and their ratio."""
    print(MARK + json.dumps({"name": name, "figures": figures, "reference": reference or {},
                             "ratio": ratio or {}}), flush=True)


# ------------------------------------------------------------------ the shared report topic

MARKERS = REPO / ".sandbox" / "bench-markers"
# Distinct values per broker: enough variety that readers decode real, different records,
# few enough that encoding them is not the benchmark.
VALUES_PER_BROKER = 10


def report_topic_name(records: int, brokers: int, span_s: float | None = None) -> str:
    """The topic the reports and bundle benchmarks share for a given size (and, for the
    health benchmark, a topic whose reports spread over `span_s` seconds up to now)."""
    name = f"bench-reports-{records}-{brokers}"
    return name if span_s is None else f"{name}-span{int(span_s // 86400)}d"


def _with_timestamp(value: bytes, seconds: int) -> bytes:
    """A Basic report's container with another `timestamp`, the datum's first field: the
    zig-zag varint of any epoch second from 1974 to 2514 takes 5 bytes, so the block's
    size stays right. 30x faster than encoding each record (the fill is not the bench)."""
    from engine.reporting.records import SYNC_SIZE, _zigzag_long

    varint = _zigzag_long(seconds)
    assert len(varint) == 5, seconds
    body = _BASIC_DATUM_SIZE
    start = len(value) - SYNC_SIZE - body
    return value[:start] + varint + value[start + 5:]


_BASIC_DATUM_SIZE = 0


def _populate(bootstrap: str, topic: str, records: int, brokers: int,
              span_s: float | None = None) -> float:
    """Produce `records` real Basic reports, broker ids 1..brokers in turn, each with its
    `broker.id` header, through one bulk Producer; return the seconds taken. With
    `span_s`, record i is made (its own `timestamp` and its Kafka time) evenly between
    now - span_s and now, as a topic that agents filled over that time."""
    import io
    import uuid

    import fastavro
    from confluent_kafka import Producer

    from engine.reporting import records as avro
    from engine.reporting.records import encode

    global _BASIC_DATUM_SIZE
    tokens = [str(uuid.uuid4()) for _ in range(brokers)]

    def basic(b: int, ts: int) -> bytes:
        return encode({"timestamp": ts, "kafkaVersion": "3.9.2",
                       "confluentPlatformVersion": None, "collectorState": 2,
                       "brokerProcessUUID": tokens[b], "clusterId": "AxLlMTXlQYGaQNmxRhMk3A"},
                      "basic")

    pool = [[basic(b, 1_700_000_000 + v) for b in range(brokers)]
            for v in range(VALUES_PER_BROKER)]
    datum = io.BytesIO()
    fastavro.schemaless_writer(datum, avro.BASIC, {
        "timestamp": 1_700_000_000, "kafkaVersion": "3.9.2", "confluentPlatformVersion": None,
        "collectorState": 2, "brokerProcessUUID": tokens[0],
        "clusterId": "AxLlMTXlQYGaQNmxRhMk3A"})
    _BASIC_DATUM_SIZE = len(datum.getvalue())
    end_ms = int(time.time() * 1000)
    step_ms = (span_s or 0) * 1000 / max(1, records)
    headers = [[("broker.id", str(b + 1).encode())] for b in range(brokers)]
    producer = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 50,
                         "batch.size": 1_000_000, "queue.buffering.max.messages": 500_000,
                         "queue.buffering.max.kbytes": 512 * 1024, "log_level": 3})
    t0 = time.monotonic()
    produce, poll = producer.produce, producer.poll
    for i in range(records):
        b = i % brokers
        value = pool[(i // brokers) % VALUES_PER_BROKER][b]
        stamp = 0
        if span_s is not None:
            stamp = int(end_ms - (records - 1 - i) * step_ms)
            value = _with_timestamp(value, stamp // 1000)
        while True:
            try:
                produce(topic, value=value, headers=headers[b], timestamp=stamp)
                break
            except BufferError:
                poll(0.05)  # the local queue is full: let deliveries drain it
        if i % 50_000 == 0:
            poll(0)
    left = producer.flush(180)
    if left:
        raise SystemExit(f"{left} records were not delivered")
    return time.monotonic() - t0


def ensure_report_topic(bootstrap: str, records: int, brokers: int,
                        topic: str | None = None, span_s: float | None = None
                        ) -> tuple[str, Path]:
    """The name of a topic holding `records` reports from `brokers` brokers, filled now
    unless a marker under `.sandbox/bench-markers` (cluster id + topic) says an earlier
    run completed it and the topic's end offset still matches; and the marker's path.

    `make bench` fills it once: the reports benchmark creates it, the bundle benchmark
    reuses it and deletes it (see `drop_report_topic`). With `span_s` the reports spread
    over that much time up to the fill (see `_populate`), in a topic of its own that keeps
    them (retention.ms=-1).
    """
    from confluent_kafka.admin import AdminClient, NewTopic

    from engine.reading.topic_reader import TopicReader

    topic = topic or report_topic_name(records, brokers, span_s)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    cluster_id = admin.describe_cluster(request_timeout=10).result(timeout=15).cluster_id
    marker = MARKERS / f"{cluster_id}-{topic}.complete"
    exists = topic in admin.list_topics(timeout=10).topics
    if marker.exists() and exists:
        with session(bootstrap=bootstrap) as s, TopicReader(s) as reader:
            high = sum(r.high for r in reader.end_offsets(topic))
        if high == int(marker.read_text().strip() or -1):
            print(f"reusing {topic}: {high:,} records (marker {marker.name})", flush=True)
            return topic, marker
        print(f"{topic} holds {high:,} records, not what the marker says: refilling")
    marker.unlink(missing_ok=True)
    if exists:
        admin.delete_topics([topic])[topic].result(timeout=60)
        time.sleep(2)  # deletion is asynchronous on the brokers
    keep = {"retention.ms": "-1"} if span_s is not None else {}
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=keep)]
                        )[topic].result(timeout=60)
    seconds = _populate(bootstrap, topic, records, brokers, span_s)
    print(f"populated {topic}: {records:,} reports from {brokers} brokers in "
          f"{seconds:.1f} s ({records / seconds:,.0f}/s)", flush=True)
    MARKERS.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{records}\n")
    return topic, marker


def drop_report_topic(bootstrap: str, topic: str, marker: Path) -> None:
    """Delete the shared topic and its marker."""
    from confluent_kafka.admin import AdminClient

    marker.unlink(missing_ok=True)
    admin = AdminClient({"bootstrap.servers": bootstrap})  # alive until the result is in
    admin.delete_topics([topic])[topic].result(timeout=60)
    print(f"deleted {topic}", flush=True)
