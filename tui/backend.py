"""The only place the console calls the engine: a typed `ConsoleBackend` protocol and its two
adapters, `ClusterBackend` (a live cluster) and `BundleBackend` (a bundle opened offline).

The adapters hold no rules of their own: which report is the latest, whose a Basic report
is and what a history holds come from `engine.reading.rules`; where a report would be sent
from `engine.config.settings`. The test fake (`tools.console_fake.FakeBackend`) implements
the same protocol.

Every method may block (ZooKeeper, Kafka, disk), so the app calls them from thread workers
only and turns what they return into messages. Engine modules that pull in kazoo,
confluent-kafka or fastavro are imported inside the methods: importing them takes a
noticeable part of a second, and the first frame must not wait for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from engine.cluster.location import DEFAULT_TOPIC, ClusterLocation
from engine.errors import UsageError
from engine.reading import rules
from engine.reading.report import Report, ReportSummary
from tui.model import ClusterSnapshot

if TYPE_CHECKING:
    from engine.cluster.model import ClusterEvent
    from engine.cluster.session import ClusterSession
    from engine.config.settings import SettingsFile
    from engine.health.config import HealthConfig
    from engine.health.monitor import Evaluation, HealthMonitor
    from engine.reading.bundle import (
        BundleFacts,
        BundleReader,
        ExportProgress,
        ExportResult,
        OpenedBundle,
    )
    from engine.reading.history import History
    from engine.reading.reports import TailMark
    from engine.reading.topic_reader import TopicReader
    from engine.reporting.report_now import ReportOutcome

# The console waits less than the CLI: a screen that stays empty for 10 s looks dead, and
# the retry loop brings it back once the service answers.
CONSOLE_TIMEOUT = 5.0
# Undecodable records the latest view keeps while following the topic (as many as a read
# of the latest keeps).
MAX_STRAYS = 20


@dataclass(frozen=True)
class SettingsChange:
    """A form's result: which file, which keys to set (raw strings), the loaded file."""

    path: str
    changes: dict[str, str]
    loaded: SettingsFile  # to detect a file changed meanwhile


class Stoppable(Protocol):
    """A running watch: `stop()` ends it (may block briefly; never on the UI thread)."""

    def stop(self) -> None: ...


class ConsoleBackend(Protocol):
    """What the console asks of the engine, for a live cluster or an offline bundle."""

    @property
    def topic(self) -> str:
        """The support topic."""
        ...

    @property
    def broker_configs(self) -> tuple[str, ...]:
        """The brokers' server.properties files the console was given."""
        ...

    @property
    def offline(self) -> bool:
        """True for a bundle: no cluster, nothing to write."""
        ...

    @property
    def watchable(self) -> bool:
        """Whether `watch` can follow the cluster live (ZooKeeper-mode clusters)."""
        ...

    @property
    def description(self) -> str:
        """Where the console looks, for the header."""
        ...

    def snapshot(self, known: Collection[int] = ()) -> ClusterSnapshot:
        """Discovery plus the latest report of each registered broker and of each broker
        in `known` (seen earlier, gone now: its last report tells how long ago it left)."""
        ...

    def watch(self, on_event: Callable[[ClusterEvent], None]) -> Stoppable:
        """Start following the cluster; `on_event` runs on another thread, must not block."""
        ...

    def refresh(self, known: Collection[int] = ()) -> Generator[ClusterSnapshot | Evaluation, None, None]:
        """One look at the cluster, in one cluster session: first its `snapshot` (the
        Cluster screen shows it at once), then every health rule evaluated once
        (`engine.health`) by one monitor kept for the backend's life, so that `since`,
        restarts and brokers registered earlier in this console session count. Blocks;
        never on the UI thread."""
        ...

    def observe(self, event: ClusterEvent) -> None:
        """A watch event for the health rules' memory (any thread; never blocks long)."""
        ...

    def latest_reports(self, broker_ids: Sequence[int] | None = None
                       ) -> list[ReportSummary]:
        """The latest report of every broker and token group, and the strays."""
        ...

    def poll_latest(self, mark: TailMark | None) -> tuple[list[ReportSummary], TailMark, bool]:
        """The reports that arrived since `mark` (None: only the mark of the end now), the
        new mark, and whether so many arrived that the latest should be read again."""
        ...

    def open_history(self, broker_id: int | None, interval_s: float) -> History:
        """The history of one broker (None: every report), rows newest first, read as the
        view asks (`engine.reading.history`); gaps judged against `interval_s`."""
        ...

    def bundle_facts(self) -> BundleFacts | None:
        """What an offline bundle says about itself; None for a live cluster."""
        ...

    def report(self, summary: ReportSummary) -> Report | None:
        """One report with its fields and bytes, read again by position when the listing
        did not keep them; None when it is gone."""
        ...

    def raw_value(self, summary: ReportSummary) -> bytes | None:
        """The bytes of one report (read again when the listing did not keep them)."""
        ...

    def default_bundle_name(self) -> str:
        """The file name an export suggests."""
        ...

    def export(self, path: str, runtime: float, progress: Callable[[ExportProgress], None],
               cancel: threading.Event) -> ExportResult:
        """Export the support topic into a bundle."""
        ...

    def load_settings(self, path: str) -> SettingsFile:
        """A broker's server.properties, for the Settings form."""
        ...

    def save_settings(self, change: SettingsChange) -> Path:
        """Write a form's changes; returns the backup's path."""
        ...

    def send_plan(self, broker_config: str) -> list[tuple[str, str]]:
        """Where a report of this broker would go, from its settings."""
        ...

    def report_now(self, broker_config: str, dry_run: bool) -> ReportOutcome:
        """Collect (and unless `dry_run`, send) one report of a broker now."""
        ...

    def close(self) -> None:
        """Release what the backend holds open (readers, files); idempotent."""
        ...


class _SettingsFiles:
    """The settings files part, the same whether or not a cluster is there."""

    def load_settings(self, path: str) -> SettingsFile:
        from engine.config.settings import load_settings

        return load_settings(path)

    def save_settings(self, change: SettingsChange) -> Path:
        return change.loaded.save(change.changes)

    def send_plan(self, broker_config: str) -> list[tuple[str, str]]:
        return self.load_settings(broker_config).send_plan()


def _with_detail(summary: ReportSummary) -> Report | None:
    """The summary itself when it already carries its fields (or has none to carry)."""
    if isinstance(summary, Report) and (summary.fields is not None or not summary.ok):
        return summary
    return None


# ------------------------------------------------------------------------------ live

class ClusterBackend(_SettingsFiles):
    """A live cluster: one cluster session per refresh, export or report; one topic reader
    kept for reading single reports again (the detail pane asks often)."""

    offline = False

    def __init__(self, location: ClusterLocation, topic: str = DEFAULT_TOPIC,
                 broker_configs: tuple[str, ...] = (),
                 health: HealthConfig | None = None) -> None:
        self.location = location
        self.topic = topic
        self.broker_configs = broker_configs
        self.health_config = health
        self._lock = threading.Lock()
        self._reader: TopicReader | None = None
        self._reader_session: ClusterSession | None = None
        self._monitor: HealthMonitor | None = None
        self._monitor_lock = threading.Lock()
        # Watch events that came before the first evaluation made the monitor.
        self._early: list[ClusterEvent] = []

    @property
    def watchable(self) -> bool:
        return self.location.zookeeper is not None

    @property
    def description(self) -> str:
        return self.location.description

    def _session(self) -> ClusterSession:
        from engine.cluster.session import ClusterSession

        return ClusterSession(self.location)

    # -- the cluster ---------------------------------------------------------------------

    def snapshot(self, known: Collection[int] = ()) -> ClusterSnapshot:
        """Discovery, then the latest report of each registered and each `known` broker
        (and of any other met on the way), in one cluster session; a topic that cannot be
        read still gives the brokers, with the reason in `reports_problem`."""
        with self._session() as session:
            return self._snapshot(session, known)

    def _snapshot(self, session: ClusterSession, known: Collection[int]) -> ClusterSnapshot:
        from engine.cluster.discovery import discover
        from engine.errors import PsError
        from engine.reading.reports import latest_per_broker

        view = discover(session)
        intervals, customer_ids = self._configured()
        snap = ClusterSnapshot(cluster_id=view.cluster_id, controller_id=view.controller_id,
                               brokers=sorted(view.brokers, key=lambda b: b.id),
                               topic=self.topic,
                               support_replicas=view.replication_factors.get(self.topic),
                               intervals_hours=intervals, customer_ids=customer_ids)
        try:
            wanted = {b.id for b in snap.brokers} | set(known)
            found = latest_per_broker(session, self.topic, sorted(wanted))
        except PsError as exc:
            snap.reports_problem = str(exc)
        else:
            snap.latest = {r.broker_id: r for r in found if r.broker_id is not None}
        return snap

    def _configured(self) -> tuple[dict[int, float], dict[int, str]]:
        """The report interval (hours) and customer id of every broker whose
        server.properties we were given."""
        from engine.config.settings import load_settings
        from engine.errors import PsError

        intervals: dict[int, float] = {}
        customer_ids: dict[int, str] = {}
        for path in self.broker_configs:
            try:
                sf = load_settings(path)
                broker_id = sf.broker.require_broker()
            except PsError:
                continue  # the Settings screen reports a bad file; here it only costs a hint
            plan = sf.plan
            if plan.interval_hours is not None:  # None: the agent does not report
                intervals[broker_id] = float(plan.interval_hours)
            customer_ids[broker_id] = plan.customer_id
        return intervals, customer_ids

    def watch(self, on_event: Callable[[ClusterEvent], None]) -> Stoppable:
        """Start ZooKeeper watches; `on_event` runs on a kazoo thread and must not block."""
        from engine.cluster.watch import ClusterWatch

        watch = ClusterWatch(self.location, on_event)
        watch.start()
        return watch

    # -- health --------------------------------------------------------------------------

    def _health_monitor(self) -> HealthMonitor:
        with self._monitor_lock:
            if self._monitor is None:
                # The monitor's modules import Kafka's client: only here, in a worker.
                from engine.health.config import HealthConfig, broker_intervals
                from engine.health.monitor import HealthMonitor

                config = self.health_config or HealthConfig()
                # As `ps-console health --broker-config`, but a bad file is the Settings
                # screen's to report: its broker keeps the configured default interval.
                config = config.with_intervals(broker_intervals(self.broker_configs,
                                                                strict=False))
                self._monitor = HealthMonitor(self.location, self.topic, config)
                for event in self._early:
                    self._monitor.observe(event)
                self._early.clear()
            return self._monitor

    def refresh(self, known: Collection[int] = ()) -> Generator[ClusterSnapshot | Evaluation, None, None]:
        with self._session() as session:
            yield self._snapshot(session, known)
            yield self._health_monitor().evaluate(session)

    def observe(self, event: ClusterEvent) -> None:
        with self._monitor_lock:
            monitor = self._monitor
            if monitor is None:
                del self._early[:-100]  # bounded: the first evaluation is seconds away
                self._early.append(event)
                return
        monitor.observe(event)

    # -- reports -------------------------------------------------------------------------

    def latest_reports(self, broker_ids: Sequence[int] | None = None
                       ) -> list[ReportSummary]:
        from engine.reading.reports import latest_per_broker

        with self._session() as session:
            return list(latest_per_broker(session, self.topic, broker_ids))

    def poll_latest(self, mark: TailMark | None) -> tuple[list[ReportSummary], TailMark, bool]:
        from engine.errors import PsError
        from engine.reading.reports import read_since

        with self._lock:
            try:
                found, now, overflow = read_since(self._detail_reader(), self.topic, mark)
            except PsError:
                self._drop_reader()
                raise
        return list(found), now, overflow

    def open_history(self, broker_id: int | None, interval_s: float) -> History:
        """A history read from the topic in the background by position (the index of
        `engine.reading.topic_history`); it keeps its own session and reader."""
        from engine.reading.topic_history import open_topic_history

        session = self._session()
        try:
            return open_topic_history(session, self.topic, broker_id, interval_s,
                                      on_close=session.close)
        except BaseException:
            session.close()
            raise

    def bundle_facts(self) -> BundleFacts | None:
        return None

    def report(self, summary: ReportSummary) -> Report | None:
        held = _with_detail(summary)
        if held is not None:
            return held
        from engine.errors import PsError
        from engine.reading.reports import read_one

        with self._lock:
            try:
                return read_one(self._detail_reader(), self.topic, summary)
            except PsError:
                self._drop_reader()  # the next ask starts afresh
                raise

    def _detail_reader(self) -> TopicReader:
        if self._reader is None:
            from engine.reading.topic_reader import TopicReader

            session = self._session()
            try:
                self._reader = TopicReader(session)
            except BaseException:
                session.close()
                raise
            self._reader_session = session
        return self._reader

    def _drop_reader(self) -> None:
        reader, self._reader = self._reader, None
        session, self._reader_session = self._reader_session, None
        if reader is not None:
            reader.close()
        if session is not None:
            session.close()

    def raw_value(self, summary: ReportSummary) -> bytes | None:
        if isinstance(summary, Report) and summary.value is not None:
            return summary.value
        found = self.report(summary)
        return found.value if found is not None else None

    def close(self) -> None:
        with self._lock:
            self._drop_reader()

    # -- writing -------------------------------------------------------------------------

    def default_bundle_name(self) -> str:
        from engine.reading.bundle import default_bundle_name

        return default_bundle_name(self.topic, datetime.now(UTC))

    def export(self, path: str, runtime: float, progress: Callable[[ExportProgress], None],
               cancel: threading.Event) -> ExportResult:
        from engine.reading.bundle import export_bundle

        with self._session() as session:
            return export_bundle(session, self.topic, path=path, runtime=runtime,
                                 progress=progress, cancel=cancel)

    def report_now(self, broker_config: str, dry_run: bool) -> ReportOutcome:
        from engine.reporting.report_now import report_now

        return report_now(broker_config, self.location, dry_run=dry_run)


# ------------------------------------------------------------------------------ offline

class BundleBackend(_SettingsFiles):
    """A bundle opened offline: read once (summaries of every entry, attributed by the
    rules), then kept open so one entry can be read again for the detail pane."""

    offline = True
    watchable = False

    def __init__(self, path: str, topic: str = DEFAULT_TOPIC,
                 broker_configs: tuple[str, ...] = ()) -> None:
        self.path = path
        self.topic = topic
        self.broker_configs = broker_configs
        self._lock = threading.Lock()
        self._reader: BundleReader | None = None
        self._opened: OpenedBundle | None = None

    @property
    def description(self) -> str:
        return f"bundle {Path(self.path).name}"

    def opened(self) -> OpenedBundle:
        """The bundle, read on first use (in a worker: it decodes every entry once)."""
        with self._lock:
            if self._opened is None:
                from engine.reading.bundle import BundleReader

                reader = BundleReader(self.path)
                try:
                    self._opened = reader.opened()
                except BaseException:
                    reader.close()
                    raise
                self._reader = reader
            return self._opened

    def _offline(self, what: str) -> UsageError:
        return UsageError(f"{what} needs a cluster; {self.description} is read offline")

    def snapshot(self, known: Collection[int] = ()) -> ClusterSnapshot:
        raise self._offline("the cluster view")

    def watch(self, on_event: Callable[[ClusterEvent], None]) -> Stoppable:
        raise self._offline("watching")

    def refresh(self, known: Collection[int] = ()) -> Generator[ClusterSnapshot | Evaluation, None, None]:
        # The rules judge a cluster as it is now (registrations, partitions, the topic's
        # settings); a bundle holds reports only, of some time ago.
        raise self._offline("the cluster view and the health rules")

    def observe(self, event: ClusterEvent) -> None:
        pass  # a bundle has no watch

    def latest_reports(self, broker_ids: Sequence[int] | None = None
                       ) -> list[ReportSummary]:
        latest = rules.latest_per_subject(self.opened().entries)
        if broker_ids is None:
            return latest
        wanted = set(broker_ids)
        return [r for r in latest if r.broker_id is None or r.broker_id in wanted]

    def poll_latest(self, mark: TailMark | None) -> tuple[list[ReportSummary], TailMark, bool]:
        return [], {}, False  # a bundle never grows

    def open_history(self, broker_id: int | None, interval_s: float) -> History:
        """The bundle's entries of one broker (None: every entry, in bundle order), the
        timeline over the whole bundle's span so that brokers' strips line up."""
        from engine.reading.history import ListHistory

        entries = self.opened().entries
        chosen = entries if broker_id is None else rules.history(entries, broker_id)
        label = f"history of broker {broker_id}" if broker_id is not None else "every report"
        return ListHistory(chosen, label, interval_s, span_ms=rules.span_ms(entries))

    def bundle_facts(self) -> BundleFacts | None:
        from engine.reading.bundle import BundleFacts

        return BundleFacts.of(self.opened())

    def report(self, summary: ReportSummary) -> Report | None:
        held = _with_detail(summary)
        if held is not None:
            return held
        self.opened()
        assert self._reader is not None
        if summary.partition is not None or not 0 <= summary.offset < len(self._reader):
            return None
        found = self._reader.report(summary.offset)
        # The listing's attribution may come from other entries (a token's owner).
        return summary.with_detail(found.fields, found.value)

    def raw_value(self, summary: ReportSummary) -> bytes | None:
        if isinstance(summary, Report) and summary.value is not None:
            return summary.value
        self.opened()
        assert self._reader is not None
        if summary.partition is not None or not 0 <= summary.offset < len(self._reader):
            return None
        return self._reader.raw(summary.offset)

    def close(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
            self._opened = None
        if reader is not None:
            reader.close()

    def default_bundle_name(self) -> str:
        raise self._offline("an export")

    def export(self, path: str, runtime: float, progress: Callable[[ExportProgress], None],
               cancel: threading.Event) -> ExportResult:
        raise self._offline("an export")

    def report_now(self, broker_config: str, dry_run: bool) -> ReportOutcome:
        raise self._offline("a report")


def open_backend(location: ClusterLocation | None, topic: str = DEFAULT_TOPIC,
                 broker_configs: tuple[str, ...] = (), bundle: str | None = None,
                 health: HealthConfig | None = None) -> ConsoleBackend:
    """The adapter for a bundle when one is given, else for the cluster at `location`."""
    if bundle is not None:
        return BundleBackend(bundle, topic, broker_configs)
    if location is None:
        raise UsageError("give a cluster (--zookeeper or --bootstrap-server) or a bundle")
    return ClusterBackend(location, topic, broker_configs, health)
