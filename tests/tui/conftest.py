"""Fixtures of the console tests: a console config that ignores the user's own files, and a
unique support topic filled with encoded reports."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.console import basic_report, make_topic, produce


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "private_sandbox: stops brokers; never run it "
                                       "against the shared sandbox (PS_SANDBOX_REUSE)")


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests are async; anyio's pytest plugin (installed with httpx) runs them."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's own config file and PS_CONSOLE_* variables stay out of every test."""
    import os

    for name in list(os.environ):
        if name.startswith("PS_CONSOLE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PS_CONSOLE_CONFIG", str(tmp_path / "no-config" / "config.toml"))


@pytest.fixture
def report_topic(request: pytest.FixtureRequest) -> str:
    """A fresh topic: two rounds of reports from brokers 1-3 and one undecodable record, on
    the test's own cluster (`cluster`, either kind, or the ZooKeeper `sandbox` of the tests
    that stop its processes)."""
    cluster = request.getfixturevalue("cluster" if "cluster" in request.fixturenames
                                      else "sandbox")
    topic = make_topic(cluster.bootstrap)
    now = int(time.time())
    items = [(basic_report(now - 120 + n, f"tok-{n % 3 + 1}"), {"broker.id": str(n % 3 + 1)})
             for n in range(6)]
    items.append((b"\x00not a report", {}))
    produce(cluster.bootstrap, topic, items)
    return topic
