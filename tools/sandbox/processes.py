"""Processes and sockets of a sandbox run: free ports, liveness, ownership, ZooKeeper's
four-letter words. Every check is bounded; nothing here is found by process name."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True while `pid` is a live, non-zombie process (a zombie child of ours is reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except OSError:
        return False
    return True


def owns(pid: int, run_id: str) -> bool:
    """True only when pid is a live process this sandbox run started."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"-Dsandbox.id={run_id}".encode() in cmdline


def port_open(port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def four_letter(port: int, word: bytes, timeout: float = 1.0) -> bytes:
    """Send a ZooKeeper four-letter word and return the answer (b'' when unreachable)."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word)
            chunks = []
            while time.monotonic() < deadline:
                data = s.recv(4096)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks)
    except OSError:
        return b""


def quiet_logger() -> logging.Logger:
    """A logger for the sandbox's own kazoo clients: their retries are not news."""
    logger = logging.getLogger("kafka_sandbox.clients")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger
