#!/usr/bin/env python3
"""`make bench`: every benchmark of the project against one fresh sandbox, one table.

Starts a sandbox of its own in `.sandbox/bench`, runs each benchmark script in turn with a
wall-time bound, collects the `BENCH-RESULT` line each one prints, prints one table and
writes it, with a description of the machine, to `bench/RESULTS.md`. The sandbox is stopped
at the end whatever happens. Benchmarks are not tests: they assert nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import MARK, REPO, _sandbox_module

# (script, extra arguments, wall-time bound in seconds)
BENCHMARKS: list[tuple[str, list[str], int]] = [
    ("discovery_bench.py", [], 180),
    # The reports benchmark fills the shared 1M-report topic and keeps it; the bundle
    # benchmark reuses it (its marker says it is complete) and deletes it.
    ("reports_bench.py", ["--keep-topic"], 420),
    ("bundle_bench.py", [], 420),
    ("console_start.py", [], 180),
    ("console_history_bench.py", [], 600),
    ("cluster_screen_bench.py", [], 240),
    ("report_log_bench.py", [], 300),
    # Fills a 1M-report topic of its own (reports spread over a year) and keeps it.
    ("health_bench.py", [], 420),
    ("receive_bench.py", [], 240),
    ("agent_cost.py", ["--duration", "600", "--interval", "10"], 700),
]


def machine() -> list[str]:
    from importlib.metadata import version

    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), "0")
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    return [
        f"- cores: {os.cpu_count()}, memory: {int(mem) / 1024 / 1024:.1f} GiB, "
        f"{platform.system()} {platform.release()} {platform.machine()}",
        f"- Python {platform.python_version()}, {java.splitlines()[0] if java else 'java ?'}",
        f"- Kafka {_sandbox_module().KAFKA_VERSION} (sandbox: ZooKeeper + 3 brokers), "
        f"confluent-kafka {version('confluent-kafka')}, kazoo {version('kazoo')}, "
        f"textual {version('textual')}, fastavro {version('fastavro')}",
    ]


def run_one(script: str, extra: list[str], bound: int, env: dict[str, str]) -> list[dict]:
    """Run one script within its bound; every BENCH-RESULT line it prints is a row."""
    started = time.monotonic()
    print(f"\n=== {script} {' '.join(extra)} (bound {bound} s)", flush=True)
    proc = subprocess.Popen([sys.executable, "-m", f"bench.{script.removesuffix('.py')}", *extra],
                            stdout=subprocess.PIPE, stderr=None, text=True, env=env,
                            cwd=REPO)
    results: list[dict] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(MARK):
                results.append(json.loads(line[len(MARK):]))
            else:
                print("  " + line.rstrip(), flush=True)
            if time.monotonic() - started > bound:
                break
        proc.wait(timeout=max(1, bound - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        pass
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return [*results, {"name": script, "error": f"stopped after its bound of {bound} s"}]
    if not results:
        return [{"name": script, "error": f"exited {proc.returncode} without a result"}]
    for result in results:
        result["seconds"] = round(time.monotonic() - started, 1)
    return results


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in avg)


def fmt(figures: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in figures.items()) or "-"


def table(results: list[dict]) -> list[str]:
    lines = ["| benchmark | ps-console | reference | ratio | run (s) |",
             "|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['name']} | FAILED: {r['error']} | | | |")
            continue
        lines.append(f"| {r['name']} | {fmt(r['figures'])} | {fmt(r['reference'])} | "
                     f"{fmt(r['ratio'])} | {r['seconds']} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="run only these scripts")
    parser.add_argument("--output", default=str(REPO / "bench" / "RESULTS.md"))
    args = parser.parse_args()
    sandbox = _sandbox_module()
    box = sandbox.Sandbox(sandbox.CACHE / "bench")
    if box.is_running():
        box.stop()
    started = time.monotonic()
    load_start = os.getloadavg()
    results = []
    try:
        box.start(brokers=3, mode="zk")
        env = dict(os.environ, PS_SANDBOX_DIR=str(box.state_dir))
        for script, extra, bound in BENCHMARKS:
            if args.only and script not in args.only:
                continue
            results.extend(run_one(script, extra, bound, env))
    finally:
        box.stop()
    total = time.monotonic() - started
    load_end = os.getloadavg()
    lines = table(results)
    print("\n" + "\n".join(lines))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    Path(args.output).write_text(
        "# Benchmark results\n\n"
        f"Written by `make bench` on {stamp}, in {total / 60:.1f} min.\n\n"
        + "\n".join(machine()) + "\n"
        f"- load average (1, 5, 15 min) at the start: {_load(load_start)}, at the end: "
        f"{_load(load_end)} (a shared machine: other work ran beside the benchmarks)\n\n"
        + "\n".join(lines) + "\n")
    print(f"\nwritten to {args.output} ({total / 60:.1f} min)")
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
