"""Options shared by the subcommands, so every command spells them the same way."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.cluster.target import DEFAULT_TIMEOUT, DEFAULT_TOPIC
from engine.cluster.zk_auth import FILE_HELP as ZK_AUTH_HELP


def add_cluster_options(parser: argparse.ArgumentParser, required: bool = True,
                        topic: bool = True, timeout: float = DEFAULT_TIMEOUT) -> None:
    """--zookeeper | --bootstrap-server, --command-config, --topic, --timeout (SPEC §7)."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--zookeeper", metavar="HOST:PORT[,HOST:PORT...][/CHROOT]",
                       help="ZooKeeper connect string of the Kafka cluster")
    where.add_argument("--bootstrap-server", metavar="HOST:PORT[,HOST:PORT...]",
                       help="Kafka brokers to bootstrap from (clusters without ZooKeeper)")
    parser.add_argument("--command-config", metavar="FILE",
                        help="client properties with librdkafka names (security, SASL, SSL)")
    parser.add_argument("--zookeeper-auth", metavar="FILE", help=ZK_AUTH_HELP)
    if topic:
        parser.add_argument("--topic", default=DEFAULT_TOPIC,
                            help=f"support topic (default {DEFAULT_TOPIC})")
    parser.add_argument("--timeout", type=float, default=timeout, metavar="SECONDS",
                        help=f"connection timeout (default {timeout:g})")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, separators=(",", ":"), sort_keys=False, default=str)
    sys.stdout.write("\n")


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
