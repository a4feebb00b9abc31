"""Benchmark (not a test): `health` on 1,000 brokers and a 1M-report topic, and the
exporter's scrape from its cache.

The brokers are synthetic registrations (version 5 JSON, as Kafka 3.9 writes them, each
advertising one of the sandbox's real listeners) under a fresh chroot of the sandbox's
ZooKeeper, so discovery reads 1,000 znodes; the partitions, the support topic and the
reports come from the real sandbox. The topic holds 1,000,000 Basic reports of brokers
1..1,000 spread evenly over a year up to the fill (a broker reports every ~8.8 h), made
once and kept between runs (`bench/common.py` `ensure_report_topic`, retention -1).

Figures: a cold evaluation (a fresh `HealthMonitor`, as one `ps-console health` run does:
discovery, metadata, configs, the backward read of the horizon's reports), the command
itself from process start to exit, a warm evaluation (the exporter's or console's next
one: only new records are read), and the scrape
of `/metrics` from a running `HealthExporter` holding that evaluation. Ends with the
`BENCH-RESULT` lines of `make bench`.

    .venv/bin/python -m bench.health_bench [--brokers 1000] [--records 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from kazoo.client import KazooClient

from bench.common import drop_report_topic, emit, ensure_report_topic, sandbox_facts
from engine.cluster.location import ClusterOptions, locate
from engine.health.exporter import HealthExporter
from engine.health.monitor import Evaluation, HealthMonitor

YEAR_S = 365 * 86400.0
BOUND_S = 2.0
SCRAPE_BOUND_MS = 100.0


def registration(broker_id: int, address: str, registered_ms: int) -> bytes:
    """A version 5 registration as Kafka 3.9 writes it, whose PLAINTEXT listener is one of
    the sandbox's real brokers (so `--zookeeper` alone finds a Kafka to ask)."""
    host, port = address.rsplit(":", 1)
    return json.dumps({
        "features": {"metadata.version": {"min_version": 1, "max_version": 21}},
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
        "endpoints": [f"PLAINTEXT://{address}"], "rack": f"rack-{broker_id % 3}",
        "jmx_port": -1, "port": int(port), "host": host, "version": 5,
        "timestamp": str(registered_ms)}, separators=(",", ":")).encode()


def register(zk: KazooClient, brokers: int, addresses: list[str]) -> None:
    """Synthetic brokers 1..N registered a month ago (a registration newer than a broker's
    reports would read as a restart), and a controller."""
    zk.ensure_path("/brokers/ids")
    zk.create("/cluster/id", b'{"version":"1","id":"BenchSyntheticHealth"}', makepath=True)
    zk.create("/controller", b'{"version":2,"brokerid":1,"timestamp":"0",'
                             b'"kraftControllerEpoch":-1}')
    month_ago = int((time.time() - 30 * 86400) * 1000)
    for pending in [zk.create_async(f"/brokers/ids/{i}", registration(
            i, addresses[i % len(addresses)], month_ago)) for i in range(1, brokers + 1)]:
        pending.get(timeout=30)


def timed(fn, runs: int) -> tuple[list[float], Evaluation]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    assert result is not None
    return times, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", type=int, default=1000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--drop-topic", action="store_true",
                        help="delete the report topic at the end (default: keep it)")
    args = parser.parse_args(argv)
    facts = sandbox_facts()
    if not facts["zk_connect"]:
        parser.error("the benchmark registers synthetic brokers in ZooKeeper: it needs the "
                     "ZooKeeper sandbox")
    hosts = facts["zk_hosts"]
    bootstrap = facts["bootstrap"]
    topic, marker = ensure_report_topic(bootstrap, args.records, args.brokers, span_s=YEAR_S)
    chroot = f"/bench-health-{uuid.uuid4().hex[:12]}"
    admin = KazooClient(hosts=hosts, timeout=10)
    admin.start(timeout=10)
    exporter = None
    try:
        admin.create(chroot)
        setup = KazooClient(hosts=hosts + chroot, timeout=10)
        setup.start(timeout=10)
        try:
            register(setup, args.brokers, bootstrap.split(","))
        finally:
            setup.stop()
            setup.close()
        location = locate(ClusterOptions(zookeeper=hosts + chroot, timeout=30))

        cold_times, cold = timed(lambda: HealthMonitor(location, topic).evaluate(), args.runs)
        monitor = HealthMonitor(location, topic)
        monitor.evaluate()
        warm_times, warm = timed(monitor.evaluate, args.runs)
        reported = sum(1 for b in cold.brokers if b.latest is not None)
        if not cold.reachable or len(cold.brokers) < args.brokers or reported < args.brokers:
            print(f"WARNING: reachable={cold.reachable}, {len(cold.brokers)} brokers, "
                  f"{reported} with a report; problems {cold.problems}")
        cold_s, warm_s = statistics.median(cold_times), statistics.median(warm_times)
        print(f"{args.brokers} brokers, {args.records:,} reports: cold evaluation median "
              f"{cold_s:.3f} s ({', '.join(f'{k} {v:.3f}' for k, v in cold.timings.items())}); "
              f"warm median {warm_s:.3f} s; {len(cold.findings)} findings "
              f"({cold.counts}) [{args.runs} runs each]")

        # The command itself: a Python process that imports, evaluates once and prints.
        ps = str(Path(sys.executable).with_name("ps-console"))
        cli_times = []
        for _ in range(3):
            started = time.perf_counter()
            done = subprocess.run([ps, "health", "--zookeeper", hosts + chroot, "--topic",
                                   topic, "--format", "json", "--config", "/nonexistent"],
                                  capture_output=True, text=True, timeout=120)
            cli_times.append(time.perf_counter() - started)
            if done.returncode not in (0, 1) or not done.stdout.startswith("{"):
                print(f"WARNING: ps-console health exited {done.returncode}: "
                      f"{done.stderr.strip()[:300]}")
        cli_s = statistics.median(cli_times)
        print(f"`ps-console health` (process start to exit): median {cli_s:.3f} s [3 runs]")

        exporter = HealthExporter(monitor, "127.0.0.1", 0, 3600.0)
        exporter.start()
        deadline = time.monotonic() + 60
        while exporter.latest is None and time.monotonic() < deadline:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{exporter.port}/metrics"
        scrapes, size = [], 0
        with httpx.Client(timeout=10) as client:
            started = time.perf_counter()
            client.get(url)  # a kind of request not seen before: rendered now
            render_ms = (time.perf_counter() - started) * 1000
            exporter.run_once()  # the evaluation thread's step: evaluate, render ahead
            started = time.perf_counter()
            client.get(url)
            first_ms = (time.perf_counter() - started) * 1000
            for _ in range(args.scrapes):
                started = time.perf_counter()
                answer = client.get(url)
                scrapes.append((time.perf_counter() - started) * 1000)
                size = len(answer.content)
        scrapes.sort()
        scrape_ms = statistics.median(scrapes)
        p95 = scrapes[int(len(scrapes) * 0.95) - 1]
        print(f"scrape from the cache: median {scrape_ms:.1f} ms, p95 {p95:.1f} ms, "
              f"{size:,} bytes (gzip) [{args.scrapes} scrapes]; the first scrape after an "
              f"evaluation {first_ms:.1f} ms (rendered ahead); a kind of request never seen "
              f"before is rendered when asked: {render_ms:.1f} ms")
        emit(f"health of {args.brokers:,} brokers, {args.records:,}-report topic",
             {"cold_s": round(cold_s, 3), "warm_s": round(warm_s, 3),
              "command_s": round(cli_s, 3)},
             {"bound_s": BOUND_S},
             {"within_bound": "yes" if max(cold_s, cli_s) < BOUND_S else "NO",
              "runs": f"median of {args.runs}"})
        emit(f"exporter scrape from cache ({args.brokers:,} brokers)",
             {"median_ms": round(scrape_ms, 1), "p95_ms": round(p95, 1),
              "first_after_evaluation_ms": round(first_ms, 1),
              "render_ms": round(render_ms, 1), "bytes": size},
             {"bound_ms": SCRAPE_BOUND_MS},
             {"within_bound": "yes" if max(p95, first_ms) < SCRAPE_BOUND_MS else "NO"})
    finally:
        if exporter is not None:
            exporter.stop()
        admin.delete(chroot, recursive=True)
        admin.stop()
        admin.close()
        if args.drop_topic:
            drop_report_topic(bootstrap, topic, marker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
