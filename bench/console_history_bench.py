"""Benchmark: the console on the history of one broker with 1,000,000 reports (issue 15:
newest rows in under 1 s, End to the oldest in under 2 s, a scroll anywhere in under
100 ms, under 300 MB), against the same steps on a topic of 1,000 reports in the same run.

Measured through the real app: each topic gets a child process that runs the console
(`ConsoleApp` on the live `ClusterBackend`, 120x40, headless under Pilot) against the
sandbox named by PS_SANDBOX_DIR, presses the keys an operator would and waits until the
rows on screen are decoded, not merely drawn as placeholders. The measured keys are posted
as a terminal would send them (`App.simulate_key`), not through `Pilot.press`, which after
each key also waits for the process to stop using the CPU (up to a second): a history that
goes on indexing in the background never does, so that wait measured the harness.

- open: `h` on broker 1's row of the latest view, until the newest rows show;
- end: `End`, until the oldest rows show;
- scroll: jumps to five places of the history (as dragging the scroll bar does), each
  until its rows show (the slowest, and the median);
- then the history keeps reading in the background (the index, then every record
  decoded for the events and the timeline): how long that took, bounded by
  `--background-limit`, and the child's peak RSS at the end.

The topics are real Basic reports with `broker.id` headers, filled once by one bulk
Producer (`bench/common.py`) and deleted at the end unless `--keep-topics`.

    .venv/bin/python -m bench.console_history_bench [--records 1000000] [--keep-topics]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from bench.common import REPO, drop_report_topic, emit, ensure_report_topic, sandbox_facts

SIZE = (120, 40)
YEAR_S = 365 * 86_400.0
BOUND = 60.0  # no single step may take longer (a broken console must still end)
JUMPS = (0.5, 0.25, 0.75, 0.1, 0.9)


def _decoded_on_screen(screen) -> bool:
    """Every row on screen is a decoded report (not a placeholder, not "reading").

    A history is asked directly for the rows the table shows (what the table draws them
    from): making their cells, every few milliseconds, took a good share of the thread
    that draws the screen."""
    from engine.reading.report import ReportSummary

    table = screen.table
    if table.row_count == 0:
        return False
    top = round(table.scroll_y)
    bottom = min(table.row_count, top + max(1, table.size.height - 1))
    if screen.history is not None:
        rows = screen.history.rows(top, bottom)
        return len(rows) == bottom - top and all(isinstance(r, ReportSummary) for r in rows)
    for row in range(top, bottom):
        cells = table.cells_at(row)
        if cells is None or len(cells) < 3:
            return False
    return True


def _position(screen, row: int) -> str | None:
    """The position shown in a row, None while it is not read (the history may have moved
    its rows since the table last counted them)."""
    cells = screen.table.cells_at(row)
    return cells[0].plain if cells else None


async def _until(pilot, condition, what: str) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > BOUND:
            raise SystemExit(f"bench: {what} did not happen within {BOUND:g} s")
        await pilot.pause(0.005)
    return time.perf_counter() - started


async def _drive(zookeeper: str, topic: str, background_limit: float) -> dict[str, object]:
    from engine.cluster.location import ClusterOptions, locate
    from tui.app import ConsoleApp
    from tui.backend import ClusterBackend
    from tui.config import ConsoleConfig
    from tui.screens.reports import ReportsScreen

    location = locate(ClusterOptions(zookeeper=zookeeper, timeout=10))
    app = ConsoleApp(ConsoleConfig(zookeeper=zookeeper, topic=topic),
                     ClusterBackend(location, topic), watch=False,
                     settle_heap=True)  # as `ps-console` runs it
    out: dict[str, object] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await _until(pilot, lambda: isinstance(app.screen, ReportsScreen), "Reports")
        screen = app.screen
        out["latest_s"] = round(await _until(
            pilot, lambda: screen.latest and _decoded_on_screen(screen), "the latest view"), 3)
        screen.table.move_cursor(0)  # broker 1
        started = time.perf_counter()
        app.simulate_key("h")
        await _until(pilot, lambda: screen.history is not None and _decoded_on_screen(screen)
                     and (_position(screen, 0) or "").startswith("0@"), "the history")
        out["open_s"] = round(time.perf_counter() - started, 3)
        out["rows_at_open"] = screen.table.row_count
        started = time.perf_counter()
        app.simulate_key("end")
        await _until(pilot, lambda: screen.table.cursor_row == screen.table.row_count - 1
                     and _decoded_on_screen(screen)
                     and _position(screen, screen.table.row_count - 1) == "0@0",
                     "End")
        out["end_s"] = round(time.perf_counter() - started, 3)
        jumps = []
        for share in JUMPS:
            table = screen.table
            target = int(table.row_count * share)
            started = time.perf_counter()
            table.scroll_to(y=target, animate=False, immediate=True)
            table.move_cursor(target)
            jumps.append(await _until(pilot, lambda: _decoded_on_screen(screen), "a scroll"))
        out["scroll_max_ms"] = round(max(jumps) * 1000, 1)
        out["scroll_median_ms"] = round(statistics.median(jumps) * 1000, 1)
        started = time.perf_counter()
        history = screen.history
        while time.perf_counter() - started < background_limit:
            progress = history.progress()
            if progress.exact and "index_complete_s" not in out:
                out["index_complete_s"] = round(time.perf_counter() - started, 1)
            if progress.done:
                out["decoded_all_s"] = round(time.perf_counter() - started, 1)
                break
            await pilot.pause(0.25)
        progress = history.progress()
        out["rows"] = progress.rows
        out["decoded_share"] = round(progress.decoded, 3)
        out["events"] = len(history.events())
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def _the_others_report(bootstrap: str, topic: str) -> None:
    """One report of every other broker of the sandbox at the end of the topic, as in a
    real cluster: the latest view stops reading once every registered broker has one (a
    registered broker that never reported makes it read the whole topic)."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient

    from engine.reporting.records import encode

    brokers = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).brokers
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 3})
    for broker in sorted(brokers):
        if broker != 1:
            value = encode({"timestamp": int(time.time()), "kafkaVersion": "3.9.2",
                            "confluentPlatformVersion": None, "collectorState": 2,
                            "brokerProcessUUID": f"bench-other-{broker}",
                            "clusterId": "AxLlMTXlQYGaQNmxRhMk3A"}, "basic")
            producer.produce(topic, value=value, headers=[("broker.id", str(broker).encode())])
    if producer.flush(30):
        raise SystemExit("bench: the other brokers' reports were not delivered")


def _child(args: argparse.Namespace) -> int:
    os.environ["PS_CONSOLE_CONFIG"] = os.devnull  # no user config in a measurement
    figures = asyncio.run(_drive(args.zookeeper, args.topic, args.background_limit))
    print(json.dumps(figures), flush=True)
    return 0


def _measure(zookeeper: str, topic: str, background_limit: float) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.console_history_bench", "--child", "--topic", topic,
         "--zookeeper", zookeeper, "--background-limit", str(background_limit)],
        capture_output=True, text=True, cwd=REPO, timeout=background_limit + 6 * BOUND)
    if done.returncode != 0:
        raise SystemExit(f"bench: the console on {topic} failed: "
                         f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--reference-records", type=int, default=1_000)
    ap.add_argument("--background-limit", type=float, default=150.0,
                    help="how long the history may read in the background, seconds")
    ap.add_argument("--keep-topics", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--zookeeper", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args)
    facts = sandbox_facts()
    # Spread over a year, as a real history is (the console's health rules read the reports
    # of their window at every refresh: a million made in the same second would all be in).
    big, big_marker = ensure_report_topic(facts["bootstrap"], args.records, 1, span_s=YEAR_S)
    small, small_marker = ensure_report_topic(facts["bootstrap"], args.reference_records, 1,
                                              span_s=YEAR_S)
    for topic in (big, small):
        _the_others_report(facts["bootstrap"], topic)
    try:
        got = {}
        for name, topic in (("big", big), ("small", small)):
            got[name] = _measure(facts["zk_connect"], topic, args.background_limit)
            print(f"{topic}: {got[name]}", flush=True)
    finally:
        if not args.keep_topics:
            drop_report_topic(facts["bootstrap"], big, big_marker)
            drop_report_topic(facts["bootstrap"], small, small_marker)
    b, s = got["big"], got["small"]

    def ratio(key: str) -> str:
        return f"{float(b[key]) / max(float(s[key]), 1e-6):.1f}x"

    goals = {"open_s": 1.0, "end_s": 2.0, "scroll_max_ms": 100.0, "peak_rss_mb": 300.0}
    missed = [k for k, limit in goals.items() if float(b[k]) >= limit]
    print(f"goals (open < 1 s, End < 2 s, scroll < 100 ms, < 300 MB): "
          f"{'met' if not missed else 'MISSED: ' + ', '.join(missed)}")
    emit(f"console history ({args.records:,} reports of one broker, real app)",
         {k: b[k] for k in ("open_s", "end_s", "scroll_max_ms", "scroll_median_ms",
                            "peak_rss_mb", "index_complete_s", "decoded_all_s",
                            "decoded_share") if k in b},
         {"name": f"{args.reference_records:,} reports",
          **{k: s[k] for k in ("open_s", "end_s", "scroll_max_ms", "peak_rss_mb") if k in s}},
         {"open": ratio("open_s"), "end": ratio("end_s"), "scroll": ratio("scroll_max_ms"),
          "rss": ratio("peak_rss_mb"), "goals": "met" if not missed else f"MISSED {missed}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
