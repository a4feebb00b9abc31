"""`ps-console reports`: the latest report of every broker, or every report (`--all`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from cli.options import (
    Subparsers,
    add_cluster_options,
    add_json_option,
    cluster_options,
    print_hints,
    print_json,
)
from engine.cluster.location import locate
from engine.reading.report import Report, iso_time
from engine.text import printable

if TYPE_CHECKING:
    from engine.cluster.session import ClusterSession

EPILOG = """\
Output: without --all, the latest report of each live broker (plus CP reports without a
broker id, grouped by broker token, and undecodable records met on the way). --json prints
one JSON document: a list of report objects. With --all, --json prints JSON Lines, one
report object per line in topic order, so large topics stream. Each object has partition,
offset, timestamp_ms, time, broker_id, token, report_id, size, ok, schema, schema_kind,
error, fields (the decoded record, or null when undecodable), collected_ms (the report's
own timestamp, else Kafka's), attributed_by (header, enhanced or token), state,
kafka_version, cp_version and cluster_id.
"""


def register(subparsers: Subparsers) -> None:
    """Add the `reports` subcommand."""
    parser = subparsers.add_parser(
        "reports", help="show the latest support report of each broker (or all reports)",
        description="Read support reports from the support topic. By default only the "
                    "end of the topic is read, until every live broker's latest report "
                    "is found.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_cluster_options(parser, required=True)
    parser.add_argument("--all", action="store_true",
                        help="every report in topic order (reads the whole topic)")
    add_json_option(parser)
    parser.set_defaults(handler=show_reports)


def show_reports(args: argparse.Namespace) -> int:
    """Print the reports; exit 0 also when none are found (an empty list)."""
    from engine.cluster.session import ClusterSession

    location = locate(cluster_options(args))
    print_hints(location)
    with ClusterSession(location) as session:
        return _show(session, args)


def _show(session: ClusterSession, args: argparse.Namespace) -> int:
    from engine.reading.reports import iter_reports, latest_per_broker

    if args.all:
        count = 0
        for report in iter_reports(session, args.topic):
            count += 1
            if args.json:
                sys.stdout.write(json.dumps(report.to_json(), separators=(",", ":"),
                                            default=str) + "\n")
            else:
                print(printable(_one_line(report)))
        if not args.json:
            print(f"{count} report(s) in {args.topic}")
        return 0
    reports = latest_per_broker(session, args.topic)
    if args.json:
        print_json([r.to_json() for r in reports])
        return 0
    if not reports:
        print(f"no reports in {args.topic}")
    now = time.time()
    for report in reports:
        print(_block(report, now))
    return 0


def _who(report: Report) -> str:
    if report.broker_id is not None:
        return f"broker {report.broker_id}"
    if report.token is not None:
        return f"token {report.token}"
    return "unattributed"


def _time(report: Report) -> str:
    return iso_time(report.kafka_ms) if report.kafka_ms is not None else "-"


def _one_line(report: Report) -> str:
    if not report.ok:
        return f"{report.position} {_time(report)} {_who(report)} UNDECODABLE {report.error}"
    state = "-" if report.state is None else report.state
    return (f"{report.position} {_time(report)} {_who(report)} {report.schema} "
            f"state={state} token={report.token or '-'} {report.size} B")


def _block(report: Report, now: float) -> str:
    """The report as lines of text, its fields grouped and worded as the console shows
    them (`engine.reading.detail`); control characters from the topic escaped."""
    from engine.reading.detail import report_sections

    head = f"{_who(report)}  offset {report.position}  {_time(report)}  {report.size} B"
    if not report.ok:
        lines = [head, f"  UNDECODABLE: {report.error}"]
    else:
        lines = [f"{head}  {report.schema}"]
        for section in report_sections(report.fields or {}, now):
            indent = "  " * section.level
            lines.append(f"{indent}{section.title}:")
            lines += [f"{indent}  {key}: {value}" for key, value in section.rows]
    return "\n".join(printable(line) for line in lines) + "\n"
