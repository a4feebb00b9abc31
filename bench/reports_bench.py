"""Benchmark: latest report per broker on a 1,000,000-report topic from 100 brokers,
against a full scan of the same topic.

Not a test. Uses the shared report topic of `bench/common.py` on the sandbox named by
`PS_SANDBOX_DIR` (or `--bootstrap-server`): real encoded Basic reports with `broker.id`
headers, brokers 1..100 in turn, filled once by one bulk Producer and reused while its
marker says it is complete. Times `latest_per_broker` (best of 3; goal under 2 s) and a
full `iter_reports` scan, the reference. The scan is bounded by `--scan-limit` seconds:
when the bound cuts it short, the full-scan time is extrapolated from the records it read,
and the table says so. The topic is deleted at the end unless `--keep-topic` (`make bench`
keeps it for the bundle benchmark, which deletes it).

    .venv/bin/python -m bench.reports_bench [--records 1000000] [--brokers 100] [--keep-topic]
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.common import drop_report_topic, emit, ensure_report_topic, sandbox_facts, session
from engine.reading.reports import ReadStats, iter_reports, latest_per_broker


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap-server", help="default: the sandbox of PS_SANDBOX_DIR")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--brokers", type=int, default=100)
    ap.add_argument("--topic", default=None, help="default: bench-reports-<records>-<brokers>")
    ap.add_argument("--scan-limit", type=float, default=90.0,
                    help="upper bound of the full scan, seconds (then extrapolated)")
    ap.add_argument("--keep-topic", action="store_true", help="leave the topic for reuse")
    args = ap.parse_args()
    bootstrap = args.bootstrap_server or sandbox_facts()["bootstrap"]
    topic, marker = ensure_report_topic(bootstrap, args.records, args.brokers, args.topic)
    target = session(bootstrap=bootstrap)
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
            print(f"WARNING: latest_per_broker found {len(found)} of {len(wanted)} brokers")
        best = min(s for s, _, _ in runs)
        stats = runs[-1][1]
        print(f"latest_per_broker: {len(found)} brokers in {best:.3f} s (best of 3; runs "
              f"{', '.join(f'{s:.3f}' for s, _, _ in runs)}), read {stats.records_read:,} of "
              f"{stats.topic_size:,} records in {stats.windows} window(s)  "
              f"[goal < 2 s: {'met' if best < 2 else 'MISSED'}]", flush=True)

        scan_stats = ReadStats()
        t0 = time.perf_counter()
        count = sum(1 for _ in iter_reports(target, topic, stats=scan_stats,
                                            deadline=time.monotonic() + args.scan_limit))
        scan = time.perf_counter() - t0
        size = stats.topic_size
        reference = {"full_scan_s": round(scan, 1), "full_scan_records": count,
                     "full_scan_rate": round(count / scan)}
        if count < size:
            # Cut short by the bound: the scan's rate is flat over the topic (same records
            # throughout), so the whole scan would take size / rate.
            scan = size / (count / scan) if count else float("inf")
            reference["full_scan_s"] = f"~{scan:.0f} (extrapolated from {count:,} in " \
                                       f"{reference['full_scan_s']} s)"
        print(f"full scan (iter_reports): {count:,} of {size:,} reports in "
              f"{time.perf_counter() - t0:.1f} s ({reference['full_scan_rate']:,}/s)"
              f"{'' if count == size else ' - cut short by --scan-limit, extrapolated'}")
        print(f"latest_per_broker is {scan / best:,.0f}x faster than the full scan")
        emit("latest report per broker (1M reports, 100 brokers)",
             {"latest_s": round(best, 3), "records_read": stats.records_read,
              "brokers_found": len(found)},
             reference, {"speedup": f"{scan / best:,.0f}x"})
    finally:
        if not args.keep_topic:
            drop_report_topic(bootstrap, topic, marker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
