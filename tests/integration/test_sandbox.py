"""The sandboxes are real, on both kinds: Kafka 3.9 with ZooKeeper and Kafka 4.x KRaft start,
tell their facts, register every broker, replicate a topic; the secured ones take the
right credentials on every listener and refuse wrong ones; ZooKeeper speaks TLS to kazoo."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import certifi
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError

from engine.config.properties import load_properties
from tools.sandbox import kafka_sandbox

KRAFT_KEYS = ("process.roles", "node.id", "controller.quorum.voters", "listeners",
              "advertised.listeners", "listener.security.protocol.map",
              "inter.broker.listener.name", "controller.listener.names")


def _config(path: Path) -> dict[str, str]:
    return load_properties(path.read_text("latin-1"))


def _round_trip(bootstrap: str, replicas: int) -> str:
    """Create a topic with `replicas` replicas, produce one record with acks=all and
    consume it back; returns the topic."""
    topic = f"sandbox-proof-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=replicas)]
                        )[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce(topic, value=b"hello sandbox")
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"proof-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        msg = None
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                break
        assert msg is not None and msg.error() is None
        assert msg.value() == b"hello sandbox"
    finally:
        consumer.close()
    return topic


def test_zookeeper_kind_three_brokers_registered_and_a_replicated_topic(sandbox):
    assert (sandbox.mode, sandbox.version) == ("zk", kafka_sandbox.ZK_VERSION)
    assert sandbox.version.startswith("3.9.")
    zk = KazooClient(hosts=sandbox.zk_connect, timeout=10)
    zk.start(timeout=10)
    try:
        ids = sorted(int(i) for i in zk.get_children("/brokers/ids"))
        assert ids == sandbox.broker_ids == [1, 2, 3]
        for i in ids:
            reg = json.loads(zk.get(f"/brokers/ids/{i}")[0])
            assert all(e.startswith("PLAINTEXT://127.0.0.1:") for e in reg["endpoints"])
            config = _config(sandbox.broker_configs[i])
            assert config["broker.id"] == str(i)
            assert config["zookeeper.connect"] == sandbox.zk_connect
            assert f"PLAINTEXT://{reg['host']}:{reg['port']}" == config["advertised.listeners"]
        topic = _round_trip(sandbox.bootstrap, 3)
        state = json.loads(zk.get(f"/brokers/topics/{topic}")[0])
        assert sorted(state["partitions"]["0"]) == [1, 2, 3]
    finally:
        zk.stop()
        zk.close()


def test_kraft_kind_three_nodes_with_real_configs_and_a_replicated_topic(kraft_sandbox):
    box = kraft_sandbox
    assert (box.mode, box.version) == ("kraft", kafka_sandbox.KRAFT_VERSION)
    assert box.version.startswith("4.") and box.zk_connect is None
    facts = box.facts
    assert facts["KAFKA_SANDBOX_MODE"] == "kraft" and facts["KAFKA_VERSION"] == box.version
    assert box.broker_ids == [1, 2, 3]
    controllers = box.controllers.split(",") if box.controllers else []
    assert len(controllers) == 3
    voters = facts["KAFKA_QUORUM_VOTERS"]
    bootstrap = set(box.bootstrap.split(","))
    for node_id in box.broker_ids:
        path = Path(facts[f"KAFKA_BROKER_CONFIG_{node_id}"])
        assert path == box.broker_configs[node_id]
        config = _config(path)
        assert all(key in config for key in KRAFT_KEYS), sorted(config)
        assert config["process.roles"] == "broker,controller"
        assert config["node.id"] == str(node_id)
        assert config["controller.quorum.voters"] == voters
        assert config["controller.listener.names"] == "CONTROLLER"
        assert "CONTROLLER:PLAINTEXT" in config["listener.security.protocol.map"]
        advertised = config["advertised.listeners"]
        assert advertised.startswith("PLAINTEXT://127.0.0.1:")
        assert advertised.removeprefix("PLAINTEXT://") in bootstrap
        assert "CONTROLLER" not in advertised
        controller = next(x for x in config["listeners"].split(",")
                          if x.startswith("CONTROLLER://"))
        assert controller.removeprefix("CONTROLLER://") in controllers
        assert f"{node_id}@{controller.removeprefix('CONTROLLER://')}" in voters.split(",")
        assert config["offsets.topic.replication.factor"] == "3"
        assert "zookeeper.connect" not in config and "broker.id" not in config
        assert (path.parent / f"kafka-{node_id}" / "data" / "meta.properties").exists()
    admin = AdminClient({"bootstrap.servers": box.bootstrap})
    md = admin.list_topics(timeout=10)
    assert sorted(md.brokers) == [1, 2, 3]
    described = admin.describe_cluster(request_timeout=10).result(timeout=15)
    assert described.cluster_id == box.box.state.cluster_id
    assert box.box.active_controller() in (1, 2, 3)
    topic = _round_trip(box.bootstrap, 3)
    md = admin.list_topics(topic, timeout=10)
    assert sorted(md.topics[topic].partitions[0].replicas) == [1, 2, 3]


def test_cluster_fixture_runs_each_kind(cluster):
    assert cluster.mode in ("zk", "kraft")
    assert cluster.kind == cluster.mode
    assert (cluster.zk_connect is None) == (cluster.mode == "kraft")
    assert (cluster.controllers is None) == (cluster.mode == "zk")
    assert cluster.broker_ids == [1, 2, 3]
    assert sorted(cluster.broker_configs) == cluster.broker_ids
    assert all(p.is_file() for p in cluster.broker_configs.values())
    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=10)
    assert sorted(md.brokers) == cluster.broker_ids


@pytest.mark.private_sandbox
def test_kraft_node_and_active_controller_restart(kraft_sandbox):
    """stop-broker / start-broker in KRaft, and a new quorum leader once the active
    controller is stopped."""
    if os.environ.get("PS_SANDBOX_REUSE_KRAFT"):
        pytest.skip("stops KRaft nodes: refused under PS_SANDBOX_REUSE_KRAFT")
    box = kraft_sandbox.box
    leader = box.stop_active_controller()
    try:
        follower = box.active_controller(timeout=30)
        assert follower != leader and follower in kraft_sandbox.broker_ids
        admin = AdminClient({"bootstrap.servers": kraft_sandbox.bootstrap})
        deadline = time.monotonic() + 30
        while sorted(admin.list_topics(timeout=5).brokers) != sorted(
                set(kraft_sandbox.broker_ids) - {leader}):
            assert time.monotonic() < deadline, "the stopped node stays in metadata"
            time.sleep(0.5)
    finally:
        box.start_broker(leader)
    md = AdminClient({"bootstrap.servers": kraft_sandbox.bootstrap}).list_topics(timeout=10)
    assert sorted(md.brokers) == kraft_sandbox.broker_ids


@pytest.mark.kraft  # runs between the ZooKeeper and the KRaft groups, beside no sandbox
def test_kraft_split_quorum():
    """Controller-only nodes (101..) and broker-only nodes (1..), on a private sandbox."""
    box = kafka_sandbox.Sandbox(kafka_sandbox.CACHE / f"test-split-{os.getpid()}")
    try:
        state = box.start(mode="kraft", brokers=2, controllers=1)
        facts = state.facts()
        assert facts["KAFKA_BROKER_IDS"] == "1,2" and facts["KAFKA_CONTROLLER_IDS"] == "101"
        controller = _config(Path(facts["KAFKA_CONTROLLER_CONFIG_101"]))
        assert controller["process.roles"] == "controller"
        assert controller["listeners"] == f"CONTROLLER://{facts['KAFKA_CONTROLLERS']}"
        assert "advertised.listeners" not in controller
        for node_id in (1, 2):
            broker = _config(Path(facts[f"KAFKA_BROKER_CONFIG_{node_id}"]))
            assert broker["process.roles"] == "broker"
            assert broker["controller.quorum.voters"] == f"101@{facts['KAFKA_CONTROLLERS']}"
            assert "CONTROLLER" not in broker["listeners"]
            assert "CONTROLLER:PLAINTEXT" in broker["listener.security.protocol.map"]
        md = AdminClient({"bootstrap.servers": facts["KAFKA_BOOTSTRAP"]}).list_topics(
            timeout=10)
        assert sorted(md.brokers) == [1, 2]  # the controller is no broker
        assert box.active_controller() == 101
    finally:
        box.stop()
    assert not box.state_dir.exists()


# ---- secured sandboxes ------------------------------------------------------------------


def _login(conf: dict[str, str], timeout: float = 10.0) -> tuple[list[int], str]:
    """(broker ids, "") when a client with `conf` gets metadata, else ([], the first error
    librdkafka reports through its error callback)."""
    errors: list[KafkaError] = []
    admin = AdminClient({**conf, "log_level": 0, "error_cb": errors.append})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return sorted(admin.list_topics(timeout=1).brokers), ""
        except KafkaException:
            admin.poll(0.2)  # serves the error callback
        # "all brokers are down" follows the reason; it is not one.
        reasons = [e for e in errors if e.code() != KafkaError._ALL_BROKERS_DOWN]
        if reasons:
            return [], str(reasons[0])
    return [], f"no error reported in {timeout:.0f} s"


def _conf(cluster, listener: str, **overrides: str) -> dict[str, str]:
    return {**cluster.box.client_config(listener), **overrides}


def test_scram_sha_512_on_sasl_ssl(secure_cluster):
    f, ids = secure_cluster.facts, secure_cluster.broker_ids
    assert _login(_conf(secure_cluster, "SASL_SSL")) == (ids, "")
    assert f["KAFKA_SCRAM512_USER"] != f["KAFKA_SASL_USER"]
    started = time.monotonic()
    found, error = _login(_conf(secure_cluster, "SASL_SSL", **{"sasl.password": "not-it-42"}))
    assert found == [] and "invalid credentials" in error and "SCRAM-SHA-512" in error, error
    assert time.monotonic() - started < 5
    # The SCRAM-SHA-256 user and mechanism belong to the other listener.
    found, error = _login(_conf(secure_cluster, "SASL_SSL", **{
        "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": f["KAFKA_SASL_USER"],
        "sasl.password": f["KAFKA_SASL_PASSWORD"]}))
    assert found == [] and "Unsupported SASL mechanism" in error, error
    assert _login(_conf(secure_cluster, "SASL_PLAINTEXT")) == (ids, "")
    found, error = _login(_conf(secure_cluster, "SASL_PLAINTEXT",
                                **{"sasl.password": "not-it-42"}))
    assert found == [] and "invalid credentials" in error, error


def test_mutual_tls_takes_the_client_certificate_in_every_form(secure_cluster):
    f, ids = secure_cluster.facts, secure_cluster.broker_ids
    assert _login(_conf(secure_cluster, "MTLS")) == (ids, "")
    encrypted = {"ssl.key.location": f["KAFKA_CLIENT_KEY_ENCRYPTED_PEM"],
                 "ssl.key.password": f["KAFKA_STORE_PASSWORD"]}
    assert _login(_conf(secure_cluster, "MTLS", **encrypted)) == (ids, "")
    pkcs12 = {k: v for k, v in _conf(secure_cluster, "MTLS").items()
              if k not in ("ssl.certificate.location", "ssl.key.location")}
    pkcs12.update({"ssl.keystore.location": f["KAFKA_CLIENT_P12"],
                   "ssl.keystore.password": f["KAFKA_STORE_PASSWORD"]})
    assert _login(pkcs12) == (ids, "")
    # Without a client certificate the MTLS listener refuses the handshake, while the SSL
    # listener (server authentication only) takes the same client.
    anonymous = {k: v for k, v in pkcs12.items() if not k.startswith("ssl.keystore")}
    found, error = _login(anonymous)
    assert found == [] and ("bad certificate" in error or "handshake" in error.lower()), error
    assert _login(_conf(secure_cluster, "SSL")) == (ids, "")
    found, error = _login(_conf(secure_cluster, "MTLS", **{"ssl.ca.location": certifi.where()}))
    assert found == [] and "certificate verify failed" in error, error


def test_client_files_of_a_secured_run(secure_cluster):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    f = secure_cluster.facts
    password = f["KAFKA_STORE_PASSWORD"].encode()
    assert Path(f["KAFKA_TRUSTSTORE_JKS"]).read_bytes()[:4] == b"\xfe\xed\xfe\xed"  # JKS
    key, cert, chain = pkcs12.load_key_and_certificates(
        Path(f["KAFKA_CLIENT_P12"]).read_bytes(), password)
    assert key is not None and cert is not None
    ca = x509.load_pem_x509_certificate(Path(f["KAFKA_CA_PEM"]).read_bytes())
    assert cert.issuer == ca.subject and [c.subject for c in chain] == [ca.subject]
    assert "ps-console-client" in cert.subject.rfc4514_string()
    pem = x509.load_pem_x509_certificates(Path(f["KAFKA_CLIENT_CERT_PEM"]).read_bytes())
    assert pem[0] == cert
    assert b"ENCRYPTED PRIVATE KEY" in Path(f["KAFKA_CLIENT_KEY_ENCRYPTED_PEM"]).read_bytes()
    for name in ("KAFKA_CLIENT_KEY_PEM", "KAFKA_CLIENT_KEY_ENCRYPTED_PEM"):
        assert Path(f[name]).stat().st_mode & 0o077 == 0, f"{name} is readable by others"


# ---- ZooKeeper over TLS (ZooKeeper mode only) -------------------------------------------


def _tls_kazoo(facts: dict[str, str], **options: object) -> KazooClient:
    base: dict[str, object] = {"use_ssl": True, "ca": facts["KAFKA_CA_PEM"],
                               "certfile": facts["KAFKA_CLIENT_CERT_PEM"],
                               "keyfile": facts["KAFKA_CLIENT_KEY_PEM"],
                               "verify_certs": True, "check_hostname": True}
    return KazooClient(hosts=facts["KAFKA_ZK_TLS_CONNECT"], timeout=3,
                       **{**base, **options})


def _refused(zk: KazooClient) -> str:
    """Why `zk` could not list the brokers ("" when it could)."""
    try:
        zk.start(timeout=3)
        zk.get_children("/brokers/ids")
        return ""
    except Exception as exc:  # noqa: BLE001 - a timeout, a closed session, a NoAuth
        return type(exc).__name__
    finally:
        zk.stop()
        zk.close()


def test_zookeeper_over_tls(secure_sandbox):
    f = secure_sandbox.facts
    config = _config(secure_sandbox.broker_configs[1])
    # The broker's only way to ZooKeeper is the TLS port.
    assert config["zookeeper.connect"] == f["KAFKA_ZK_TLS_CONNECT"] != f["KAFKA_ZK_CONNECT"]
    assert config["zookeeper.ssl.client.enable"] == "true"
    assert config["zookeeper.clientCnxnSocket"] == "org.apache.zookeeper.ClientCnxnSocketNetty"
    zk = _tls_kazoo(f)
    zk.start(timeout=10)
    try:
        # The certificate is an identity of its own (x509): Kafka's world-readable znodes
        # are open to it, the sensitive ones, ACL'd to the brokers' SASL user, are not.
        assert zk.get_children("/brokers/ids") == ["1"]
        with pytest.raises(NoAuthError):
            zk.get_children("/config/users")
    finally:
        zk.stop()
        zk.close()
    # The encrypted key with its password, and the SASL login over TLS.
    zk = _tls_kazoo(f, keyfile=f["KAFKA_CLIENT_KEY_ENCRYPTED_PEM"],
                    keyfile_password=f["KAFKA_STORE_PASSWORD"],
                    sasl_options={"mechanism": "DIGEST-MD5", "username": f["KAFKA_ZK_USER"],
                                  "password": f["KAFKA_ZK_PASSWORD"]})
    zk.start(timeout=10)
    try:
        assert sorted(zk.get_children("/config/users")) == sorted(
            [f["KAFKA_SASL_USER"], f["KAFKA_SCRAM512_USER"]])
    finally:
        zk.stop()
        zk.close()
    assert _refused(_tls_kazoo(f, ca=certifi.where()))  # a CA that did not sign ZooKeeper's
    assert _refused(_tls_kazoo(f, certfile=None, keyfile=None))  # no certificate, no login
    assert _refused(KazooClient(hosts=f["KAFKA_ZK_TLS_CONNECT"], timeout=3))  # no TLS
