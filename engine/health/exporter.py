"""The health exporter: evaluations on a background thread, `/metrics` served from the
last one, transitions posted to a webhook.

`HealthExporter.start()` listens (prometheus_client's threaded WSGI server) and starts one
evaluation thread that runs `HealthMonitor.evaluate()` every `interval_s` (the next one
starts `interval_s` after the previous one started, or at once when it took longer: never
two at once). A scrape renders the cached evaluation and never waits for the cluster.
`stop()` shuts the server down and ends the thread within bounded waits.
"""

from __future__ import annotations

import logging
import threading
import time
from wsgiref.simple_server import WSGIServer

from engine.health.finding import iso_seconds
from engine.health.metrics import registry_for
from engine.health.monitor import Evaluation, HealthMonitor
from engine.health.webhook import WebhookSender, event_json

log = logging.getLogger(__name__)


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
        from prometheus_client import start_http_server

        self._server, self._serving = start_http_server(self._port, self.host,
                                                        registry_for(lambda: self._latest))
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
        if self.webhook is not None:
            for transition in evaluation.transitions:
                self.webhook.send(event_json(
                    transition.kind, transition.finding.to_json(),
                    iso_seconds(transition.at), evaluation.cluster_id, evaluation.where))
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
