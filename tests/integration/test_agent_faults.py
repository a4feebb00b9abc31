"""The agent through an outage of the support topic, on a private sandbox whose brokers
this file stops. Run it WITHOUT PS_SANDBOX_REUSE: it must never touch the shared sandbox.

The agent's own broker keeps running (a stopped broker gets no report at all, see
test_broker_runtime.py); the topic's only replica lives on another broker, which stops, so
the reports made meanwhile cannot reach Kafka and wait in the spool."""

from __future__ import annotations

import os
import re

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from engine.reading.reports import REPORT_ID_HEADER, to_report
from tests.support.agent_helpers import AgentProcess, agent_config
from tests.support.cluster import topic_records, wait_for_topic
from tests.support.ps_report_helpers import unique_topic

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module", autouse=True)
def _private_sandbox_only():
    if os.environ.get("PS_SANDBOX_REUSE"):
        pytest.fail("test_agent_faults stops brokers: run it without PS_SANDBOX_REUSE")


HOST = 2  # the broker that holds the topic's only replica; the agent reports broker 1


def test_reports_made_while_the_topic_is_down_arrive_once_and_in_order(sandbox, tmp_path):
    topic = unique_topic("ps-agent-outage")
    admin = AdminClient({"bootstrap.servers": sandbox.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replica_assignment=[[HOST]])]
                        )[topic].result(30)
    wait_for_topic(sandbox.bootstrap, topic)
    config = agent_config(sandbox, 1, tmp_path, topic, None)
    agent = AgentProcess(config, tmp_path / "state-1", interval=2, extra=["--timeout", "2"])
    host_down = False
    try:
        agent.wait_log(lambda t: t.count("topic=ok(") >= 2, 60, "two delivered reports")

        sandbox.box.stop_broker(HOST)
        host_down = True
        agent.wait_log(lambda t: len(re.findall(r"topic=failed\(spooled", t)) >= 3, 90,
                       "three reports spooled during the outage")
        sandbox.box.start_broker(HOST)
        host_down = False
        agent.wait_log(lambda t: "spool broker=1 delivered" in t, 90, "the spool flushed")
        agent.wait_log(lambda t: t.rsplit("spool broker=1 delivered", 1)[-1].count(
            "topic=ok(") >= 1, 30, "a fresh report after the flush")
        code, took = agent.terminate()
        assert code == 0 and took < 10, (code, took, agent.log)
    finally:
        if host_down:
            sandbox.box.start_broker(HOST)
        agent.stop()

    made = re.findall(r"report broker=1 .* id=([0-9a-f]{8}) ", agent.log)
    records = topic_records(sandbox.bootstrap, topic)
    ids = [r.headers[REPORT_ID_HEADER].decode() for r in records]
    # None doubled: every record is a different report (two reports may share a token and
    # a timestamp second, e.g. the last periodic one and the shutdown one) ...
    assert len(ids) == len(set(ids))
    reports = [to_report(r) for r in records]
    assert all(r.ok and r.broker_id == 1 for r in reports)
    # ... none lost: every report the agent made is in the topic (spooled ones included),
    # and in the order they were made.
    assert [i[:8] for i in ids] == made, agent.log
    stamps = [r.time_s for r in reports]
    assert stamps == sorted(stamps)
    assert reports[-1].state == 1
    assert len(re.findall(r"topic=failed\(spooled", agent.log)) >= 3
