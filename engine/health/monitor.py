"""`HealthMonitor`: evaluate every health rule against one cluster, as often as asked,
remembering between evaluations what the rules need remembered.

The one entry point of the CLI's `health`, the exporter and the console's Health screen:

    monitor = HealthMonitor(location, topic, config)
    evaluation = monitor.evaluate()      # blocks: one ClusterSession, bounded waits
    evaluation.findings                  # worst first, each with rule/severity/subject/...
    evaluation.raised, evaluation.cleared  # transitions since the previous evaluation
    monitor.observe(event)               # a ClusterWatch event (any thread)

`evaluate` never runs twice at once (a lock), never raises for a cluster that cannot be
reached (the evaluation says `reachable=False` and why), and raises only a UsageError the
user must fix (a client configuration librdkafka refuses).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.cluster.location import DEFAULT_TOPIC, ClusterLocation
from engine.cluster.model import ClusterEvent
from engine.cluster.session import ClusterSession
from engine.errors import PsError, UsageError
from engine.health import rules
from engine.health.config import HealthConfig
from engine.health.facts import HealthFacts, gather
from engine.health.finding import (
    CRITICAL,
    INFO,
    SEVERITIES,
    WARNING,
    Finding,
    at_least_warning,
    iso_seconds,
    severity_rank,
)
from engine.health.report_window import ReportWindow
from engine.health.tracker import HealthTracker, Transition
from engine.reading.report import ReportSummary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerHealth:
    """One broker as the exporter and the screen show it: registered or not, its report
    interval, and its latest report (a summary), where there is one."""

    id: int
    registered: bool
    interval_s: float
    latest: ReportSummary | None

    def report_age_s(self, now: float) -> float | None:
        """Seconds since the latest report was collected, None without one."""
        collected = self.latest.collected_ms if self.latest is not None else None
        return None if collected is None else now - collected / 1000


@dataclass(frozen=True)
class PartitionCounts:
    """The cluster's partition totals and how many are in trouble."""

    topics: int
    partitions: int
    under_replicated: int
    offline: int
    under_min_isr: int


@dataclass(frozen=True)
class Evaluation:
    """The result of one evaluation: see the module docstring.

    `rules`: the ids evaluated (silenced rules, and rules whose facts could not be read,
    are absent). `problems`: what could not be read, one line each. `brokers`: every
    registered broker and every broker with a report in the horizon, by id.
    """

    where: str
    topic: str
    evaluated_at: float
    duration_s: float
    reachable: bool
    cluster_id: str | None = None
    rules: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    transitions: tuple[Transition, ...] = ()
    brokers: tuple[BrokerHealth, ...] = ()
    partitions: PartitionCounts | None = None
    problems: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    reports_read: int = 0  # records this evaluation fetched from the support topic

    def at_least(self, severity: str) -> tuple[Finding, ...]:
        """The findings at `severity` or worse (the Cluster screen's warning lines are
        `at_least(WARNING)`), worst first."""
        rank = severity_rank(severity)
        return tuple(x for x in self.findings if severity_rank(x.severity) <= rank)

    @property
    def counts(self) -> dict[str, int]:
        """Findings per severity, every severity present (the console's header)."""
        out = dict.fromkeys(SEVERITIES, 0)
        for found in self.findings:
            out[found.severity] = out.get(found.severity, 0) + 1
        return out

    @property
    def raised(self) -> tuple[Finding, ...]:
        """The findings RAISED by this evaluation."""
        return tuple(t.finding for t in self.transitions if t.kind == "RAISED")

    @property
    def cleared(self) -> tuple[Finding, ...]:
        """The findings CLEARED by this evaluation."""
        return tuple(t.finding for t in self.transitions if t.kind == "CLEARED")

    @property
    def healthy(self) -> bool:
        """Reached, and nothing at warning or above."""
        return self.reachable and not any(at_least_warning(f.severity) for f in self.findings)

    @property
    def exit_code(self) -> int:
        """`ps-console health`'s: 0 healthy, 1 otherwise."""
        return 0 if self.healthy else 1

    def to_json(self) -> dict[str, Any]:
        """The evaluation as `ps-console health --format json` prints it."""
        p = self.partitions
        return {
            "cluster": self.cluster_id,
            "where": self.where,
            "topic": self.topic,
            "evaluated_at": iso_seconds(self.evaluated_at),
            "reachable": self.reachable,
            "rules": list(self.rules),
            "findings": [found.to_json() for found in self.findings],
            "counts": self.counts,
            "problems": list(self.problems),
            "partitions": None if p is None else {
                "topics": p.topics, "partitions": p.partitions,
                "under_replicated": p.under_replicated, "offline": p.offline,
                "under_min_isr": p.under_min_isr},
            "brokers": [{"id": b.id, "registered": b.registered,
                         "last_report": None if b.latest is None
                         else iso_seconds((b.latest.collected_ms or 0) / 1000),
                         "report_age_s": None if (age := b.report_age_s(self.evaluated_at))
                         is None else round(age, 1),
                         "kafka_version": b.latest.kafka_version if b.latest else None,
                         "cp_version": b.latest.cp_version if b.latest else None,
                         "schema": b.latest.schema_short if b.latest else None}
                        for b in self.brokers],
        }


def _counts(facts: HealthFacts) -> PartitionCounts | None:
    parts = facts.partitions
    if parts is None:
        return None
    return PartitionCounts(
        topics=parts.topics, partitions=parts.partitions,
        under_replicated=sum(1 for p in parts.unhealthy if p.under_replicated),
        offline=sum(1 for p in parts.unhealthy if p.offline),
        under_min_isr=sum(1 for p in parts.checked
                          if not p.offline and len(p.isr) < parts.min_isr.get(p.topic, 0)))


def _brokers(facts: HealthFacts, config: HealthConfig) -> tuple[BrokerHealth, ...]:
    latest = facts.reports.latest if facts.reports is not None else {}
    ids = sorted(facts.registered | set(latest))
    return tuple(BrokerHealth(i, i in facts.registered, config.interval_for(i),
                              latest[i].summary() if i in latest else None) for i in ids)


class HealthMonitor:
    """See the module docstring. `clock` gives epoch seconds (tests pass their own)."""

    def __init__(self, location: ClusterLocation, topic: str = DEFAULT_TOPIC,
                 config: HealthConfig | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.location = location
        self.topic = topic
        self._config = config or HealthConfig()
        self._clock = clock
        self.tracker = HealthTracker()
        self._window = ReportWindow(topic)
        self._lock = threading.Lock()
        self.last: Evaluation | None = None

    @property
    def config(self) -> HealthConfig:
        """The config the next evaluation uses."""
        return self._config

    @config.setter
    def config(self, config: HealthConfig) -> None:
        self._config = config

    def observe(self, event: ClusterEvent) -> None:
        """A `ClusterWatch` event (a broker left or joined, the controller moved): the
        next evaluation counts it. Safe from any thread; never blocks for long."""
        self.tracker.observe_event(event, self._clock())

    def evaluate(self, session: ClusterSession | None = None) -> Evaluation:
        """Read the cluster once and evaluate every rule (see the module docstring).

        `session`: a session the caller opened for this round (the console's refresh reads
        its Cluster view in the same one); by default the monitor opens and closes its own.
        """
        with self._lock:
            return self._evaluate(session)

    def _evaluate(self, given: ClusterSession | None) -> Evaluation:
        config = self._config
        now = self._clock()
        started = time.perf_counter()
        try:
            if given is not None:
                facts = gather(given, self.topic, config, self._window, now)
            else:
                with ClusterSession(self.location) as session:
                    facts = gather(session, self.topic, config, self._window, now)
        except UsageError:
            raise
        except PsError as exc:
            evaluation = Evaluation(where=self.location.description, topic=self.topic,
                                    evaluated_at=now,
                                    duration_s=time.perf_counter() - started,
                                    reachable=False, problems=(str(exc),))
            self.last = evaluation
            return evaluation
        return self._settle(facts, config, started)

    def evaluate_facts(self, facts: HealthFacts) -> Evaluation:
        """Evaluate every rule on facts read elsewhere (`facts.now` is the time), with
        this monitor's memory: what `evaluate` does after its read. For a caller that
        holds the facts already (the console's deterministic test backend)."""
        with self._lock:
            return self._settle(facts, self._config, time.perf_counter())

    def _settle(self, facts: HealthFacts, config: HealthConfig, started: float
                ) -> Evaluation:
        now = facts.now
        self.tracker.observe_cluster(facts.view, facts.controller, now)
        ran, found = rules.evaluate(facts, config, self.tracker.memory())
        settled, transitions = self.tracker.settle(ran, found, now)
        timings = dict(facts.timings)
        duration = time.perf_counter() - started
        evaluation = Evaluation(
            where=self.location.description, topic=self.topic, evaluated_at=now,
            duration_s=duration, reachable=True, cluster_id=facts.view.cluster_id,
            rules=ran, findings=tuple(settled), transitions=tuple(transitions),
            brokers=_brokers(facts, config), partitions=_counts(facts),
            problems=facts.problems, timings=timings,
            reports_read=facts.reports.records_read if facts.reports is not None else 0)
        log.debug("health evaluation in %.3f s (%s)", duration,
                  ", ".join(f"{k} {v:.3f} s" for k, v in timings.items()))
        self.last = evaluation
        return evaluation


__all__ = ["CRITICAL", "INFO", "WARNING", "BrokerHealth", "Evaluation", "HealthMonitor",
           "PartitionCounts"]
