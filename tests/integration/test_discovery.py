"""Discovery against the real sandbox (ZooKeeper + 3 brokers), read-only except for one topic
of its own; plus the CLI's exit codes for bad and unreachable connect strings."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from engine.cluster.discovery import discover, live_broker_ids, registration_owner
from engine.cluster.model import SOURCE_ADMIN, SOURCE_ZOOKEEPER
from engine.cluster.session import ClusterSession
from engine.errors import ConnectionFailure, NotFound

pytestmark = pytest.mark.sandbox

PS_CONSOLE = str(Path(sys.executable).parent / "ps-console")


def _closed_port() -> int:
    """A local port nobody listens on (bound and released: nothing else picks it that fast)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PS_CONSOLE, *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def admin(sandbox):
    return AdminClient({"bootstrap.servers": sandbox.bootstrap})


def test_three_brokers_with_their_real_endpoints(sandbox, admin, open_session):
    view = discover(open_session(zookeeper=sandbox.zk_connect))
    described = admin.describe_cluster(request_timeout=10).result(timeout=15)

    assert view.source == SOURCE_ZOOKEEPER
    assert [b.id for b in view.brokers] == sorted(sandbox.broker_ids)
    assert view.cluster_id == described.cluster_id
    assert view.controller_id == described.controller.id
    advertised = {f"{n.host}:{n.port}" for n in described.nodes}
    assert {e.address for b in view.brokers for e in b.endpoints} == advertised
    assert set(sandbox.bootstrap.split(",")) == advertised
    now_ms = time.time() * 1000
    for broker in view.brokers:
        assert [(e.listener, e.protocol) for e in broker.endpoints] == [
            ("PLAINTEXT", "PLAINTEXT")]
        assert broker.raw_version == 5
        assert broker.session_id and broker.session_id > 0
        assert 0 < broker.registered_at_ms <= now_ms
    assert len({b.session_id for b in view.brokers}) == 3


def test_topics_and_partitions_are_counted(sandbox, admin, open_session):
    topic = f"discovery-count-{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(topic, num_partitions=5, replication_factor=1)]
                        )[topic].result(timeout=30)
    try:
        before = admin.list_topics(timeout=10)
        view = discover(open_session(zookeeper=sandbox.zk_connect))
        after = admin.list_topics(timeout=10)
        # Others use the shared sandbox meanwhile: bracket the counts by two metadata reads.
        low_t, high_t = sorted([len(before.topics), len(after.topics)])
        assert low_t <= view.topics <= high_t
        parts = [sum(len(t.partitions) for t in m.topics.values()) for m in (before, after)]
        assert min(parts) <= view.partitions <= max(parts)
        assert view.topics >= 1 and view.partitions >= 5
    finally:
        admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=30)


@pytest.fixture(scope="module")
def replicated_topics(admin):
    """Topics of replication factor 2 and 3 (3 partitions each), deleted afterwards."""
    names = {factor: f"discovery-rf{factor}-{uuid.uuid4().hex[:10]}" for factor in (2, 3)}
    futures = admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=factor)
                                   for factor, name in names.items()])
    for future in futures.values():
        future.result(timeout=30)
    yield names
    for future in admin.delete_topics(list(names.values()), operation_timeout=30).values():
        future.result(timeout=30)


@pytest.mark.parametrize("how", ["zookeeper", "bootstrap"])
def test_replication_factor_of_each_topic(sandbox, replicated_topics, how, open_session):
    session = (open_session(zookeeper=sandbox.zk_connect) if how == "zookeeper"
               else open_session(bootstrap=sandbox.bootstrap))
    view = discover(session)
    for factor, name in replicated_topics.items():
        assert view.replication_factors[name] == factor
    assert "no-such-topic" not in view.replication_factors
    assert len(view.replication_factors) <= view.topics


def test_console_refresh_opens_one_zookeeper_session(sandbox, replicated_topics, monkeypatch):
    """A refresh (discovery, the latest report of every broker, then every health rule)
    opens one ZooKeeper session, and the support topic's replication factor comes from
    that discovery."""
    from kazoo.client import KazooClient

    from tests.support.cluster import location
    from tui.backend import ClusterBackend

    started: list[KazooClient] = []
    real_start = KazooClient.start

    def counting_start(client: KazooClient, *args, **kwargs):
        started.append(client)
        return real_start(client, *args, **kwargs)

    monkeypatch.setattr(KazooClient, "start", counting_start)
    backend = ClusterBackend(location(zookeeper=sandbox.zk_connect), replicated_topics[2])
    snapshot, evaluation = list(backend.refresh())
    assert snapshot.support_replicas == 2
    assert snapshot.reports_problem is None
    assert evaluation.reachable and evaluation.cluster_id == snapshot.cluster_id
    assert len(started) == 1

    started.clear()
    missing = ClusterBackend(location(zookeeper=sandbox.zk_connect),
                             f"discovery-missing-{uuid.uuid4().hex[:10]}").snapshot()
    assert missing.support_replicas is None
    assert len(started) == 1


def test_bootstrap_only_view_matches_and_leaves_zookeeper_fields_empty(sandbox, open_session):
    from_zk = discover(open_session(zookeeper=sandbox.zk_connect))
    from_kafka = discover(open_session(bootstrap=sandbox.bootstrap))
    assert from_kafka.source == SOURCE_ADMIN
    assert from_kafka.cluster_id == from_zk.cluster_id
    assert [b.id for b in from_kafka.brokers] == [b.id for b in from_zk.brokers]
    for zk_broker, kafka_broker in zip(from_zk.brokers, from_kafka.brokers, strict=True):
        assert kafka_broker.endpoints[0].address == zk_broker.endpoints[0].address
        assert kafka_broker.endpoints[0].listener is None
        assert (kafka_broker.session_id, kafka_broker.registered_at_ms,
                kafka_broker.jmx_port, kafka_broker.raw_version) == (None, None, None, None)


def test_bootstrap_servers_session_and_ids_from_zookeeper(sandbox, tmp_path, open_session):
    session = open_session(zookeeper=sandbox.zk_connect)
    assert set(session.bootstrap_servers().split(",")) == set(sandbox.bootstrap.split(","))
    assert live_broker_ids(session) == sorted(sandbox.broker_ids)
    view = discover(session)
    for broker in view.brokers:
        assert registration_owner(session, broker.id) == broker.session_id
    assert registration_owner(session, 999) is None
    # A client configured for SSL finds no SSL listener on these PLAINTEXT-only brokers.
    config = tmp_path / "ssl.properties"
    config.write_text("security.protocol=SSL\n")
    ssl_session = open_session(zookeeper=sandbox.zk_connect, command_config=str(config))
    with pytest.raises(NotFound, match="SSL listener"):
        ssl_session.bootstrap_servers()


def test_session_holds_one_chrooted_zookeeper_client_until_closed(sandbox):
    from tests.support.cluster import location

    with ClusterSession(location(zookeeper=sandbox.zk_connect)) as session:
        zk = session.zookeeper()
        assert session.zookeeper() is zk
        assert zk.connected
        assert zk.chroot == "/kafka"
        assert zk.exists("/brokers/ids") is not None
    assert not zk.connected


def test_unreachable_zookeeper_fails_within_the_timeout_once_per_session(open_session,
                                                                        silent_port):
    session = open_session(zookeeper=f"127.0.0.1:{silent_port}", timeout=2)
    started = time.monotonic()
    with pytest.raises(ConnectionFailure, match="did not answer within 2 s"):
        discover(session)
    assert time.monotonic() - started < 5
    started = time.monotonic()
    with pytest.raises(ConnectionFailure, match="did not answer within 2 s"):
        live_broker_ids(session)  # the failure is remembered, not waited out again
    assert time.monotonic() - started < 0.5


def test_cli_json(sandbox):
    done = _cli("cluster", "--zookeeper", sandbox.zk_connect, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) >= {"clusterId", "controller", "brokers", "topics", "partitions", "source"}
    assert [b["id"] for b in out["brokers"]] == sorted(sandbox.broker_ids)
    first = out["brokers"][0]
    assert first["registeredAt"].endswith("Z") and first["session"].startswith("0x")
    assert {f'{b["endpoints"][0]["host"]}:{b["endpoints"][0]["port"]}'
            for b in out["brokers"]} == set(sandbox.bootstrap.split(","))


def test_cli_table(sandbox):
    done = _cli("cluster", "--bootstrap-server", sandbox.bootstrap)
    assert done.returncode == 0, done.stderr
    assert "Controller" in done.stdout
    for address in sandbox.bootstrap.split(","):
        assert address in done.stdout


@pytest.mark.parametrize("connect", ["127.0.0.1:2181/kafka/", "127.0.0.1:99999",
                                     "127.0.0.1:2181//kafka", ""])
def test_cli_malformed_connect_string_exits_2(connect):
    done = _cli("cluster", "--zookeeper", connect, timeout=30)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("option", ["--zookeeper", "--bootstrap-server"])
def test_cli_refused_connection_says_so_at_once(option):
    started = time.monotonic()
    done = _cli("cluster", option, f"127.0.0.1:{_closed_port()}", "--timeout", "8")
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert done.stderr.strip().endswith("refused the connection (nothing listens there)")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert elapsed < 4  # interpreter start-up included; not the 8 s timeout


def test_cli_unreachable_zookeeper_exits_1_within_the_timeout(silent_port):
    started = time.monotonic()
    done = _cli("cluster", "--zookeeper", f"127.0.0.1:{silent_port}", "--timeout", "3")
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    # One line: none of kazoo's reconnect warnings.
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "did not answer within 3 s" in done.stderr
    assert elapsed < 3 + 4  # interpreter start-up included


def test_cli_chroot_without_a_cluster_exits_1(sandbox):
    connect = f"{sandbox.zk_hosts}/nothing-here-{uuid.uuid4().hex[:6]}"
    done = _cli("cluster", "--zookeeper", connect)
    assert done.returncode == 1
    assert done.stderr.strip() == f"ps-console: no Kafka cluster registered at {connect}"


def test_cli_prints_command_config_hints(sandbox, tmp_path):
    config = tmp_path / "client.properties"
    config.write_text("security.protocol=PLAINTEXT\n"
                      "ssl.truststore.location=/secret/place/truststore.jks\n"
                      "ssl.truststore.password=hunter2\n")
    done = _cli("cluster", "--zookeeper", sandbox.zk_connect, "--json",
                "--command-config", str(config))
    assert done.returncode == 0, done.stderr
    assert "ssl.truststore.location is not used: security.protocol is PLAINTEXT" in done.stderr
    assert "hunter2" not in done.stderr and "/secret/place" not in done.stderr
    json.loads(done.stdout)


def test_cli_client_config_librdkafka_refuses_exits_2_without_the_secret(tmp_path):
    config = tmp_path / "client.properties"
    config.write_text("sasl.password=Sup3rS3cret\nclient.dns.lookup=Sup3rS3cret\n")
    done = _cli("cluster", "--bootstrap-server", f"127.0.0.1:{_closed_port()}",
                "--command-config", str(config), "--timeout", "2")
    assert done.returncode == 2, done.stderr
    assert "client.dns.lookup" in done.stderr
    assert "Sup3rS3cret" not in done.stderr
