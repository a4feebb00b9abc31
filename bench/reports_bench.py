"""Benchmark: latest report per broker on a 1,000,000-report topic from 100 brokers,
against a full scan of the same topic.

Not a test. Fills a topic on the running sandbox (or `PS_SANDBOX_DIR`'s) with real encoded
Basic reports carrying `broker.id` headers, brokers 1..100 in turn, with one fast Producer.
The filled topic is reused by later runs: a marker file under `.sandbox/bench-markers`
(named after the cluster id and topic) says it is complete, and its end offset is checked
against the marker. Then it times `latest_per_broker` (goal: under 2 s) and a full
`iter_reports` scan (bounded by `--scan-limit` seconds), and prints both.
`--cleanup` deletes the topic and its marker at the end.

    .venv/bin/python bench/reports_bench.py [--records 1000000] [--brokers 100] [--cleanup]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, emit, sandbox_facts  # noqa: E402

from engine.records import encode  # noqa: E402
from engine.reports import ReadStats, iter_reports, latest_per_broker  # noqa: E402
from engine.target import ClusterTarget  # noqa: E402
from engine.topic_reader import end_offsets  # noqa: E402

MARKERS = REPO / ".sandbox" / "bench-markers"
# Distinct values per broker: enough variety that the scan decodes real, different records,
# few enough that encoding them is not the benchmark.
VALUES_PER_BROKER = 10


def populate(bootstrap: str, topic: str, records: int, brokers: int) -> float:
    """Produce `records` reports, broker ids 1..brokers in turn; return seconds taken."""
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


def ensure_filled(bootstrap: str, topic: str, records: int, brokers: int) -> Path:
    """Create and fill the topic unless a marker says an earlier run completed it."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    cluster_id = admin.describe_cluster(request_timeout=10).result(timeout=15).cluster_id
    marker = MARKERS / f"{cluster_id}-{topic}.complete"
    target = ClusterTarget(bootstrap=bootstrap)
    if marker.exists() and topic in admin.list_topics(timeout=10).topics:
        high = sum(r.high for r in end_offsets(target, topic))
        if high == int(marker.read_text().strip() or -1):
            print(f"reusing {topic}: {high:,} records (marker {marker.name})")
            return marker
        print(f"{topic} holds {high:,} records, not what the marker says: refilling")
    if topic in admin.list_topics(timeout=10).topics:
        admin.delete_topics([topic])[topic].result(timeout=60)
        time.sleep(2)  # deletion is asynchronous on the brokers
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]
                        )[topic].result(timeout=60)
    seconds = populate(bootstrap, topic, records, brokers)
    print(f"populated {topic}: {records:,} reports from {brokers} brokers in "
          f"{seconds:.1f} s ({records / seconds:,.0f}/s)")
    MARKERS.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{records}\n")
    return marker


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--brokers", type=int, default=100)
    ap.add_argument("--topic", default=None, help="default: bench-reports-<records>-<brokers>")
    ap.add_argument("--scan-limit", type=float, default=300.0,
                    help="upper bound of the full scan, seconds")
    ap.add_argument("--cleanup", action="store_true", help="delete the topic at the end")
    args = ap.parse_args()
    bootstrap = sandbox_facts()["bootstrap"]
    topic = args.topic or f"bench-reports-{args.records}-{args.brokers}"
    marker = ensure_filled(bootstrap, topic, args.records, args.brokers)
    target = ClusterTarget(bootstrap=bootstrap)
    wanted = list(range(1, args.brokers + 1))
    try:
        runs = []
        for _ in range(3):
            stats = ReadStats()
            t0 = time.perf_counter()
            latest = latest_per_broker(target, topic, broker_ids=wanted, stats=stats)
            runs.append((time.perf_counter() - t0, stats, latest))
        found = sorted(r.broker_id for r in runs[-1][2] if r.broker_id is not None)
        if found != wanted:
            raise SystemExit(f"latest_per_broker found {len(found)} of {len(wanted)} brokers")
        best = min(s for s, _, _ in runs)
        stats = runs[-1][1]
        print(f"latest_per_broker: {args.brokers} brokers in {best:.3f} s (best of 3; runs "
              f"{', '.join(f'{s:.3f}' for s, _, _ in runs)}), read {stats.records_read:,} of "
              f"{stats.topic_size:,} records in {stats.windows} window(s)  "
              f"[goal < 2 s: {'met' if best < 2 else 'MISSED'}]")

        scan_stats = ReadStats()
        t0 = time.perf_counter()
        count = sum(1 for _ in iter_reports(target, topic, stats=scan_stats,
                                            deadline=time.monotonic() + args.scan_limit))
        scan = time.perf_counter() - t0
        complete = count == stats.topic_size
        print(f"full scan (iter_reports): {count:,} reports in {scan:.1f} s "
              f"({count / scan:,.0f}/s){'' if complete else ' - CUT SHORT by --scan-limit'}")
        print(f"latest_per_broker is {scan / best:,.0f}x faster than the full scan")
        emit("reports latest-per-broker (1M reports, 100 brokers)",
             {"latest_s": round(best, 3), "latest_records_read": stats.records_read},
             {"full_scan_s": round(scan, 1), "full_scan_records": count},
             {"speedup": round(scan / best)})
    finally:
        if args.cleanup:
            AdminClient({"bootstrap.servers": bootstrap}).delete_topics([topic])[topic].result(
                timeout=60)
            marker.unlink(missing_ok=True)
            print(f"deleted {topic}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
