"""Benchmark: the summaries of 1,000,000 reports of one broker held in memory, as the
console holds a history (issue 15: under 300 MB for the whole console), in a `ReportLog`
against a plain list of `ReportSummary` objects.

Not a test, and no cluster: each way runs in a child process of its own, so that its peak
RSS is its own. Figures: RSS growth, CPU seconds to fill, the rules over the whole history
(latest per broker, events) and one 50-row page read by position (CPU time: the machine
is shared, and wall time would measure the neighbours).

    .venv/bin/python -m bench.report_log_bench [--reports 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import uuid

from bench.common import REPO, emit


def _child(kind: str, reports: int) -> dict[str, float]:
    from engine.reading import rules
    from engine.reading.report import ReportSummary
    from engine.reading.report_log import ReportLog

    token = str(uuid.uuid4())
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    held: ReportLog | list[ReportSummary] = ReportLog() if kind == "log" else []
    for n in range(reports):
        # A daily report of one broker; a restart every 1,000 reports.
        held.append(ReportSummary(
            partition=0, offset=n, kafka_ms=1_700_000_000_000 + n * 86_400_000 + 250,
            time_s=1_700_000_000 + n * 86_400, broker_id=1, attributed_by="header",
            token=token if n % 1000 else (token := str(uuid.uuid4())), state=2,
            schema="SupportKafkaMetricsEnhanced", kafka_version="3.9.2", cp_version=None,
            cluster_id="q7J3xYkFRbO0mS2lTgq9Vw", size=4_812, report_id=str(uuid.uuid4())))
    fill = time.process_time() - started
    rss_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    started = time.process_time()
    rules.latest_per_subject(held)
    latest = time.process_time() - started
    started = time.process_time()
    found = rules.events(held)
    events = time.process_time() - started
    started = time.process_time()
    held[reports // 2:reports // 2 + 50]
    page_ms = (time.process_time() - started) * 1000
    return {"rss_growth_mb": round(rss_mb), "fill_s": round(fill, 1),
            "latest_s": round(latest, 2), "events_s": round(events, 2),
            "events": len(found), "page_ms": round(page_ms, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=1_000_000)
    ap.add_argument("--child", choices=["log", "list"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.reports)))
        return 0
    got = {}
    for kind in ("log", "list"):
        done = subprocess.run([sys.executable, "-m", "bench.report_log_bench", "--child", kind,
                               "--reports", str(args.reports)], capture_output=True,
                              text=True, cwd=REPO, timeout=600, check=True)
        got[kind] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{kind}: {got[kind]}")
    emit(f"report summaries held ({args.reports:,} of one broker)", got["log"],
         {"name": "list of ReportSummary", **got["list"]},
         {"memory": f"{got['log']['rss_growth_mb'] / max(got['list']['rss_growth_mb'], 1):.2f}x"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
