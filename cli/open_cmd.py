"""`ps-console open FILE.zip`: read a support bundle offline (this project's or CP's)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cli.options import Subparsers, add_json_option, print_json
from engine.reading.rules import DEFAULT_INTERVAL_S

if TYPE_CHECKING:
    from engine.reading.report import Report



def register(subparsers: Subparsers) -> None:
    """Add the `open` subcommand."""
    parser = subparsers.add_parser(
        "open", help="read a support bundle (zip) offline",
        description="Decode every entry of a support bundle and tell each broker's story "
                    "(tokens, states, restarts, schema changes, shutdowns, gaps). Exit 0 "
                    "if at least one entry decoded, 1 if none did or the file is not a "
                    "readable zip.")
    parser.add_argument("file", metavar="FILE.zip", help="the bundle to read")
    parser.add_argument("--interval-hours", type=_hours, default=DEFAULT_INTERVAL_S / 3600,
                        metavar="H", help="the brokers' report interval, for telling gaps "
                                          "(default: %(default)g)")
    add_json_option(parser, help="print JSON Lines: one JSON object per entry, in bundle "
                                 "order, streamed (entry, ok, schema and record, or error)")
    parser.set_defaults(handler=run_open)


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 24 * 365:  # also refuses nan and inf
        raise argparse.ArgumentTypeError("give hours between 0 and 8760")
    return value


def entry_json(report: Report) -> dict[str, object]:
    """One line of `open --json`: the entry's name and its decoded record, or its error."""
    if report.ok:
        return {"entry": report.entry, "ok": True, "schema": report.schema,
                "record": report.fields}
    return {"entry": report.entry, "ok": False, "error": report.error}


def _unicode_out() -> bool:
    """Whether standard output can take the timeline's block characters."""
    try:
        "▁█·".encode(sys.stdout.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def run_open(args: argparse.Namespace) -> int:
    """--json: JSON Lines, one object per entry, streamed; otherwise a readable summary
    with each broker's story."""
    if not args.json:
        from engine.reading.bundle import open_bundle, summarize

        opened = open_bundle(args.file)
        print(summarize(opened, args.interval_hours * 3600, unicode=_unicode_out()))
        return 0 if opened.decoded else 1
    from engine.reading.bundle import BundleReader

    decoded = 0
    with BundleReader(args.file) as reader:
        for report in reader:
            decoded += report.ok
            print_json(entry_json(report))
    return 0 if decoded else 1
