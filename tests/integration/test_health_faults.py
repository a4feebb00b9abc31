"""The health rules that need a broker stopped, on a private sandbox of each kind: the
active controller's broker stopped and started again raises and clears broker-down,
under-replicated-partitions (critical: a partition left with one in-sync replica),
offline-partitions, under-min-isr, and shows the controller change and the restart.

One stop per kind covers all of them (a stop costs seconds). Never run it against a shared
sandbox (PS_SANDBOX_REUSE*): it stops brokers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cluster.session import ClusterSession
from engine.health import finding as f
from engine.health.facts import read_view
from engine.health.monitor import HealthMonitor
from engine.reporting.report_now import report_now
from tests.support.health import (
    YEAR_MS,
    cli_where,
    create_topic,
    delete_topic,
    poll,
    rules_of,
    where,
)
from tests.support.ps_report_helpers import broker_config_copy, unique_topic

pytestmark = pytest.mark.private_sandbox
PS = str(Path(sys.executable).with_name("ps-console"))
TROUBLE = (f.BROKER_DOWN, f.UNDER_REPLICATED, f.OFFLINE, f.UNDER_MIN_ISR)


@pytest.fixture(autouse=True)
def _private_sandbox_only(cluster):
    variable = "PS_SANDBOX_REUSE" if cluster.mode == "zk" else "PS_SANDBOX_REUSE_KRAFT"
    if os.environ.get(variable):
        pytest.fail(f"test_health_faults stops brokers: run it without {variable}")


def _controller(cluster) -> int:
    if cluster.mode == "kraft":
        return cluster.box.active_controller()
    with ClusterSession(where(cluster)) as session:
        controller = read_view(session).controller_id
    assert controller is not None
    return controller


def _report(cluster, broker_id: int, topic: str, tmp_path: Path) -> None:
    config = broker_config_copy(cluster, broker_id, tmp_path, {
        "confluent.support.metrics.topic": topic,
        "confluent.support.metrics.endpoint.secure.enable": "false",
        "confluent.support.metrics.endpoint.insecure.enable": "false"})
    outcome = report_now(str(config), where(cluster), token_dir=tmp_path / "tokens")
    assert all(d.ok or d.skipped for d in outcome.destinations), outcome.destinations


def _health_json(cluster, topic: str, tmp_path: Path) -> tuple[int, dict]:
    done = subprocess.run([PS, "health", *cli_where(cluster), "--topic", topic,
                           "--format", "json", "--config", str(tmp_path / "none.toml")],
                          capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


def _trouble(evaluation, victim: int) -> set[str]:
    found = rules_of(evaluation)
    return {rule for rule in TROUBLE
            if (rule, f"broker {victim}" if rule == f.BROKER_DOWN else "cluster") in found}


@pytest.mark.timeout(480)
def test_a_stopped_controller_raises_and_clears_the_broker_and_partition_rules(
        cluster, tmp_path):
    ids = cluster.broker_ids
    victim = _controller(cluster)
    other = next(b for b in ids if b != victim)
    support = unique_topic("ps-health-support")
    strict, pair, solo = (unique_topic(p) for p in ("ps-min3", "ps-pair", "ps-solo"))
    create_topic(cluster.bootstrap, support, config={"retention.ms": YEAR_MS})
    create_topic(cluster.bootstrap, strict, config={"min.insync.replicas": "3"})
    create_topic(cluster.bootstrap, pair, assignment=[[victim, other]])
    create_topic(cluster.bootstrap, solo, assignment=[[victim]])
    try:
        for broker_id in ids:
            _report(cluster, broker_id, support, tmp_path)
        monitor = HealthMonitor(where(cluster, timeout=5), support)
        before = monitor.evaluate()
        assert before.reachable and not _trouble(before, victim), before.findings

        cluster.box.stop_broker(victim)
        try:
            down, _ = poll(monitor, lambda e: _trouble(e, victim) == set(TROUBLE)
                           and any(x.rule == f.CONTROLLER and x.aspect == "changed"
                                   for x in e.findings)
                           and any(x.rule == f.UNDER_REPLICATED and x.severity == f.CRITICAL
                                   for x in e.findings), timeout=120)
            urp = next(x for x in down.findings if x.rule == f.UNDER_REPLICATED)
            assert urp.severity == f.CRITICAL and any(pair in d for d in urp.details)
            assert any(strict in d for d in urp.details)
            offline = next(x for x in down.findings if x.rule == f.OFFLINE)
            assert solo in offline.message
            min_isr = next(x for x in down.findings if x.rule == f.UNDER_MIN_ISR)
            assert strict in min_isr.message and "isr 2 < 3" in " ".join(min_isr.details)
            assert down.partitions is not None and down.partitions.offline >= 1
            # A fresh `ps-console health` knows the broker from its recent report (once the
            # support topic's partition has a leader again: asked until then, bounded).
            deadline = time.monotonic() + 60
            while True:
                code, shown = _health_json(cluster, support, tmp_path)
                subjects = {(x["rule"], x["subject"]) for x in shown["findings"]}
                if (f.BROKER_DOWN, f"broker {victim}") in subjects or \
                        time.monotonic() > deadline:
                    break
                time.sleep(2)
            assert code == 1
            assert (f.BROKER_DOWN, f"broker {victim}") in subjects
        finally:
            cluster.box.start_broker(victim)
        _report(cluster, victim, support, tmp_path)

        back, seen = poll(monitor, lambda e: not _trouble(e, victim), timeout=120)
        cleared = {x.rule for e in seen for x in e.cleared}
        assert set(TROUBLE) <= cleared
        assert (f.BROKER_RESTARTED, f"broker {victim}") in rules_of(back)
        if cluster.mode == "zk":
            # ZooKeeper tells a fresh process too: a new registration after a report, and
            # the agent's new token.
            _, shown = _health_json(cluster, support, tmp_path)
            restarted = [x for x in shown["findings"] if x["rule"] == f.BROKER_RESTARTED
                         and x["subject"] == f"broker {victim}"]
            assert restarted, shown["findings"]
            assert any("token" in d for d in restarted[0]["details"]) or \
                "token" in restarted[0]["message"] or "registration" in restarted[0]["message"]
    finally:
        for topic in (support, strict, pair, solo):
            delete_topic(cluster.bootstrap, topic)
