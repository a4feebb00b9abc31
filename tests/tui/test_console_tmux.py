"""The real console in a real terminal: `ps-console` runs in tmux against the sandbox, and
the test reads the screen as an operator would (capture-pane). Ages tick with no key
pressed, and a stopped broker becomes a DOWN row, then normal again when it restarts.

Stops a broker: private sandbox only. tmux comes from Debian's packages (`make test`
installs it when missing). The tmux server is the test's own (a socket of its own) and is
killed at the end, pass or fail; every wait is bounded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.console import basic_report, produce

pytestmark = [pytest.mark.sandbox, pytest.mark.private_sandbox,
              pytest.mark.skipif(shutil.which("tmux") is None,
                                 reason="tmux is not installed (make test installs it)")]

BIN = Path(sys.executable).parent


class Pane:
    """A tmux server of our own with one window running `command`."""

    def __init__(self, command: list[str], width: int = 120, height: int = 40) -> None:
        self.socket = f"ps-console-test-{os.getpid()}-{time.monotonic_ns()}"
        env = dict(os.environ, TERM="xterm-256color")
        env.pop("TMUX", None)
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d",
                        "-x", str(width), "-y", str(height), *command],
                       check=True, env=env, timeout=30)

    def text(self) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p"],
                              capture_output=True, text=True, timeout=10)
        return done.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", *keys], check=True,
                       timeout=10)

    def wait(self, condition: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; the screen:\n{screen}")
            time.sleep(0.25)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=10)


def _row(screen: str, broker_id: int) -> str:
    """The Cluster table's line of one broker."""
    for line in screen.splitlines():
        if re.match(rf"^\s*{broker_id}\s{{2,}}\S", line):
            return line
    return ""


def _read_age(screen: str) -> int | None:
    match = re.search(r"read (\d+)s ago", screen)
    return int(match.group(1)) if match else None


def test_the_real_console_ticks_and_shows_a_stopped_broker_down(sandbox, report_topic):
    if os.environ.get("PS_SANDBOX_REUSE"):
        pytest.skip("stops a broker: never against the shared sandbox")
    victim = sorted(sandbox.broker_ids)[-1]
    # A report made now, so that its age is in seconds and visibly moves.
    produce(sandbox.bootstrap, report_topic,
            [(basic_report(int(time.time()), "tok-1"), {"broker.id": "1"})])
    pane = Pane([str(BIN / "ps-console"), "--zookeeper", sandbox.zk_connect,
                 "--topic", report_topic])
    try:
        screen = pane.wait(lambda s: all(_row(s, b) for b in sandbox.broker_ids), 60,
                           "the three brokers")
        assert "Traceback" not in screen
        # Ages tick with no key pressed: the header's read age and broker 1's report age.
        first = pane.wait(lambda s: _read_age(s) is not None, 10, "the read age")
        age_before = _read_age(first)
        row_before = _row(first, 1)
        time.sleep(3)
        later = pane.text()
        age_after = _read_age(later)
        assert age_before is not None and age_after is not None and age_after >= \
            age_before + 2, (first, later)
        assert re.search(r"\b\d+s\b", row_before) and _row(later, 1) != row_before

        sandbox.box.stop_broker(victim)
        try:
            # The DOWN row, then the health rules' broker-down line of the evaluation
            # that follows it.
            down = pane.wait(lambda s: "DOWN since" in _row(s, victim) and
                             f"broker {victim} is not registered" in s, 90,
                             f"broker {victim} DOWN")
            assert all(_row(down, b) for b in sandbox.broker_ids)  # still listed
        finally:
            sandbox.box.start_broker(victim)
        pane.wait(lambda s: " ok " in _row(s, victim) + " " and "not registered" not in s,
                  120, f"broker {victim} back")
        pane.keys("q")
        pane.wait(lambda s: "ps-console" not in s, 15, "the console to quit")
    finally:
        pane.kill()
