"""Real `ps-console agent` processes beside the three sandbox brokers (shared sandbox:
nothing here stops a broker)."""

from __future__ import annotations

import json
import time

from confluent_kafka import Producer

from engine.cluster.location import ClusterLocation
from engine.cluster.session import ClusterSession
from engine.reading.reports import iter_reports
from engine.reporting.receiver import Receiver
from engine.reporting.records import decode
from tests.support.agent_helpers import AgentProcess, agent_config, run_cli, set_property
from tests.support.cluster import location
from tests.support.cp_records import cp30_basic
from tests.support.ps_report_helpers import delete_topics, unique_topic

ENABLE = "confluent.support.metrics.enable"


def _reports_json(cluster, topic: str) -> list[dict]:
    run = run_cli("reports", *cluster.cli, "--topic", topic, "--json")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _count(target: ClusterLocation, topic: str, broker_id: int) -> int:
    with ClusterSession(target) as session:
        return sum(1 for r in iter_reports(session, topic) if r.broker_id == broker_id)


def test_three_agents_report_follow_their_settings_and_stop_cleanly(cluster, tmp_path):
    topic = unique_topic("ps-agent")
    target = location(**cluster.where)
    agents: dict[int, AgentProcess] = {}
    configs = {}
    with Receiver() as receiver:
        try:
            for b in (1, 2, 3):
                configs[b] = agent_config(cluster, b, tmp_path, topic, receiver.url,
                                          customer_id="c0" if b == 1 else "anonymous")
                agents[b] = AgentProcess(configs[b], tmp_path / f"state-{b}",
                                         kafka_home=cluster.kafka_home)
            for agent in agents.values():
                agent.wait_log(lambda t: "topic=ok(" in t, 90, "a first report")

            # Records that are not this project's own: CP 3.0 and garbage.
            producer = Producer({"bootstrap.servers": cluster.bootstrap})
            producer.produce(topic, value=cp30_basic(token="cp30-token"))
            producer.produce(topic, value=b"\x00\x01 not avro at all")
            assert producer.flush(30) == 0
            marks = {b: len(a.report_lines()) for b, a in agents.items()}
            for b, agent in agents.items():
                agent.wait_log(lambda t, b=b: len(agents[b].report_lines()) > marks[b] + 1,
                               30, "two more reports")

            doc = _reports_json(cluster, topic)
            by_broker = {d["broker_id"]: d for d in doc if d["broker_id"] is not None}
            assert sorted(by_broker) == [1, 2, 3]
            assert by_broker[1]["schema_kind"] == "enhanced"
            assert by_broker[1]["fields"]["brokerId"] == 1
            assert {by_broker[b]["schema_kind"] for b in (2, 3)} == {"basic"}
            assert all(d["fields"]["collectorState"] == 2 for d in by_broker.values())
            assert all(d["report_id"] for d in by_broker.values())
            assert any(d["token"] == "cp30-token" and d["fields"]["clusterId"] == "NA"
                       for d in doc)
            assert any(not d["ok"] and d["error"] for d in doc)
            # The same bytes went over HTTP, on the path of each customer id.
            got = receiver.received
            assert {r.path for r in got} == {"/test", "/anon"}
            assert all(decode(r.body).ok for r in got)

            ok = run_cli("agent", "--check", "--broker-config", str(configs[2]),
                         "--interval-seconds", "2")
            assert ok.returncode == 0, ok.stdout + ok.stderr
            assert ok.stdout.startswith("PS-AGENT OK - broker 2 reported ")

            # Reporting switched off in the file: the running agent goes quiet ...
            set_property(configs[3], ENABLE, "false")
            agents[3].wait_log(lambda t: f"reporting disabled: {ENABLE}=false" in t, 15,
                               "the switch-off")
            quiet_from = _count(target, topic, 3)
            lines = len(agents[3].report_lines())
            time.sleep(5)  # 2.5 intervals
            assert _count(target, topic, 3) == quiet_from
            assert len(agents[3].report_lines()) == lines
            # ... and reports again when switched back on, without a restart.
            set_property(configs[3], ENABLE, "true")
            agents[3].wait_log(lambda t: len(agents[3].report_lines()) > lines, 15,
                               "a report after re-enabling")
            assert agents[3].proc.poll() is None
            assert _count(target, topic, 3) > quiet_from

            for b, agent in agents.items():
                code, took = agent.terminate()
                assert code == 0 and took < 10, (b, code, took, agent.log)
            doc = _reports_json(cluster, topic)
            last = {d["broker_id"]: d for d in doc if d["broker_id"] is not None}
            assert {b: last[b]["fields"]["collectorState"] for b in (1, 2, 3)} == \
                {1: 1, 2: 1, 3: 1}
            assert all("Traceback" not in a.log for a in agents.values())

            time.sleep(2.5)
            stale = run_cli("agent", "--check", "--broker-config", str(configs[2]),
                            "--interval-seconds", "1", "--grace-seconds", "1")
            assert stale.returncode == 1
            assert stale.stdout.startswith("PS-AGENT CRITICAL - broker 2 last reported ")
        finally:
            for agent in agents.values():
                agent.stop()
            delete_topics(cluster.bootstrap, topic)


def test_check_is_critical_without_any_report_and_a_usage_error_is_2(cluster, tmp_path):
    config = agent_config(cluster, 2, tmp_path, unique_topic("ps-agent-none"), None)
    none = run_cli("agent", "--check", "--broker-config", str(config))
    assert none.returncode == 1
    assert none.stdout.startswith("PS-AGENT CRITICAL - ") and "does not exist" in none.stdout
    usage = run_cli("agent", "--check")
    assert usage.returncode == 2
