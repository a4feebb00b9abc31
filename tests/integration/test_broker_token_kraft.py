"""The broker token in KRaft, on a private KRaft sandbox (issue 18, 2 and 3).

KRaft shows clients no registration identity, so the runtime is the broker's JVM on its
host: the agent, `report` from another state folder and the console's Report now agree on
the host; a sender that cannot see the JVM (here: `report` in a PID namespace of its own,
where /proc holds no broker) takes the token of the broker's latest report. A restart of
the node gives a new token; while it is down nothing is sent. This file restarts the node:
refused on the shared KRaft sandbox."""

from __future__ import annotations

import json
import re
import time

import pytest

from engine.reading.reports import to_report
from tests.support.agent_helpers import AgentProcess, agent_config, run_cli, run_elsewhere
from tests.support.cluster import location, topic_records
from tests.support.ps_report_helpers import delete_topics, unique_topic
from tools.sandbox.kafka_sandbox import CACHE
from tui.backend import ClusterBackend

pytestmark = pytest.mark.kraft

_TOKEN = re.compile(r"broker 1 runtime: token ([0-9a-f-]{36}) \(from (.*)\)")
_REPORT = re.compile(r"report broker=1 ")


def _reports(sandbox, topic: str) -> list:
    return [r for r in map(to_report, topic_records(sandbox.bootstrap, topic))
            if r.broker_id == 1]


@pytest.fixture
def private_kraft(kraft_sandbox):
    if kraft_sandbox.box.state_dir.resolve() == (CACHE / "run-kraft").resolve():
        pytest.fail("refusing to restart the node of the shared KRaft sandbox")
    return kraft_sandbox


def _report_json(*args: str, timeout: float = 120) -> dict:
    done = run_cli("report", *args, "--json", timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_kraft_token_is_the_jvm_on_the_host_and_a_restart_changes_it(private_kraft, tmp_path,
                                                                       monkeypatch):
    sandbox = private_kraft
    topic = unique_topic("ps-token-kraft")
    config = agent_config(sandbox, 1, tmp_path, topic, None)
    agent = AgentProcess(config, tmp_path / "agent-state", interval=2,
                         extra=["--timeout", "3"])
    down = False
    try:
        agent.wait_log(lambda t: "topic=ok(" in t, 120, "the agent's first report")
        (first,) = {r.token for r in _reports(sandbox, topic)}

        here = _report_json("--broker-config", str(config), "--token-dir",
                            str(tmp_path / "report-state"))
        assert here["fields"]["brokerProcessUUID"] == first
        assert here["token_source"] == "its JVM on this host"
        assert _TOKEN.findall(agent.log) == [(first, "its JVM on this host")]
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "console-home"))
        outcome = ClusterBackend(location(bootstrap=sandbox.bootstrap), topic, (str(config),)) \
            .report_now(str(config), dry_run=True)
        assert outcome.record["brokerProcessUUID"] == first

        away = run_elsewhere("report", "--broker-config", str(config), "--token-dir",
                             str(tmp_path / "away-state"), "--json")
        assert away.returncode == 0, away.stdout + away.stderr
        out = json.loads(away.stdout)
        assert out["fields"]["brokerProcessUUID"] == first
        assert out["token_source"] == f"its latest report in {topic}"

        # The node stops: nothing is sent while it is down; back, a new runtime at once.
        sandbox.box.stop_broker(1)
        down = True
        agent.wait_log(lambda t: "waiting, nothing sent: " in t, 30, "the wait")
        time.sleep(1)
        made = len(_REPORT.findall(agent.log))
        time.sleep(6)  # three intervals
        assert len(_REPORT.findall(agent.log)) == made
        sandbox.box.start_broker(1)
        down = False
        agent.wait_log(lambda t: len(_TOKEN.findall(t)) == 2, 90, "a report with a new token")
        second = _TOKEN.findall(agent.log)[1][0]
        assert second != first
        again = _report_json("--broker-config", str(config), "--token-dir",
                             str(tmp_path / "report-state"))
        assert again["fields"]["brokerProcessUUID"] == second
        code, took = agent.terminate()
        assert code == 0 and took < 10, agent.log
    finally:
        if down:
            sandbox.box.start_broker(1)
        agent.stop()
        delete_topics(sandbox.bootstrap, topic)
    assert "Traceback" not in agent.log
