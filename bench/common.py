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


def report_topic_name(records: int, brokers: int) -> str:
    """The topic the reports and bundle benchmarks share for a given size."""
    return f"bench-reports-{records}-{brokers}"


def _populate(bootstrap: str, topic: str, records: int, brokers: int) -> float:
    """Produce `records` real Basic reports, broker ids 1..brokers in turn, each with its
    `broker.id` header, through one bulk Producer; return the seconds taken."""
    import uuid

    from confluent_kafka import Producer

    from engine.reporting.records import encode

    tokens = [str(uuid.uuid4()) for _ in range(brokers)]
    pool = [[encode({"timestamp": 1_700_000_000 + v, "kafkaVersion": "3.9.2",
                     "confluentPlatformVersion": None, "collectorState": 2,
                     "brokerProcessUUID": tokens[b], "clusterId": "AxLlMTXlQYGaQNmxRhMk3A"},
                    "basic") for b in range(brokers)] for v in range(VALUES_PER_BROKER)]
    headers = [[("broker.id", str(b + 1).encode())] for b in range(brokers)]
    producer = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 50,
                         "batch.size": 1_000_000, "queue.buffering.max.messages": 500_000,
                         "queue.buffering.max.kbytes": 512 * 1024, "log_level": 3})
    t0 = time.monotonic()
    produce, poll = producer.produce, producer.poll
    for i in range(records):
        b = i % brokers
        value = pool[(i // brokers) % VALUES_PER_BROKER][b]
        while True:
            try:
                produce(topic, value=value, headers=headers[b])
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
                        topic: str | None = None) -> tuple[str, Path]:
    """The name of a topic holding `records` reports from `brokers` brokers, filled now
    unless a marker under `.sandbox/bench-markers` (cluster id + topic) says an earlier
    run completed it and the topic's end offset still matches; and the marker's path.

    `make bench` fills it once: the reports benchmark creates it, the bundle benchmark
    reuses it and deletes it (see `drop_report_topic`).
    """
    from confluent_kafka.admin import AdminClient, NewTopic

    from engine.reading.topic_reader import TopicReader

    topic = topic or report_topic_name(records, brokers)
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
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]
                        )[topic].result(timeout=60)
    seconds = _populate(bootstrap, topic, records, brokers)
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
