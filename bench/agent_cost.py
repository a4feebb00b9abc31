#!/usr/bin/env python3
"""Benchmark: what one agent costs its host — CPU seconds and memory over a reporting run.

Runs `ps-console agent` beside broker 1 of a running sandbox, reporting every
`--interval` seconds for `--duration` seconds (default 10 min, every 10 s), then reads the
process's CPU time and peak RSS from /proc before stopping it with SIGTERM. The reference is
the same figures for the bare Python interpreter with the agent's imports loaded, so the
table shows what the reporting itself adds.

    .venv/bin/python -m bench.agent_cost --duration 600 --interval 10
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import emit, sandbox_facts

BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")


def proc_figures(pid: int) -> tuple[float, int]:
    """(CPU seconds user+system, peak RSS bytes) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
    return cpu, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--interval", type=int, default=10)
    args = parser.parse_args()
    facts = sandbox_facts()
    broker = facts["brokers"][0]
    topic = f"bench-agent-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="ps-bench-agent-") as tmp:
        config = Path(tmp) / "server.properties"
        config.write_text(Path(broker["config"]).read_text() + (
            "\nconfluent.support.metrics.enable=true\n"
            "confluent.support.customer.id=c0\n"
            f"confluent.support.metrics.topic={topic}\n"
            "confluent.support.metrics.endpoint.secure.enable=false\n"
            "confluent.support.metrics.endpoint.insecure.enable=false\n"))
        agent = subprocess.Popen(
            [str(BIN / "ps-console"), "agent", "--broker-config", str(config),
             "--kafka-home", facts["lib"], "--interval-seconds", str(args.interval),
             "--state-dir", str(Path(tmp) / "state")],
            stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "agent.log", "wb"))
        started = time.monotonic()
        try:
            time.sleep(2.0)
            _, startup_peak = proc_figures(agent.pid)
            startup_cpu, _ = proc_figures(agent.pid)
            time.sleep(max(0.0, args.duration - (time.monotonic() - started)))
            cpu, peak = proc_figures(agent.pid)
            reports = sum(1 for line in (Path(tmp) / "agent.log").read_text().splitlines()
                          if "topic=ok" in line)
        finally:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=15)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        baseline = subprocess.run(
            [sys.executable, "-c",
             "import resource, time, engine.reporting.agent, engine.reporting.collector;"
             "t=time.process_time();"
             "print(t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss*1024)"],
            capture_output=True, text=True, check=True).stdout.split()
    elapsed = time.monotonic() - started
    emit("agent cost", {
        "duration_s": round(elapsed, 1),
        "reports": reports,
        "cpu_s": round(cpu, 2),
        "cpu_s_after_start": round(cpu - startup_cpu, 2),
        "cpu_pct": round(100 * cpu / elapsed, 3),
        "peak_rss_mb": round(peak / 1e6, 1),
        "startup_rss_mb": round(startup_peak / 1e6, 1),
    }, reference={"name": "python + agent imports", "cpu_s": round(float(baseline[0]), 2),
                  "peak_rss_mb": round(int(baseline[1]) / 1e6, 1)})
    print(json.dumps({"topic": topic}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
