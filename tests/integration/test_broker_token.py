"""One broker token per broker runtime, whoever sends the report (issue 18, 2), on the
sandbox: the agent, `ps-console report` from another state folder and the console's Report
now agree without sharing a file; the same broker id in another cluster gets another
token. Nothing here stops a broker (the restart is in test_broker_runtime.py)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from kazoo.client import KazooClient

from engine.cluster.session import ClusterSession
from engine.reading.reports import iter_reports
from engine.reporting.report_now import report_now
from tests.support.agent_helpers import AgentProcess, agent_config, run_cli, run_elsewhere
from tests.support.cluster import location
from tests.support.ps_report_helpers import delete_topics, unique_topic
from tui.backend import ClusterBackend

pytestmark = pytest.mark.sandbox


def _tokens_in_topic(sandbox, topic: str, broker_id: int) -> list[str]:
    with ClusterSession(location(zookeeper=sandbox.zk_connect)) as session:
        return [r.token for r in iter_reports(session, topic)
                if r.broker_id == broker_id and r.token]


def test_agent_report_and_console_send_one_token_for_one_runtime(sandbox, tmp_path,
                                                                   monkeypatch):
    topic = unique_topic("ps-token")
    config = agent_config(sandbox, 1, tmp_path, topic, None)
    agent = AgentProcess(config, tmp_path / "agent-state", interval=30)
    try:
        agent.wait_log(lambda t: "topic=ok(" in t, 90, "the agent's first report")

        # `ps-console report` with a state folder of its own.
        done = run_cli("report", "--broker-config", str(config), "--token-dir",
                       str(tmp_path / "report-state"), "--json", timeout=120)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)

        # `report` from a host that does not see the broker's JVM: the same registration.
        away = run_elsewhere("report", "--broker-config", str(config), "--token-dir",
                             str(tmp_path / "away-state"), "--json")
        assert away.returncode == 0, away.stdout + away.stderr

        # The console's Report now, with the default state folder of another user.
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "console-home"))
        backend = ClusterBackend(location(zookeeper=sandbox.zk_connect), topic, (str(config),))
        outcome = backend.report_now(str(config), dry_run=False)
        assert outcome.ok, outcome.destinations

        tokens = _tokens_in_topic(sandbox, topic, 1)
        assert len(tokens) == 4 and len(set(tokens)) == 1, tokens
        assert str(uuid.UUID(tokens[0], version=4)) == tokens[0]
        assert out["fields"]["brokerProcessUUID"] == tokens[0]
        # How each sender told the runtime: the registration, on the broker's host or not.
        assert out["token_source"] == "its registration in ZooKeeper"
        assert json.loads(away.stdout)["token_source"] == "its registration in ZooKeeper"
        logged = re.search(r"broker 1 runtime: token ([0-9a-f-]{36}) \(from its registration "
                           r"in ZooKeeper\)", agent.log)
        assert logged and logged.group(1) == tokens[0], agent.log
        # Another broker of the same cluster: another runtime, another token.
        other = report_now(str(agent_config(sandbox, 2, tmp_path, topic, None)),
                           dry_run=True, token_dir=tmp_path / "report-state")
        assert other.record["brokerProcessUUID"] != tokens[0]
    finally:
        agent.stop()
        delete_topics(sandbox.bootstrap, topic)


@pytest.fixture
def second_cluster(sandbox):
    """Another cluster in the same ZooKeeper, made cheaply: its own chroot with a
    `/cluster/id` and a live registration of broker 1 (an ephemeral znode owned by this
    fixture's session, holding broker 1's real registration, so its listener is real)."""
    chroot = f"/ps-other-{uuid.uuid4().hex[:8]}"
    zk = KazooClient(hosts=sandbox.zk_hosts, timeout=10)
    zk.start(timeout=10)
    try:
        data, _ = zk.get("/kafka/brokers/ids/1")
        zk.create(f"{chroot}/cluster/id", b'{"version":"1","id":"T3RoZXJDbHVzdGVyMDAwMQ"}',
                  makepath=True)
        zk.create(f"{chroot}/brokers/ids/1", data, ephemeral=True, makepath=True)
        yield f"{sandbox.zk_hosts}{chroot}"
    finally:
        zk.delete(chroot, recursive=True)
        zk.stop()
        zk.close()


def test_the_same_broker_id_in_two_clusters_never_shares_a_token(sandbox, tmp_path,
                                                                 second_cluster):
    """The default state folder used to hand broker 1 of every cluster one token: now the
    same folder sees two clusters, back and forth, and each keeps its own."""
    config = agent_config(sandbox, 1, tmp_path, unique_topic("ps-token-two"), None)
    state = tmp_path / "one-state-folder"

    def token(zookeeper: str) -> str:
        outcome = report_now(str(config), location(zookeeper=zookeeper), dry_run=True,
                             token_dir=state)
        return str(outcome.record["brokerProcessUUID"])

    first = token(sandbox.zk_connect)
    other = token(second_cluster)
    assert other != first
    assert token(sandbox.zk_connect) == first  # no restart seen where there was none
    assert token(second_cluster) == other
