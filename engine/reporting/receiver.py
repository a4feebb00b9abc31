"""A phone-home endpoint of a site's own: receives the reports the HTTP submitter posts.

It speaks the protocol of CP's support-metrics.confluent.io: `POST` `/anon`,
`/test` or `/submit` with a multipart form of `cid` and `file`. Tests run it on 127.0.0.1
(plain or with a test CA), the demo points the agents at it, and air-gapped sites run
`ps-console receive` on a host of their own network.

Because it listens on a network, it runs on aiohttp's server (not `http.server`, which
Python's documentation says is not for production) with every limit set:

- a request body of at most 1 MiB (a report is a few KiB), refused with 413 before it is
  read; a form is read straight from the stream and freed once stored;
- a cap on open connections (one over it gets 503 at once), a deadline for the TLS
  handshake and the request headers (a client trickling header bytes is cut off) and one
  for the body (408);
- 200 only once the report is durably on disk (see report_store), a 503 otherwise, so
  that the sender keeps the report;
- only the three report paths, with a form whose `file` part is one Avro report: anything
  else is refused (404, 400) and never stored, and no file name holds request text;
- optional authentication: a shared bearer token and/or client certificates.

The server runs on an event loop of its own in a background thread; `Receiver` is the
synchronous face tests and the CLI use.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import ssl
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from engine.reporting.http_token import bearer_matches
from engine.reporting.receiver_form import FormRefused, read_report_form, report_schema
from engine.reporting.report_store import KINDS, ReportStore
from engine.text import printable

log = logging.getLogger(__name__)

REPORT_PATHS = tuple(KINDS)
MAX_BODY_BYTES = 1024 * 1024
# A connection over the cap is only told to come back later: its headers get this long.
_OVER_CAP_HEADER_TIMEOUT = 1.0


@dataclass(frozen=True)
class ReceiverLimits:
    """How much a peer may cost the receiver. The defaults suit a site's network."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_connections: int = 100
    # From the accepted connection (after TLS) to the end of the request headers; the
    # TLS handshake has a deadline of the same length before that.
    header_timeout: float = 5.0
    # For the whole body, once the headers are in.
    body_timeout: float = 10.0
    max_request_line: int = 4096
    max_header_bytes: int = 8190  # per header line
    max_headers: int = 32
    # After a refusal, how long the unread rest of a body is drained so that the client
    # reads the answer instead of a reset connection.
    linger: float = 2.0
    store_workers: int = 4


@dataclass(frozen=True)
class Received:
    """One report as it arrived and what was answered.

    `cid`/`filename` are None when the form lacked them. `status` is the answer given
    (None when the client left before it); `stored` is the file the report went to, or
    None. `body` holds the report's bytes for the most recent reports only (see
    `Receiver`'s `keep_bodies`), None for older ones.
    """

    seq: int
    path: str
    cid: str | None
    filename: str | None
    content_type: str | None
    size: int
    schema: str
    status: int | None
    stored: Path | None
    body: bytes | None = None


class _GuardedServer(web.Server):
    """aiohttp's low-level server with a connection cap and a header deadline.

    aiohttp bounds header sizes and bodies but has no deadline for a request's headers:
    a client sending one byte every few seconds would hold its connection for ever.
    Every connection here gets a timer when it opens, stopped when its request reaches
    the handler; if the timer fires first, the connection is closed.

    A connection over the cap gets a short deadline and its request a 503 before any of
    its body is read (aiohttp then drains the rest for `linger` seconds, so that the
    client reads the answer rather than a reset).
    """

    def __init__(self, handler: Callable[[web.BaseRequest], Any], *, limits: ReceiverLimits,
                 loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(handler, loop=loop, **kwargs)
        self._limits = limits
        self._header_timers: dict[RequestHandler, asyncio.TimerHandle] = {}
        self._over_cap: set[RequestHandler] = set()
        self.turned_away = 0
        self.cut_off = 0

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        deadline = self._limits.header_timeout
        if len(self._connections) > self._limits.max_connections:
            self._over_cap.add(handler)
            deadline = min(deadline, _OVER_CAP_HEADER_TIMEOUT)
        self._header_timers[handler] = self._loop.call_later(deadline, self._headers_late,
                                                             handler)

    def _headers_late(self, handler: RequestHandler) -> None:
        self._header_timers.pop(handler, None)
        self.cut_off += 1
        log.info("closed a connection that sent no complete request within %g s",
                 self._limits.header_timeout)
        handler.force_close()

    def request_started(self, handler: RequestHandler) -> bool:
        """The request's headers are in: its connection's header deadline no longer runs.
        False when the connection is over the cap (the request is then answered 503)."""
        timer = self._header_timers.pop(handler, None)
        if timer is not None:
            timer.cancel()
        if handler in self._over_cap:
            self.turned_away += 1
            return False
        return True

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None
                        ) -> None:
        timer = self._header_timers.pop(handler, None)
        if timer is not None:
            timer.cancel()
        self._over_cap.discard(handler)
        super().connection_lost(handler, exc)


class _QuietLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's connection logger, one level down: a malformed request from a peer is
    routine here, and its traceback (with the peer's bytes) is for --debug only."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs["exc_info"] = kwargs.get("exc_info") if self.logger.isEnabledFor(
            logging.DEBUG) else None
        self.logger.log(logging.DEBUG, msg, *args, **kwargs)


def _visible_ascii(text: str) -> bool:
    return all(0x21 <= ord(ch) <= 0x7E for ch in text)


class Receiver:
    """A real HTTP or HTTPS server on `host:port` (0 picks a free port) that takes reports.

    `status` and `delay` can be changed while it runs, for fault tests: every valid report
    is answered `status` (and then not stored unless it is 200) after `delay` seconds.
    With `store_dir`, each report is kept there durably, one file per report, before the
    200. `on_report(item, stored)` is called, off the event loop, for each report answered.

    `tls` is (certificate chain, key) files; `client_ca` (a CA bundle) then makes clients
    present a certificate it signed (mutual TLS). `token` requires `Authorization: Bearer
    <token>` on every post (only over TLS: the token must not travel in clear text).

    What it remembers is bounded: metadata of the last `keep_records` reports and the
    bytes of the last `keep_bodies` (tests read them through `received`).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 tls: tuple[str, str] | None = None, status: int = 200, delay: float = 0.0,
                 store_dir: str | None = None,
                 on_report: Callable[[Received, Path | None], None] | None = None, *,
                 token: str | None = None, client_ca: str | None = None,
                 limits: ReceiverLimits | None = None, keep_records: int = 1000,
                 keep_bodies: int = 32) -> None:
        self.host = host
        self.port = port
        self.status = status
        self.delay = delay
        self.store_dir = Path(store_dir) if store_dir else None
        self.on_report = on_report
        self.limits = limits or ReceiverLimits()
        self._token = token
        self._store = ReportStore(self.store_dir) if self.store_dir is not None else None
        if token is not None and tls is None:
            raise ValueError("a bearer token needs TLS: it must not travel in clear text")
        if client_ca is not None and tls is None:
            raise ValueError("client certificates need TLS (a certificate and key)")
        self._tls_context: ssl.SSLContext | None = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(certfile=tls[0], keyfile=tls[1])
            if client_ca is not None:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(cafile=client_ca)
            self._tls_context = context
        self._lock = threading.Lock()
        self._received: deque[Received] = deque(maxlen=max(0, keep_records))
        self._bodies: OrderedDict[int, bytes] = OrderedDict()
        self._keep_bodies = max(0, keep_bodies)
        self._refused: Counter[int] = Counter()
        self._seq = itertools.count(1)
        self._count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._server: _GuardedServer | None = None
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- lifecycle
    def start(self) -> Receiver:
        """Bind and serve in a background thread; returns self for chaining.

        Raises OSError when the address cannot be bound or `store_dir` cannot be made.
        """
        if self._thread is not None:
            return self
        if self._store is not None:
            self._store.prepare()
        sock = _listen(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._pool = ThreadPoolExecutor(max_workers=self.limits.store_workers,
                                        thread_name_prefix=f"receiver-{self.port}-store")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(sock, ready, failure),
                                        name=f"receiver-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure or not ready.is_set():
            self.stop()
            if failure:
                raise failure[0]
            raise OSError(f"the receiver on port {self.port} did not start within 10 s")
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; requests still waiting are answered 503."""
        loop, thread = self._loop, self._thread
        if loop is not None and self._stop_event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stop_event.set)
            except RuntimeError:
                pass  # the loop has just closed on its own
        if thread is not None:
            thread.join(timeout=10)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._thread = self._loop = self._stop_event = self._pool = None
        self._server = None

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
        """The reports answered so far (the last `keep_records`), in arrival order."""
        with self._lock:
            return [replace(r, body=self._bodies.get(r.seq)) for r in self._received]

    @property
    def count(self) -> int:
        """How many reports were answered since the start, whatever `keep_records` is."""
        with self._lock:
            return self._count

    def stats(self) -> dict[str, Any]:
        """Counters for tests and benchmarks: reports, refusals by status, connections
        turned away at the cap and cut off at the header deadline."""
        server = self._server
        with self._lock:
            return {"reports": self._count, "refused": dict(self._refused),
                    "turned_away": server.turned_away if server else 0,
                    "cut_off": server.cut_off if server else 0}

    def clear(self) -> None:
        """Forget what was received (between the steps of a test)."""
        with self._lock:
            self._received.clear()
            self._bodies.clear()

    # -- the server's thread
    def _run(self, sock: socket.socket, ready: threading.Event,
             failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(sock, ready))
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            failure.append(exc)
            log.debug("receiver on port %d stopped with an error", self.port, exc_info=True)
        finally:
            sock.close()
            loop.close()

    async def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        limits = self.limits
        server = _GuardedServer(
            self._handle, limits=limits, loop=loop, access_log=None,
            logger=_QuietLog(log.getChild("http"), {}),
            max_line_size=limits.max_request_line, max_field_size=limits.max_header_bytes,
            max_headers=limits.max_headers, lingering_time=limits.linger,
            # aiohttp's idle timer also closes a connection that never sends a request;
            # ours (the header deadline) acts first, this one is a backstop.
            keepalive_timeout=2 * limits.header_timeout)
        self._server = server
        tls = self._tls_context
        if tls is not None:
            # The TLS handshake and the closing exchange are bounded too.
            listener = await loop.create_server(
                server, sock=sock, ssl=tls, ssl_handshake_timeout=limits.header_timeout,
                ssl_shutdown_timeout=limits.linger)
        else:
            listener = await loop.create_server(server, sock=sock)
        ready.set()
        try:
            await self._stop_event.wait()
        finally:
            listener.close()
            await server.shutdown(timeout=2.0)
            await listener.wait_closed()

    # -- one request
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        assert self._server is not None
        admitted = self._server.request_started(request.protocol)
        headers: dict[str, str] = {}
        try:
            if not admitted:
                headers["Retry-After"] = "5"
                raise FormRefused(503, "server busy: too many connections")
            status, text = await self._answer(request)
        except FormRefused as refusal:
            status, text = refusal.status, refusal.reason
            if status == 401:
                headers["WWW-Authenticate"] = 'Bearer realm="ps-console receive"'
            elif status == 405:
                headers["Allow"] = "POST"
            with self._lock:
                self._refused[status] += 1
            peer = request.remote or "?"
            # Busy answers are counted, not logged: a flood must not flood the log too.
            if admitted:
                log.info("refused %s %s from %s: %d %s", printable(request.method[:16]),
                         printable(request.raw_path[:200]), peer, status, text)
        response = web.Response(status=status, text=text + "\n", headers=headers)
        response.force_close()  # one request per connection: the deadlines stay simple
        return response

    async def _answer(self, request: web.BaseRequest) -> tuple[int, str]:
        raw_path = request.raw_path
        path = raw_path.split("?", 1)[0]
        if not _visible_ascii(raw_path):
            raise FormRefused(400, "the path holds control or non-ASCII characters")
        if path not in REPORT_PATHS:
            raise FormRefused(404, "unknown path: POST reports to /anon, /test or /submit")
        if request.method != "POST":
            raise FormRefused(405, "POST a report to /anon, /test or /submit")
        if self._token is not None and not bearer_matches(
                self._token, request.headers.get("Authorization")):
            raise FormRefused(401, "a valid bearer token is required")
        if "Transfer-Encoding" in request.headers or request.content_length is None:
            raise FormRefused(411, "Content-Length required")
        limit = self.limits.max_body_bytes
        if request.content_length > limit:
            raise FormRefused(413, f"request larger than {limit} bytes")
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                form = await read_report_form(request.headers, request.content, limit)
        except TimeoutError:
            raise FormRefused(408, f"body not received within "
                                   f"{self.limits.body_timeout:g} s") from None
        loop = asyncio.get_running_loop()
        schema = await loop.run_in_executor(self._pool, report_schema, form)
        seq = next(self._seq)
        await self._wait_delay()

        status: int | None = self.status
        stored: Path | None = None
        text = "ok" if status == 200 else "status set by the receiver"
        transport = request.transport
        if transport is None or transport.is_closing():
            status, text = None, "the client left before the answer"
        elif self._stop_event is not None and self._stop_event.is_set():
            status, text = 503, "the receiver is stopping"
        elif status == 200 and self._store is not None:
            try:
                stored = await loop.run_in_executor(self._pool, self._store.store, path,
                                                    seq, form.body)
            except OSError as exc:
                log.error("could not store report %d in %s: %s", seq, self.store_dir,
                          exc.strerror or exc)
                status, text = 503, "could not store the report"
        item = Received(seq=seq, path=path, cid=form.cid, filename=form.filename,
                        content_type=form.content_type, size=len(form.body), schema=schema,
                        status=status, stored=stored)
        self._remember(item, form.body)
        if self.on_report is not None:
            await loop.run_in_executor(self._pool, self._notify, item, stored)
        return (status or 503), text

    def _remember(self, item: Received, body: bytes) -> None:
        with self._lock:
            self._count += 1
            self._received.append(item)
            if self._keep_bodies:
                self._bodies[item.seq] = body
                while len(self._bodies) > self._keep_bodies:
                    self._bodies.popitem(last=False)

    def _notify(self, item: Received, stored: Path | None) -> None:
        assert self.on_report is not None
        try:
            self.on_report(item, stored)
        except Exception:  # noqa: BLE001 - a logging callback must not fail the request
            log.exception("on_report callback failed")

    async def _wait_delay(self) -> None:
        # Waiting on the stop event rather than sleeping, so stop() ends a long fault-test
        # delay at once.
        delay = self.delay
        if delay > 0 and self._stop_event is not None:
            try:
                await asyncio.wait_for(self._stop_event.wait(), delay)
            except TimeoutError:
                pass


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; OSError when it cannot be had."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    if not infos:
        raise OSError(f"no address for {host!r}")
    family = infos[0][0]
    sock = socket.create_server((host, port), family=family, backlog=512)
    sock.setblocking(False)
    return sock
