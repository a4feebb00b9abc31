#!/usr/bin/env python3
"""Soak: three agents reporting every second, the console refreshing, two bundle exports.

Starts a private sandbox in `.sandbox/soak` (ZooKeeper + 3 brokers; stopped at the end),
then for `--duration` seconds (default 180) runs:

- three real `ps-console agent` processes, one per broker, `--interval-seconds 1`, each
  sending to the soak's topic and over HTTP to a local `Receiver` on 127.0.0.1;
- a console stand-in: a child process that does what the console's refresh does, through
  the console's own `tui.backend.ClusterBackend` (`snapshot()` then `latest_reports()`),
  every 2 s (the Textual screen itself is not drawn: with 2 cores shared, a headless pilot would
  measure the terminal emulator more than the engine);
- two `ps-console bundle` exports running side by side at one third and again at two
  thirds of the run.

Afterwards it checks that every report the agents logged as made is in the topic exactly
once (by `report.id` header) and nothing else is; that each long-lived process's RSS grew
by less than RSS_BOUND_MB between a sample taken after warm-up and one at the end; and that
its thread and file-descriptor counts (/proc/<pid>/task, /proc/<pid>/fd) did not grow by
more than a small constant (librdkafka opens broker connections lazily; a per-report leak
would show as hundreds). Prints the figures and ends with `emit(...)`. Exit 1 on a failed
check.

    .venv/bin/python -m bench.soak --duration 180
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path

from bench.common import REPO, _sandbox_module, emit, session
from engine.reading.reports import REPORT_ID_HEADER
from engine.reading.topic_reader import TopicReader
from engine.reporting.receiver import Receiver

BIN = Path(sys.executable).parent
WARMUP_S = 20.0  # first sample after imports, first producer and first connections
RSS_BOUND_MB = 15.0  # allowed RSS growth per process between warm-up and the end
THREAD_SLACK = 2
FD_SLACK = 6
_MADE = re.compile(r"report broker=(\d+) .*? id=([0-9a-f]{8}) ")

CONSOLE_LOOP = """
import sys, time
from engine.cluster.location import ClusterOptions, locate
from tui.backend import ClusterBackend
backend = ClusterBackend(locate(ClusterOptions(zookeeper=sys.argv[1], timeout=5.0)), topic=sys.argv[2])
refreshes = failures = 0
while True:
    started = time.monotonic()
    try:
        snap = backend.snapshot()
        rows = backend.latest_reports()
        refreshes += 1
    except Exception as exc:
        failures += 1
        print(f"refresh failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    print(f"refresh {refreshes} failures {failures}", flush=True)
    time.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
"""


def proc_sample(pid: int) -> dict[str, int]:
    """RSS (bytes), threads and open file descriptors of a live process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return {"rss": rss, "threads": len(os.listdir(f"/proc/{pid}/task")),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def idle_sample(pid: int) -> dict[str, int]:
    """The smallest of ten samples over 2.5 s: a process between two refreshes or two
    reports, rather than one caught holding a connection it is about to close."""
    samples = []
    for _ in range(10):
        samples.append(proc_sample(pid))
        time.sleep(0.25)
    return {key: min(s[key] for s in samples) for key in samples[0]}


def agent_config(broker_config: str, topic: str, http_url: str) -> str:
    return Path(broker_config).read_text() + (
        "\nconfluent.support.metrics.enable=true\n"
        "confluent.support.customer.id=anonymous\n"
        f"confluent.support.metrics.topic={topic}\n"
        "confluent.support.metrics.endpoint.secure.enable=false\n"
        f"confluent.support.metrics.endpoint.insecure={http_url}\n")


def export(bootstrap: str, topic: str, path: Path, results: list[dict]) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "ps-console"), "bundle", "--bootstrap-server", bootstrap, "--topic", topic,
         "--file", str(path), "--quiet", "--runtime", "60"],
        capture_output=True, text=True, timeout=120)
    entries = None
    if done.returncode == 0:
        with zipfile.ZipFile(path) as zf:
            entries = len(zf.infolist()) if zf.testzip() is None else None
    results.append({"code": done.returncode, "entries": entries,
                    "seconds": round(time.monotonic() - started, 1),
                    "stderr": done.stderr.strip()[-300:]})


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            return None
    return proc.returncode


def main() -> int:  # noqa: C901, PLR0912, PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=180.0,
                        help="seconds the agents report for (default 180)")
    args = parser.parse_args()
    if args.duration < WARMUP_S + 10:
        parser.error(f"--duration must be at least {WARMUP_S + 10:g} s")

    sandbox = _sandbox_module()
    box = sandbox.Sandbox(REPO / ".sandbox" / "soak")
    if box.is_running():
        sys.exit("soak: a sandbox already runs in .sandbox/soak (another soak?); not touching it")
    print("starting a private sandbox in .sandbox/soak ...", flush=True)
    box.start(brokers=3, mode="zk")
    failures: list[str] = []
    figures: dict[str, object] = {}
    procs: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    try:
        facts = box.state.facts()
        bootstrap, zk = facts["KAFKA_BOOTSTRAP"], facts["KAFKA_ZK_CONNECT"]
        topic = f"soak-{uuid.uuid4().hex[:10]}"
        tmp = Path(tempfile.mkdtemp(prefix="ps-soak-"))
        with Receiver() as receiver:
            for b in box.state.brokers:
                bid = int(b.name.split("-")[1])
                config = tmp / f"server-{bid}.properties"
                config.write_text(agent_config(b.config, topic, receiver.url))
                logs[f"agent-{bid}"] = tmp / f"agent-{bid}.log"
                procs[f"agent-{bid}"] = subprocess.Popen(
                    [str(BIN / "ps-console"), "agent", "--broker-config", str(config),
                     "--kafka-home", str(sandbox.lib_dir(box.state.version)),
                     "--interval-seconds", "1", "--state-dir", str(tmp / f"state-{bid}")],
                    stdout=subprocess.DEVNULL, stderr=open(logs[f"agent-{bid}"], "wb"))  # noqa: SIM115
            # The console comes up once the agents have created the topic (before, its
            # refresh rightly says the topic does not exist).
            deadline = time.monotonic() + 120
            while not all("topic=ok(" in log.read_text(errors="replace")
                          for log in logs.values()):
                if time.monotonic() > deadline:
                    sys.exit("soak: the agents did not deliver a first report in 120 s")
                time.sleep(0.5)
            logs["console"] = tmp / "console.log"
            procs["console"] = subprocess.Popen(
                [sys.executable, "-c", CONSOLE_LOOP, zk, topic], cwd=REPO,
                stdout=open(logs["console"], "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
            started = time.monotonic()

            time.sleep(WARMUP_S)
            first = {name: idle_sample(p.pid) for name, p in procs.items()}
            trail = {name: [round(s["rss"] / 2**20, 1)] for name, s in first.items()}
            exports: list[dict] = []
            export_threads: list[threading.Thread] = []
            for at in (args.duration / 3, 2 * args.duration / 3):
                while time.monotonic() - started < at:
                    time.sleep(min(10.0, at - (time.monotonic() - started)))
                    for name, p in procs.items():
                        if p.poll() is None:
                            trail[name].append(round(proc_sample(p.pid)["rss"] / 2**20, 1))
                for n in range(2):
                    thread = threading.Thread(target=export, args=(
                        bootstrap, topic, tmp / f"bundle-{int(at)}-{n}.zip", exports))
                    thread.start()
                    export_threads.append(thread)
            while time.monotonic() - started < args.duration:
                time.sleep(min(10.0, args.duration - (time.monotonic() - started)))
                for name, p in procs.items():
                    if p.poll() is None:
                        trail[name].append(round(proc_sample(p.pid)["rss"] / 2**20, 1))
            for thread in export_threads:
                thread.join(timeout=150)

            last: dict[str, dict[str, int]] = {}
            for name, p in procs.items():
                if p.poll() is not None:
                    failures.append(f"{name} exited early with {p.returncode}")
                else:
                    last[name] = idle_sample(p.pid)
            codes = {name: stop(p) for name, p in procs.items()}
            elapsed = time.monotonic() - started
            http_received = receiver.count

        # -- every report made is in the topic exactly once -----------------------------
        made: dict[str, int] = {}
        ok_lines = 0
        for name, log in logs.items():
            if not name.startswith("agent-"):
                continue
            text = log.read_text(errors="replace")
            if "Traceback" in text:
                failures.append(f"{name} logged a traceback")
            ok_lines += text.count("topic=ok(")
            for _, rid in _MADE.findall(text):
                made[rid] = made.get(rid, 0) + 1
        with session(bootstrap=bootstrap) as s, TopicReader(s) as reader:
            ids = [r.headers[REPORT_ID_HEADER].decode()[:8] for r in reader.iter_records(topic)]
        doubled = len(ids) - len(set(ids))
        missing = sorted(set(made) - set(ids))
        extra = sorted(set(ids) - set(made))
        if doubled or missing or extra or any(n != 1 for n in made.values()):
            failures.append(f"topic vs agents: {doubled} doubled, {len(missing)} missing, "
                            f"{len(extra)} unknown")
        # A spooled report delivered later logs "spool broker=N delivered ... topic=ok(...)":
        # the topic=ok lines count every delivery, first try or from the spool.
        spooled_delivered = sum(log.read_text(errors="replace").count(" delivered id=")
                                for name, log in logs.items() if name.startswith("agent-"))
        if ok_lines != len(ids):
            failures.append(f"topic=ok lines {ok_lines} != {len(ids)} records in the topic")

        # -- resources --------------------------------------------------------------------
        per_process = {}
        for name in procs:
            if name not in last:
                continue
            grew = (last[name]["rss"] - first[name]["rss"]) / 2**20
            per_process[name] = {
                "rss_mb_start": round(first[name]["rss"] / 2**20, 1),
                "rss_mb_end": round(last[name]["rss"] / 2**20, 1),
                "rss_mb_growth": round(grew, 1),
                "threads": f"{first[name]['threads']}->{last[name]['threads']}",
                "fds": f"{first[name]['fds']}->{last[name]['fds']}",
                "exit": codes[name]}
            if grew > RSS_BOUND_MB:
                failures.append(f"{name}: RSS grew {grew:.1f} MB > {RSS_BOUND_MB} MB")
            if last[name]["threads"] > first[name]["threads"] + THREAD_SLACK:
                failures.append(f"{name}: threads {per_process[name]['threads']}")
            if last[name]["fds"] > first[name]["fds"] + FD_SLACK:
                failures.append(f"{name}: fds {per_process[name]['fds']}")
            if name.startswith("agent-") and codes[name] != 0:
                failures.append(f"{name}: exit {codes[name]} on SIGTERM")
        console_text = logs["console"].read_text(errors="replace")
        refreshes = re.findall(r"refresh (\d+) failures (\d+)", console_text)
        refreshed, refresh_failed = (map(int, refreshes[-1]) if refreshes else (0, 0))
        if refresh_failed or not refreshed:
            failures.append(f"console stand-in: {refreshed} refreshes, "
                            f"{refresh_failed} failed")
        bad_exports = [e for e in exports if e["code"] != 0 or not e["entries"]]
        if len(exports) != 4 or bad_exports:
            failures.append(f"bundle exports: {bad_exports or exports}")

        figures = {
            "duration_s": round(elapsed, 1),
            "reports_made": len(made),
            "reports_in_topic": len(ids),
            "topic_ok_lines": ok_lines,
            "spool_deliveries": spooled_delivered,
            "doubled": doubled, "missing": len(missing),
            "http_received": http_received,
            "console_refreshes": refreshed,
            "bundle_entries": [e["entries"] for e in exports],
            "bundle_seconds": [e["seconds"] for e in exports],
            "max_rss_growth_mb": max((p["rss_mb_growth"] for p in per_process.values()),
                                     default=None),
            "rss_bound_mb": RSS_BOUND_MB,
        }
        print(json.dumps({"figures": figures, "processes": per_process,
                          "rss_trail_mb": trail}))
        print(f"logs and bundles in {tmp}")
    finally:
        for p in procs.values():
            stop(p)
        box.stop()
    for line in failures:
        print(f"SOAK FAILED: {line}")
    print("soak: OK" if not failures else f"soak: {len(failures)} check(s) failed")
    emit("soak", {**figures, "ok": not failures})
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
