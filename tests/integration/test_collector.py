"""The collector against the shared sandbox: basic and enhanced reports for broker 1."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from engine.cluster.kafka_version import probe_kafka_version
from engine.cluster.session import ClusterSession
from engine.config.settings import load_settings
from engine.reporting.collector import collect
from engine.reporting.records import encode
from tests.support.cluster import location
from tests.support.ps_report_helpers import (
    broker_config_copy,
    plain_read,
    unique_topic,
)

# What the version probe names each sandbox's Kafka (ApiVersions of the real broker).
RELEASE_LINES = {"3.9.2": "3.9.x", "4.4.0": "4.4.x or newer"}


def _cluster_id(cluster, target) -> str:
    if cluster.kraft:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        return admin.describe_cluster(request_timeout=10).result(timeout=15).cluster_id
    return json.loads(target.zookeeper().get("/cluster/id")[0])["id"]


@pytest.fixture
def target(cluster):
    with ClusterSession(location(**cluster.where)) as session:
        yield session


def _collect(cluster, target, tmp_path, cid, **kw):
    path = broker_config_copy(cluster, 1, tmp_path, {
        "confluent.support.customer.id": cid,
        "confluent.support.metrics.topic": unique_topic()})
    token = str(uuid.uuid4())
    report = collect(1, load_settings(path), target, token, **kw)
    return report, token


def test_basic_report(cluster, target, tmp_path):
    before = int(time.time())
    report, token = _collect(cluster, target, tmp_path, "anonymous")
    assert report.schema == "basic" and report.warnings == []
    record = plain_read(encode(report.record, "basic"), "basic")
    assert record["clusterId"] == _cluster_id(cluster, target)
    assert record["brokerProcessUUID"] == token
    assert record["collectorState"] == 2
    assert before <= record["timestamp"] <= int(time.time())
    # The running broker's classpath is the installation: exact version.
    assert record["kafkaVersion"] == cluster.version
    assert record["confluentPlatformVersion"] is None


def test_invalid_customer_id_falls_back_to_basic_with_a_warning(cluster, target, tmp_path):
    report, _ = _collect(cluster, target, tmp_path, "acme-corp", state=1)
    assert report.schema == "basic" and report.record["collectorState"] == 1
    assert any("acme-corp" in w and "anonymous" in w for w in report.warnings)


def test_kafka_home_and_protocol_probe_give_the_release_line(cluster, target, tmp_path):
    from tools.sandbox import kafka_sandbox

    home = kafka_sandbox.lib_dir(cluster.box.state.version)
    report, _ = _collect(cluster, target, tmp_path, "anonymous", kafka_home=str(home))
    assert report.record["kafkaVersion"] == cluster.version
    for endpoint in cluster.bootstrap.split(","):
        host, port = endpoint.rsplit(":", 1)
        assert probe_kafka_version(host, int(port)) == RELEASE_LINES[cluster.version]


def test_enhanced_report(cluster, target, tmp_path):
    from confluent_kafka.admin import AdminClient

    report, token = _collect(cluster, target, tmp_path, "c0")
    assert report.schema == "enhanced", report.warnings
    record = plain_read(encode(report.record, "enhanced"), "enhanced")
    now_ms = int(time.time() * 1000)
    assert record["brokerId"] == 1 and record["brokerProcessUUID"] == token
    assert record["kafkaVersion"] == cluster.version

    metrics = record["brokerMetrics"]
    # Not measurable from outside the JVM: -1, never a guess.
    assert metrics["brokerStatistics"]["writtenBytes"] == -1
    assert metrics["brokerStatistics"]["readBytes"] == -1
    assert metrics["brokerStatistics"]["bytesInRate"] == -1.0
    assert metrics["brokerStatistics"]["bytesOutRate"] == -1.0
    jvm = metrics["jvmRuntimeEnvironment"]
    assert jvm["freeMemoryBytes"] == -1 and jvm["totalMemoryBytes"] == -1
    # The sandbox starts brokers with -Xmx512m (KRaft nodes -Xmx384m) on this very host.
    assert jvm["maxMemoryBytes"] == (384 if cluster.kraft else 512) * 1024 * 1024
    assert jvm["availableProcessors"] >= 1
    assert 0 < record["jvmStartTimeMs"] <= now_ms
    assert abs(record["jvmStartTimeMs"] + record["jvmUptimeMs"]
               - record["timestamp"] * 1000) < 2000
    assert metrics["javaSystemProperties"]["java.awt.headless"] == "true"
    assert "kafka.logs.dir" not in metrics["javaSystemProperties"]

    config = metrics["brokerConfiguration"]
    assert config["num.io.threads"] == "2"
    assert config["node.id" if cluster.kraft else "broker.id"] == "1"
    for key in ("listeners", "advertised.listeners", "zookeeper.connect", "log.dirs"):
        assert key not in config

    # Cluster figures agree with what the AdminClient and ZooKeeper say right now.
    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=10)
    kraft = cluster.kraft
    cluster = record["clusterMetrics"]
    assert cluster["numberTopics"] == len(md.topics)
    assert cluster["numberPartitions"] == sum(len(t.partitions) for t in md.topics.values())
    assert sum(cluster["replicationHistogram"]) == cluster["numberTopics"]
    assert len(cluster["minIsrHistogram"]) == 6
    led = sum(1 for t in md.topics.values() for p in t.partitions.values() if p.leader == 1)
    assert sum(cluster["minIsrHistogram"]) == led
    assert sum(cluster["uncleanLeaderElectionHistogram"]) == cluster["numberTopics"]
    on_me = sum(1 for t in md.topics.values() for p in t.partitions.values()
                if 1 in p.replicas)
    assert metrics["brokerStatistics"]["numPartitions"] == on_me
    if kraft:
        assert cluster["zookeeperStats"] is None
        return
    assert cluster["numberTopicsZk"] == len(target.zookeeper().get_children("/brokers/topics"))
    (stats,) = cluster["zookeeperStats"]
    assert stats["Mode"] == "standalone" and stats["Zookeeper version"].startswith("3.8.4")
