"""Benchmark: export a 1,000,000-record support topic with `export_bundle`, beside kcat.

Not a test. Creates a unique topic on the running sandbox (or `--bootstrap-server`), fills
it with real encoded Basic reports (one Producer, big batches), then alternates, `--rounds`
times each: the export in a child process, and `kcat -C -e -q -o beginning` to /dev/null.
Prints records/s, seconds and peak RSS (VmHWM) of each child, and the ratio.
The topic and the zips are deleted at the end, whatever happens.

    .venv/bin/python bench/bundle_bench.py [--records 1000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from engine.records import encode

REPO = Path(__file__).resolve().parent.parent

# The child runs only the engine call, so its peak RSS is the export's own.
_EXPORT_CHILD = """
import json, sys, time
from engine.bundle import export_bundle
from engine.target import ClusterTarget
t0 = time.monotonic()
r = export_bundle(ClusterTarget(bootstrap=sys.argv[1]), sys.argv[2], path=sys.argv[3],
                  runtime=float(sys.argv[4]))
print(json.dumps({"records": r.records, "total": r.total, "size": r.size_bytes,
                  "complete": r.complete, "seconds": time.monotonic() - t0}))
"""


def sandbox_bootstrap() -> str:
    out = subprocess.run([sys.executable, str(REPO / "tools/sandbox/kafka_sandbox.py"), "env"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    for line in out.splitlines():
        if line.startswith("KAFKA_BOOTSTRAP="):
            return line.split("=", 1)[1]
    raise SystemExit("no KAFKA_BOOTSTRAP from the sandbox; is it running?")


def report_values(n: int) -> list[bytes]:
    """`n` distinct, real Basic report values (the size CP's agents wrote)."""
    return [encode({"timestamp": 1_700_000_000 + i, "kafkaVersion": "3.9.2",
                    "confluentPlatformVersion": None, "collectorState": 2,
                    "brokerProcessUUID": str(uuid.uuid4()),
                    "clusterId": "AxLlMTXlQYGaQNmxRhMk3A"}, "basic") for i in range(n)]


def populate(bootstrap: str, topic: str, records: int) -> float:
    values = report_values(1000)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 50,
                         "batch.size": 1_000_000, "queue.buffering.max.messages": 500_000,
                         "queue.buffering.max.kbytes": 512 * 1024, "log_level": 3})
    t0 = time.monotonic()
    produce, poll = producer.produce, producer.poll
    for i in range(records):
        while True:
            try:
                produce(topic, value=values[i % 1000])
                break
            except BufferError:
                poll(0.05)  # the local queue is full: let deliveries drain it
        if i % 50_000 == 0:
            poll(0)
    left = producer.flush(120)
    if left:
        raise SystemExit(f"{left} records were not delivered")
    return time.monotonic() - t0


def _hwm(pid: int) -> int:
    """VmHWM (peak RSS) of a live process in bytes, 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def timed_child(argv: list[str], stdout: int | None) -> tuple[float, int, bytes]:
    """Run a child; return (seconds, peak RSS bytes, stdout).

    Peak RSS is the child's VmHWM, sampled every 20 ms until it exits (wait4's ru_maxrss
    is no good here: Linux carries the parent's peak into a forked child across exec).
    """
    with tempfile.TemporaryFile() as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out if stdout == subprocess.PIPE else stdout,
                                stderr=subprocess.DEVNULL, cwd=REPO)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _hwm(proc.pid))
            time.sleep(0.02)
        seconds = time.monotonic() - t0
        out.seek(0)
        data = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with exit code {proc.returncode}")
    return seconds, peak, data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap-server", help="default: the running sandbox")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--runtime", type=float, default=300.0, help="export's upper bound")
    args = ap.parse_args()
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        print("kcat is not installed (apt-get install -y kcat); only the export is measured")
    bootstrap = args.bootstrap_server or sandbox_bootstrap()
    topic = f"bench-bundle-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]
                        )[topic].result(timeout=60)
    workdir = tempfile.mkdtemp(prefix="bundle-bench-")
    try:
        seconds = populate(bootstrap, topic, args.records)
        print(f"populated {topic}: {args.records:,} records in {seconds:.1f} s "
              f"({args.records / seconds:,.0f}/s), value {len(report_values(1)[0])} bytes")
        sample = report_values(1)[0]
        t0 = time.perf_counter()
        for _ in range(20_000):
            zlib.compress(sample, 6)
        per = (time.perf_counter() - t0) / 20_000
        print(f"deflate of one value: {per * 1e6:.1f} us, {len(zlib.compress(sample, 6))} of "
              f"{len(sample)} bytes (stored is used: deflate alone would cap the export at "
              f"{1 / per:,.0f} records/s)")
        exports, kcats = [], []
        for r in range(args.rounds):
            zip_path = os.path.join(workdir, f"bench-{r}.zip")
            secs, rss, out = timed_child(
                [sys.executable, "-c", _EXPORT_CHILD, bootstrap, topic, zip_path,
                 str(args.runtime)], subprocess.PIPE)
            res = json.loads(out)
            if res["records"] != args.records or not res["complete"]:
                raise SystemExit(f"export incomplete: {res}")
            os.unlink(zip_path)
            exports.append((secs, rss, res))
            print(f"export round {r + 1}: {res['records'] / secs:,.0f} records/s, "
                  f"{secs:.2f} s wall (engine {res['seconds']:.2f} s), peak RSS "
                  f"{rss / 2**20:.0f} MB, zip {res['size'] / 2**20:.0f} MB")
            if kcat:
                ksecs, krss, _ = timed_child(
                    [kcat, "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-o", "beginning"],
                    subprocess.DEVNULL)
                kcats.append((ksecs, krss))
                print(f"kcat   round {r + 1}: {args.records / ksecs:,.0f} records/s, "
                      f"{ksecs:.2f} s wall, peak RSS {krss / 2**20:.0f} MB")
        best_export = min(s for s, _, _ in exports)
        print(f"export best: {args.records / best_export:,.0f} records/s, peak RSS max "
              f"{max(r for _, r, _ in exports) / 2**20:.0f} MB")
        if kcats:
            best_kcat = min(s for s, _ in kcats)
            print(f"kcat best:   {args.records / best_kcat:,.0f} records/s, peak RSS max "
                  f"{max(r for _, r in kcats) / 2**20:.0f} MB")
            print(f"ratio export/kcat (rate): {best_kcat / best_export:.2f} "
                  f"(goal >= 0.5)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        admin.delete_topics([topic])[topic].result(timeout=60)
        print(f"deleted {topic}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
