"""A deterministic in-memory backend for snapshot tests and screenshots only: a fixed
cluster, fixed reports and a fixed clock, so every render is the same byte for byte.

`FakeBackend` implements `tui.backend.ConsoleBackend` (a type checker holds it to that) and
answers through the same engine rules as the real adapters: only the data is fixed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Generator, Sequence
from pathlib import Path
from typing import Any

from engine.cluster.location import ClusterOptions, locate
from engine.cluster.model import Broker, ClusterEvent, ClusterView, Endpoint
from engine.config.settings import SettingsFile, load_settings
from engine.health.config import YEAR_MS, HealthConfig
from engine.health.facts import (
    ControllerFacts,
    HealthFacts,
    PartitionFacts,
    PartitionState,
    SupportTopicFacts,
    horizon_s,
)
from engine.health.monitor import Evaluation, HealthMonitor
from engine.health.report_window import ReportFacts
from engine.reading import rules
from engine.reading.bundle import BundleFacts, ExportProgress, ExportResult
from engine.reading.history import History, ListHistory
from engine.reading.report import Report, ReportSummary, build_report
from engine.reading.reports import TailMark
from engine.reporting.outcome import DestinationResult
from engine.reporting.records import encode
from engine.reporting.report_now import ReportOutcome
from tui.backend import SettingsChange, Stoppable
from tui.config import ConsoleConfig
from tui.model import ClusterSnapshot

NOW = 1_790_000_000.0  # 2026-09-21 12:53:20 UTC
TOPIC = "__confluent.support.metrics"
CLUSTER_ID = "q7J3xYkFRbO0mS2lTgq9Vw"
WORKDIR = "/home/operator"


DAY = 86_400
# Broker 1's second runtime (after its restart); its first runtime's token is TOKEN_A.
TOKEN_A = "0b7d4c6e-1a2b-4c3d-8e9f-a0b1c2d3e4f5"


def _token(broker: int) -> str:
    return f"5f0c1e2a-0000-4000-8000-00000000000{broker}"


def _record(broker: int, age_s: int, kafka: str = "3.9.2", token: str | None = None,
            state: int = 2) -> dict[str, Any]:
    return {"timestamp": int(NOW) - age_s, "kafkaVersion": kafka,
            "confluentPlatformVersion": "7.9.0", "collectorState": state,
            "brokerProcessUUID": token or _token(broker), "clusterId": CLUSTER_ID}


def enhanced_record(broker: int, age_s: int, token: str | None = None,
                    state: int = 2) -> dict[str, Any]:
    """An Enhanced report as a customer's agent sends it: some figures observed, some not
    (-1), a broker configuration with long keys."""
    basic = _record(broker, age_s, token=token, state=state)
    return {
        "timestamp": basic["timestamp"],
        "jvmStartTimeMs": (int(NOW) - age_s - 3 * DAY) * 1000,
        "jvmUptimeMs": 3 * DAY * 1000,
        "clusterId": CLUSTER_ID, "brokerId": broker, "kafkaVersion": "3.9.2",
        "confluentPlatformVersion": "7.9.0", "collectorState": state,
        "brokerProcessUUID": basic["brokerProcessUUID"],
        "brokerMetrics": {
            "brokerConfiguration": {
                "broker.id": str(broker), "num.network.threads": "3",
                "num.io.threads": "8", "log.retention.hours": "168",
                "offsets.topic.replication.factor": "3",
                "transaction.state.log.replication.factor": "3",
                "transaction.state.log.min.isr": "2", "auto.create.topics.enable": "false",
                "confluent.support.metrics.enable": "true",
                "confluent.support.customer.id": "c0",
                "confluent.support.metrics.report.interval.hours": "24",
                "group.initial.rebalance.delay.ms": "3000",
            },
            "javaSystemProperties": {"java.version": "17.0.15", "java.vendor": "Eclipse Adoptium",
                                     "java.awt.headless": "true"},
            "jvmRuntimeEnvironment": {"availableProcessors": 4, "freeMemoryBytes": -1,
                                      "maxMemoryBytes": 1_073_741_824, "totalMemoryBytes": -1},
            "brokerStatistics": {"writtenBytes": 734_003_200, "readBytes": -1,
                                 "bytesInRate": 12_288.0, "bytesOutRate": -1.0,
                                 "numPartitions": 51},
        },
        "clusterMetrics": {
            "replicationHistogram": [0, 2, 0, 17, 0, 0],
            "minIsrHistogram": [0, 0, 12, 0, 0, 0],
            "numberTopics": 19, "numberPartitions": 153, "numberTopicsZk": 19,
            "zookeeperStats": [{"Zookeeper version": "3.8.4", "Mode": "leader",
                                "Latency min/avg/max": "0/1.2/31", "Connections": "7"}],
            "uncleanLeaderElectionHistogram": [19, 0],
        },
    }


def _report(offset: int, broker: int | None, value: bytes, written_s: int) -> Report:
    headers = {"broker.id": str(broker).encode()} if broker is not None else {}
    return build_report(value, partition=0, offset=offset, headers=headers,
                        kafka_ms=written_s * 1000)


def _fixed_sync(value: bytes) -> bytes:
    """Avro containers end with a random sync marker; pin it so hex views never change."""
    sync = value[-16:]
    return value.replace(sync, bytes(range(16)))


# (broker, age in seconds, what): broker 1's history tells a story, Basic then Enhanced
# (its customer id set), a shutdown report and a restart (new token), four days of
# silence, an undecodable record, and Basic again; brokers 2 and 3 report plainly.
_TOPIC: list[tuple[int | None, int, str]] = [
    (1, 9 * DAY, "basic A"), (1, 8 * DAY, "basic A"), (1, 7 * DAY, "enhanced A"),
    (1, 6 * DAY, "enhanced A shutdown"), (1, 6 * DAY - 600, "enhanced B"),
    (1, 2 * DAY, "enhanced B"), (1, 90_000, "enhanced B"), (2, 3_000, "basic"),
    (3, 2_400, "basic 3.8.1"), (1, 43_200, "garbage"), (1, 600, "basic B"),
    (2, 540, "basic"), (None, 60, "garbage"),
]


def fixed_reports() -> list[Report]:
    """The fake topic, in topic order (see `_TOPIC`)."""
    reports = []
    for offset, (broker, age, what) in enumerate(_TOPIC):
        written = int(NOW) - age + 1  # sent a second after it was made
        if what == "garbage":
            reports.append(_report(offset, broker, b"\x00\x01not an avro container",
                                   written))
            continue
        token = TOKEN_A if what.endswith(" A") or " A " in what else None
        state = 1 if "shutdown" in what else 2
        if what.startswith("enhanced"):
            record = enhanced_record(1, age, token=token, state=state)
            value = encode(record, "enhanced")
        else:
            kafka = "3.8.1" if "3.8.1" in what else "3.9.2"
            value = encode(_record(broker or 0, age, kafka, token=token, state=state),
                           "basic")
        reports.append(_report(offset, broker, _fixed_sync(value), written))
    return reports


def fixed_brokers() -> list[Broker]:
    return [Broker(id=i, endpoints=(Endpoint("PLAINTEXT", "PLAINTEXT", f"kafka-{i}.example",
                                             9092),),
                   rack=f"rack-{'ab'[i % 2]}", jmx_port=None,
                   registered_at_ms=int(NOW * 1000) - 86_400_000 * i, session_id=100 + i,
                   raw_version=5) for i in (1, 2, 3)]


# The brokers' report intervals the fake's server.properties would give (hours).
INTERVALS_HOURS = {1: 24.0, 2: 24.0, 3: 0.5}
# One partition of a local topic lost a replica from its ISR (under-replicated, not yet
# under its min.insync.replicas of 2).
SHORT_PARTITION = PartitionState("orders", 4, leader=1, replicas=(1, 2, 3), isr=(1, 2))


def basic_report(offset: int, broker: int, age_s: int, kafka: str = "3.9.2") -> Report:
    """A Basic report of `broker` made `age_s` before NOW, at `offset` of the fake topic."""
    value = encode(_record(broker, age_s, kafka), "basic")
    return _report(offset, broker, _fixed_sync(value), int(NOW) - age_s + 1)


class _NoWatch:
    def stop(self) -> None:
        pass


class FakeBackend:
    """`tui.backend.ConsoleBackend` answered from memory (and the settings file the test
    gives, which is real: the form reads and diffs it). Listings are summaries, as the
    real adapters give them; `report` hands the fields over like a read by position."""

    def __init__(self, bundle: str | None = None, broker_configs: tuple[str, ...] = (),
                 health: HealthConfig | None = None) -> None:
        self.topic = TOPIC
        self.bundle = bundle
        self.broker_configs = broker_configs
        self.reports = fixed_reports()
        # What a test may change between refreshes (a broker leaves, a partition heals).
        self.brokers = fixed_brokers()
        self.unhealthy: list[PartitionState] = [SHORT_PARTITION]
        self.support_replicas = 2
        self.clock: Callable[[], float] = lambda: NOW  # a test may move it with the app's
        config = (health or HealthConfig()).with_intervals(
            {b: h * 3600 for b, h in INTERVALS_HOURS.items()})
        self._monitor = HealthMonitor(locate(ClusterOptions(zookeeper="zk-1:2181/kafka")),
                                      TOPIC, config, clock=lambda: self.clock())

    def registered_brokers(self) -> list[Broker]:
        """The brokers registered now (the snapshot's and the health rules')."""
        return list(self.brokers)

    @property
    def offline(self) -> bool:
        return self.bundle is not None

    @property
    def watchable(self) -> bool:
        return self.bundle is None

    @property
    def description(self) -> str:
        return f"bundle {Path(self.bundle).name}" if self.bundle else "zk zk-1:2181/kafka"

    def snapshot(self, known: Collection[int] = ()) -> ClusterSnapshot:
        latest = {r.broker_id: r for r in rules.latest_per_subject(self.reports)
                  if r.broker_id is not None}
        return ClusterSnapshot(cluster_id=CLUSTER_ID, controller_id=2,
                               brokers=self.registered_brokers(), latest=latest, topic=TOPIC,
                               support_replicas=self.support_replicas,
                               intervals_hours=dict(INTERVALS_HOURS))

    def watch(self, on_event: Callable[[ClusterEvent], None]) -> Stoppable:
        return _NoWatch()

    def refresh(self, known: Collection[int] = ()) -> Generator[ClusterSnapshot | Evaluation, None, None]:
        yield self.snapshot(known)
        yield self.health()

    def health(self) -> Evaluation:
        """The real rules and tracker over the fake's facts (what `gather` would read
        from this cluster)."""
        if self.bundle is not None:
            from engine.errors import UsageError

            raise UsageError("the health rules need a cluster")
        config = self._monitor.config
        now = self.clock()
        horizon_ms = int((now - horizon_s(config)) * 1000)
        attributed = rules.attribute(self.reports)
        latest = {r.broker_id: r for r in rules.latest_per_subject(self.reports)
                  if r.broker_id is not None and isinstance(r, Report)}
        recent = tuple(r.summary() for r in attributed
                       if r.kafka_ms is not None and r.kafka_ms >= horizon_ms)
        view = ClusterView(cluster_id=CLUSTER_ID, controller_id=2,
                           brokers=tuple(self.registered_brokers()), topics=19, partitions=153,
                           source="zookeeper")
        partitions = PartitionFacts(
            topics=19, partitions=153, unhealthy=tuple(self.unhealthy),
            checked=tuple(p for p in self.unhealthy if p.topic == "orders"),
            min_isr={"orders": 2}, default_min_isr=1)
        facts = HealthFacts(
            now=now, topic=TOPIC, view=view,
            controller=ControllerFacts(2, int((NOW - 5 * DAY) * 1000), 7),
            partitions=partitions,
            support=SupportTopicFacts(TOPIC, True, 1, self.support_replicas, YEAR_MS),
            reports=ReportFacts(TOPIC, latest, recent, horizon_ms, complete=True))
        return self._monitor.evaluate_facts(facts)

    def observe(self, event: ClusterEvent) -> None:
        self._monitor.observe(event)

    def latest_reports(self, broker_ids: Sequence[int] | None = None
                       ) -> list[ReportSummary]:
        return list(rules.latest_per_subject(self.reports))

    def poll_latest(self, mark: TailMark | None) -> tuple[list[ReportSummary], TailMark, bool]:
        return [], {0: len(self.reports)}, False  # the fake topic never grows

    def open_history(self, broker_id: int | None, interval_s: float) -> History:
        chosen = (rules.attribute(self.reports) if broker_id is None
                  else rules.history(self.reports, broker_id))
        label = f"history of broker {broker_id}" if broker_id is not None else "every report"
        return ListHistory([r.summary() for r in chosen], label, interval_s,
                           span_ms=rules.span_ms(self.reports))

    def bundle_facts(self) -> BundleFacts | None:
        if self.bundle is None:
            return None
        return BundleFacts(name=self.bundle, cluster_id=CLUSTER_ID, cluster_from_records=False,
                           topic=TOPIC, records=len(self.reports),
                           total_offsets=len(self.reports), complete=True,
                           created="2026-09-21T12:53:20Z", tool="ps-console 0.1.0",
                           entries=len(self.reports),
                           decoded=sum(1 for r in self.reports if r.ok))

    def report(self, summary: ReportSummary) -> Report | None:
        return next((r for r in self.reports if r.key == summary.key), None)

    def raw_value(self, summary: ReportSummary) -> bytes | None:
        found = self.report(summary)
        return found.value if found is not None else None

    def close(self) -> None:
        pass

    def default_bundle_name(self) -> str:
        return f"support-metrics-{TOPIC}.20260921-125320.zip"

    def export(self, path: str, runtime: float, progress: Callable[[ExportProgress], None],
               cancel: threading.Event) -> ExportResult:
        progress(ExportProgress(records=6, total=6, size_bytes=4_410, elapsed=0.2))
        return ExportResult(path=path, records=6, total=6, size_bytes=4_410, complete=True)

    def load_settings(self, path: str) -> SettingsFile:
        return load_settings(path)

    def save_settings(self, change: SettingsChange) -> Path:
        return change.loaded.save(change.changes)

    def send_plan(self, broker_config: str) -> list[tuple[str, str]]:
        return [("topic", TOPIC), ("https", "https://support-metrics.confluent.io")]

    def report_now(self, broker_config: str, dry_run: bool) -> ReportOutcome:
        record = enhanced_record(1, 0)  # its customer id is set: an Enhanced report
        value = encode(record, "enhanced")
        if dry_run:
            dests = [DestinationResult(d, False, "dry run", skipped=True)
                     for d in ("topic", "https", "http")]
        else:
            dests = [DestinationResult("topic", True, f"{TOPIC} partition 0 offset 6"),
                     DestinationResult("https", True, "HTTP 200"),
                     DestinationResult("http", False, "insecure endpoint disabled",
                                       skipped=True)]
        return ReportOutcome(1, enabled=True, dry_run=dry_run, schema="enhanced",
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
             broker_configs: tuple[str, ...] = ("server.properties",),
             health: HealthConfig | None = None) -> Any:
    """The real app on the fake backend. Paths are relative so that renders do not show a
    temporary folder: run it with a folder holding `server.properties` as the current one
    (`write_broker_config`)."""
    from tui.app import ConsoleApp

    cfg = ConsoleConfig(zookeeper=None if bundle else "zk-1:2181/kafka",
                        broker_configs=broker_configs, read_only=read_only,
                        health=health or HealthConfig())
    backend = FakeBackend(bundle="support-metrics-ticket-4711.zip" if bundle else None,
                          broker_configs=cfg.broker_configs, health=cfg.health)
    app = ConsoleApp(cfg, backend, clock=lambda: NOW, watch=False)
    # Renders name no temporary folder; the fake backend writes nothing there.
    app.workdir = Path(WORKDIR)
    return app


def write_broker_config(folder: Path) -> Path:
    path = folder / "server.properties"
    path.write_text(SERVER_PROPERTIES)
    return path


async def settle(pilot: Any) -> None:
    """Wait for workers and messages, and stop cursors blinking, before a snapshot."""
    from textual.widgets import Input

    app = pilot.app
    # The first look at the cluster starts after the first frame; a key pressed before it
    # lands would open a dialog over a table still filling (bounded: 5 s).
    for _ in range(100):
        if app.backend.offline or app.snapshot is not None:
            break
        await pilot.pause(0.05)
    # A table measures its columns when idle, then paints again: let both happen before a
    # dialog covers it (the screen under a dialog keeps its last paint).
    await pilot.pause(0.1)
    for _ in range(5):  # a handler may start a worker that posts again: a few rounds
        await app.workers.wait_for_complete()
        await pilot.pause()
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False
    await pilot.pause()
