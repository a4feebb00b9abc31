"""The Cluster screen as plain data: which brokers this console session has seen and since
when each one is gone, one row per broker (registered or DOWN) with its state, and the
warning lines above the table.

Nothing here does I/O or imports Textual; the clock is the caller's (`now`, seconds). The
rules over reports (overdue, newest) are the engine's (`engine.reading.rules`). The warning
lines come from `cluster_warnings`, the one function the health rules replace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from engine.reading import rules
from engine.reading.report import BASIC, STATE_SHUTTING_DOWN, Report
from tui.model import DEFAULT_INTERVAL_HOURS, MIN_SUPPORT_REPLICAS, ClusterSnapshot, fmt_age

if TYPE_CHECKING:
    from engine.cluster.model import Broker

# Row states, worst first (the order the rows' states are ranked in).
DOWN: Final = "DOWN"
AGENT_STOPPED: Final = "agent stopped"
OVERDUE: Final = "overdue"
NO_REPORT: Final = "no report"
OK: Final = "ok"

# A broker that is not registered counts as DOWN when it reported within this many of its
# intervals (issue 16's broker-down rule); older reporters were decommissioned.
DOWN_AFTER_INTERVALS: Final = 2

CRITICAL: Final = "critical"
WARNING: Final = "warning"
INFO: Final = "info"


class Presence:
    """The brokers this console session has seen registered, and since when each of those
    that left is gone.

    Fed by full looks at the cluster (`observe`) and by the watch's departures (`left`). A
    look that started before a departure was noticed does not bring the broker back: it
    read the cluster while the broker was still there.
    """

    def __init__(self) -> None:
        self._last: dict[int, Broker] = {}
        self._gone: dict[int, float] = {}
        # Bumped on every change of who is gone, so views computed from it know to redo.
        self.version = 0

    def observe(self, brokers: Iterable[Broker], started: float) -> None:
        """A full look at the registered brokers, begun at `started` (seconds)."""
        current = {b.id: b for b in brokers}
        for broker_id in self._last:
            if broker_id not in current and broker_id not in self._gone:
                self._gone[broker_id] = started
                self.version += 1
        for broker_id, broker in current.items():
            gone_at = self._gone.get(broker_id)
            if gone_at is not None:
                if gone_at > started:
                    continue  # this look predates the departure the watch told of
                del self._gone[broker_id]
                self.version += 1
            self._last[broker_id] = broker

    def left(self, broker_id: int, at: float) -> None:
        """The watch saw the registration of `broker_id` disappear at `at`."""
        if broker_id in self._last and broker_id not in self._gone:
            self._gone[broker_id] = at
            self.version += 1

    def down(self) -> dict[int, tuple[Broker, float]]:
        """Every broker seen this session that is gone now: its last registration and when
        it was first missed."""
        return {i: (self._last[i], since) for i, since in self._gone.items()}

    def known(self) -> set[int]:
        """Every broker id seen registered this session (gone ones included)."""
        return set(self._last)


@dataclass(frozen=True)
class BrokerRow:
    """One line of the Cluster table. `broker` is None for a broker never seen registered
    (it is known from its recent reports only); `down_since` is None unless the console
    saw it leave."""

    broker_id: int
    broker: Broker | None
    registered: bool
    down_since: float | None
    report: Report | None
    interval_s: float
    customer_id: str | None

    @property
    def state(self) -> str:
        """DOWN, agent stopped, overdue, no report, or ok (see `state_at`)."""
        return self.state_at(None)

    def state_at(self, now: float | None) -> str:
        """The row's state; `now` is needed to tell an overdue report (None: never)."""
        if not self.registered:
            return DOWN
        if self.report is None:
            return NO_REPORT
        if self.report.state == STATE_SHUTTING_DOWN:
            return AGENT_STOPPED
        if now is not None and rules.is_overdue(self.report, now, self.interval_s):
            return OVERDUE
        return OK


def broker_rows(snap: ClusterSnapshot, presence: Presence, now: float) -> list[BrokerRow]:
    """Every registered broker, then by id among them the DOWN ones: those seen registered
    earlier in this session, and those not seen but with a report within the last
    `DOWN_AFTER_INTERVALS` intervals."""
    rows: dict[int, BrokerRow] = {}

    def interval_s(broker_id: int) -> float:
        return snap.intervals_hours.get(broker_id, DEFAULT_INTERVAL_HOURS) * 3600

    for broker in snap.brokers:
        rows[broker.id] = BrokerRow(broker.id, broker, True, None, snap.latest.get(broker.id),
                                    interval_s(broker.id), snap.customer_ids.get(broker.id))
    for broker_id, (broker, since) in presence.down().items():
        if broker_id not in rows:
            rows[broker_id] = BrokerRow(broker_id, broker, False, since,
                                        snap.latest.get(broker_id), interval_s(broker_id),
                                        snap.customer_ids.get(broker_id))
    for broker_id, report in snap.latest.items():
        if broker_id in rows:
            continue
        age = rules.age_s(report, now)
        if age is not None and age <= DOWN_AFTER_INTERVALS * interval_s(broker_id):
            rows[broker_id] = BrokerRow(broker_id, None, False, None, report,
                                        interval_s(broker_id),
                                        snap.customer_ids.get(broker_id))
    return [rows[i] for i in sorted(rows)]


def customer_id(row: BrokerRow) -> str:
    """The customer id as the operator set it, where the console was given the broker's
    server.properties; else what the latest report tells: a Basic report is only sent
    anonymously, an Enhanced one means an id is set (reports do not carry it)."""
    if row.customer_id is not None:
        return row.customer_id
    report = row.report
    if report is None or not report.ok:
        return "-"
    if report.schema_kind == BASIC:
        return "anonymous"
    return "(set)"


@dataclass(frozen=True)
class WarningLine:
    """One line above the Cluster table: what is wrong, about whom, how bad. The fields
    are those of the health rules' findings, so the screen does not change when they
    take over."""

    rule: str
    severity: str
    subject: str
    message: str

    def line(self) -> str:
        return f"{self.subject}: {self.message}" if self.subject != "cluster" \
            else self.message


def cluster_warnings(snap: ClusterSnapshot, rows: list[BrokerRow], now: float
                     ) -> list[WarningLine]:
    """The problems an operator should see first, worst first.

    The health rules (issue 16) replace this function; until they land it covers the
    rules the Cluster screen can tell from its own data: broker-down, agent-stopped,
    report-stale, report-missing, version-drift, support-topic.
    """
    out: list[WarningLine] = []
    if snap.reports_problem:
        out.append(WarningLine("reports", WARNING, "cluster",
                           f"reports unavailable: {snap.reports_problem}"))
    for row in rows:
        subject = f"broker {row.broker_id}"
        state = row.state_at(now)
        if state == DOWN:
            if row.down_since is not None:
                what = f"not registered since {fmt_age(now - row.down_since)} ago"
            else:
                age = rules.age_s(row.report, now) if row.report else None
                what = ("not registered; it reported " +
                        (f"{fmt_age(age)} ago" if age is not None else "recently"))
            out.append(WarningLine("broker-down", CRITICAL, subject, what))
        elif state == AGENT_STOPPED:
            out.append(WarningLine("agent-stopped", WARNING, subject,
                               "its latest report is a shutdown report: the agent stopped "
                               "while the broker runs"))
        elif state == OVERDUE:
            assert row.report is not None
            age = rules.age_s(row.report, now)
            interval_h = row.interval_s / 3600
            out.append(WarningLine("report-stale", WARNING, subject,
                               f"latest report is {fmt_age(age)} old, overdue for its "
                               f"{interval_h:g} h interval"))
        elif state == NO_REPORT and not snap.reports_problem:
            out.append(WarningLine("report-missing", WARNING, subject,
                               f"no report on {snap.topic}"))
    versions = {r.kafka_version for r in snap.latest.values()
                if r.ok and r.kafka_version is not None}
    if len(versions) > 1:
        out.append(WarningLine("version-drift", WARNING, "cluster",
                           "brokers run different Kafka versions: " +
                           ", ".join(sorted(versions))))
    if snap.support_replicas is not None and snap.support_replicas < MIN_SUPPORT_REPLICAS:
        out.append(WarningLine("support-topic", WARNING, "cluster",
                           f"support topic {snap.topic} has {snap.support_replicas} "
                           f"replica(s), fewer than {MIN_SUPPORT_REPLICAS}"))
    rank = {CRITICAL: 0, WARNING: 1, INFO: 2}
    return sorted(out, key=lambda w: rank.get(w.severity, 3))
