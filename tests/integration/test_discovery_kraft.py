"""A Kafka 4.x KRaft cluster described from --bootstrap-server alone: 3 combined nodes (the
shared KRaft sandbox), and a split quorum with a controller-only node (a private one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from engine.cluster.discovery import discover, live_broker_ids
from engine.cluster.model import SOURCE_ADMIN

pytestmark = pytest.mark.kraft


def test_kraft_nodes_described_from_bootstrap_alone(kraft_sandbox, open_session):
    session = open_session(bootstrap=kraft_sandbox.bootstrap)
    view = discover(session)
    # The client must outlive its future: a collected AdminClient cancels it.
    admin = AdminClient({"bootstrap.servers": kraft_sandbox.bootstrap})
    described = admin.describe_cluster(request_timeout=10).result(timeout=15)
    assert view.source == SOURCE_ADMIN
    assert view.cluster_id == described.cluster_id and view.cluster_id
    assert [b.id for b in view.brokers] == sorted(kraft_sandbox.broker_ids) == [1, 2, 3]
    addresses = set()
    for broker in view.brokers:
        (endpoint,) = broker.endpoints
        addresses.add(endpoint.address)
        assert endpoint.protocol == "PLAINTEXT" and endpoint.listener is None
        # What only ZooKeeper knows stays empty rather than invented.
        assert (broker.session_id, broker.registered_at_ms, broker.jmx_port,
                broker.raw_version) == (None, None, None, None)
    assert addresses == set(kraft_sandbox.bootstrap.split(","))
    # The active controller is the metadata quorum's leader, as the quorum itself says;
    # every node is a voter (combined broker+controller nodes).
    assert view.quorum is not None and view.quorum.leader_id == view.controller_id
    assert view.controller_id == kraft_sandbox.box.active_controller()
    assert sorted(m.node_id for m in view.quorum.voters) == [b.id for b in view.brokers]
    assert view.quorum.high_watermark > 0
    assert view.topics is not None and view.partitions is not None
    assert live_broker_ids(session) == [b.id for b in view.brokers]


def test_kraft_cli_json(kraft_sandbox):
    done = subprocess.run([str(Path(sys.executable).parent / "ps-console"), "cluster",
                           "--bootstrap-server", kraft_sandbox.bootstrap, "--json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["source"] == "admin"
    ids = [broker["id"] for broker in out["brokers"]]
    assert ids == sorted(kraft_sandbox.broker_ids)
    for broker in out["brokers"]:
        assert broker["registeredAt"] is None and broker["session"] is None
        assert broker["jmxPort"] is None
    assert out["quorum"]["leader"] == out["controller"]
    assert sorted(v["id"] for v in out["quorum"]["voters"]) == ids


def test_topic_and_partition_counts_and_the_consoles_listeners(kraft_sandbox, open_session):
    from tui.model import listeners

    view = discover(open_session(bootstrap=kraft_sandbox.bootstrap))
    md = AdminClient({"bootstrap.servers": kraft_sandbox.bootstrap}).list_topics(timeout=10)
    assert view.topics == len(md.topics)
    assert view.partitions == sum(len(t.partitions) for t in md.topics.values())
    # The console shows the protocol the client speaks to each broker, never "None://".
    for broker in view.brokers:
        assert listeners(broker) == f"PLAINTEXT://{broker.endpoints[0].address}"


@pytest.mark.private_sandbox  # starts and changes a sandbox of its own
def test_split_quorum_rack_and_a_controller_refused(tmp_path):
    """Kafka 4.4 with a controller-only node (101) and broker-only nodes (1, 2), on a private
    sandbox: the active controller is the quorum's leader (no broker), the brokers are the
    quorum's observers, a broker's rack is read, `report` and the agent find the cluster
    from a broker-only node's file alone, and refuse the controller's file in one line."""
    from tools.sandbox import kafka_sandbox

    box = kafka_sandbox.Sandbox(kafka_sandbox.CACHE / f"test-split-discovery-{os.getpid()}")
    try:
        facts = box.start(mode="kraft", brokers=2, controllers=1).facts()
        # A rack is a static setting: broker 2 restarts with one.
        config_2 = Path(facts["KAFKA_BROKER_CONFIG_2"])
        box.stop_broker(2)
        config_2.write_text(config_2.read_text() + "broker.rack=rack-b\n")
        box.start_broker(2)

        from engine.cluster.session import ClusterSession
        from tests.support.cluster import location

        with ClusterSession(location(bootstrap=facts["KAFKA_BOOTSTRAP"])) as session:
            view = discover(session)
        assert [b.id for b in view.brokers] == [1, 2]
        assert {b.id: b.rack for b in view.brokers} == {1: None, 2: "rack-b"}
        assert view.controller_id == 101 == box.active_controller()
        assert view.quorum is not None and view.quorum.leader_id == 101
        assert [m.node_id for m in view.quorum.voters] == [101]
        assert sorted(m.node_id for m in view.quorum.observers) == [1, 2]

        ps = str(Path(sys.executable).parent / "ps-console")
        done = subprocess.run([ps, "cluster", "--bootstrap-server", facts["KAFKA_BOOTSTRAP"],
                               "--json"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["controller"] == 101 and out["brokers"][1]["rack"] == "rack-b"

        broker_file = tmp_path / "broker-1.properties"
        broker_file.write_text(Path(facts["KAFKA_BROKER_CONFIG_1"]).read_text() +
                               "confluent.support.metrics.enable=true\n"
                               "confluent.support.metrics.endpoint.secure.enable=false\n"
                               "confluent.support.metrics.endpoint.insecure.enable=false\n")
        done = subprocess.run([ps, "report", "--broker-config", str(broker_file),
                               "--token-dir", str(tmp_path / "t"), "--json"],
                              capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["fields"]["kafkaVersion"] == box.state.version

        controller = facts["KAFKA_CONTROLLER_CONFIG_101"]
        for command in (["report", "--dry-run"], ["agent", "--once"], ["agent", "--check"]):
            done = subprocess.run([ps, *command, "--broker-config", controller],
                                  capture_output=True, text=True, timeout=30)
            # --check is a monitoring plugin: its one line is on stdout (CRITICAL); the
            # exit status is a usage error's, 2, as for the others.
            check = command[-1] == "--check"
            lines = (done.stdout if check else done.stderr).strip().splitlines()
            assert done.returncode == 2, (command, done.stdout, done.stderr)
            assert len(lines) == 1, (command, done.stdout, done.stderr)
            assert "is a KRaft controller (process.roles=controller), not a broker" in lines[0]
    finally:
        box.stop()
