"""The health tracker (engine/health/tracker.py): since, RAISED/CLEARED, and what it
remembers of brokers and the controller between evaluations."""

from __future__ import annotations

from engine.cluster.model import Broker, BrokerJoined, BrokerLeft, ClusterView, ControllerChanged
from engine.health import finding as f
from engine.health.facts import ControllerFacts
from engine.health.tracker import CLEARED, RAISED, HealthTracker


def finding(rule: str = f.REPORT_STALE, subject: str = "broker 1",
            severity: str = f.WARNING, since: float | None = None) -> f.Finding:
    return f.Finding(rule=rule, severity=severity, subject=subject, message="m", hint="h",
                     since=since)


def view(*ids: int, sessions: dict[int, int] | None = None) -> ClusterView:
    sessions = sessions or {}
    return ClusterView("c", None, tuple(Broker(i, (), None, None, None, sessions.get(i, i), 5)
                                        for i in ids), None, None, "zookeeper")


def test_since_is_kept_and_transitions_come_once():
    t = HealthTracker()
    settled, moves = t.settle([f.REPORT_STALE], [finding()], 100.0)
    assert settled[0].since == 100.0 and [m.kind for m in moves] == [RAISED]
    settled, moves = t.settle([f.REPORT_STALE], [finding()], 160.0)
    assert settled[0].since == 100.0 and moves == []
    # A rule's own time wins when it is earlier.
    settled, _ = t.settle([f.REPORT_STALE], [finding(since=40.0)], 220.0)
    assert settled[0].since == 40.0
    settled, moves = t.settle([f.REPORT_STALE], [], 280.0)
    assert settled == [] and [(m.kind, m.finding.since) for m in moves] == [(CLEARED, 40.0)]
    _, moves = t.settle([f.REPORT_STALE], [], 340.0)
    assert moves == []


def test_worse_severity_is_raised_again_and_unevaluated_rules_never_clear():
    t = HealthTracker()
    urp = finding(f.UNDER_REPLICATED, "cluster")
    t.settle([f.UNDER_REPLICATED], [urp], 1.0)
    _, moves = t.settle([f.UNDER_REPLICATED], [finding(f.UNDER_REPLICATED, "cluster",
                                                       f.CRITICAL)], 2.0)
    assert [(m.kind, m.finding.severity, m.finding.since) for m in moves] == [
        (RAISED, f.CRITICAL, 1.0)]
    _, moves = t.settle([f.UNDER_REPLICATED], [urp], 3.0)
    assert moves == []  # better is not news; it clears when it is gone
    # The partition metadata could not be read: the finding stays held, nothing CLEARED.
    _, moves = t.settle([f.REPORT_STALE], [], 4.0)
    assert moves == [] and [x.rule for x in t.active()] == [f.UNDER_REPLICATED]
    _, moves = t.settle([f.UNDER_REPLICATED], [], 5.0)
    assert [m.kind for m in moves] == [CLEARED]


def test_brokers_seen_restarts_and_controller_changes():
    t = HealthTracker()
    c1 = ControllerFacts(1, None, 5)
    t.observe_cluster(view(1, 2, 3), c1, 10.0)
    assert t.memory().restarts == {} and t.memory().controller_changes == ()
    t.observe_cluster(view(1, 3), ControllerFacts(3, None, 6), 20.0)
    memory = t.memory()
    assert memory.registered == {1: 20.0, 2: 10.0, 3: 20.0}
    assert memory.controller_changes == ((20.0, 1, 3),)
    t.observe_cluster(view(1, 2, 3, sessions={1: 99}), ControllerFacts(3, None, 6), 30.0)
    memory = t.memory()
    assert memory.restarts == {1: (30.0,), 2: (30.0,)}  # 1: new session; 2: back
    # Re-elected with a new epoch: a change too.
    t.observe_cluster(view(1, 2, 3, sessions={1: 99}), ControllerFacts(3, None, 7), 40.0)
    assert t.memory().controller_changes[-1] == (40.0, 3, 3)


def test_watch_events_count_between_evaluations():
    t = HealthTracker()
    t.observe_cluster(view(1, 2), ControllerFacts(1, None, None), 1.0)
    t.observe_event(BrokerLeft(2), 2.0)
    t.observe_event(BrokerJoined(Broker(2, (), None, None, None, 77, 5)), 3.0)
    t.observe_event(ControllerChanged(2), 4.0)
    memory = t.memory()
    assert memory.restarts == {2: (3.0,)}
    assert memory.controller_changes == ((4.0, 1, 2),)
    t.observe_cluster(view(1, 2, sessions={2: 77}), ControllerFacts(2, None, None), 5.0)
    assert t.memory().restarts == {2: (3.0,)}  # the same restart, not counted twice
