#!/usr/bin/env python3
"""Benchmark: console start to first frame, and to the Cluster screen filled.

Measured from outside the process, as an operator sees it: `ps-console --zookeeper ...`
runs on a pseudo-terminal of 120x40 and the clock stops when the terminal output first
shows the header (first frame) and then the brokers' listeners (Cluster screen filled).
Median of 5 runs. The reference is the bare interpreter started the same way and printing
one line, i.e. the floor no Python console can go under.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from bench.common import emit, sandbox_facts

BIN = Path(sys.executable).parent
RUNS = 5


def timed_run(cmd: list[str], markers: list[bytes], bound: float = 30.0) -> list[float | None]:
    """Seconds from spawn until each marker appears in the output (None if it never did)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    seen: list[float | None] = [None] * len(markers)
    output = b""
    try:
        while time.monotonic() - started < bound and None in seen:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                output += chunk
                now = time.monotonic() - started
                for i, marker in enumerate(markers):
                    if seen[i] is None and marker in output:
                        seen[i] = now
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            os.write(master, b"q")
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
        os.close(master)
    return seen


def median(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return round(statistics.median(real), 3) if len(real) == len(values) else None


def main() -> int:
    facts = sandbox_facts()
    console = [str(BIN / "ps-console"), "--zookeeper", facts["zk_connect"]]
    first, filled = [], []
    for i in range(RUNS):
        frame, cluster = timed_run(console, [b"ps-console", b"PLAINTEXT://"])
        print(f"run {i + 1}: first frame {frame or 0:.3f} s, "
              f"cluster filled {cluster or 0:.3f} s", flush=True)
        first.append(frame)
        filled.append(cluster)
    floor = [timed_run([sys.executable, "-c", "print('ps-console')"], [b"ps-console"])[0]
             for _ in range(RUNS)]
    first_m, filled_m, floor_m = median(first), median(filled), median(floor)
    emit("console start (median of 5)",
         {"first_frame_s": first_m, "cluster_filled_s": filled_m},
         reference={"name": "python -c print", "s": floor_m},
         ratio={"first_frame_vs_python": round(first_m / floor_m, 1)
                if first_m and floor_m else None})
    return 0 if first_m is not None else 1


if __name__ == "__main__":
    sys.exit(main())
