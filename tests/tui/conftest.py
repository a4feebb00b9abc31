"""Fixtures of the console tests: a console config that ignores the user's own files,
a unique support topic filled with encoded reports, and a helper to wait on the app."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from engine.records import encode
from engine.target import ClusterTarget
from tui.app import ConsoleApp
from tui.backend import Backend
from tui.config import ConsoleConfig, load_config

SIZE = (120, 40)


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


def basic_report(ts: int, token: str, kafka: str = "3.9.2") -> bytes:
    return encode({"timestamp": ts, "kafkaVersion": kafka, "confluentPlatformVersion": None,
                   "collectorState": 2, "brokerProcessUUID": token, "clusterId": "abc"},
                  "basic")


def make_topic(bootstrap: str, prefix: str = "ps-tui") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)]
                        )[name].result(timeout=30)
    return name


def produce(bootstrap: str, topic: str, items: list[tuple[bytes, dict[str, str]]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20,
                         "enable.idempotence": True})  # keeps produce order on retries
    for value, headers in items:
        producer.produce(topic, value=value, headers=list(headers.items()))
        producer.poll(0)
    assert producer.flush(30) == 0


@pytest.fixture
def report_topic(sandbox) -> str:
    """A fresh topic: two rounds of reports from brokers 1-3 and one undecodable record."""
    topic = make_topic(sandbox.bootstrap)
    now = int(time.time())
    items = [(basic_report(now - 120 + n, f"tok-{n % 3 + 1}"), {"broker.id": str(n % 3 + 1)})
             for n in range(6)]
    items.append((b"\x00not a report", {}))
    produce(sandbox.bootstrap, topic, items)
    return topic


def sandbox_app(sandbox, topic: str, **config: object) -> ConsoleApp:
    cfg = load_config(None)
    for key, value in config.items():
        setattr(cfg, key, value)
    cfg.zookeeper = sandbox.zk_connect
    cfg.topic = topic
    target = ClusterTarget(zookeeper=sandbox.zk_connect, timeout=10)
    return ConsoleApp(cfg, Backend(target, topic, cfg.broker_configs))


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until `condition` holds; fail with the app's state after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            app = pilot.app
            pytest.fail(f"timed out; screen {type(app.screen).__name__}, "
                        f"state {app.conn_state!r}")
        await pilot.pause(0.1)


__all__ = ["SIZE", "ConsoleConfig", "basic_report", "make_topic", "produce", "sandbox_app",
           "wait_for"]
