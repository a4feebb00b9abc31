"""A Kafka 4.x KRaft cluster (3 combined nodes, no ZooKeeper) described from
--bootstrap-server alone."""

from __future__ import annotations

import json
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
