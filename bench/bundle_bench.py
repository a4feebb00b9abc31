"""Benchmark: export a year of a 100-broker fleet end to end, and a 1,000,000-record support
topic beside kcat.

First the realistic case: 100 brokers reporting daily for a year is 36,500 reports; the
`support-metrics-bundle` command exports them end to end (process start to published zip),
`--rounds` times, against CP's tool, whose export waits a fixed 10 s for more records after
the last one (its run time is at least that; goal: under 1 s and at least 10x faster).

Not a test. Uses the shared report topic of `bench/common.py` on the sandbox named by
`PS_SANDBOX_DIR` (or `--bootstrap-server`): 1,000,000 real encoded reports from 100 brokers,
filled once by a bulk Producer and reused while its marker says it is complete. After one
unmeasured export (the broker's warm-up, and the kernel's), it alternates, `--rounds`
times each (median: a round now and then is slow on a shared VM): the export in a child
process, and `kcat -C -e -q -o beginning` reading the same topic to /dev/null (the
reference). Prints
records/s, seconds and peak RSS (VmHWM) of each child; the table gets the medians and the
rate ratio (goal: export >= 0.4x kcat, peak RSS < 100 MB). The zips are deleted at once;
the topic at the end unless `--keep-topic`. Without kcat (`apt-get install -y kcat`) only
the export is measured and the table says kcat is missing.

    .venv/bin/python -m bench.bundle_bench [--records 1000000] [--rounds 5] [--keep-topic]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

from bench.common import (
    REPO,
    drop_report_topic,
    emit,
    ensure_report_topic,
    sandbox_facts,
    session,
)
from engine.reading.topic_reader import TopicReader

# The child runs only the engine call, so its peak RSS is the export's own.
_EXPORT_CHILD = """
import json, sys, time
from bench.common import session
from engine.reading.bundle import export_bundle
t0 = time.monotonic()
with session(bootstrap=sys.argv[1]) as s:
    r = export_bundle(s, sys.argv[2], path=sys.argv[3], runtime=float(sys.argv[4]))
print(json.dumps({"records": r.records, "total": r.total, "size": r.size_bytes,
                  "complete": r.complete, "seconds": time.monotonic() - t0}))
"""


def first_value(bootstrap: str, topic: str) -> bytes:
    """One record value of the topic, to time deflate on a real report."""
    with session(bootstrap=bootstrap) as s, TopicReader(s) as reader:
        rng = reader.end_offsets(topic)[0]
        return reader.read_window(topic, rng.partition, rng.low, rng.low + 1)[0].value or b""


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


# CP 3.x's support-metrics-bundle polled for new records until none came for 10 s: every
# export it made took at least that long, whatever the topic's size.
CP_IDLE_WAIT_S = 10.0


def year_of_reports(bootstrap: str, records: int, brokers: int, rounds: int) -> None:
    """`support-metrics-bundle` over a year-long topic, process start to published zip."""
    topic, marker = ensure_report_topic(bootstrap, records, brokers, None)
    command = str(REPO / ".venv" / "bin" / "support-metrics-bundle")
    workdir = tempfile.mkdtemp(prefix="bundle-bench-year-")
    try:
        runs = []
        for r in range(rounds):
            zip_path = os.path.join(workdir, f"year-{r}.zip")
            secs, rss, _ = timed_child([command, "--bootstrap-server", bootstrap, "--topic",
                                        topic, "--file", zip_path, "--quiet"],
                                       subprocess.DEVNULL)
            with open(zip_path, "rb"):
                pass  # published: the command returned after the zip got its name
            os.unlink(zip_path)
            runs.append((secs, rss))
            print(f"year of reports round {r + 1}: {records:,} reports end to end in "
                  f"{secs:.2f} s, peak RSS {rss / 2**20:.0f} MB", flush=True)
        seconds = statistics.median(s for s, _ in runs)
        emit(f"support-metrics-bundle, a year of {brokers} brokers ({records:,} reports), "
             "process start to zip",
             {"seconds": round(seconds, 2), "peak_rss_mb": round(max(r for _, r in runs) / 2**20),
              "goal": "< 1 s"},
             {"cp_tool_at_least_s": CP_IDLE_WAIT_S},
             {"faster_than_cp": f">= {CP_IDLE_WAIT_S / seconds:.0f}x", "goal": ">= 10x"})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        drop_report_topic(bootstrap, topic, marker)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap-server", help="default: the sandbox of PS_SANDBOX_DIR")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--brokers", type=int, default=100, help="brokers the reports come from")
    ap.add_argument("--topic", default=None, help="default: bench-reports-<records>-<brokers>")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runtime", type=float, default=300.0, help="export's upper bound")
    ap.add_argument("--keep-topic", action="store_true", help="leave the topic for reuse")
    ap.add_argument("--year-records", type=int, default=36_500,
                    help="reports of the end-to-end case (100 brokers x 365 days)")
    args = ap.parse_args()
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        print("kcat is MISSING (apt-get install -y kcat): only the export is measured")
    bootstrap = args.bootstrap_server or sandbox_facts()["bootstrap"]
    year_of_reports(bootstrap, args.year_records, args.brokers, args.rounds)
    topic, marker = ensure_report_topic(bootstrap, args.records, args.brokers, args.topic)
    workdir = tempfile.mkdtemp(prefix="bundle-bench-")
    try:
        sample = first_value(bootstrap, topic)
        t0 = time.perf_counter()
        for _ in range(20_000):
            zlib.compress(sample, 6)
        per = (time.perf_counter() - t0) / 20_000
        print(f"deflate of one value: {per * 1e6:.1f} us, {len(zlib.compress(sample, 6))} of "
              f"{len(sample)} bytes (stored is used: deflate alone would cap the export at "
              f"{1 / per:,.0f} records/s)")
        # One unmeasured export first: the broker's first read of a freshly filled topic is
        # slower (its fetch path not yet compiled by the JIT, the segment files not yet in
        # the page cache), and on this VM so are the first 830 MB the kernel hands to the
        # page cache (memory the guest never touched: `dd` of 830 MB took 1.8 s, then
        # 0.5 s); the export, measured first in each round, bore all of it (6.5 s in the
        # first round of one run, 3.5 s in the third).
        warm_zip = os.path.join(workdir, "warm-up.zip")
        warm_s, _, _ = timed_child(
            [sys.executable, "-c", _EXPORT_CHILD, bootstrap, topic, warm_zip,
             str(args.runtime)], subprocess.PIPE)
        os.unlink(warm_zip)
        print(f"warm-up export (not measured): {warm_s:.2f} s", flush=True)
        exports, kcats = [], []
        for r in range(args.rounds):
            zip_path = os.path.join(workdir, f"bench-{r}.zip")
            load = os.getloadavg()[0]
            secs, rss, out = timed_child(
                [sys.executable, "-c", _EXPORT_CHILD, bootstrap, topic, zip_path,
                 str(args.runtime)], subprocess.PIPE)
            res = json.loads(out)
            if res["records"] != args.records or not res["complete"]:
                print(f"WARNING: export incomplete: {res}")
            os.unlink(zip_path)
            exports.append((secs, rss, res))
            print(f"export round {r + 1}: {res['records'] / secs:,.0f} records/s, "
                  f"{secs:.2f} s wall (engine {res['seconds']:.2f} s), peak RSS "
                  f"{rss / 2**20:.0f} MB, zip {res['size'] / 2**20:.0f} MB, load before "
                  f"{load:.1f}", flush=True)
            if kcat:
                ksecs, krss, _ = timed_child(
                    [kcat, "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-o", "beginning"],
                    subprocess.DEVNULL)
                kcats.append((ksecs, krss))
                print(f"kcat   round {r + 1}: {args.records / ksecs:,.0f} records/s, "
                      f"{ksecs:.2f} s wall, peak RSS {krss / 2**20:.0f} MB", flush=True)
        records = exports[-1][2]["records"]
        export_s = statistics.median(s for s, _, _ in exports)
        figures = {"records_per_s": round(records / export_s), "seconds": round(export_s, 2),
                   "peak_rss_mb": round(max(r for _, r, _ in exports) / 2**20),
                   "records": records}
        print(f"export median: {figures['records_per_s']:,} records/s, peak RSS max "
              f"{figures['peak_rss_mb']} MB")
        reference: dict[str, object] = {"kcat": "missing (apt-get install -y kcat)"}
        ratio: dict[str, object] = {}
        if kcats:
            kcat_s = statistics.median(s for s, _ in kcats)
            reference = {"kcat_records_per_s": round(args.records / kcat_s),
                         "seconds": round(kcat_s, 2),
                         "peak_rss_mb": round(max(r for _, r in kcats) / 2**20)}
            ratio = {"rate": round((records / export_s) / (args.records / kcat_s), 2),
                     "goal": ">= 0.4"}
            print(f"kcat median:   {reference['kcat_records_per_s']:,} records/s; ratio "
                  f"export/kcat (rate): {ratio['rate']} (goal >= 0.4)")
        figures["load_avg_1m"] = round(os.getloadavg()[0], 1)
        emit(f"bundle export ({args.records:,} reports) vs kcat -C -e", figures, reference,
             ratio)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep_topic:
            drop_report_topic(bootstrap, topic, marker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
