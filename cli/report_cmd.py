"""`ps-console report`: collect and send one support report for one broker now."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from cli.options import (
    Subparsers,
    add_cluster_options,
    add_http_token_option,
    add_json_option,
    cluster_options,
    http_token_from,
    print_hints,
    print_json,
    whole_number,
)
from engine.cluster.location import locate

if TYPE_CHECKING:
    from engine.reporting.report_now import ReportOutcome


EPILOG = """\
The cluster and the broker id come from the file (zookeeper.connect, broker.id) unless
given. The support topic, customer id and HTTP endpoints are the file's
confluent.support.* settings.

--dry-run collects and encodes the report and prints exactly what would be sent (the
decoded fields of the encoded bytes and their size), and sends nothing.

Nothing is collected or sent unless confluent.support.metrics.enable=true (any case)
is in the file, as in CP 3.x; nothing is sent for a broker that is not registered (not
running). `ps-console settings show` says what the file's settings do.

Exit codes:
  0  every destination that was tried succeeded (HTTPS failing but the HTTP fallback
     succeeding counts as success); also for --dry-run and when Proactive Support is
     disabled in the file (nothing is sent then)
  1  a destination that was tried failed (topic not acknowledged, or neither HTTPS nor
     HTTP answered 200), the cluster could not be reached, or the broker is not
     registered (or whether it runs cannot be told): nothing is sent then
  2  bad options or a bad broker config file, or a setting CP refused (an invalid
     report interval): nothing is sent
"""


def register(subparsers: Subparsers) -> None:
    """Add the `report` subcommand."""
    parser = subparsers.add_parser(
        "report", help="collect and send one support report for a broker now",
        description="Collect one support report for a broker and send it to the support "
                    "topic and the HTTPS/HTTP endpoints its settings allow.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker-config", required=True, metavar="FILE",
                        help="the broker's server.properties")
    add_cluster_options(parser, required=False, topic=False)
    parser.add_argument("--broker-id", type=whole_number(0, 2**31 - 1), metavar="N",
                        help="the broker's id (default: broker.id in the file)")
    parser.add_argument("--kafka-home", metavar="DIR",
                        help="the broker's Kafka installation (or its folder of jars), for "
                             "the exact Kafka version; default: the running broker's "
                             "classpath, else asked from the broker")
    parser.add_argument("--token-dir", metavar="DIR",
                        help="where this sender remembers the broker runtimes it saw, for "
                             "when ZooKeeper cannot be read (default: the user state folder)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be sent, send nothing")
    parser.add_argument("--http-ca-file", metavar="FILE",
                        help="CA bundle (PEM) that signs the HTTPS endpoint's certificate, "
                             "for an endpoint with a private CA (default: public CAs)")
    add_http_token_option(parser)
    add_json_option(parser)
    parser.set_defaults(handler=run_report)


def outcome_json(outcome: ReportOutcome) -> dict[str, Any]:
    """The outcome as plain JSON: decoded fields of the exact bytes, not the input dict."""
    from engine.reporting.records import decode

    decoded = decode(outcome.value) if outcome.value is not None else None
    return {
        "broker_id": outcome.broker_id,
        "enabled": outcome.enabled,
        "dry_run": outcome.dry_run,
        "ok": outcome.ok,
        "schema": outcome.schema,
        "size": outcome.size,
        "fields": decoded.record if decoded is not None else None,
        "withheld": {"configuration_keys": outcome.withheld,
                     "jvm_properties": outcome.withheld_jvm},
        "destinations": [{"destination": d.destination, "ok": d.ok, "skipped": d.skipped,
                          "detail": d.detail} for d in outcome.destinations],
        "warnings": outcome.warnings,
        "token_source": outcome.token_source,
    }


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def withheld_line(outcome: ReportOutcome) -> str:
    """One line telling how much the privacy filter kept out of the report (counts only)."""
    line = (f"  {_count(outcome.withheld, 'configuration key', 'configuration keys')} and "
            f"{_count(outcome.withheld_jvm, 'JVM property', 'JVM properties')} withheld by "
            "the privacy filter")
    if outcome.schema == "basic":
        line += " (a basic report carries neither)"
    return line


def run_report(args: argparse.Namespace) -> int:
    """Run one report now and print the outcome; exit codes as in the epilog."""
    from engine.config.settings import load_settings
    from engine.reporting.report_now import report_now

    broker = load_settings(args.broker_config).broker
    location = locate(cluster_options(args), broker)
    print_hints(location)
    outcome = report_now(args.broker_config, location, broker_id=args.broker_id,
                         dry_run=args.dry_run, kafka_home=args.kafka_home,
                         token_dir=args.token_dir, http_verify=args.http_ca_file,
                         http_token=http_token_from(args))
    if args.json:
        print_json(outcome_json(outcome))
        return 0 if outcome.ok else 1
    data = outcome_json(outcome)
    if not outcome.enabled:
        # One line: the plan's reason (the outcome's one warning) says why nothing went.
        why = outcome.warnings[0] if outcome.warnings else "Proactive Support is disabled"
        print(f"broker {outcome.broker_id}: {why}")
        return 0
    head = "would send" if outcome.dry_run else "sent"
    print(f"broker {outcome.broker_id}: {head} the {outcome.schema} report of "
          f"{outcome.size} bytes")
    print(withheld_line(outcome))
    if outcome.dry_run:
        print(json.dumps(data["fields"], indent=2, sort_keys=False, default=str))
    for d in outcome.destinations:
        state = "skipped" if d.skipped else ("ok" if d.ok else "FAILED")
        detail = d.detail.removeprefix("skipped: ")
        print(f"  {d.destination:<6} {state:<8} {detail}")
    for warning in outcome.warnings:
        print(f"warning: {warning}")
    return 0 if outcome.ok else 1
