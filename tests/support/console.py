"""Helpers of the console tests: encoded reports on a unique support topic, the real app on
a sandbox, and a wait on the app's state."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from engine.reporting.records import encode
from tests.support.cluster import location
from tui.app import ConsoleApp
from tui.backend import ClusterBackend
from tui.config import load_config

SIZE = (120, 40)


def table_rows(table) -> list[list[str]]:
    """The cells of every row of a Reports table (a `VirtualTable`) as text; a row not
    read yet is an empty list."""
    return [[c.plain for c in (table.cells_at(r) or ())] for r in range(table.row_count)]


def status_of(screen) -> str:
    """The Reports screen's status line."""
    return str(screen.query_one("#reports-status").visual)


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


def sandbox_app(sandbox, topic: str, **config: object) -> ConsoleApp:
    cfg = load_config(None)
    for key, value in config.items():
        setattr(cfg, key, value)
    # ZooKeeper when the cluster has it, else (KRaft) the bootstrap list: as an operator
    # would start the console on each kind.
    cfg.zookeeper = sandbox.zk_connect
    cfg.bootstrap = None if sandbox.zk_connect else sandbox.bootstrap
    cfg.topic = topic
    target = location(**sandbox.where, timeout=10)
    return ConsoleApp(cfg, ClusterBackend(target, topic, cfg.broker_configs,
                                                cfg.health))


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until `condition` holds; fail with the app's state after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            app = pilot.app
            pytest.fail(f"timed out; screen {type(app.screen).__name__}, "
                        f"state {app.conn_state!r}")
        await pilot.pause(0.1)
