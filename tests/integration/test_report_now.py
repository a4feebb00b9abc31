"""Report now against the shared sandbox and real local HTTPS/HTTP receivers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trustme
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from engine.cluster.session import ClusterSession
from engine.reporting.receiver import Receiver
from engine.reporting.report_now import report_now
from engine.reporting.submit_topic import ensure_topic
from tests.support.cluster import location, wait_for_topic
from tests.support.ps_report_helpers import (
    broker_config_copy,
    delete_topics,
    plain_read,
    unique_topic,
)


@pytest.fixture(scope="module")
def target(cluster):
    return location(**cluster.where)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    d = tmp_path_factory.mktemp("tls")
    cert.private_key_and_cert_chain_pem.write_to_path(str(d / "server.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    return str(d / "server.pem"), str(d / "ca.pem")


@pytest.fixture
def receivers(tls):
    with Receiver(tls=(tls[0], tls[0])) as https, Receiver() as http:
        yield https, http


@pytest.fixture
def topic(cluster):
    name = unique_topic("ps-report")
    yield name
    delete_topics(cluster.bootstrap, name)


def _config(cluster, tmp_path, topic, https, http, cid="c0"):
    return broker_config_copy(cluster, 1, tmp_path, {
        "confluent.support.customer.id": cid,
        "confluent.support.metrics.topic": topic,
        "confluent.support.metrics.endpoint.secure": https.url,
        "confluent.support.metrics.endpoint.insecure": http.url,
    })


def _end_offset(bootstrap, topic) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ps-test-offsets"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


def _read_all(bootstrap, topic, count):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ps-test-read",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    try:
        got = []
        for _ in range(40):  # bounded: 40 polls of at most 0.5 s
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg)
            if len(got) >= count:
                break
        return got
    finally:
        consumer.close()


def test_report_now_reaches_topic_and_https(cluster, target, tmp_path, receivers, tls, topic):
    https, http = receivers
    path = _config(cluster, tmp_path, topic, https, http)
    outcome = report_now(str(path), None, token_dir=tmp_path / "tokens", http_verify=tls[1])
    by = {d.destination: d for d in outcome.destinations}
    assert outcome.ok and by["topic"].ok and by["https"].ok, outcome.destinations
    assert by["http"].skipped  # HTTPS succeeded: no clear-text fallback
    assert outcome.schema == "enhanced" and outcome.size == len(outcome.value)

    (got,) = https.received
    assert (got.path, got.cid, got.body) == ("/test", "c0", outcome.value)
    assert http.received == []
    (msg,) = _read_all(cluster.bootstrap, topic, 1)
    assert msg.key() is None and msg.value() == outcome.value
    assert dict(msg.headers()) == {"broker.id": b"1"}
    assert plain_read(msg.value(), "enhanced")["brokerId"] == 1

    # The topic was created as CP created it.
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    md = admin.list_topics(topic, timeout=10).topics[topic]
    assert len(md.partitions) == 1 and len(md.partitions[0].replicas) == 3
    configs = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])
    (future,) = configs.values()
    assert future.result(timeout=10)["retention.ms"].value == "31536000000"

    # Same broker runtime, same token.
    again = report_now(str(path), None, token_dir=tmp_path / "tokens", http_verify=tls[1])
    assert again.record["brokerProcessUUID"] == outcome.record["brokerProcessUUID"]


def test_dry_run_sends_nothing(cluster, target, tmp_path, receivers, tls, topic):
    https, http = receivers
    with ClusterSession(target) as session:
        ensure_topic(session, topic)
    wait_for_topic(cluster.bootstrap, topic)  # KRaft: every broker's metadata has it
    before = _end_offset(cluster.bootstrap, topic)
    path = _config(cluster, tmp_path, topic, https, http, cid="anonymous")
    outcome = report_now(str(path), target, dry_run=True, token_dir=tmp_path / "t",
                         http_verify=tls[1])
    assert outcome.ok and all(d.skipped for d in outcome.destinations)
    assert plain_read(outcome.value, "basic")["kafkaVersion"] == cluster.version
    assert _end_offset(cluster.bootstrap, topic) == before
    assert https.received == [] and http.received == []


def test_https_failure_falls_back_to_http_and_cli_exit_codes(cluster, target, tmp_path,
                                                              receivers, topic):
    https, http = receivers
    path = _config(cluster, tmp_path, topic, https, http, cid="c1234")
    https.status = 500
    cli = [sys.executable, "-c", "from cli.main import main; raise SystemExit(main())",
           "report", "--broker-config", str(path), "--token-dir", str(tmp_path / "t"), "--json"]
    # No trusted CA for the test certificate: HTTPS fails, HTTP answers 200 → exit 0.
    done = subprocess.run(cli, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    states = {d["destination"]: d["ok"] for d in out["destinations"]}
    assert states == {"topic": True, "https": False, "http": True}
    assert out["fields"]["brokerId"] == 1 and http.received[0].path == "/submit"
    # Nothing answers 200 any more: exit 1.
    http.status = 503
    done = subprocess.run(cli[:-1], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 1 and "FAILED" in done.stdout


def test_concurrent_ensure_topic_is_not_an_error(cluster, target, topic):
    results: list[object] = []

    def create():
        try:
            with ClusterSession(target) as session:  # a session each: like three agents
                results.append(ensure_topic(session, topic))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            results.append(exc)

    threads = [threading.Thread(target=create) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [[], [], []]
    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10)
    assert md.topics[topic].error is None


def test_one_report_opens_one_zookeeper_session(cluster, tmp_path, receivers, topic, capsys,
                                                monkeypatch):
    """`ps-console report` (Enhanced, to the topic, ZooKeeper from the file): discovery of
    the bootstrap servers, the token's registration read, the collector's ZooKeeper reads and
    the topic's creation all share one ZooKeeper session."""
    from kazoo.client import KazooClient

    from cli.main import main

    https, http = receivers
    https.status = http.status = 503
    started: list[KazooClient] = []
    real_start = KazooClient.start

    def counting_start(client: KazooClient, *args, **kwargs):
        started.append(client)
        return real_start(client, *args, **kwargs)

    monkeypatch.setattr(KazooClient, "start", counting_start)
    path = _config(cluster, tmp_path, topic, https, http, cid="c0")
    code = main(["report", "--broker-config", str(path), "--token-dir", str(tmp_path / "t")])
    out = capsys.readouterr().out
    assert "topic  ok" in out, out
    assert code == 1  # neither HTTP endpoint answered 200
    assert len(started) == (0 if cluster.kraft else 1)  # KRaft: no ZooKeeper at all


@pytest.fixture
def read_only_folder(tmp_path):
    from tests.support.files import tmpfs

    yield from tmpfs(tmp_path / "ro", "ro,size=64k")


def test_a_dry_run_needs_no_writable_folder(sandbox, tmp_path, receivers, topic,
                                            read_only_folder):
    https, http = receivers
    path = _config(sandbox, tmp_path, topic, https, http, cid="anonymous")
    done = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; raise SystemExit(main())",
         "report", "--broker-config", str(path), "--dry-run",
         "--token-dir", str(read_only_folder / "tokens")],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert "would send the basic report" in done.stdout
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 1, done.stderr  # one warning at most
