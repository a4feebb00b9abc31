"""The Cluster screen's data, without a terminal: who is DOWN and since when, each row's
state, the customer id shown, and the warning lines."""

from __future__ import annotations

from engine.cluster.model import Broker, Endpoint
from engine.health.finding import Finding
from engine.reading.report import STATE_RUNNING, STATE_SHUTTING_DOWN, Report
from tui.cluster_view import (
    AGENT_STOPPED,
    CRITICAL,
    DOWN,
    NO_REPORT,
    OK,
    OVERDUE,
    Presence,
    broker_rows,
    cluster_warnings,
    customer_id,
)
from tui.model import ClusterSnapshot

NOW = 1_790_000_000.0


def _broker(i: int, session: int = 1) -> Broker:
    return Broker(id=i, endpoints=(Endpoint("PLAINTEXT", "PLAINTEXT", f"b{i}", 9092),),
                  rack=None, jmx_port=None, registered_at_ms=0, session_id=session,
                  raw_version=5)


def _report(broker: int, age_s: float, state: int = STATE_RUNNING,
            schema: str = "SupportKafkaMetricsBasic", kafka: str = "3.9.2") -> Report:
    return Report(partition=0, offset=broker, broker_id=broker, time_s=int(NOW - age_s),
                  state=state, schema=schema, kafka_version=kafka, size=1, fields={})


def _snap(brokers: list[int], latest: dict[int, Report], **kw) -> ClusterSnapshot:
    return ClusterSnapshot(cluster_id="c", controller_id=1,
                           brokers=[_broker(i) for i in brokers], latest=latest,
                           topic="t", **kw)


def test_a_broker_that_leaves_is_down_since_it_was_missed_and_back_when_it_returns():
    presence = Presence()
    presence.observe([_broker(1), _broker(2)], started=NOW - 100)
    assert presence.down() == {}
    presence.observe([_broker(1)], started=NOW - 50)
    assert {i: since for i, (_, since) in presence.down().items()} == {2: NOW - 50}
    # Seen missing again later: still DOWN since the first time.
    presence.observe([_broker(1)], started=NOW - 10)
    assert presence.down()[2][1] == NOW - 50
    presence.observe([_broker(1), _broker(2, session=2)], started=NOW)
    assert presence.down() == {}
    assert presence.known() == {1, 2}


def test_the_watch_departure_wins_over_an_older_look_at_the_cluster():
    presence = Presence()
    presence.observe([_broker(1), _broker(2)], started=NOW - 100)
    presence.left(2, at=NOW - 20)
    version = presence.version
    # A refresh begun before the departure still listed broker 2: it stays DOWN.
    presence.observe([_broker(1), _broker(2)], started=NOW - 30)
    assert 2 in presence.down() and presence.version == version
    presence.observe([_broker(1), _broker(2)], started=NOW - 5)
    assert presence.down() == {} and presence.version > version


def test_a_broker_never_seen_is_down_only_when_it_reported_within_two_intervals():
    snap = _snap([1], {1: _report(1, 60), 7: _report(7, 30 * 3600), 8: _report(8, 50 * 3600)})
    rows = broker_rows(snap, Presence(), NOW)
    assert [(r.broker_id, r.state) for r in rows] == [(1, OK), (7, DOWN)]
    assert rows[1].broker is None and rows[1].down_since is None


def _found(rule: str, severity: str, subject: str, message: str = "m") -> Finding:
    return Finding(rule=rule, severity=severity, subject=subject, message=message, hint="h")


def test_row_states_agent_stopped_and_overdue_are_the_findings_about_the_broker():
    snap = _snap([1, 2, 3, 4], {1: _report(1, 60), 2: _report(2, 60, STATE_SHUTTING_DOWN),
                                3: _report(3, 3 * 3600)},
                 intervals_hours={3: 1.0})
    presence = Presence()
    presence.observe(snap.brokers, NOW)
    findings = [_found("agent-stopped", "warning", "broker 2"),
                _found("report-stale", "warning", "broker 3"),
                _found("version-drift", "warning", "cluster")]
    states = {r.broker_id: r.state for r in broker_rows(snap, presence, NOW, findings)}
    assert states == {1: OK, 2: AGENT_STOPPED, 3: OVERDUE, 4: NO_REPORT}
    # No evaluation yet (or the rules silenced): the tui judges no report on its own.
    states = {r.broker_id: r.state for r in broker_rows(snap, presence, NOW)}
    assert states == {1: OK, 2: OK, 3: OK, 4: NO_REPORT}


def test_warnings_are_the_findings_at_warning_and_above_worst_first():
    snap = _snap([1], {1: _report(1, 60)}, reports_problem="the topic is gone")
    findings = [_found("broker-down", CRITICAL, "broker 2", "broker 2 is not registered"),
                _found("version-drift", "warning", "cluster", "brokers run 3.8.1, 3.9.2"),
                _found("broker-restarted", "info", "broker 1")]
    warnings = cluster_warnings(snap, findings)
    assert [(w.rule, w.severity) for w in warnings] == [
        ("broker-down", CRITICAL), ("reports", "warning"), ("version-drift", "warning")]
    assert warnings[0].line() == "broker 2 is not registered"
    assert warnings[1].line() == "reports unavailable: the topic is gone"


def test_customer_id_is_the_configured_id_else_what_the_report_tells():
    presence = Presence()
    snap = _snap([1, 2, 3], {1: _report(1, 60), 2: _report(2, 60, schema=
                                                          "SupportKafkaMetricsEnhanced")},
                 customer_ids={3: "c12345"})
    shown = {r.broker_id: customer_id(r) for r in broker_rows(snap, presence, NOW)}
    assert shown == {1: "anonymous", 2: "(set)", 3: "c12345"}
