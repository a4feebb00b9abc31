"""The only place the console calls the engine.

Every method here may block (ZooKeeper, Kafka, disk), so the app calls them from thread
workers only and turns what they return into messages. Engine modules are imported inside
the methods: importing confluent-kafka and kazoo takes a noticeable part of a second, and
the first frame must not wait for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.cluster.location import DEFAULT_TOPIC, ClusterLocation
from engine.cluster.session import ClusterSession
from tui.model import ClusterSnapshot, ReportRow

# The console waits less than the CLI: a screen that stays empty for 10 s looks dead, and
# the retry loop brings it back once the service answers.
CONSOLE_TIMEOUT = 5.0
# How many report rows a history load hands to the UI at once.
HISTORY_BATCH = 2_000


@dataclass(frozen=True)
class SettingsChange:
    """A form's result: which file, which keys to set (raw strings), the loaded file."""

    path: str
    changes: dict[str, str]
    loaded: Any  # engine.config.settings.SettingsFile, to detect a file changed meanwhile


def _row_from_report(report: Any) -> ReportRow:
    return ReportRow(key=report.position, broker_id=report.broker_id,
                     timestamp_ms=report.collected_ms, decoded=report.decoded,
                     size=report.size,
                     partition=report.partition, offset=report.offset,
                     value=getattr(report, "value", None))


def _row_from_entry(entry: Any) -> ReportRow:
    from engine.reporting.records import DecodedRecord

    decoded = DecodedRecord(entry.ok, entry.schema, entry.record, entry.error)
    record = entry.record or {}
    seconds = record.get("timestamp")
    broker = record.get("brokerId")
    return ReportRow(key=entry.name if entry.index is None else f"entry {entry.index}",
                     name=entry.name, broker_id=broker if isinstance(broker, int)
                     else None, timestamp_ms=seconds * 1000 if isinstance(seconds, int)
                     else None, decoded=decoded, size=entry.size, index=entry.index,
                     value=getattr(entry, "value", None))


class Backend:
    """Blocking engine calls for one cluster (or one bundle opened offline)."""

    def __init__(self, location: ClusterLocation | None, topic: str = DEFAULT_TOPIC,
                 broker_configs: tuple[str, ...] = (), bundle: str | None = None) -> None:
        self.location = location
        self.topic = topic
        self.broker_configs = broker_configs
        self.bundle = bundle

    # -- describing ----------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        return self.bundle is not None

    @property
    def watchable(self) -> bool:
        """Whether `watch` can follow the cluster live (ZooKeeper-mode clusters)."""
        return self.location is not None and self.location.zookeeper is not None

    @property
    def description(self) -> str:
        if self.bundle is not None:
            return f"bundle {Path(self.bundle).name}"
        return self.location.description if self.location else "no cluster"

    # -- the cluster ---------------------------------------------------------------------

    def _session(self) -> ClusterSession:
        assert self.location is not None
        return ClusterSession(self.location)

    def snapshot(self) -> ClusterSnapshot:
        """Discovery, then each broker's latest report, in one cluster session; a topic that
        cannot be read still gives the brokers, with the reason in `reports_problem`."""
        with self._session() as session:
            return self._snapshot(session)

    def _snapshot(self, session: ClusterSession) -> ClusterSnapshot:
        from engine.cluster.discovery import discover
        from engine.errors import PsError
        from engine.reading.reports import latest_per_broker

        view = discover(session)
        snap = ClusterSnapshot(cluster_id=view.cluster_id, controller_id=view.controller_id,
                               brokers=sorted(view.brokers, key=lambda b: b.id),
                               topic=self.topic,
                               support_replicas=view.replication_factors.get(self.topic))
        snap.intervals_hours, snap.customer_ids = self._configured()
        try:
            snap.latest = {r.broker_id: r for r in map(_row_from_report, latest_per_broker(
                session, self.topic, [b.id for b in snap.brokers])) if r.broker_id is not None}
        except PsError as exc:
            snap.reports_problem = str(exc)
        return snap

    def _configured(self) -> tuple[dict[int, float], dict[int, str]]:
        """The report interval and customer id of every broker whose server.properties we
        were given."""
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

    def watch(self, on_event: Callable[[Any], object]) -> Any:
        """Start ZooKeeper watches; `on_event` runs on a kazoo thread and must not block."""
        from engine.cluster.watch import ClusterWatch

        assert self.location is not None
        watch = ClusterWatch(self.location, on_event)
        watch.start()
        return watch

    # -- reports -------------------------------------------------------------------------

    def latest_reports(self, broker_ids: list[int] | None = None) -> list[ReportRow]:
        if self.bundle is not None:
            rows = self.bundle_rows()
            latest: dict[Any, ReportRow] = {}
            for row in rows:
                latest[row.broker_id if row.broker_id is not None else row.key] = row
            return list(latest.values())
        from engine.reading.reports import latest_per_broker

        with self._session() as session:
            return [_row_from_report(r) for r in
                    latest_per_broker(session, self.topic, broker_ids)]

    def history(self, broker_id: int | None, cancel: threading.Event
                ) -> Iterator[list[ReportRow]]:
        """Every report of one broker (None: all brokers), in batches, oldest first."""
        if self.bundle is not None:
            rows = [r for r in self.bundle_rows()
                    if broker_id is None or r.broker_id == broker_id]
            for i in range(0, len(rows), HISTORY_BATCH):
                yield rows[i:i + HISTORY_BATCH]
            return
        from engine.reading.reports import iter_reports

        batch: list[ReportRow] = []
        with self._session() as session:
            for report in iter_reports(session, self.topic, cancel=cancel):
                if cancel.is_set():
                    return
                if broker_id is None or report.broker_id == broker_id:
                    batch.append(_row_from_report(report))
                    if len(batch) >= HISTORY_BATCH:
                        yield batch
                        batch = []
        if batch:
            yield batch

    def raw_value(self, row: ReportRow) -> bytes | None:
        """The bytes of one report, read again when the listing did not keep them."""
        if row.value is not None:
            return row.value
        if self.bundle is not None and row.name is not None:
            import zipfile

            # The engine's reader decodes and drops the bytes; the raw view reads the one
            # entry again (bounded by the size the listing saw).
            with zipfile.ZipFile(self.bundle) as zf, zf.open(row.name) as fh:
                return fh.read(row.size + 1)
        if row.partition is None or row.offset is None:
            return None
        from engine.reading.topic_reader import TopicReader

        with self._session() as session, TopicReader(session) as reader:
            found = reader.read_window(self.topic, row.partition, row.offset, row.offset + 1)
        return found[0].value if found else None

    def bundle_rows(self) -> list[ReportRow]:
        from engine.reading.bundle import open_bundle

        assert self.bundle is not None
        opened = open_bundle(self.bundle)
        rows = [_row_from_entry(e) for e in opened.entries]
        # A bundle keeps no `broker.id` header, and Basic reports name no broker; but a
        # broker token belongs to one broker's runtime, so a Basic report whose token an
        # Enhanced report (which names its broker) also carries is that broker's.
        owner = {r.record.get("brokerProcessUUID"): r.broker_id for r in rows
                 if r.broker_id is not None}
        return [replace(r, broker_id=owner.get(r.record.get("brokerProcessUUID")))
                if r.broker_id is None and r.ok else r for r in rows]

    # -- writing -------------------------------------------------------------------------

    def default_bundle_name(self) -> str:
        from engine.reading.bundle import default_bundle_name

        return default_bundle_name(self.topic, datetime.now(UTC))

    def export(self, path: str, runtime: float, progress: Callable[[Any], None],
               cancel: threading.Event) -> Any:
        from engine.reading.bundle import export_bundle

        with self._session() as session:
            return export_bundle(session, self.topic, path=path, runtime=runtime,
                                 progress=progress, cancel=cancel)

    def load_settings(self, path: str) -> Any:
        from engine.config.settings import load_settings

        return load_settings(path)

    def save_settings(self, change: SettingsChange) -> Path:
        return change.loaded.save(change.changes)

    def send_plan(self, broker_config: str) -> list[tuple[str, str]]:
        """Where a report of this broker would go: the engine's plan of its file (a dry
        run marks every destination as skipped, so the console reads the plan here)."""
        plan = self.load_settings(broker_config).plan
        return [(r.destination, r.target) for r in plan.routes if r.target is not None]

    def report_now(self, broker_config: str, dry_run: bool) -> Any:
        from engine.reporting.report_now import report_now

        assert self.location is not None
        return report_now(broker_config, self.location, dry_run=dry_run)
