"""`ps-console open FILE.zip`: read a support bundle offline (this project's or CP's)."""

from __future__ import annotations

import argparse

from cli.options import Subparsers, add_json_option, print_json
from engine.reading.bundle import BundleReader, open_bundle, summarize


def register(subparsers: Subparsers) -> None:
    """Add the `open` subcommand."""
    parser = subparsers.add_parser(
        "open", help="read a support bundle (zip) offline",
        description="Decode every entry of a support bundle. Exit 0 if at least one entry "
                    "decoded, 1 if none did or the file is not a readable zip.")
    parser.add_argument("file", metavar="FILE.zip", help="the bundle to read")
    add_json_option(parser)
    parser.set_defaults(handler=run_open)


def run_open(args: argparse.Namespace) -> int:
    """--json: one line per entry, streamed; otherwise a readable summary."""
    if not args.json:
        opened = open_bundle(args.file)
        print(summarize(opened))
        return 0 if opened.decoded else 1
    decoded = 0
    with BundleReader(args.file) as reader:
        for entry in reader:
            if entry.ok:
                decoded += 1
                print_json({"entry": entry.name, "ok": True, "schema": entry.schema,
                            "record": entry.record})
            else:
                print_json({"entry": entry.name, "ok": False, "error": entry.error})
    return 0 if decoded else 1
