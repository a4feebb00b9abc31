"""Running real `ps-console agent` processes against a sandbox, for the agent tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.ps_report_helpers import broker_config_copy

REPO = Path(__file__).resolve().parents[2]
PS_CONSOLE = str(Path(sys.executable).with_name("ps-console"))
KAFKA_HOME = REPO / ".sandbox" / "lib" / "kafka-3.9.2"


def agent_config(sandbox, broker_id: int, folder: Path, topic: str, http_url: str | None,
                 customer_id: str = "anonymous") -> Path:
    """A copy of the sandbox broker's server.properties with Proactive Support settings:
    the test's topic, HTTP to `http_url` only (or no HTTP at all)."""
    extra = {"confluent.support.metrics.topic": topic,
             "confluent.support.customer.id": customer_id,
             "confluent.support.metrics.endpoint.secure.enable": "false"}
    if http_url:
        extra["confluent.support.metrics.endpoint.insecure"] = http_url
    else:
        extra["confluent.support.metrics.endpoint.insecure.enable"] = "false"
    return broker_config_copy(sandbox, broker_id, folder, extra)


def set_property(path: Path, key: str, value: str) -> None:
    """Change one line of a properties file (atomic rename, like an editor's save)."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith(key + "=")]
    lines.append(f"{key}={value}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


class AgentProcess:
    """One `ps-console agent` subprocess with its stderr in a file."""

    def __init__(self, config: Path, state_dir: Path, interval: float = 2,
                 extra: list[str] | None = None, kafka_home: Path = KAFKA_HOME) -> None:
        self.log_path = state_dir.with_suffix(".log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PS_CONSOLE, "agent", "--broker-config", str(config),
             "--kafka-home", str(kafka_home), "--interval-seconds", str(interval),
             "--state-dir", str(state_dir), *(extra or [])],
            stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def report_lines(self) -> list[str]:
        return re.findall(r"report broker=\d+ .*", self.log)

    def wait_log(self, predicate: Callable[[str], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.log):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited ({self.proc.returncode}):\n{self.log}")
            time.sleep(0.2)
        raise AssertionError(f"{what} not seen within {timeout} s:\n{self.log}")

    def terminate(self, timeout: float = 12.0) -> tuple[int | None, float]:
        """SIGTERM; (exit code, seconds it took), or (None, timeout) if it hung."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, timeout
        return code, time.monotonic() - started

    def stop(self) -> None:
        """Kill if still running (test teardown) and close the log."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PS_CONSOLE, *args], capture_output=True, text=True,
                          timeout=timeout)


def run_elsewhere(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`ps-console ARGS` as a host without the broker sees it: in a PID namespace of its
    own, whose /proc shows no broker JVM (same network, same files)."""
    import shutil

    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is needed to hide the broker's JVM"
    return subprocess.run([unshare, "--pid", "--fork", "--mount-proc", PS_CONSOLE, *args],
                          capture_output=True, text=True, timeout=timeout)
