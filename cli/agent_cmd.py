"""`ps-console agent`: report one broker's metadata on a schedule, or check that it does."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from cli.options import (
    Subparsers,
    add_cluster_options,
    add_http_token_option,
    cluster_options,
    http_token_from,
    seconds,
)
from engine.config.settings import MAX_INTERVAL_HOURS
from engine.errors import PsError, UsageError
from engine.reporting import AGENT_TIMEOUT

if TYPE_CHECKING:
    from engine.reporting.agent import Agent

log = logging.getLogger("engine.reporting.agent")
# An override of the interval is for development; it stays within what the setting allows.
MAX_INTERVAL_S = MAX_INTERVAL_HOURS * 3600.0

EPILOG = """\
The agent reports only with confluent.support.metrics.enable=true (any case) in the file,
as CP 3.x did; otherwise it says once why, sends nothing and keeps watching the file. A
report interval CP refused (not a whole number of hours from 1) stops it at start-up with
exit 2; in a running agent it stops reporting until the file is fixed. Before every report
it checks that its broker is registered: while it is not, nothing is sent, and the agent
reports at once when the broker is back (with the new runtime's broker token).

The agent logs one line per report to stderr, e.g.
  report broker=1 schema=basic state=2 id=1f0c2a9e topic=ok(0@42) https=skipped http=ok
Reports that cannot reach the topic wait in a spool under the state folder and are sent,
in order, when Kafka is back. SIGTERM or SIGINT: a last report (collectorState=1), exit 0
within 10 s.

--check is for monitoring (Nagios/Icinga style): it prints one line and exits 0 when the
broker's latest report in the topic is younger than the report interval plus the grace
period, 1 otherwise (also when the topic cannot be read), 2 for usage errors.
"""


def register(subparsers: Subparsers) -> None:
    """Add the `agent` subcommand."""
    parser = subparsers.add_parser(
        "agent", help="report one broker's metadata on a schedule (runs beside the broker)",
        description="Run the Proactive Support agent of one broker: wait until the broker "
                    "is registered, report at once and then every report.interval.hours.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker-config", required=True, metavar="FILE",
                        help="the broker's server.properties (re-read when it changes)")
    parser.add_argument("--kafka-home", metavar="DIR",
                        help="the broker's Kafka installation (for its exact version)")
    add_cluster_options(parser, required=False, topic=False, timeout=AGENT_TIMEOUT)
    parser.add_argument("--interval-seconds", type=seconds(0, MAX_INTERVAL_S), metavar="N",
                        help="report every N seconds instead of report.interval.hours "
                             "(development and tests)")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="broker tokens and the spool (default: a per-broker folder "
                             "in the user's state directory)")
    parser.add_argument("--http-ca-file", metavar="FILE",
                        help="CA bundle (PEM) that signs the HTTPS endpoint's certificate, "
                             "for an endpoint with a private CA (default: public CAs)")
    add_http_token_option(parser)
    parser.add_argument("--once", action="store_true",
                        help="send one report and exit (no shutdown report)")
    parser.add_argument("--check", action="store_true",
                        help="do not report: check that the broker reported recently")
    parser.add_argument("--grace-seconds", type=seconds(0, MAX_INTERVAL_S), metavar="S",
                        help="with --check: slack after the interval (default 10%% of "
                             "the interval, at least 60 s)")
    parser.set_defaults(handler=run_agent)


def run_agent(args: argparse.Namespace) -> int:
    """Run the agent until SIGTERM/SIGINT (or one report with --once); or --check."""
    from engine.reporting.agent import Agent, check

    if args.check:
        try:
            code, line = check(args.broker_config, cluster_options(args),
                               interval_seconds=args.interval_seconds,
                               grace_seconds=args.grace_seconds)
        except PsError as exc:
            # Monitoring systems show stdout: a broken setup must still say why there. The
            # exit code stays the error's: 2 for a usage error (a missing file), as --help
            # says.
            code, line = exc.exit_code, f"PS-AGENT CRITICAL - {exc}"
        print(line)
        return code
    if args.grace_seconds is not None:
        raise UsageError("--grace-seconds goes with --check")
    for name in ("engine.reporting.agent", "engine.reporting.spool"):
        logging.getLogger(name).setLevel(logging.INFO)
    agent = Agent(args.broker_config, kafka_home=args.kafka_home,
                  options=cluster_options(args), interval_seconds=args.interval_seconds,
                  state_dir=args.state_dir, http_ca_file=args.http_ca_file,
                  http_token=http_token_from(args))
    return _supervise(agent, once=args.once)


def _supervise(agent: Agent, once: bool) -> int:
    """Run the agent in a worker thread; the main thread owns the signals and enforces
    the exit deadline, so a hung network call can never keep the process past 10 s."""
    from engine.reporting.agent import SHUTDOWN_BUDGET_S

    stop = threading.Event()
    outcome: dict[str, object] = {}

    def on_signal(signum: int, _frame: object) -> None:
        if not stop.is_set():
            log.info("%s received: sending the last report and exiting",
                     signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}

    def work() -> None:
        try:
            outcome["code"] = agent.run(stop, once=once)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name=f"agent-{agent.broker_id}", daemon=True)
    worker.start()
    try:
        while worker.is_alive() and not stop.is_set():
            worker.join(0.25)
        if worker.is_alive():
            deadline = time.monotonic() + SHUTDOWN_BUDGET_S
            while worker.is_alive() and time.monotonic() < deadline:
                worker.join(min(0.25, max(0.0, deadline - time.monotonic())))
            if worker.is_alive():
                log.warning("the last report did not finish within %g s; exiting without "
                            "it (reports not yet sent stay in the spool)", SHUTDOWN_BUDGET_S)
                sys.stderr.flush()
                return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error  # PsError becomes its one-line message and exit code in cli.run
    code = outcome.get("code", 0)
    return code if isinstance(code, int) else 0
