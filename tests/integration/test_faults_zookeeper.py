"""Agents through a ZooKeeper outage, on a private sandbox whose ZooKeeper this file stops
and restarts. Run it WITHOUT PS_SANDBOX_REUSE: it must never touch the shared sandbox.

While ZooKeeper is down the brokers keep serving produce and fetch, so the agents must keep
their schedule: reports keep landing in the topic during the outage and after it, the
agents never crash, and no report is lost or doubled (counted by `report.id` header)."""

from __future__ import annotations

import json
import os
import re

import pytest

from engine.reading.reports import REPORT_ID_HEADER, to_report
from tests.support.agent_helpers import AgentProcess, agent_config, run_cli
from tests.support.cluster import topic_records
from tests.support.ps_report_helpers import unique_topic

pytestmark = pytest.mark.sandbox

AGENT_BROKERS = (1, 2)
_OK = re.compile(r"report broker=(\d+) .* id=([0-9a-f]{8}) topic=ok\(")


@pytest.fixture(scope="module", autouse=True)
def _private_sandbox_only():
    if os.environ.get("PS_SANDBOX_REUSE"):
        pytest.fail("test_faults_zookeeper stops ZooKeeper: run it without PS_SANDBOX_REUSE")


def _ids_in_topic(bootstrap: str, topic: str) -> list[str]:
    return [r.headers[REPORT_ID_HEADER].decode()
            for r in topic_records(bootstrap, topic, timeout=5)]


def _delivered(agent: AgentProcess) -> int:
    return len(_OK.findall(agent.log))


def test_agents_keep_their_schedule_through_a_zookeeper_outage(sandbox, tmp_path):
    topic = unique_topic("ps-zk-outage")
    configs = {b: agent_config(sandbox, b, tmp_path, topic, None) for b in AGENT_BROKERS}
    agents = {b: AgentProcess(configs[b], tmp_path / f"state-{b}", interval=2,
                              extra=["--timeout", "3"])
              for b in AGENT_BROKERS}
    zk_down = False
    try:
        for agent in agents.values():
            agent.wait_log(lambda t: t.count("topic=ok(") >= 2, 90, "two delivered reports")

        # A `report` that has seen broker 1 registered, for later (dry runs: the topic
        # holds the agents' reports only).
        seen = run_cli("report", "--broker-config", str(configs[1]), "--token-dir",
                       str(tmp_path / "seen"), "--dry-run", "--json", timeout=120)
        assert seen.returncode == 0, seen.stderr
        token = json.loads(seen.stdout)["fields"]["brokerProcessUUID"]

        before = {b: _delivered(a) for b, a in agents.items()}
        in_topic_before = len(_ids_in_topic(sandbox.bootstrap, topic))
        sandbox.box.stop_zookeeper()
        zk_down = True
        # The registration cannot be read. A sender that saw the broker's JVM registered and
        # sees it still running knows the runtime: it reports, with the same token ...
        kept = run_cli("report", "--broker-config", str(configs[1]), "--token-dir",
                       str(tmp_path / "seen"), "--dry-run", "--json", "--timeout", "3",
                       timeout=120)
        assert kept.returncode == 0, kept.stdout + kept.stderr
        out = json.loads(kept.stdout)
        assert out["fields"]["brokerProcessUUID"] == token
        assert out["token_source"] == "the same JVM as at its last registration"
        # ... one that never saw it registered cannot tell whether it runs: nothing is sent.
        blind = run_cli("report", "--broker-config", str(configs[1]), "--token-dir",
                        str(tmp_path / "never-seen"), "--dry-run", "--timeout", "3",
                        timeout=120)
        assert blind.returncode == 1
        assert "whether it runs cannot be told" in blind.stderr
        assert len(blind.stderr.strip().splitlines()) == 1
        # Three more intervals' worth of delivered reports per agent, ZooKeeper still down.
        for b, agent in agents.items():
            agent.wait_log(lambda t, b=b: len(_OK.findall(t)) >= before[b] + 3, 60,
                           "reports delivered while ZooKeeper is down")
        # ... and they are really in the topic, read from the brokers while ZooKeeper is down.
        assert len(_ids_in_topic(sandbox.bootstrap, topic)) >= in_topic_before + 6
        sandbox.box.start_zookeeper()
        zk_down = False

        after = {b: _delivered(a) for b, a in agents.items()}
        for b, agent in agents.items():
            agent.wait_log(lambda t, b=b: len(_OK.findall(t)) >= after[b] + 3, 90,
                           "reports delivered after ZooKeeper returned")
        for b, agent in agents.items():
            assert agent.proc.poll() is None, (b, agent.log)
            code, took = agent.terminate()
            assert code == 0 and took < 10, (b, code, took, agent.log)
    finally:
        if zk_down:
            sandbox.box.start_zookeeper()
        for agent in agents.values():
            agent.stop()

    ids = _ids_in_topic(sandbox.bootstrap, topic)
    assert len(ids) == len(set(ids)), "a report was written twice"
    records = topic_records(sandbox.bootstrap, topic)
    reports = [to_report(r) for r in records]
    assert all(r.ok for r in reports)
    for b, agent in agents.items():
        assert "Traceback" not in agent.log, agent.log
        made = re.findall(rf"report broker={b} .* id=([0-9a-f]{{8}}) ", agent.log)
        in_topic = [r.headers[REPORT_ID_HEADER].decode()[:8] for r, rep in
                    zip(records, reports, strict=True) if rep.broker_id == b]
        # Every report the agent made is in the topic once, in the order it was made
        # (a report spooled during the outage, if any, arrived later, still in order).
        assert in_topic == made, agent.log
        # The schedule held: about one report per 2 s interval, none skipped for long.
        assert len(made) >= 2 + 3 + 3 + 1
