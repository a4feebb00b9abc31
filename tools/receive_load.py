"""Load for `ps-console receive`: many concurrent posts of real reports, plus slow clients.

Shared by the load test (tests/integration/test_receiver_load.py) and the benchmark
(bench/receive_bench.py). The receiver runs as its own process, the way a site runs it, so
that its memory is measured apart from the load's.

Each post is the form the agents send. A post answered 503 (the connection
cap), or that got no answer at all, is sent again after a short pause, as an agent keeps a
report it could not deliver; any other answer is final. Slow clients open a connection and send header bytes one at a
time, never finishing: the receiver must cut them off.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from engine.reporting.records import encode

REPO = Path(__file__).resolve().parent.parent


def unique_reports(count: int) -> list[bytes]:
    """`count` real Basic reports, each with a broker token of its own."""
    return [encode({"timestamp": 1_700_000_000 + i, "kafkaVersion": "3.9.2",
                    "confluentPlatformVersion": None, "collectorState": 2,
                    "brokerProcessUUID": str(uuid.uuid4()), "clusterId": "load"}, "basic")
            for i in range(count)]


@dataclass
class ReceiveProcess:
    """A `ps-console receive` child process and the lines it printed."""

    proc: subprocess.Popen
    url: str
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def status_kib(self, key: str) -> int:
        """A memory figure of /proc/PID/status (VmRSS now, VmHWM the peak), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise LookupError(key)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then wait (bounded); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


def start_receive(*args: str, timeout: float = 30) -> ReceiveProcess:
    """Start `ps-console receive --listen 127.0.0.1:0 ARGS...` and wait for its first line.

    stdout and stderr are drained by threads into `lines`/`errors`, so that a chatty
    receiver never blocks on a full pipe.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())",
         "receive", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    box: dict[str, str] = {}

    def first() -> None:
        box["line"] = proc.stdout.readline()

    reader = threading.Thread(target=first, daemon=True)
    reader.start()
    reader.join(timeout)
    line = box.get("line", "")
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"receive did not start: {line!r} {proc.stderr.read()[:2000]}")
    result = ReceiveProcess(proc, line.split()[2])

    def drain(stream, sink: list[str]) -> None:  # noqa: ANN001 - a text pipe
        for text in stream:
            sink.append(text.rstrip("\n"))

    for stream, sink in ((proc.stdout, result.lines), (proc.stderr, result.errors)):
        threading.Thread(target=drain, args=(stream, sink), daemon=True).start()
    return result


@dataclass
class LoadResult:
    statuses: list[int | str]  # final answer of each post, or the error's name
    attempts: int  # posts sent in all, retries after a 503 included
    transport_errors: Counter[str]  # posts that got no answer (and were sent again)
    slow_closed_after: list[float | None]  # seconds until the server closed each slow one
    seconds: float  # wall time of the posts


async def _post(client: httpx.AsyncClient, url: str, value: bytes, rng: random.Random,
                max_attempts: int, errors: Counter[str]) -> tuple[int | str, int]:
    last: int | str = 503
    for attempt in range(1, max_attempts + 1):
        try:
            response = await client.post(
                url, data={"cid": "anonymous"},
                files={"file": ("filename", value, "application/octet-stream")})
        except httpx.TransportError as exc:
            # No answer (the connection was cut before one): sent again, like a 503.
            # Should the report have been stored all the same, the count of stored
            # reports shows it twice.
            errors[type(exc).__name__] += 1
            last = type(exc).__name__
        else:
            if response.status_code != 503:
                return response.status_code, attempt
            last = 503
        await asyncio.sleep(rng.uniform(0.05, 0.3))
    return last, max_attempts


async def _slow(host: str, port: int, interval: float, budget: float) -> float | None:
    """Trickle header bytes until the server closes; None when it never did in `budget`."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"POST /anon HTTP/1.1\r\nHost: load\r\nX-Slow: ")
        await writer.drain()
        while time.monotonic() - started < budget:
            try:
                data = await asyncio.wait_for(reader.read(1024), interval)
            except TimeoutError:
                data = None
            if data == b"":
                return time.monotonic() - started
            try:
                writer.write(b"x")
                await writer.drain()
            except ConnectionError:
                return time.monotonic() - started
        return None
    finally:
        writer.close()


async def _load(url: str, reports: list[bytes], slow: int, slow_budget: float,
                max_attempts: int, post_timeout: float, concurrency: int | None
                ) -> LoadResult:
    rng = random.Random(7)
    errors: Counter[str] = Counter()
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    slow_tasks = [asyncio.create_task(_slow(host, int(port), 0.5, slow_budget))
                  for _ in range(slow)]
    await asyncio.sleep(0.2)  # the slow clients hold their connections first
    limits = httpx.Limits(max_connections=len(reports) + 10, max_keepalive_connections=0)
    gate = asyncio.Semaphore(concurrency or len(reports) or 1)

    async def one(client: httpx.AsyncClient, value: bytes) -> tuple[int | str, int]:
        async with gate:
            return await _post(client, url + "/anon", value, rng, max_attempts, errors)

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=post_timeout, limits=limits, trust_env=False) as c:
        done = await asyncio.gather(*(one(c, value) for value in reports))
    seconds = time.monotonic() - started
    closed = await asyncio.gather(*slow_tasks)
    return LoadResult([s for s, _ in done], sum(a for _, a in done), errors, list(closed),
                      seconds)


def run_load(url: str, reports: list[bytes], slow: int = 20, slow_budget: float = 20.0,
             max_attempts: int = 50, post_timeout: float = 30.0,
             concurrency: int | None = None) -> LoadResult:
    """Post every report, `concurrency` at a time (None: all at once), while `slow`
    clients trickle headers."""
    return asyncio.run(_load(url, reports, slow, slow_budget, max_attempts, post_timeout,
                             concurrency))
