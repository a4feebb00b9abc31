"""The health exporter: evaluations on a background thread, `/metrics` served from the
last one, transitions posted to a webhook.

`HealthExporter.start()` listens (a threaded WSGI server) and starts one evaluation thread
that runs `HealthMonitor.evaluate()` every `interval_s` (the next one starts `interval_s`
after the previous one started, or at once when it took longer: never two at once). A
scrape never waits for the cluster: the collector renders the cached evaluation, once per
evaluation and format (Prometheus text or OpenMetrics, as the scraper's Accept header asks;
gzip when accepted), and later scrapes of the same evaluation send those bytes again.
`stop()` shuts the server down and ends the thread within bounded waits.
"""

from __future__ import annotations

import gzip
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from engine.health.finding import iso_seconds
from engine.health.metrics import registry_for
from engine.health.monitor import Evaluation, HealthMonitor
from engine.health.webhook import WebhookSender, event_json

log = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _Quiet(WSGIRequestHandler):
    """No access log line per scrape on stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


# How many kinds of request (Accept and Accept-Encoding headers) are rendered ahead: a
# Prometheus server or two, a person with curl.
MAX_VARIANTS = 8


class MetricsApp:
    """The WSGI application: `/metrics` (and `/`) from the cached evaluation.

    Each evaluation is rendered once per kind of request, and `prerender` (called by the
    evaluation thread) renders it ahead for the kinds scrapers asked for before, so the
    first scrape after an evaluation is served from the cache too.
    """

    def __init__(self, source: Callable[[], Evaluation | None]) -> None:
        self._source = source
        self._registry = registry_for(source)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, bool], tuple[str, bytes]] = {}
        self._cached_for: Evaluation | None = None
        self._variants: dict[tuple[str, str], None] = {}

    def prerender(self) -> None:
        """Render the current evaluation for every kind of request seen so far."""
        for accept, encoding in list(self._variants):
            self.render(accept, encoding, remember=False)

    def render(self, accept: str, accept_encoding: str, remember: bool = True
               ) -> tuple[str, bytes, bool]:
        """(content type, body, gzipped) for these request headers."""
        from prometheus_client.exposition import choose_encoder, gzip_accepted

        if remember and (accept, accept_encoding) not in self._variants:
            self._variants[(accept, accept_encoding)] = None
            while len(self._variants) > MAX_VARIANTS:
                del self._variants[next(iter(self._variants))]
        encoder, content_type = choose_encoder(accept)
        zipped = gzip_accepted(accept_encoding)
        evaluation = self._source()
        with self._lock:
            if evaluation is not self._cached_for:
                self._cache.clear()
                self._cached_for = evaluation
            held = self._cache.get((content_type, zipped))
            if held is None:
                body: bytes = encoder(self._registry)
                held = (content_type, gzip.compress(body, 6) if zipped else body)
                self._cache[(content_type, zipped)] = held
        return held[0], held[1], zipped

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"ps-console exporter: the metrics are at /metrics\n"]
        content_type, body, zipped = self.render(environ.get("HTTP_ACCEPT", ""),
                                                 environ.get("HTTP_ACCEPT_ENCODING", ""))
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if zipped:
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [body]


def _server(host: str, port: int, app: MetricsApp) -> WSGIServer:
    from prometheus_client.exposition import ThreadingWSGIServer

    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]

    class Server(ThreadingWSGIServer):
        address_family = family

    return make_server(host, port, app, Server, handler_class=_Quiet)


class HealthExporter:
    """See the module docstring. `host`/`port` as given (port 0: any free port; see
    `port` once started)."""

    def __init__(self, monitor: HealthMonitor, host: str, port: int, interval_s: float,
                 webhook: WebhookSender | None = None) -> None:
        self.monitor = monitor
        self.host = host
        self._port = port
        self.interval_s = interval_s
        self.webhook = webhook
        self._latest: Evaluation | None = None
        self._stop = threading.Event()
        self._server: WSGIServer | None = None
        self._app: MetricsApp | None = None
        self._serving: threading.Thread | None = None
        self._evaluating: threading.Thread | None = None
        self.evaluations = 0

    @property
    def latest(self) -> Evaluation | None:
        """The evaluation scrapes are served from (None before the first ends)."""
        return self._latest

    @property
    def port(self) -> int:
        """The port listened on."""
        return self._server.server_port if self._server is not None else self._port

    def start(self) -> None:
        """Listen, then start evaluating. OSError when the address cannot be bound."""
        self._app = MetricsApp(lambda: self._latest)
        self._server = _server(self.host, self._port, self._app)
        self._serving = threading.Thread(target=self._server.serve_forever,
                                         name="health-metrics", daemon=True)
        self._serving.start()
        if self.webhook is not None:
            self.webhook.start()
        self._evaluating = threading.Thread(target=self._loop, name="health-evaluations",
                                            daemon=True)
        self._evaluating.start()

    def run_once(self) -> Evaluation:
        """One evaluation now, cached and its transitions posted (the thread's step)."""
        evaluation = self.monitor.evaluate()
        self._latest = evaluation
        self.evaluations += 1
        if self._app is not None:
            self._app.prerender()
        if self.webhook is not None:
            for transition in evaluation.transitions:
                self.webhook.send(event_json(
                    transition.kind, transition.finding.to_json(),
                    iso_seconds(transition.at), evaluation.cluster_id))
        if not evaluation.reachable:
            log.warning("health evaluation: %s", "; ".join(evaluation.problems))
        return evaluation

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - one bad evaluation must not end the exporter
                log.exception("health evaluation failed")
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving and evaluating (an evaluation under way ends within its own
        bounds; this waits at most `timeout_s` for it), then flush the webhook."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._evaluating is not None:
            self._evaluating.join(timeout_s)
            if self._evaluating.is_alive():
                log.warning("an evaluation still runs after %g s; exiting without it",
                            timeout_s)
        if self.webhook is not None:
            self.webhook.close(timeout_s=min(5.0, timeout_s))
