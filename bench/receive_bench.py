#!/usr/bin/env python3
"""How fast `ps-console receive` takes reports, and how much memory it needs doing so.

A receiver process stores reports durably (fsync of file and folder before each 200) in a
temporary folder; N real Basic reports are posted by C concurrent senders (a post answered
503 at the connection cap is sent again, as agents keep undelivered reports) while slow
clients trickle header bytes. Every report must be stored exactly once. Figures: reports stored per second, the receiver's peak RSS and its
growth over the idle process, and how long the slow clients were held. Needs no sandbox.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.common import emit
from tools.receive_load import run_load, start_receive, unique_reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50,
                        help="posts in flight at once (the receiver's cap is 100)")
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs")
    args = parser.parse_args()
    rates: list[float] = []
    peaks: list[int] = []
    growths: list[int] = []
    held: list[float] = []
    retries = 0
    for round_no in range(1, args.rounds + 1):
        reports = unique_reports(args.reports)
        with tempfile.TemporaryDirectory(prefix="receive-bench-") as folder:
            rp = start_receive("--dir", folder)
            try:
                idle = rp.status_kib("VmHWM")
                result = run_load(rp.url, reports, slow=args.slow,
                                  concurrency=args.concurrency)
                peak = rp.status_kib("VmHWM")
            finally:
                rp.stop()
            stored = len(list(Path(folder).iterdir()))
        statuses = Counter(result.statuses)
        if statuses != {200: args.reports} or stored != args.reports:
            print(f"round {round_no}: answers {dict(statuses)}, {stored} stored", flush=True)
            return 1
        rate = args.reports / result.seconds
        closed = [t for t in result.slow_closed_after if t is not None]
        rates.append(rate)
        peaks.append(peak)
        growths.append(peak - idle)
        held.append(max(closed) if closed else float("nan"))
        retries += result.attempts - args.reports
        unanswered = sum(result.transport_errors.values())
        print(f"round {round_no}: {args.reports} reports in {result.seconds:.2f} s "
              f"({rate:.0f}/s, {result.attempts - args.reports} posts sent again, "
              f"{unanswered} of them after no answer), "
              f"peak RSS {peak / 1024:.1f} MiB (+{(peak - idle) / 1024:.1f} over idle), "
              f"slow clients held at most {held[-1]:.1f} s "
              f"({len(closed)}/{args.slow} cut off)", flush=True)

    def median(values: list) -> float:
        return sorted(values)[len(values) // 2]

    emit("receive_bench", {
        "reports": args.reports, "concurrency": args.concurrency, "slow_clients": args.slow,
        "reports_per_s": round(median(rates)),
        "peak_rss_mib": round(median(peaks) / 1024, 1),
        "rss_growth_mib": round(median(growths) / 1024, 1),
        "slow_held_s": round(median(held), 1),
        "posts_sent_again": retries,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
