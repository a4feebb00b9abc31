"""`ps-console receive`: a local phone-home endpoint that collects reports.

For air-gapped sites and the demo: point the agents' `...endpoint.secure`/`.insecure`
settings at this host, and every report they post is logged (and kept with `--dir`).
The endpoint's limits and authentication are the engine's (engine/reporting/receiver.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from cli.options import Subparsers
from engine.errors import PsError, UsageError
from engine.text import printable

if TYPE_CHECKING:
    from engine.reporting.receiver import Received


DEFAULT_LISTEN = "127.0.0.1:8080"


def register(subparsers: Subparsers) -> None:
    """Add `receive`."""
    parser = subparsers.add_parser(
        "receive", help="collect reports posted over HTTP(S), for air-gapped sites",
        description="Run a local endpoint that accepts reports as support-metrics."
                    "confluent.io did (POST /anon, /test, /submit) until Ctrl-C, "
                    "logging one line per report.")
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help=f"address to listen on (default {DEFAULT_LISTEN}; port 0 "
                             "picks a free one)")
    parser.add_argument("--dir", metavar="DIR", help="also keep each report as a file here")
    parser.add_argument("--tls-cert", metavar="FILE", help="PEM certificate chain: serve HTTPS")
    parser.add_argument("--tls-key", metavar="FILE", help="PEM private key for --tls-cert")
    parser.add_argument("--tls-client-ca", metavar="FILE",
                        help="PEM CA bundle: only clients with a certificate it signed may "
                             "connect (mutual TLS; needs --tls-cert)")
    parser.add_argument("--token-file", metavar="FILE",
                        help="a file holding a shared token: every post must carry it as "
                             "'Authorization: Bearer ...' (agents: --http-token-file; needs "
                             "--tls-cert, the token never travels in clear text)")
    parser.set_defaults(handler=receive)


def parse_listen(text: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` → (host, port); UsageError when malformed."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, int(port)


def describe(item: Received, stored: Path | None) -> str:
    """One log line for a received report: path, kind of customer id, size, schema, and
    where it was stored. The schema name comes from the peer: it is escaped."""
    from engine.config.settings import customer_id_kind

    kind = customer_id_kind(item.cid) if item.cid is not None else "missing"
    if stored is not None:
        where = f" -> {printable(str(stored))}"
    elif item.status == 200:
        where = ""
    else:
        where = f" NOT STORED (answered {item.status or 'nothing: the client left'})"
    return (f"received {item.path} cid={kind} {item.size} bytes "
            f"schema={printable(item.schema[:120])}{where}")


def receive(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; exit 0 then."""
    from engine.reporting.http_token import read_token_file
    from engine.reporting.receiver import Receiver  # aiohttp: only this command

    host, port = parse_listen(args.listen)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    if args.tls_client_ca and tls is None:
        raise UsageError("--tls-client-ca needs --tls-cert and --tls-key")
    if args.token_file and tls is None:
        raise UsageError("--token-file needs --tls-cert and --tls-key: agents send the "
                         "token over HTTPS only")
    token = read_token_file(args.token_file, "--token-file") if args.token_file else None
    # One line per refused request too (unknown path, bad form, wrong token), on stderr.
    logging.getLogger("engine.reporting.receiver").setLevel(logging.INFO)
    count = 0
    lock = threading.Lock()

    def on_report(item: Received, stored: Path | None) -> None:
        nonlocal count
        with lock:
            count += 1
            print(describe(item, stored), flush=True)

    try:
        # Nothing is kept in memory: each report is logged (and stored) and let go.
        receiver = Receiver(host=host, port=port, tls=tls, store_dir=args.dir,
                            on_report=on_report, token=token, client_ca=args.tls_client_ca,
                            keep_records=0, keep_bodies=0)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the TLS certificate, key or client CA: "
                         f"{exc}") from None
    try:
        receiver.start()
    except OSError as exc:
        raise PsError(f"cannot listen on {args.listen} or use --dir: "
                      f"{exc.strerror or exc}") from None

    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        auth = [name for name, on in (("bearer token", token), ("client certificates",
                                                                  args.tls_client_ca)) if on]
        print(f"listening on {receiver.url} (POST /anon, /test, /submit)"
              + (f", storing reports in {printable(args.dir)}" if args.dir else "")
              + (f", requiring {' and '.join(auth)}" if auth else ""), flush=True)
        while not stop.wait(0.5):  # wakes up for signals; ends only when asked to stop
            pass
    finally:
        receiver.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"stopped after {count} report(s)", file=sys.stderr, flush=True)
    return 0
