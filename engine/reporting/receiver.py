"""A local phone-home endpoint: receives the reports the HTTP submitter posts.

It speaks the same protocol as CP's support-metrics.confluent.io (SPEC.md §3): `POST`
`/anon`, `/test` or `/submit` with a multipart form of `cid` and `file`. Tests run it on
127.0.0.1 (plain or with a test CA), the demo points the agents at it, and air-gapped sites
use `ps-console receive` to collect reports on a host of their own.
"""

from __future__ import annotations

import email.message
import logging
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger(__name__)

REPORT_PATHS = ("/anon", "/test", "/submit")
# Reports are a few KiB; a request body above this is refused unread.
MAX_BODY_BYTES = 32 * 1024 * 1024
# A client that stops sending mid-request must not hold a thread forever.
_SOCKET_TIMEOUT = 15.0


@dataclass(frozen=True)
class Received:
    """One request as it arrived. `cid`/`filename` are None when the part was missing."""

    path: str
    cid: str | None
    filename: str | None
    content_type: str | None  # of the `file` part
    body: bytes  # the `file` part's bytes (the report value), b"" when missing


def _header_params(raw_headers: bytes) -> email.message.Message:
    """Parse MIME headers with the email package (it knows quoting and RFC 2231)."""
    msg = email.message.Message()
    for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip():
            msg[name.strip()] = value.strip()
    return msg


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """Split a multipart/form-data body into {name: (filename, content type, bytes)}.

    The parts are cut at the exact delimiter bytes rather than through `email`'s parser,
    which may rewrite line endings inside a binary part; a report must arrive byte for byte.
    """
    ctype = _header_params(f"Content-Type: {content_type}".encode())
    boundary = ctype.get_boundary()
    if ctype.get_content_type() != "multipart/form-data" or not boundary:
        raise ValueError("not multipart/form-data with a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 3:  # preamble, at least one part, and the closing delimiter
        raise ValueError("no complete part in the form")
    if not pieces[-1].startswith(b"--"):
        raise ValueError("form has no closing delimiter")
    parts: dict[str, tuple[str | None, str, bytes]] = {}
    for piece in pieces[1:-1]:
        # after the delimiter: optional padding, CRLF, headers, blank line, content
        _pad, crlf, rest = piece.partition(b"\r\n")
        head, blank, content = rest.partition(b"\r\n\r\n")
        if not crlf or not blank:
            # a part without headers has its blank line straight after the delimiter line
            if rest.startswith(b"\r\n"):
                head, content = b"", rest[2:]
            else:
                raise ValueError("malformed part headers")
        headers = _header_params(head)
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = headers.get_filename()
        parts[name] = (filename, headers.get_content_type(), content)
    return parts


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    receiver: Receiver

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # A client that rejects our certificate or hangs up is routine here (fault tests);
        # the stdlib would print a traceback to stderr for each.
        log.debug("connection from %s ended with an error", client_address[0], exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = _SOCKET_TIMEOUT
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        context = self.server.receiver._tls_context
        if context is not None:
            # The handshake runs here, in the connection's own thread, so a slow or
            # failing client never blocks the accept loop.
            self.request.settimeout(_SOCKET_TIMEOUT)
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        log.debug("%s %s", self.address_string(), format % args)

    def _reply(self, status: int, text: str) -> None:
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._reply(405, "POST a report to /anon, /test or /submit")

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        receiver = self.server.receiver
        path = self.path.split("?", 1)[0]
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._reply(411, "Content-Length required")
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self._reply(413, "request too large")
            return
        body = self.rfile.read(length)
        if len(body) != length:
            return  # the client went away mid-body; nothing to answer
        try:
            parts = parse_multipart(self.headers.get("Content-Type", ""), body)
        except ValueError as exc:
            self._reply(400, f"bad form: {exc}")
            return
        cid_part = parts.get("cid")
        file_part = parts.get("file")
        item = Received(
            path=path,
            cid=cid_part[2].decode("utf-8", "replace") if cid_part else None,
            filename=file_part[0] if file_part else None,
            content_type=file_part[1] if file_part else None,
            body=file_part[2] if file_part else b"",
        )
        receiver._record(item)
        receiver._wait_delay()
        if path not in REPORT_PATHS:
            self._reply(404, "unknown path")
        else:
            status = receiver.status
            self._reply(status, "ok" if status == 200 else "status set by the receiver")


class Receiver:
    """A real HTTP or HTTPS server on `host:port` (0 picks a free port) that records reports.

    `status` and `delay` can be changed while it runs, for fault tests: every report path
    answers `status` after sleeping `delay` seconds. With `store_dir`, each report's bytes
    are also written there atomically, one file per report. `on_report` is called (in the
    server's thread) for each request received.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 tls: tuple[str, str] | None = None, status: int = 200, delay: float = 0.0,
                 store_dir: str | None = None,
                 on_report: Callable[[Received, Path | None], None] | None = None) -> None:
        self.host = host
        self.port = port
        self.status = status
        self.delay = delay
        self.store_dir = Path(store_dir) if store_dir else None
        self.on_report = on_report
        self._tls_context: ssl.SSLContext | None = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(certfile=tls[0], keyfile=tls[1])
            self._tls_context = context
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._seq = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> Receiver:
        """Bind and serve in a background thread; returns self for chaining."""
        if self._server is not None:
            return self
        if self.store_dir is not None:
            self.store_dir.mkdir(parents=True, exist_ok=True)
        self._stopping.clear()
        server = _Server((self.host, self.port), _Handler)
        server.receiver = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"receiver-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; requests still sleeping are cut short."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. https://127.0.0.1:40123 (the submitter appends /anon etc.)."""
        scheme = "https" if self._tls_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def received(self) -> list[Received]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        """Forget what was received (between the steps of a test)."""
        with self._lock:
            self._received.clear()

    # -- called from the handler threads
    def _record(self, item: Received) -> None:
        with self._lock:
            self._received.append(item)
            self._seq += 1
            seq = self._seq
        stored = self._store(item, seq) if self.store_dir is not None else None
        if self.on_report is not None:
            try:
                self.on_report(item, stored)
            except Exception:  # noqa: BLE001 - a logging callback must not fail the request
                log.exception("on_report callback failed")

    def _wait_delay(self) -> None:
        # Event.wait rather than sleep, so stop() ends a long fault-test delay at once.
        if self.delay > 0:
            self._stopping.wait(self.delay)

    def _store(self, item: Received, seq: int) -> Path | None:
        assert self.store_dir is not None
        kind = item.path.strip("/").replace("/", "_") or "root"
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        target = self.store_dir / f"report-{stamp}-{os.getpid()}-{seq:06d}-{kind}.avro"
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=self.store_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(item.body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            log.error("could not store report %d in %s: %s", seq, self.store_dir, exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return None
        return target
