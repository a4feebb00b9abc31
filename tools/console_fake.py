"""A deterministic in-memory backend for snapshot tests and screenshots only: a fixed
cluster, fixed reports and a fixed clock, so every render is the same byte for byte."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.cluster.model import Broker, Endpoint
from engine.config.settings import load_settings
from engine.reporting.outcome import DestinationResult
from engine.reporting.records import decode, encode
from engine.reporting.report_now import ReportOutcome
from tui.backend import SettingsChange
from tui.config import ConsoleConfig
from tui.model import ClusterSnapshot, ReportRow

NOW = 1_790_000_000.0  # 2026-09-21 12:53:20 UTC
TOPIC = "__confluent.support.metrics"
CLUSTER_ID = "q7J3xYkFRbO0mS2lTgq9Vw"


def _record(broker: int, age_s: int, kafka: str = "3.9.2") -> dict[str, Any]:
    return {"timestamp": int(NOW) - age_s, "kafkaVersion": kafka,
            "confluentPlatformVersion": "7.9.0", "collectorState": 2,
            "brokerProcessUUID": f"5f0c1e2a-0000-4000-8000-00000000000{broker}",
            "clusterId": CLUSTER_ID}


def _row(offset: int, broker: int | None, value: bytes) -> ReportRow:
    decoded = decode(value)
    ts = (decoded.record or {}).get("timestamp")
    return ReportRow(key=f"0@{offset}", broker_id=broker,
                     timestamp_ms=ts * 1000 if isinstance(ts, int) else int(NOW * 1000) - 60_000,
                     decoded=decoded, size=len(value), partition=0, offset=offset, value=value)


def _fixed_sync(value: bytes) -> bytes:
    """Avro containers end with a random sync marker; pin it so hex views never change."""
    sync = value[-16:]
    return value.replace(sync, bytes(range(16)))


def fixed_rows() -> list[ReportRow]:
    rows = []
    for offset, (broker, age, kafka) in enumerate(
            [(1, 90_000, "3.9.2"), (2, 3_000, "3.9.2"), (3, 2_400, "3.8.1"),
             (1, 600, "3.9.2"), (2, 540, "3.9.2")]):
        rows.append(_row(offset, broker, _fixed_sync(encode(_record(broker, age, kafka),
                                                            "basic"))))
    rows.append(_row(5, None, b"\x00\x01not an avro container"))
    return rows


def fixed_brokers() -> list[Broker]:
    return [Broker(id=i, endpoints=(Endpoint("PLAINTEXT", "PLAINTEXT", f"kafka-{i}.example",
                                             9092),),
                   rack=f"rack-{'ab'[i % 2]}", jmx_port=None,
                   registered_at_ms=int(NOW * 1000) - 86_400_000 * i, session_id=100 + i,
                   raw_version=5) for i in (1, 2, 3)]


class FakeBackend:
    """Same methods as `tui.backend.Backend`, answered from memory (and the settings file
    the test gives, which is real: the form reads and diffs it)."""

    def __init__(self, bundle: str | None = None, broker_configs: tuple[str, ...] = ()) -> None:
        self.topic = TOPIC
        self.bundle = bundle
        self.broker_configs = broker_configs
        self.watchable = bundle is None
        self.rows = fixed_rows()

    @property
    def offline(self) -> bool:
        return self.bundle is not None

    @property
    def description(self) -> str:
        return f"bundle {Path(self.bundle).name}" if self.bundle else "zk zk-1:2181/kafka"

    def snapshot(self) -> ClusterSnapshot:
        latest: dict[int, ReportRow] = {}
        for row in self.rows:
            if row.broker_id is not None:
                latest[row.broker_id] = row
        return ClusterSnapshot(cluster_id=CLUSTER_ID, controller_id=2,
                               brokers=fixed_brokers(), latest=latest, topic=TOPIC,
                               support_replicas=2, intervals_hours={1: 24.0, 2: 24.0, 3: 0.5})

    def watch(self, on_event: Callable[[Any], None]) -> Any:
        return SimpleNamespace(stop=lambda: None)

    def latest_reports(self, broker_ids: list[int] | None = None) -> list[ReportRow]:
        latest: dict[Any, ReportRow] = {}
        for row in self.rows:
            latest[row.broker_id if row.broker_id is not None else row.key] = row
        return list(latest.values())

    def history(self, broker_id: int | None, cancel: threading.Event
                ) -> Iterator[list[ReportRow]]:
        yield [r for r in self.rows if broker_id is None or r.broker_id == broker_id]

    def raw_value(self, row: ReportRow) -> bytes | None:
        return row.value

    def default_bundle_name(self) -> str:
        return f"support-metrics-{TOPIC}.20260921-125320.zip"

    def export(self, path: str, runtime: float, progress: Callable[[Any], None],
               cancel: threading.Event) -> Any:
        progress(SimpleNamespace(records=6, total=6, elapsed=0.2))
        return SimpleNamespace(path=path, records=6, total=6, size_bytes=4_410, complete=True)

    def load_settings(self, path: str) -> Any:
        return load_settings(path)

    def save_settings(self, change: SettingsChange) -> Path:
        return change.loaded.save(change.changes)

    def send_plan(self, broker_config: str) -> list[tuple[str, str]]:
        return [("topic", TOPIC), ("https", "https://support-metrics.confluent.io")]

    def report_now(self, broker_config: str, dry_run: bool) -> Any:
        record = _record(1, 0)
        value = encode(record, "basic")
        if dry_run:
            dests = [DestinationResult(d, False, "dry run", skipped=True)
                     for d in ("topic", "https", "http")]
        else:
            dests = [DestinationResult("topic", True, f"{TOPIC} partition 0 offset 6"),
                     DestinationResult("https", True, "HTTP 200"),
                     DestinationResult("http", False, "insecure endpoint disabled",
                                       skipped=True)]
        return ReportOutcome(1, enabled=True, dry_run=dry_run, schema="basic",
                             record=record, value=value, destinations=dests)


SERVER_PROPERTIES = """\
# A broker of the snapshot cluster
broker.id=1
zookeeper.connect=zk-1:2181/kafka
log.dirs=/var/lib/kafka
confluent.support.metrics.enable=true
confluent.support.customer.id=anonymous
"""


def fake_app(read_only: bool = False, bundle: bool = False,
             broker_configs: tuple[str, ...] = ("server.properties",)) -> Any:
    """The real app on the fake backend. Paths are relative so that renders do not show a
    temporary folder: run it with a folder holding `server.properties` as the current one
    (`write_broker_config`)."""
    from tui.app import ConsoleApp

    cfg = ConsoleConfig(zookeeper=None if bundle else "zk-1:2181/kafka",
                        broker_configs=broker_configs, read_only=read_only)
    backend = FakeBackend(bundle="support-metrics-ticket-4711.zip" if bundle else None,
                          broker_configs=cfg.broker_configs)
    return ConsoleApp(cfg, backend, clock=lambda: NOW, watch=False)  # type: ignore[arg-type]


def write_broker_config(folder: Path) -> Path:
    path = folder / "server.properties"
    path.write_text(SERVER_PROPERTIES)
    return path


async def settle(pilot: Any) -> None:
    """Wait for workers and messages, and stop cursors blinking, before a snapshot."""
    from textual.widgets import Input

    app = pilot.app
    for _ in range(5):  # a handler may start a worker that posts again: a few rounds
        await app.workers.wait_for_complete()
        await pilot.pause()
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False
    await pilot.pause()
