"""Options shared by the subcommands, so every command spells them the same way."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any, TypeAlias

from engine.cluster.location import (
    DEFAULT_TIMEOUT,
    DEFAULT_TOPIC,
    MAX_TIMEOUT,
    ClusterLocation,
    ClusterOptions,
)
from engine.cluster.zk_auth import FILE_HELP as ZK_AUTH_HELP


def seconds(low: float, high: float, *, low_included: bool = False
            ) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds in (low, high] ([low, high] with
    `low_included`); `inf`, `nan` and out-of-range values are usage errors (exit 2)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        above = value >= low if low_included else value > low
        if not math.isfinite(value) or not above or value > high:
            bound = "at least" if low_included else "above"
            raise argparse.ArgumentTypeError(
                f"{text!r}: give a number of seconds {bound} {low:g} and at most {high:g}")
        return value

    return parse


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from {low} to "
                                             f"{high}")
        return value

    return parse


# What `add_subparsers` returns; every subcommand module's `register` takes it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_cluster_options(parser: argparse.ArgumentParser, required: bool = True,
                        topic: bool = True, timeout: float = DEFAULT_TIMEOUT,
                        topic_short: str | None = None) -> None:
    """--zookeeper | --bootstrap-server, --command-config, --topic, --timeout: every command
    spells them the same way. `topic_short` adds a short spelling of --topic (`-t`, as CP's
    support-metrics-bundle)."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--zookeeper", metavar="HOST:PORT[,HOST:PORT...][/CHROOT]",
                       help="ZooKeeper connect string of the Kafka cluster")
    where.add_argument("--bootstrap-server", metavar="HOST:PORT[,HOST:PORT...]",
                       help="Kafka brokers to bootstrap from (clusters without ZooKeeper)")
    parser.add_argument("--command-config", metavar="FILE",
                        help="client properties: a Java client.properties (as for "
                             "kafka-topics.sh) or librdkafka names (security, SASL, SSL)")
    parser.add_argument("--zookeeper-auth", metavar="FILE", help=ZK_AUTH_HELP)
    if topic:
        flags = ("--topic", topic_short) if topic_short else ("--topic",)
        parser.add_argument(*flags, default=DEFAULT_TOPIC,
                            help=f"support topic (default {DEFAULT_TOPIC})")
    parser.add_argument("--timeout", type=seconds(0, MAX_TIMEOUT), default=timeout,
                        metavar="SECONDS",
                        help=f"connection timeout (default {timeout:g})")


def add_json_option(parser: argparse.ArgumentParser, help: str = "print JSON for scripts"
                    ) -> None:
    parser.add_argument("--json", action="store_true", help=help)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, separators=(",", ":"), sort_keys=False, default=str)
    sys.stdout.write("\n")


def cluster_options(args: argparse.Namespace) -> ClusterOptions:
    """The cluster options of a parsed command line (those the command has)."""
    return ClusterOptions(zookeeper=getattr(args, "zookeeper", None),
                          bootstrap=getattr(args, "bootstrap_server", None),
                          command_config=getattr(args, "command_config", None),
                          zookeeper_auth=getattr(args, "zookeeper_auth", None),
                          timeout=getattr(args, "timeout", None))


def print_hints(location: ClusterLocation, prog: str = "ps-console") -> None:
    """What was changed in the --command-config file (Java-only names), one line each."""
    for hint in location.client.hints:
        print(f"{prog}: hint: {hint}", file=sys.stderr)


def add_http_token_option(parser: argparse.ArgumentParser) -> None:
    """--http-token-file, for an HTTPS endpoint (`ps-console receive --token-file`) that
    requires a bearer token."""
    parser.add_argument("--http-token-file", metavar="FILE",
                        help="a file holding the bearer token the HTTPS endpoint requires "
                             "(sent over HTTPS only, never printed)")


def http_token_from(args: argparse.Namespace) -> str | None:
    """The token of --http-token-file, read now; UsageError (exit 2) when unusable."""
    from engine.reporting.http_token import read_token_file

    path = getattr(args, "http_token_file", None)
    return read_token_file(path, "--http-token-file") if path else None
