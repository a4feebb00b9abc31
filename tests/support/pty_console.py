"""Run the console as an operator does: on a pseudo-terminal, read what it draws, press q."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

# CSI and OSC sequences, and the single-character escapes Textual uses.
_ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


@dataclass
class PtyRun:
    screen: str  # everything drawn, escapes removed
    seen: bool  # every wanted text appeared before the bound
    exit_code: int | None  # None: did not exit after q (then it was killed)


def plain(raw: bytes) -> str:
    return _ESCAPES.sub(b"", raw).decode("utf-8", "replace")


def run_on_pty(cmd: list[str], want: list[str], bound: float = 60.0,
               env: dict[str, str] | None = None, cwd: str | Path | None = None,
               size: tuple[int, int] = (40, 140)) -> PtyRun:
    """Start `cmd` on a pty of `size` (rows, columns), wait (at most `bound` s) until every
    text of `want` has been drawn, press q, and wait (bounded) for the exit."""
    master, slave = pty.openpty()
    rows, cols = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = dict(env if env is not None else os.environ)
    full_env.update(TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=full_env,
                            cwd=cwd, start_new_session=True)
    os.close(slave)
    raw = bytearray()
    deadline = time.monotonic() + bound

    def drain(until: float) -> None:
        while time.monotonic() < until:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if proc.poll() is not None:
                    return
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            raw.extend(chunk)
            if until == deadline and all(w in plain(bytes(raw)) for w in want):
                return

    try:
        drain(deadline)
        seen = all(w in plain(bytes(raw)) for w in want)
        code: int | None = proc.poll()
        if code is None:
            os.write(master, b"q")
            quit_by = time.monotonic() + 15
            while proc.poll() is None and time.monotonic() < quit_by:
                drain(min(quit_by, time.monotonic() + 0.5))
            code = proc.poll()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        os.close(master)
    return PtyRun(plain(bytes(raw)), seen, code)
