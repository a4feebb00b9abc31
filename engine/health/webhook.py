"""Post health transitions to a webhook: one JSON event when a finding is RAISED, one when
it is CLEARED (as Health+ users had them).

`WebhookSender` owns a thread of its own and a bounded queue, so neither an evaluation nor
a scrape ever waits for the receiver: `send` only enqueues, and when the queue is full the
oldest event is dropped with a log line. Each event is posted with a bounded number of
attempts and an exponential backoff between them; a receiver that answers 2xx has it.
`close` stops the thread within its bound, saying how many events were not delivered.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Final
from urllib.parse import urlsplit

from engine.errors import UsageError

log = logging.getLogger(__name__)

QUEUE_SIZE: Final = 1000
ATTEMPTS: Final = 5
FIRST_BACKOFF_S: Final = 0.5
MAX_BACKOFF_S: Final = 30.0
TIMEOUT_S: Final = 5.0


def check_url(url: str) -> str:
    """`url` when it is an http:// or https:// URL with a host; UsageError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--webhook: {url!r} is not an http:// or https:// URL")
    return url


def event_json(kind: str, finding: dict[str, Any], at: str | None, cluster: str | None
               ) -> dict[str, Any]:
    """The JSON body of one event. The cluster is named by its id, never by the hosts the
    exporter reaches it through (a webhook may be a service outside the site); a finding's
    message may name a topic, as the operator's own alert should."""
    return {"event": kind, "at": at, "cluster": cluster, "finding": finding}


class WebhookSender:
    """See the module docstring."""

    def __init__(self, url: str, queue_size: int = QUEUE_SIZE, attempts: int = ATTEMPTS,
                 first_backoff_s: float = FIRST_BACKOFF_S, timeout_s: float = TIMEOUT_S,
                 verify: bool | str = True) -> None:
        self.url = check_url(url)
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._size = queue_size
        self._attempts = attempts
        self._backoff = first_backoff_s
        self._timeout = timeout_s
        self._verify = verify
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.dropped = 0
        self.failed = 0

    def start(self) -> None:
        """Start the sending thread."""
        self._thread = threading.Thread(target=self._run, name="health-webhook", daemon=True)
        self._thread.start()

    def send(self, event: dict[str, Any]) -> None:
        """Queue one event; never blocks (the oldest is dropped when the queue is full)."""
        with self._cond:
            if len(self._queue) >= self._size:
                old = self._queue.popleft()
                self.dropped += 1
                log.warning("webhook queue full (%d events): dropped the oldest, %s of %s",
                            self._size, old.get("event"),
                            (old.get("finding") or {}).get("rule"))
            self._queue.append(event)
            self._cond.notify()

    @property
    def pending(self) -> int:
        """Events queued and not yet delivered."""
        with self._cond:
            return len(self._queue)

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued within `timeout_s`, then stop."""
        deadline = time.monotonic() + timeout_s
        while self.pending and time.monotonic() < deadline and self._thread is not None \
                and self._thread.is_alive():
            time.sleep(0.05)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()) + self._timeout)
        left = self.pending
        if left:
            log.warning("webhook: %d event(s) not delivered to %s at exit", left, self.url)

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=self._timeout, verify=self._verify,
                          follow_redirects=False) as client:
            while not self._stop.is_set():
                with self._cond:
                    while not self._queue and not self._stop.is_set():
                        self._cond.wait(0.5)
                    if self._stop.is_set():
                        return
                    event = self._queue[0]
                delivered = self._deliver(client, event)
                with self._cond:
                    # The event may have been dropped meanwhile (a full queue).
                    if self._queue and self._queue[0] is event:
                        self._queue.popleft()
                if delivered:
                    self.sent += 1
                else:
                    self.failed += 1

    def _deliver(self, client: Any, event: dict[str, Any]) -> bool:
        import httpx

        wait = self._backoff
        problem = ""
        for attempt in range(1, self._attempts + 1):
            try:
                answer = client.post(self.url, json=event)
                if 200 <= answer.status_code < 300:
                    return True
                problem = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if attempt < self._attempts and self._stop.wait(wait):
                break
            wait = min(wait * 2, MAX_BACKOFF_S)
        log.warning("webhook: %s of %s not delivered to %s (%s)", event.get("event"),
                    (event.get("finding") or {}).get("rule"), self.url, problem)
        return False
