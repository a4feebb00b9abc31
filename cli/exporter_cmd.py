"""`ps-console exporter`: the health rules for Prometheus, served on /metrics, and
RAISED/CLEARED events posted to a webhook."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from cli.health_cmd import add_health_options, health_setup
from cli.options import Subparsers, seconds
from engine.cluster.connect import parse_bootstrap
from engine.errors import UsageError

log = logging.getLogger("engine.health.exporter")

DEFAULT_INTERVAL_S = 60.0
MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 86_400.0

EPILOG = """\
Every --interval seconds (never two at once) the rules are evaluated in a background
thread; /metrics serves the last evaluation, so a scrape never waits for the cluster.
Metrics (prefix ps_console_): evaluation_timestamp_seconds, evaluation_duration_seconds,
evaluation_success, broker_up{broker}, report_age_seconds{broker},
last_report_timestamp_seconds{broker}, broker_info{broker,kafka_version,cp_version,schema},
finding{rule,severity,subject}, findings{severity}, partitions,
under_replicated_partitions, offline_partitions, under_min_isr_partitions. The Prometheus
text format by default, OpenMetrics when the scraper asks for it.

--webhook URL receives one JSON POST when a finding is RAISED and one when it is CLEARED:
{"event": "RAISED"|"CLEARED", "at": ..., "cluster": <cluster id>, "finding": {...}}
(up to 5 attempts with backoff, from a bounded queue; never blocks scraping).
SIGTERM or SIGINT stops it, exit 0.
"""


def register(subparsers: Subparsers) -> None:
    """Add the `exporter` subcommand."""
    parser = subparsers.add_parser(
        "exporter", help="serve the health rules as Prometheus metrics (and post changes "
                         "to a webhook)",
        description="Evaluate the health rules periodically and serve the result on "
                    "http://HOST:PORT/metrics for Prometheus.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_health_options(parser)
    parser.add_argument("--listen", required=True, metavar="HOST:PORT",
                        help="the address to serve /metrics on, e.g. 127.0.0.1:9421 "
                             "([::1]:9421 for IPv6)")
    parser.add_argument("--interval", type=seconds(MIN_INTERVAL_S, MAX_INTERVAL_S,
                                                   low_included=True),
                        default=DEFAULT_INTERVAL_S, metavar="S",
                        help=f"seconds between evaluations (default {DEFAULT_INTERVAL_S:g})")
    parser.add_argument("--webhook", metavar="URL",
                        help="POST a JSON event here when a finding is raised or cleared")
    parser.set_defaults(handler=run)


def listen_address(text: str) -> tuple[str, int]:
    """HOST:PORT as (host, port); UsageError for anything else."""
    try:
        parsed = parse_bootstrap(text)
    except UsageError as exc:
        raise UsageError(f"--listen: {exc}") from None
    if len(parsed) != 1:
        raise UsageError(f"--listen takes one HOST:PORT, not {text!r}")
    host, port = parsed[0]
    return host, port


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT."""
    from engine.errors import PsError
    from engine.health.exporter import HealthExporter
    from engine.health.monitor import HealthMonitor
    from engine.health.webhook import WebhookSender

    host, port = listen_address(args.listen)
    webhook = WebhookSender(args.webhook) if args.webhook else None
    location, config = health_setup(args)
    logging.getLogger("engine.health").setLevel(logging.INFO)
    monitor = HealthMonitor(location, args.topic, config)
    exporter = HealthExporter(monitor, host, port, args.interval, webhook)
    watch = None
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            exporter.start()
        except OSError as exc:
            raise UsageError(f"--listen {args.listen}: cannot listen there "
                             f"({exc.strerror or exc})") from None
        log.info("serving http://%s/metrics, evaluating %s every %g s", args.listen,
                 location.description, args.interval)
        if location.zookeeper is not None:
            # A restart or a controller change between two evaluations is seen too.
            from engine.cluster.watch import ClusterWatch

            try:
                watch = ClusterWatch(location, monitor.observe)
                watch.start()
            except PsError as exc:
                watch = None
                log.warning("not watching ZooKeeper (%s): changes between evaluations "
                            "are not seen", exc)
        while not stop.wait(0.5):
            pass
        log.info("stopping")
    finally:
        if watch is not None:
            watch.stop()
        exporter.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
