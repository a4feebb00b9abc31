"""`ps-console bundle` (also installed as `support-metrics-bundle`): export a support bundle."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, TextIO

from cli.options import (
    Subparsers,
    add_cluster_options,
    cluster_options,
    print_hints,
    seconds,
)
from engine.cluster.location import locate
from engine.text import format_size

if TYPE_CHECKING:
    from engine.reading.bundle import ExportProgress


# A terminal redraw costs a write; ten a second looks live and costs nothing.
_REDRAW_EVERY = 0.1
_BAR_WIDTH = 28
# A week: an export bound beyond that is a typo (the whole topic reads in minutes).
MAX_RUNTIME_S = 7 * 86400.0


def register(subparsers: Subparsers) -> None:
    """Add the `bundle` subcommand."""
    parser = subparsers.add_parser(
        "bundle", help="export the support topic into a zip bundle for a support ticket",
        description="Export every record of the support topic, up to the end offsets taken "
                    "when the export starts, into a zip bundle: one entry per record. "
                    "Exit 0 when complete; 1 when cut short by --runtime (the partial bundle "
                    "is still written), when there are no records, when the file exists "
                    "without --force, or on a connection error; 2 on a usage error.")
    # CP's support-metrics-bundle spelled topic, file and runtime -t, -f and -r.
    add_cluster_options(parser, topic_short="-t")
    parser.add_argument("--file", "-f", metavar="FILE",
                        help="zip to write (default support-metrics-<topic>."
                             "<UTC yyyyMMdd-HHmmss>.zip in the current folder)")
    parser.add_argument("--runtime", "-r", type=seconds(0, MAX_RUNTIME_S, low_included=True),
                        default=10.0, metavar="SECONDS",
                        help="upper bound on the export's wall time (default 10); when "
                             "reached, the bundle holds what was read and is marked partial")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar, only the final line")
    parser.set_defaults(handler=run_bundle)


class ProgressBar:
    """records done / total, rate and time left, redrawn in place at most 10 times a second."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._last = 0.0
        self._drawn = False

    def __call__(self, p: ExportProgress) -> None:
        now = time.monotonic()
        if now - self._last < _REDRAW_EVERY and p.records < p.total:
            return
        self._last = now
        self._stream.write("\r" + self.render(p) + "\x1b[K")
        self._stream.flush()
        self._drawn = True

    @staticmethod
    def render(p: ExportProgress) -> str:
        """One line of text for the progress `p` (no terminal codes)."""
        share = min(1.0, p.records / p.total) if p.total else 1.0
        filled = int(share * _BAR_WIDTH)
        eta = p.eta
        left = f"{int(eta) // 60}:{int(eta) % 60:02d} left" if eta is not None else "--:-- left"
        return (f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {p.records:,}/{p.total:,} "
                f"records  {p.rate:,.0f} rec/s  {left}")

    def clear(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def run_bundle(args: argparse.Namespace) -> int:
    """Export; print the path, record count and size. Exit 1 when partial or empty."""
    from engine.cluster.session import ClusterSession
    from engine.reading.bundle import NoRecords, export_bundle

    location = locate(cluster_options(args))
    print_hints(location, getattr(args, "prog", "ps-console"))
    bar = ProgressBar(sys.stderr) if not args.quiet and sys.stderr.isatty() else None
    try:
        with ClusterSession(location) as session:
            result = export_bundle(session, args.topic, path=args.file, runtime=args.runtime,
                                   force=args.force, progress=bar)
    except NoRecords:
        if bar:
            bar.clear()
        print("No records found.", file=sys.stderr)
        return 1
    finally:
        if bar:
            bar.clear()
    if result.complete:
        print(f"{result.path}: {result.records} records, {format_size(result.size_bytes)}")
        return 0
    print(f"{result.path}: partial: {result.records} of {result.total} records "
          f"(--runtime {args.runtime:g} s reached), {format_size(result.size_bytes)}")
    return 1
