#!/usr/bin/env python3
"""Benchmark (not a test): the real console's Cluster screen filled with 1,000 brokers.

It registers N synthetic brokers (version 5 JSON, as Kafka 3.9 writes it) under a fresh
chroot `/bench-console-<uuid>` of the sandbox's ZooKeeper, never under the real cluster's,
their listeners pointing at the sandbox's real brokers so that the support topic can be
read; and a topic of its own holding one real Basic report of each of the N brokers. Then
`ps-console --zookeeper <zk>/<chroot> --topic <it>` runs on a pseudo-terminal (120x40,
as bench/console_start.py runs it) and the clock stops when the screen shows "brokers N":
that line and the table are drawn in the same frame, after every row is in. The reference
is the same console on 3 synthetic brokers. Median of 3 runs each. The chroot and the
topic are deleted at the end, also on failure or Ctrl-C.

    .venv/bin/python -m bench.cluster_screen_bench [--brokers 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

from kazoo.client import KazooClient

from bench.common import emit, sandbox_facts
from bench.console_start import median, timed_run
from engine.cluster.connect import parse_bootstrap

BIN = Path(sys.executable).parent
RUNS = 3


def registration(broker_id: int, host: str, port: int, now_ms: int) -> bytes:
    """A version 5 registration shaped like Kafka 3.9's, at `host:port`."""
    return json.dumps({
        "features": {"metadata.version": {"min_version": 1, "max_version": 21}},
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
        "endpoints": [f"PLAINTEXT://{host}:{port}"], "rack": f"rack-{broker_id % 3}",
        "jmx_port": -1, "port": port, "host": host, "version": 5,
        "timestamp": str(now_ms),
    }, separators=(",", ":")).encode()


def populate(zk: KazooClient, brokers: int, real: list[tuple[str, int]]) -> None:
    """The synthetic cluster under the client's chroot, every create in flight at once."""
    for path in ("/brokers/ids", "/brokers/topics", "/cluster"):
        zk.ensure_path(path)
    zk.create("/cluster/id", b'{"version":"1","id":"BenchConsoleCluster1"}')
    zk.create("/controller", b'{"version":2,"brokerid":1,"timestamp":"0",'
                             b'"kraftControllerEpoch":-1}')
    now_ms = int(time.time() * 1000)
    pending = [zk.create_async(f"/brokers/ids/{i}",
                               registration(i, *real[i % len(real)], now_ms))
               for i in range(1, brokers + 1)]
    for result in pending:
        result.get(timeout=30)


def fill_topic(bootstrap: str, topic: str, brokers: int) -> None:
    """One Basic report per broker id, made in the last hour, with its broker.id header."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from engine.reporting.records import encode

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})
    now = int(time.time())
    for i in range(1, brokers + 1):
        value = encode({"timestamp": now - (i * 3) % 3600, "kafkaVersion": "3.9.2",
                        "confluentPlatformVersion": "7.9.0", "collectorState": 2,
                        "brokerProcessUUID": str(uuid.UUID(int=i)), "clusterId": "bench"},
                       "basic")
        producer.produce(topic, value=value, headers=[("broker.id", str(i).encode())])
        producer.poll(0)
    if producer.flush(60) != 0:
        raise SystemExit("bench: the reports did not all reach the topic")


def delete_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})  # held until the answer comes
    admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=60)


def fill_times(zk_hosts: str, chroot: str, topic: str, brokers: int) -> list[float | None]:
    console = [str(BIN / "ps-console"), "--zookeeper", zk_hosts + chroot, "--topic", topic]
    marker = f"brokers {brokers}".encode()
    out = []
    for i in range(RUNS):
        filled = timed_run(console, [marker], bound=60)[0]
        print(f"{brokers} brokers, run {i + 1}: Cluster screen filled "
              f"{filled if filled is not None else float('nan'):.3f} s", flush=True)
        out.append(filled)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", type=int, default=1000)
    args = parser.parse_args(argv)
    facts = sandbox_facts()
    if not facts["zk_hosts"]:
        parser.error("the sandbox has no ZooKeeper (KRaft?)")
    hosts = facts["zk_hosts"]
    real = list(parse_bootstrap(facts["bootstrap"]))
    tag = uuid.uuid4().hex[:12]
    admin = KazooClient(hosts=hosts, timeout=10)
    admin.start(timeout=10)
    made: list[str] = []
    topics: list[str] = []
    results: dict[int, float | None] = {}
    try:
        for count in (args.brokers, 3):
            chroot = f"/bench-console-{tag}-{count}"
            topic = f"bench-console-{tag}-{count}"
            admin.create(chroot)
            made.append(chroot)
            setup = KazooClient(hosts=hosts + chroot, timeout=10)
            setup.start(timeout=10)
            try:
                populate(setup, count, real)
            finally:
                setup.stop()
                setup.close()
            fill_topic(facts["bootstrap"], topic, count)
            topics.append(topic)
            results[count] = median(fill_times(hosts, chroot, topic, count))
        big, small = results[args.brokers], results[3]
        emit(f"console Cluster screen, {args.brokers:,} brokers (median of {RUNS})",
             {"filled_s": big, "under_2s": big is not None and big < 2.0},
             reference={"name": "the same, 3 brokers", "s": small},
             ratio={"vs_3_brokers": round(big / small, 1) if big and small else None})
        return 0 if big is not None else 1
    finally:
        for chroot in made:
            admin.delete(chroot, recursive=True)
        admin.stop()
        admin.close()
        for topic in topics:
            try:
                delete_topic(facts["bootstrap"], topic)
            except Exception as exc:  # noqa: BLE001 - cleanup goes on; the line says why
                print(f"WARNING: topic {topic} not deleted: {exc}")


if __name__ == "__main__":
    sys.exit(main())
