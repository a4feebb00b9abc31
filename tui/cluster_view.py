"""The Cluster screen as plain data: which brokers this console session has seen and since
when each one is gone, one row per broker (registered or DOWN) with its state, and the
warning lines above the table.

Nothing here does I/O or imports Textual; the clock is the caller's (`now`, seconds). What
is wrong with a broker or the cluster is the health rules' to say (`engine.health`): a
row's "agent stopped" and "overdue" are the agent-stopped and report-stale findings about
its broker, and the warning lines are the findings at warning and above. Only presence is
judged here: which brokers are registered, and which are DOWN rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from engine.health.finding import (
    AGENT_STOPPED as AGENT_STOPPED_RULE,
)
from engine.health.finding import (
    CRITICAL,
    INFO,
    WARNING,
    Finding,
    at_least_warning,
    severity_rank,
)
from engine.health.finding import (
    REPORT_STALE as REPORT_STALE_RULE,
)
from engine.reading import rules
from engine.reading.report import BASIC, Report
from tui.model import DEFAULT_INTERVAL_HOURS, ClusterSnapshot

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

__all__ = ["CRITICAL", "INFO", "WARNING"]


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
    saw it leave. `rules`: the ids of the health findings about this broker."""

    broker_id: int
    broker: Broker | None
    registered: bool
    down_since: float | None
    report: Report | None
    interval_s: float
    customer_id: str | None
    rules: frozenset[str] = frozenset()

    @property
    def state(self) -> str:
        """DOWN (not registered), no report, agent stopped and overdue (the agent-stopped
        and report-stale findings), or ok."""
        if not self.registered:
            return DOWN
        if self.report is None:
            return NO_REPORT
        if AGENT_STOPPED_RULE in self.rules:
            return AGENT_STOPPED
        if REPORT_STALE_RULE in self.rules:
            return OVERDUE
        return OK


def _by_broker(findings: Iterable[Finding]) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = {}
    for item in findings:
        head, _, number = item.subject.partition(" ")
        if head == "broker" and number.isdigit():
            found.setdefault(int(number), set()).add(item.rule)
    return {broker: frozenset(ids) for broker, ids in found.items()}


def broker_rows(snap: ClusterSnapshot, presence: Presence, now: float,
                findings: Sequence[Finding] = ()) -> list[BrokerRow]:
    """Every registered broker, then by id among them the DOWN ones: those seen registered
    earlier in this session, and those not seen but with a report within the last
    `DOWN_AFTER_INTERVALS` intervals. `findings`: the latest health evaluation's."""
    rows: dict[int, BrokerRow] = {}
    flagged = _by_broker(findings)

    def interval_s(broker_id: int) -> float:
        return snap.intervals_hours.get(broker_id, DEFAULT_INTERVAL_HOURS) * 3600

    def row(broker_id: int, broker: Broker | None, registered: bool,
            since: float | None) -> BrokerRow:
        return BrokerRow(broker_id, broker, registered, since, snap.latest.get(broker_id),
                         interval_s(broker_id), snap.customer_ids.get(broker_id),
                         flagged.get(broker_id, frozenset()))

    for broker in snap.brokers:
        rows[broker.id] = row(broker.id, broker, True, None)
    for broker_id, (broker, since) in presence.down().items():
        if broker_id not in rows:
            rows[broker_id] = row(broker_id, broker, False, since)
    for broker_id, report in snap.latest.items():
        if broker_id in rows:
            continue
        age = rules.age_s(report, now)
        if age is not None and age <= DOWN_AFTER_INTERVALS * interval_s(broker_id):
            rows[broker_id] = row(broker_id, None, False, None)
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
    """One line above the Cluster table: a health finding at warning or above (its
    message names its subject), or what kept the console from reading the reports."""

    rule: str
    severity: str
    subject: str
    message: str

    def line(self) -> str:
        return self.message


def cluster_warnings(snap: ClusterSnapshot, findings: Sequence[Finding]
                     ) -> list[WarningLine]:
    """The problems an operator should see first, worst first: the health findings at
    warning and above (already worst first), after the line saying the reports could not
    be read, if they could not."""
    out: list[WarningLine] = []
    if snap.reports_problem:
        out.append(WarningLine("reports", WARNING, "cluster",
                               f"reports unavailable: {snap.reports_problem}"))
    out.extend(WarningLine(x.rule, x.severity, x.subject, x.message)
               for x in findings if at_least_warning(x.severity))
    return sorted(out, key=lambda w: severity_rank(w.severity))
