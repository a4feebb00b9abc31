"""Benchmark (not a test): how long `discover()` takes for many brokers, concurrent kazoo
reads against one read after another.

It registers N synthetic broker znodes (version 5 JSON, as Kafka 3.9 writes it) and some
topic assignments under a fresh chroot `/bench-synthetic-<uuid>` of the given ZooKeeper,
never under a real cluster's chroot, times both ways (median of several runs, each run a
fresh session like a CLI call), times the real cluster under `--real-chroot`, and deletes
its chroot at the end, also on failure or Ctrl-C. Without `--zookeeper` it uses the sandbox
named by `PS_SANDBOX_DIR` (and that sandbox's chroot as the real cluster). Ends with the
`BENCH-RESULT` line of `make bench`: concurrent against one after another.

    .venv/bin/python -m bench.discovery_bench [--zookeeper 127.0.0.1:12181]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

from bench.common import emit, sandbox_facts, session
from engine.cluster.connect import parse_zk_connect
from engine.cluster.discovery import discover
from engine.cluster.model import SOURCE_ZOOKEEPER, ClusterView
from engine.cluster.session import ClusterSession
from engine.cluster.znodes import (
    count_partitions,
    parse_broker_registration,
    parse_cluster_id,
    parse_controller,
)


def registration(broker_id: int, now_ms: int) -> bytes:
    """A version 5 registration shaped like the ones Kafka 3.9 writes (two listeners)."""
    port = 20000 + broker_id
    return json.dumps({
        "features": {"metadata.version": {"min_version": 1, "max_version": 21}},
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT", "REPLICATION": "SSL"},
        "endpoints": [f"PLAINTEXT://broker-{broker_id}.bench.invalid:{port}",
                      f"REPLICATION://broker-{broker_id}.bench.invalid:{port + 20000}"],
        "rack": f"rack-{broker_id % 3}",
        "jmx_port": -1, "port": port, "host": f"broker-{broker_id}.bench.invalid",
        "version": 5, "timestamp": str(now_ms),
    }, separators=(",", ":")).encode()


def populate(zk: KazooClient, brokers: int, topics: int, partitions: int) -> None:
    """Create the synthetic cluster under the client's chroot, all creates in flight at once."""
    zk.ensure_path("/brokers/ids")
    zk.ensure_path("/brokers/topics")
    zk.ensure_path("/cluster")
    zk.create("/cluster/id", json.dumps({"version": "1", "id": "BenchSyntheticCluster1"})
              .encode())
    zk.create("/controller", b'{"version":2,"brokerid":1,"timestamp":"0",'
                             b'"kraftControllerEpoch":-1}')
    now_ms = int(time.time() * 1000)
    pending = [zk.create_async(f"/brokers/ids/{i}", registration(i, now_ms))
               for i in range(1, brokers + 1)]
    assignment = json.dumps({"version": 3, "partitions": {
        str(p): [p % brokers + 1] for p in range(partitions)}, "adding_replicas": {},
        "removing_replicas": {}}).encode()
    pending += [zk.create_async(f"/brokers/topics/bench-{t}", assignment)
                for t in range(topics)]
    for result in pending:
        result.get(timeout=30)


def discover_one_by_one(session: ClusterSession) -> ClusterView:
    """The same view as `discover`, but each read waits for the previous one."""
    zk = session.zookeeper()
    ids = sorted(int(c) for c in zk.get_children("/brokers/ids") if c.isdigit())
    brokers = []
    for i in ids:
        try:
            data, stat = zk.get(f"/brokers/ids/{i}")
        except NoNodeError:
            continue
        brokers.append(parse_broker_registration(i, data, stat.ephemeralOwner))
    names = zk.get_children("/brokers/topics")
    partitions = sum(count_partitions(zk.get(f"/brokers/topics/{t}")[0]) for t in names)
    return ClusterView(parse_cluster_id(zk.get("/cluster/id")[0]),
                       parse_controller(zk.get("/controller")[0]), tuple(brokers),
                       len(names), partitions, SOURCE_ZOOKEEPER)


def in_a_session(connect: str, read: Callable[[ClusterSession], ClusterView]) -> ClusterView:
    """One read of the cluster in a session of its own (its set-up is part of the cost)."""
    with session(zookeeper=connect, timeout=30) as s:
        return read(s)


def median_seconds(fn: Callable[[], ClusterView], runs: int) -> tuple[float, ClusterView]:
    """Median wall time of `runs` calls, and the last result (to check it)."""
    times = []
    view = None
    for _ in range(runs):
        started = time.perf_counter()
        view = fn()
        times.append(time.perf_counter() - started)
    assert view is not None
    return statistics.median(times), view


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zookeeper", metavar="HOST:PORT[,...]",
                        help="ZooKeeper servers, without a chroot (default: the sandbox's)")
    parser.add_argument("--brokers", type=int, default=1000)
    parser.add_argument("--topics", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=6, help="per synthetic topic")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--real-chroot", default=None,
                        help="chroot of the real cluster to time as well ('' to skip; "
                             "default: the sandbox's, or /kafka with --zookeeper)")
    args = parser.parse_args(argv)
    if args.zookeeper is None:
        zk_connect = sandbox_facts()["zk_connect"]
        if not zk_connect:
            parser.error("the sandbox has no ZooKeeper (KRaft?); give --zookeeper")
        args.zookeeper, _, chroot = zk_connect.partition("/")
        if args.real_chroot is None:
            args.real_chroot = "/" + chroot if chroot else ""
    elif args.real_chroot is None:
        args.real_chroot = "/kafka"
    servers = parse_zk_connect(args.zookeeper)
    if servers.chroot:
        parser.error("give --zookeeper without a chroot; the benchmark makes its own")
    hosts = servers.hosts_string
    chroot = f"/bench-synthetic-{uuid.uuid4().hex[:12]}"

    admin = KazooClient(hosts=hosts, timeout=10)
    admin.start(timeout=10)
    try:
        admin.create(chroot)
        setup = KazooClient(hosts=hosts + chroot, timeout=10)
        setup.start(timeout=10)
        try:
            started = time.perf_counter()
            populate(setup, args.brokers, args.topics, args.partitions)
            print(f"registered {args.brokers} synthetic brokers and {args.topics} topics "
                  f"under {chroot} in {time.perf_counter() - started:.2f} s")
        finally:
            setup.stop()
            setup.close()

        connect = hosts + chroot
        fast, view = median_seconds(lambda: in_a_session(connect, discover), args.runs)
        slow, slow_view = median_seconds(lambda: in_a_session(connect, discover_one_by_one),
                                         args.runs)
        # A benchmark asserts nothing, but a figure over the wrong cluster is worth nothing.
        # The one-by-one read skips the replication factors (the same reads, parsed further).
        same = dataclasses.replace(view, replication_factors={}) == slow_view
        if len(view.brokers) != args.brokers or not same \
                or view.partitions != args.topics * args.partitions:
            print(f"WARNING: read {len(view.brokers)} brokers and {view.partitions} "
                  f"partitions; both ways agree: {same}")
        print(f"{args.brokers} brokers, {args.topics} topics: discover() concurrent "
              f"median {fast * 1000:.0f} ms; one read after another median "
              f"{slow * 1000:.0f} ms ({slow / fast:.1f}x) [{args.runs} runs each, "
              "session set-up included]")

        if args.real_chroot:
            real = hosts + args.real_chroot
            real_time, real_view = median_seconds(lambda: in_a_session(real, discover),
                                                  args.runs)
            real_slow, _ = median_seconds(lambda: in_a_session(real, discover_one_by_one),
                                          args.runs)
            print(f"real cluster at {hosts}{args.real_chroot} ({len(real_view.brokers)} "
                  f"brokers, {real_view.topics} topics): discover() median "
                  f"{real_time * 1000:.1f} ms; one after another {real_slow * 1000:.1f} ms")
        emit(f"discovery of {args.brokers:,} synthetic brokers (ZooKeeper)",
             {"concurrent_s": round(fast, 3), "brokers": len(view.brokers)},
             {"one_after_another_s": round(slow, 3)},
             {"speedup": f"{slow / fast:.1f}x", "runs": f"median of {args.runs}"})
    finally:
        admin.delete(chroot, recursive=True)
        gone = admin.exists(chroot) is None
        admin.stop()
        admin.close()
        print(f"deleted {chroot}" if gone else f"WARNING: {chroot} is still there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
