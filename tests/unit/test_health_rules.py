"""The health rules (engine/health/rules.py) on facts written as data: each rule raises on
the facts the issue names and stays quiet otherwise; severities, silencing and the rules
that are not evaluated when their facts are missing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from engine.cluster.model import Broker, ClusterView
from engine.cluster.quorum import Quorum
from engine.health import finding as f
from engine.health import rules
from engine.health.config import HealthConfig
from engine.health.facts import (
    ControllerFacts,
    HealthFacts,
    PartitionFacts,
    PartitionState,
    SupportTopicFacts,
)
from engine.health.report_window import ReportFacts
from engine.reading.report import BY_HEADER, STATE_SHUTTING_DOWN, Report

NOW = 1_800_000_000.0
HOUR = 3600.0
DAY = 24 * HOUR
BASIC = "SupportKafkaMetricsBasic"
ENHANCED = "SupportKafkaMetricsEnhanced"
TOPIC = "__confluent.support.metrics"


def broker(i: int, registered_at: float | None = None, session: int | None = None) -> Broker:
    return Broker(i, (), None, None, None if registered_at is None else int(registered_at * 1000),
                  session, 5)


def report(b: int, age_s: float, token: str | None = None, state: int = 2,
           kafka: str = "3.9.2", cp: str | None = None, config: dict[str, str] | None = None,
           offset: int = 0) -> Report:
    t = int(NOW - age_s)
    fields: dict[str, Any] | None = None
    if config is not None:
        fields = {"brokerMetrics": {"brokerConfiguration": config}}
    return Report(partition=0, offset=offset, kafka_ms=t * 1000, time_s=t, broker_id=b,
                  attributed_by=BY_HEADER, token=token or f"tok-{b}", state=state,
                  schema=ENHANCED if config is not None else BASIC, kafka_version=kafka,
                  cp_version=cp, cluster_id="c", fields=fields)


def facts(registered: list[int] | None = None, latest: list[Report] | None = None,
          recent: list[Report] | None = None, partitions: PartitionFacts | None = None,
          support: SupportTopicFacts | None = None, controller: ControllerFacts | None = None,
          brokers: list[Broker] | None = None, missing: bool = False,
          reports: bool = True) -> HealthFacts:
    regs = brokers if brokers is not None else [broker(i) for i in (registered or [1, 2, 3])]
    latest = latest if latest is not None else [report(b.id, 60) for b in regs]
    view = ClusterView("c", 1, tuple(regs), None, None, "zookeeper")
    return HealthFacts(
        now=NOW, topic=TOPIC, view=view,
        controller=controller or ControllerFacts(1, None, 1),
        partitions=partitions or PartitionFacts(0, 0, (), (), {}, 1),
        support=support or SupportTopicFacts(TOPIC, True, 1, 3, 31_536_000_000),
        reports=ReportFacts(topic=TOPIC, latest={r.broker_id: r for r in latest},
                            recent=tuple(recent if recent is not None else latest),
                            horizon_ms=0, complete=True) if reports and not missing else None,
        topic_missing=missing)


def found(h: HealthFacts, config: HealthConfig | None = None,
          memory: rules.Memory | None = None) -> list[f.Finding]:
    return rules.evaluate(h, config or HealthConfig(), memory)[1]


def ids(findings: list[f.Finding]) -> list[tuple[str, str]]:
    return [(x.rule, x.subject) for x in findings]


def test_a_healthy_cluster_has_no_findings_and_every_rule_ran():
    ran, findings = rules.evaluate(facts(), HealthConfig())
    assert ran == f.RULE_IDS
    assert findings == []


def test_broker_down_when_it_reported_within_two_intervals_or_was_registered_before():
    latest = [report(1, 60), report(2, 60), report(3, 60), report(4, 3 * HOUR),
              report(5, 3 * DAY)]
    h = facts([1, 2, 3], latest=latest)
    out = found(h)
    assert ids(out) == [(f.BROKER_DOWN, "broker 4")]
    assert out[0].severity == f.CRITICAL and "last report 3 h" in out[0].message
    # Registered earlier in this session: down whatever its reports say.
    remembered = rules.Memory(registered={5: NOW - 30, 6: NOW - 40})
    assert ids([x for x in found(h, memory=remembered) if x.rule == f.BROKER_DOWN]) == [
        (f.BROKER_DOWN, "broker 4"), (f.BROKER_DOWN, "broker 5"), (f.BROKER_DOWN, "broker 6")]
    # Its own interval decides: 49 h of silence is within two 36 h intervals.
    h2 = facts([1, 2, 3], latest=[*latest[:3], report(7, 49 * HOUR)])
    assert found(h2) == []
    assert ids(found(h2, HealthConfig(intervals_s={7: 36 * HOUR}))) == [
        (f.BROKER_DOWN, "broker 7")]


def test_report_missing_stale_and_agent_stopped():
    latest = [report(2, 27 * HOUR), report(3, 60, state=STATE_SHUTTING_DOWN)]
    out = found(facts([1, 2, 3], latest=latest))
    assert ids(out) == [(f.REPORT_MISSING, "broker 1"), (f.REPORT_STALE, "broker 2"),
                        (f.AGENT_STOPPED, "broker 3")]
    stale = out[1]
    # Became stale at collected + interval + grace (10 % of 24 h).
    assert stale.since == pytest.approx(NOW - 27 * HOUR + 24 * HOUR + 2.4 * HOUR, abs=1)
    # A shutdown report that is old is agent-stopped's, not stale too.
    old_stop = found(facts([1], latest=[report(1, 3 * DAY, state=STATE_SHUTTING_DOWN)]))
    assert ids(old_stop) == [(f.AGENT_STOPPED, "broker 1")]
    # The grace is the agent --check rule: 24 h + 2h24m.
    assert found(facts([1], latest=[report(1, 26 * HOUR)])) == []
    assert ids(found(facts([1], latest=[report(1, 26 * HOUR)]), HealthConfig(grace_s=60))) \
        == [(f.REPORT_STALE, "broker 1")]


def test_report_rules_are_not_evaluated_when_the_topic_could_not_be_read():
    ran, out = rules.evaluate(facts(reports=False), HealthConfig())
    assert f.REPORT_MISSING not in ran and f.VERSION_DRIFT not in ran
    assert f.BROKER_DOWN in ran and out == []
    # A missing topic is known: every registered broker misses its reports.
    ran, out = rules.evaluate(facts(missing=True), HealthConfig())
    assert f.REPORT_MISSING in ran
    assert [x.subject for x in out if x.rule == f.REPORT_MISSING] == [
        "broker 1", "broker 2", "broker 3"]
    assert "does not exist" in out[0].message


def test_broker_restarted_counts_token_changes_in_the_window():
    recent = [report(2, 30 * HOUR, token="a", offset=1), report(2, 20 * HOUR, token="a", offset=2),
              report(2, 10 * HOUR, token="b", offset=3), report(2, 2 * HOUR, token="c", offset=4),
              report(2, 60, token="c", offset=5)]
    latest = [report(1, 60), recent[-1], report(3, 60)]
    out = [x for x in found(facts(latest=latest, recent=recent)) if x.rule == f.BROKER_RESTARTED]
    assert ids(out) == [(f.BROKER_RESTARTED, "broker 2")]
    assert out[0].severity == f.INFO
    assert "restarted 2 times in the last 24 h" in out[0].message
    assert out[0].since == pytest.approx(NOW - 10 * HOUR, abs=1)
    # A token change before the window is not counted.
    assert "1 time " in [x for x in found(facts(latest=latest, recent=recent),
                                         HealthConfig(window_s=5 * HOUR))
                         if x.rule == f.BROKER_RESTARTED][0].message


def test_broker_restarted_from_a_registration_after_a_report_and_from_memory_merged():
    brokers = [broker(1, registered_at=NOW - 600), broker(2, registered_at=NOW - 3 * DAY),
               broker(3, registered_at=NOW - 600)]
    recent = [report(1, 2 * HOUR)]  # broker 1 ran before its registration; 3 did not
    latest = [report(1, 2 * HOUR), report(2, 60), report(3, 60)]
    memory = rules.Memory(restarts={1: (NOW - 590,), 2: (NOW - 3600,), 3: (NOW - 9 * DAY,)})
    out = [x for x in found(facts(brokers=brokers, latest=latest, recent=recent),
                            memory=memory) if x.rule == f.BROKER_RESTARTED]
    assert ids(out) == [(f.BROKER_RESTARTED, "broker 1"), (f.BROKER_RESTARTED, "broker 2")]
    assert "1 time " in out[0].message and "a new registration" in out[0].message


def test_version_drift_names_who_runs_what():
    latest = [report(1, 60, kafka="3.9.2"), report(2, 60, kafka="3.9.2"),
              report(3, 60, kafka="3.8.1", cp="7.8.0"), report(9, 60, kafka="2.0")]
    out = found(facts([1, 2, 3], latest=latest))
    drift = [x for x in out if x.rule == f.VERSION_DRIFT]
    assert len(drift) == 1 and drift[0].subject == "cluster"
    assert "Kafka 3.9.2 (brokers 1, 2); 3.8.1 (broker 3)" in drift[0].message
    assert "CP none (brokers 1, 2); 7.8.0 (broker 3)" in drift[0].message
    assert "2.0" not in drift[0].message  # broker 9 is not registered
    # An agent that could not tell its broker's version differs from no one.
    same = [report(1, 60), report(2, 60, kafka="unknown"), report(3, 60)]
    assert [x for x in found(facts([1, 2, 3], latest=same)) if x.rule == f.VERSION_DRIFT] == []


def test_config_drift_compares_the_listed_keys_of_enhanced_reports():
    base = {"min.insync.replicas": "2", "log.retention.hours": "168", "broker.id": "1"}
    latest = [report(1, 60, config=base), report(2, 60, config={**base, "broker.id": "2"}),
              report(3, 60, config={"min.insync.replicas": "1", "broker.id": "3"})]
    out = [x for x in found(facts([1, 2, 3], latest=latest)) if x.rule == f.CONFIG_DRIFT]
    assert len(out) == 1
    assert out[0].message.endswith("min.insync.replicas, log.retention.hours")
    assert "min.insync.replicas: 2 (brokers 1, 2); 1 (broker 3)" in out[0].details
    assert "log.retention.hours: 168 (brokers 1, 2); (not set) (broker 3)" in out[0].details
    # Only the listed keys count (broker.id differs by nature: listed, it is drift too);
    # one Enhanced report alone is no drift.
    listed = [x for x in found(facts([1, 2, 3], latest=latest),
                               HealthConfig(drift_keys=("broker.id",)))
              if x.rule == f.CONFIG_DRIFT]
    assert listed[0].message.endswith(": broker.id")
    assert [x for x in found(facts([1, 2, 3], latest=[latest[0], report(2, 60),
                                                      report(3, 60)]))
            if x.rule == f.CONFIG_DRIFT] == []


def _p(topic: str, n: int, leader: int | None, replicas: list[int], isr: list[int]
       ) -> PartitionState:
    return PartitionState(topic, n, leader, tuple(replicas), tuple(isr))


def test_partition_rules():
    unhealthy = (_p("orders", 0, 1, [1, 2, 3], [1, 3]), _p("orders", 1, 3, [3, 2, 1], [3, 1]),
                 _p("audit", 0, None, [2], [2]))
    checked = (_p("orders", 0, 1, [1, 2, 3], [1, 3]), _p("orders", 1, 3, [3, 2, 1], [3, 1]),
               _p("orders", 2, 1, [1, 3, 2], [1, 3, 2]))
    parts = PartitionFacts(3, 10, unhealthy, checked, {"orders": 3}, 1)
    out = found(facts(partitions=parts))
    assert ids(out) == [(f.OFFLINE, "cluster"), (f.UNDER_MIN_ISR, "cluster"),
                        (f.UNDER_REPLICATED, "cluster")]
    offline, min_isr, urp = out
    assert offline.severity == f.CRITICAL and "1 partition of 1 topic have no leader: audit" \
        in offline.message
    assert min_isr.severity == f.CRITICAL and "2 partitions of 1 topic below" in min_isr.message
    assert urp.severity == f.WARNING and urp.message.startswith("2 partitions of 1 topic")
    assert urp.details == ("orders: partitions 0 (isr [1, 3] of [1, 2, 3]), 1 (isr [3, 1] of "
                           "[3, 2, 1])",)
    # One partition down to a single in-sync replica makes it critical.
    alone = PartitionFacts(1, 1, (_p("pay", 0, 2, [2, 1], [2]),), (), {}, 1)
    urp2 = found(facts(partitions=alone))[0]
    assert urp2.severity == f.CRITICAL and "1 with a single in-sync replica" in urp2.message
    # Unknown min ISR (configs not read): the rule is not evaluated.
    ran, _ = rules.evaluate(facts(partitions=dataclasses.replace(parts, problem="timeout")),
                            HealthConfig())
    assert f.UNDER_MIN_ISR not in ran and f.UNDER_REPLICATED in ran


def test_many_topics_are_named_in_a_bounded_message():
    many = tuple(_p(f"t{i:04d}", 0, 1, [1, 2], [1]) for i in range(500))
    urp = found(facts(partitions=PartitionFacts(500, 500, many, (), {}, 1)))[0]
    assert "and 495 more" in urp.message and len(urp.message) < 200
    assert len(urp.details) == rules.MAX_DETAILS + 1


def test_controller_missing_and_changes():
    out = found(facts(controller=ControllerFacts(None, None, 4)))
    assert [(x.rule, x.severity, x.aspect) for x in out] == [(f.CONTROLLER, f.CRITICAL,
                                                              "missing")]
    assert "/controller" in out[0].message
    quorum = Quorum(None, 7, 100, (), ())
    kraft = found(facts(controller=ControllerFacts(None, None, 7, quorum, kraft=True)))
    assert "quorum has no leader" in kraft[0].message
    # ZooKeeper: a controller znode made within the window by a later election.
    elected = ControllerFacts(2, int((NOW - 300) * 1000), 3)
    change = found(facts(controller=elected))[0]
    assert (change.severity, change.aspect) == (f.INFO, "changed")
    assert change.since == pytest.approx(NOW - 300)
    # The cluster's first election is no change; an old one is out of the window.
    assert found(facts(controller=ControllerFacts(2, int((NOW - 300) * 1000), 1))) == []
    assert found(facts(controller=ControllerFacts(2, int((NOW - 2 * DAY) * 1000), 3))) == []
    # Seen by this session (and the same change seen by ZooKeeper merged into one).
    seen = rules.Memory(controller_changes=((NOW - 290, 1, 2),))
    merged = found(facts(controller=elected), memory=seen)
    assert len(merged) == 1 and "changed 1 time " in merged[0].message


def test_support_topic():
    assert ids(found(facts(support=SupportTopicFacts(TOPIC, False)))) == [
        (f.SUPPORT_TOPIC, f"topic {TOPIC}")]
    bad = found(facts(support=SupportTopicFacts(TOPIC, True, 2, 1, 604_800_000)))[0]
    assert bad.details == ("replication factor 1 < 3", "2 partitions, not 1",
                           "retention.ms=604800000 keeps less than 365 days")
    # min(3, brokers): one broker wants one replica; retention -1 keeps forever.
    assert found(facts([1], support=SupportTopicFacts(TOPIC, True, 1, 1, -1))) == []


def test_severities_and_silencing_come_from_the_config():
    h = facts([1, 2, 3], latest=[report(1, 60), report(2, 60), report(3, 60, kafka="3.8.0")])
    assert found(h)[0].severity == f.WARNING
    assert found(h, HealthConfig(severities={f.VERSION_DRIFT: f.CRITICAL}))[0].severity == \
        f.CRITICAL
    ran, out = rules.evaluate(h, HealthConfig(silenced=frozenset({f.VERSION_DRIFT})))
    assert f.VERSION_DRIFT not in ran and out == []


def test_findings_sort_worst_first_then_table_order_then_broker_number():
    latest = [report(10, 27 * HOUR), report(9, 27 * HOUR), report(2, 60, kafka="3.8.0")]
    h = facts([2, 9, 10, 11], latest=latest)
    assert ids(found(h)) == [(f.REPORT_MISSING, "broker 11"), (f.REPORT_STALE, "broker 9"),
                             (f.REPORT_STALE, "broker 10"), (f.VERSION_DRIFT, "cluster")]
