"""Pure logic of the collector, the privacy filter, the version table and the token keeper."""

from __future__ import annotations

import pytest

from engine.cluster.kafka_version import parse_api_versions_v0, release_line
from engine.errors import ConnectionFailure
from engine.reporting.collector import (
    bucket_counts,
    java_size,
    jvm_max_heap,
    min_isr_histogram,
    parse_srvr,
    replication_histogram,
    system_properties,
    unclean_histogram,
)
from engine.reporting.privacy import assert_private, find_leaks, scrub_broker_config, scrub_stats


def test_buckets_cap_at_five_and_skip_unknown():
    assert bucket_counts([0, 1, 1, 4, 5, 9, -1]) == [1, 2, 0, 0, 1, 2]


def test_replication_histogram_counts_topics_by_their_widest_partition():
    topics = {"a": {0: [1, 2, 3], 1: [1, 2, 3]}, "b": {0: [1]}, "c": {0: [1, 2, 3, 4, 5, 6]},
              "d": {}}
    assert replication_histogram(topics) == [1, 1, 0, 1, 0, 1]


def test_min_isr_histogram_only_counts_partitions_the_broker_leads():
    leaders = {"a": {0: 1, 1: 2, 2: 1}, "b": {0: 1}, "unknown": {0: 1}}
    assert min_isr_histogram(leaders, 1, {"a": 2, "b": 7}) == [0, 0, 2, 0, 0, 1]


def test_unclean_histogram():
    assert unclean_histogram({"a": False, "b": True, "c": False}) == [2, 1]


def test_jvm_flags():
    args = ["java", "-Xmx1g", "-Xms128m", "-Dx=1", "-Xmx512m", "kafka.Kafka", "-Dy=2"]
    assert jvm_max_heap(args) == 512 << 20
    assert jvm_max_heap(["java", "kafka.Kafka"]) == -1
    assert system_properties(args) == {"x": "1"}
    assert java_size("2G") == 2 << 30 and java_size("abc") is None


def test_parse_srvr():
    answer = "Zookeeper version: 3.8.4-abc, built on 2024-02-12 22:16 UTC\nMode: standalone\n"
    assert parse_srvr(answer) == {"Zookeeper version": "3.8.4-abc, built on 2024-02-12 22:16 UTC",
                                  "Mode": "standalone"}


SECRETS = {
    "listeners": "SASL_SSL://kafka1.corp.example:9093",
    "advertised.listeners": "SASL_SSL://10.1.2.3:9093",
    "zookeeper.connect": "zk1.corp.example:2181/kafka",
    "ssl.keystore.password": "hunter2",
    "ssl.key.password": "k3y",
    "listener.name.sasl_ssl.plain.sasl.jaas.config":
        'org.apache.kafka.common.security.plain.PlainLoginModule required password="pw";',
    "log.dirs": "/data/kafka",
    "broker.rack": "rack-a",
    "delegation.token.secret.key": "abc",
    "some.weird.setting": "kafka1",
    "metric.reporters": "io.confluent.metrics.reporter.ConfluentMetricsReporter",
    "retention.for.password-s3cr3t-topic": "5",
    "num.io.threads": "8",
    "compression.type": "lz4",
    "inter.broker.protocol.version": "3.9-IV0",
    "auto.create.topics.enable": "false",
    "cleanup.policy": "delete,compact",
    "confluent.support.metrics.topic": "my-support",
}


def test_scrub_keeps_only_plain_settings():
    kept, withheld = scrub_broker_config(SECRETS, forbidden=["password-s3cr3t-topic"])
    # "cleanup.policy" is a topic config: brokers know it as log.cleanup.policy.
    assert kept == {"num.io.threads": "8", "compression.type": "lz4",
                    "inter.broker.protocol.version": "3.9-IV0",
                    "auto.create.topics.enable": "false"}
    assert withheld == len(SECRETS) - len(kept)


def test_an_ip_address_never_passes_as_a_number_or_version():
    props = {"num.io.threads": "127.0.0.1", "log.cleaner.min.cleanable.ratio": "1.2.3",
             "inter.broker.protocol.version": "10.20.30.40", "log.retention.hours": "::1",
             "log.cleaner.io.buffer.load.factor": "1.5"}
    assert scrub_broker_config(props).kept == {"log.cleaner.io.buffer.load.factor": "1.5"}


def test_scrub_stats_drops_addresses():
    stats = {"Zookeeper version": "3.8.4-abc, built on 2024-02-12 22:16 UTC",
             "Client address": "10.0.0.1", "Mode": "leader", "Peer": "zk2.corp.example",
             "Latency min/avg/max": "0/1.5/44", "Server": "zkhost-7", "Zxid": "0x1a",
             "Node count": "zkhost-7", "Sent": "zk2.corp.example", "Received": "10.0.0.2"}
    assert scrub_stats(stats, ["zkhost-7"]) == {
        "Zookeeper version": "3.8.4-abc, built on 2024-02-12 22:16 UTC", "Mode": "leader",
        "Latency min/avg/max": "0/1.5/44", "Zxid": "0x1a"}


def test_assert_private_finds_names_and_ips():
    assert_private(b"version 3.9.2 fine", ["secret-topic"])
    with pytest.raises(AssertionError):
        assert_private(b"xx 127.0.0.1 yy", [])
    assert find_leaks(b"..Secret-Topic..", ["secret-topic"]) == ["secret-topic"]


# The sandbox's Kafka 3.9.2 broker answered exactly this (ZooKeeper mode).
KAFKA_392 = {0: (0, 11), 1: (0, 17), 2: (0, 9), 3: (0, 12), 18: (0, 4), 60: (0, 1)}


@pytest.mark.parametrize(("changes", "line"), [
    ({}, "3.9.x"),
    ({18: (0, 3)}, "3.8.x"),
    ({18: (0, 3), 0: (0, 10)}, "3.7.x"),
    ({18: (0, 4), 0: (3, 12)}, "4.0.x"),
    ({18: (0, 4), 0: (3, 13), 1: (4, 18)}, "4.1.x"),
    ({18: (0, 4), 0: (3, 13), 1: (4, 18), 2: (1, 11)}, "4.2.x"),
    ({18: (0, 4), 0: (3, 13), 1: (4, 18), 2: (1, 11), 35: (1, 5)}, "4.3.x"),
    ({18: (0, 5), 0: (3, 13), 1: (4, 18), 2: (1, 11), 35: (1, 5)}, "4.4.x or newer"),
    ({18: (0, 3), 0: (0, 9), 1: (0, 15)}, "3.5.x-3.6.x"),
    ({18: (0, 3), 0: (0, 9), 1: (0, 13), 2: (0, 7)}, "3.1.x-3.4.x"),
    ({18: (0, 2), 0: (0, 7), 1: (0, 10), 2: (0, 5), 3: (0, 7)}, "2.1.x-2.3.x"),
])
def test_release_line(changes, line):
    assert release_line({**KAFKA_392, **changes}) == line


def test_parse_api_versions_v0():
    body = (b"\x00\x00" b"\x00\x00\x00\x02"
            b"\x00\x00\x00\x00\x00\x0b" b"\x00\x12\x00\x00\x00\x04")
    assert parse_api_versions_v0(body) == {0: (0, 11), 18: (0, 4)}
    with pytest.raises(ConnectionFailure, match="truncated"):
        parse_api_versions_v0(body[:-3])
