"""The HTTP submitter against hostile endpoints on real local sockets (issue 19): a post has
one total deadline whatever the peer does, and reads at most a few KiB of any answer."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from engine.reporting.records import encode
from engine.reporting.submit_http import DEFAULT_TIMEOUT, HttpSettings, submit_http

# Slack over the deadline for thread scheduling on a busy 2-core machine.
SLACK = 1.0
# Every hostile server gives up on its own after this long, so that a submitter without
# a deadline makes the test fail instead of hang.
SERVER_BOUND = 12.0


def _report() -> bytes:
    return encode({"timestamp": 1_700_000_000, "kafkaVersion": "3.9.0",
                   "confluentPlatformVersion": None, "collectorState": 2,
                   "brokerProcessUUID": "7d0e7f0c-1f7b-4f0e-8d63-0c1b2a3d4e5f",
                   "clusterId": "abc"}, "basic")


def _read_request_head(conn: socket.socket) -> None:
    conn.settimeout(SERVER_BOUND)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def _endless_200(conn: socket.socket) -> None:
    _read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 b"Content-Length: 1073741824\r\n\r\n")
    block = b"x" * 65536
    sent = 0
    started = time.monotonic()
    # Up to 256 MiB as fast as the client reads: a client that reads it all grows by
    # as much, and one with a total deadline stops long before.
    while sent < 256 * 1024 * 1024 and time.monotonic() - started < SERVER_BOUND:
        conn.sendall(block)
        sent += len(block)


def _trickle_headers(conn: socket.socket) -> None:
    _read_request_head(conn)
    started = time.monotonic()
    head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
    for byte in head:
        if time.monotonic() - started > SERVER_BOUND:
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.25)  # well under the 2 s per-read timeout of httpx


def _trickle_body_after(status_line: bytes) -> Callable[[socket.socket], None]:
    def behaviour(conn: socket.socket) -> None:
        _read_request_head(conn)
        conn.sendall(status_line + b"\r\nContent-Length: 100000\r\n\r\n")
        started = time.monotonic()
        while time.monotonic() - started < SERVER_BOUND:
            conn.sendall(b"z")
            time.sleep(0.25)

    return behaviour


_trickle_body_after_500 = _trickle_body_after(b"HTTP/1.1 500 Internal Server Error")
_trickle_body_after_200 = _trickle_body_after(b"HTTP/1.1 200 OK")


def _silent(conn: socket.socket) -> None:
    _read_request_head(conn)
    time.sleep(SERVER_BOUND)


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """Start a one-behaviour TCP server on 127.0.0.1; yields a function giving its URL."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(behaviour: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        listeners.append(listener)
        stop_at = time.monotonic() + SERVER_BOUND * 3

        def serve() -> None:
            while time.monotonic() < stop_at:
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    if listener.fileno() == -1:
                        return
                    continue

                def one(c: socket.socket = conn) -> None:
                    with c:
                        try:
                            behaviour(c)
                        except OSError:
                            pass  # the client hung up: what a deadline does

                threading.Thread(target=one, daemon=True).start()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener in listeners:
        listener.close()
    for thread in threads:
        thread.join(timeout=2)


def _timed_post(url: str, timeout: float = DEFAULT_TIMEOUT):
    settings = HttpSettings(secure_enabled=False, insecure_url=url, timeout=timeout)
    tracemalloc.start()
    started = time.monotonic()
    try:
        results = submit_http(_report(), "anonymous", settings)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return results, elapsed, peak


@pytest.mark.parametrize("behaviour, outcome", [
    (_trickle_headers, "timed out after 2 s"), (_silent, "timed out after 2 s"),
    (_trickle_body_after_500, "HTTP 500"), (_trickle_body_after_200, "HTTP 200")],
    ids=["trickled-headers", "never-answers", "trickled-body-500", "trickled-body-200"])
def test_a_post_ends_within_its_one_deadline(hostile, behaviour, outcome):
    url = hostile(behaviour)
    (result,), elapsed, _ = _timed_post(url)
    assert elapsed < DEFAULT_TIMEOUT + SLACK, (elapsed, result.detail)
    assert outcome in result.detail
    # The status line is the answer: a 200 whose body trickles still delivered the report.
    assert result.ok is (outcome == "HTTP 200")


def test_an_endless_200_is_read_a_few_kib_deep_and_memory_stays_flat(hostile):
    url = hostile(_endless_200)
    peaks = []
    for _ in range(3):
        (result,), elapsed, peak = _timed_post(url)
        # The status said 200: the report was taken, whatever follows it.
        assert result.ok, result.detail
        assert elapsed < DEFAULT_TIMEOUT + SLACK
        peaks.append(peak)
    # Python allocations during a whole post: the report, the form, httpx's buffers; an
    # unbounded read would have held tens of MiB.
    assert max(peaks) < 2 * 1024 * 1024, peaks


def test_the_deadline_is_the_settings_timeout(hostile):
    url = hostile(_trickle_headers)
    (result,), elapsed, _ = _timed_post(url, timeout=0.5)
    assert "timed out after 0.5 s" in result.detail
    assert elapsed < 0.5 + SLACK
