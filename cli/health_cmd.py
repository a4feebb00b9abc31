"""`ps-console health`: evaluate every health rule once, print the findings, exit 0 when
nothing is at warning or above."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli.options import Subparsers, add_cluster_options, cluster_options, print_hints, print_json
from engine.cluster.location import ClusterLocation, locate
from engine.health.config import HealthConfig, broker_intervals
from engine.health.finding import RULES
from engine.text import printable

if TYPE_CHECKING:
    # The monitor's modules import Kafka's client; every subcommand is registered when the
    # console starts, and its first frame must not wait for that import.
    from engine.health.monitor import Evaluation

FORMATS = ("text", "json", "openmetrics")

EPILOG = "rules (ids as the JSON, the exporter and the [health] table name them):\n" + \
    "\n".join(f"  {r.id:<28} {r.severity:<8} {r.raises_when}" for r in RULES) + """

Exit status: 0 when no finding is at warning or above, 1 when one is or the cluster cannot
be reached, 2 for usage errors. Thresholds, the window, severities and silenced rules come
from the [health] table of the console's config file (--config, PS_CONSOLE_CONFIG, or the
platform config path). A broker's report interval comes from its server.properties when
given with --broker-config, else from report_interval_hours there (default 24 h).
"""


def register(subparsers: Subparsers) -> None:
    """Add the `health` subcommand."""
    parser = subparsers.add_parser(
        "health", help="check the cluster and its support reports against the health rules",
        description="Evaluate every health rule once: brokers down, missing, stale or "
                    "stopped reports, restarts, version and configuration drift, "
                    "under-replicated, offline and under-min-ISR partitions, the "
                    "controller and the support topic.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_health_options(parser)
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (one line per finding, worst first), json, or "
                             "openmetrics (the exporter's metrics, once)")
    parser.set_defaults(handler=run)


def add_health_options(parser: argparse.ArgumentParser) -> None:
    """The cluster options plus what the health rules are configured by (also the
    exporter's)."""
    add_cluster_options(parser)
    parser.add_argument("--broker-config", action="append", default=[], metavar="FILE",
                        dest="health_broker_configs",
                        help="a broker's server.properties, for its report interval "
                             "(repeatable; brokers without one: 24 h or the config file's)")
    parser.add_argument("--config", metavar="FILE", dest="health_config",
                        help="the console's TOML config file whose [health] table applies "
                             "(default: PS_CONSOLE_CONFIG or the platform config path)")


def health_setup(args: argparse.Namespace) -> tuple[ClusterLocation, HealthConfig]:
    """Where the cluster is and the rules' config, from the command line. UsageError
    (exit 2) for a bad file or setting: nothing is evaluated on a misread config."""
    from tui.config import load_health_config

    given = args.health_config or getattr(args, "config", None)
    config = load_health_config(Path(given) if given else None)
    if args.health_broker_configs:
        config = config.with_intervals(broker_intervals(args.health_broker_configs))
    location = locate(cluster_options(args))
    print_hints(location)
    return location, config


def text_lines(evaluation: Evaluation) -> list[str]:
    """One line per finding, worst first; a single line when there is none."""
    if evaluation.findings:
        return [printable(f.line()) for f in evaluation.findings]
    return [f"OK - no findings: {len(evaluation.rules)} rules evaluated on cluster "
            f"{evaluation.cluster_id or '?'} ({evaluation.where})"]


def run(args: argparse.Namespace) -> int:
    """Evaluate once and print; the exit status says whether anything needs attention."""
    from engine.health.monitor import HealthMonitor

    location, config = health_setup(args)
    evaluation = HealthMonitor(location, args.topic, config).evaluate()
    for problem in evaluation.problems:
        print(f"ps-console health: {printable(problem)}", file=sys.stderr)
    if args.format == "json":
        print_json(evaluation.to_json())
    elif args.format == "openmetrics":
        from engine.health.metrics import render

        sys.stdout.write(render(evaluation, openmetrics=True).decode("utf-8"))
    elif evaluation.reachable:
        print("\n".join(text_lines(evaluation)))
    return evaluation.exit_code
