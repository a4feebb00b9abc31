"""The allowlist privacy filter: Kafka-defined keys only, values of their
declared type or among their legal values, a short list of JVM properties; a corpus of
private data never reaches the encoded report."""

from __future__ import annotations

import json
import os
from importlib import resources

import pytest

from engine.errors import PsError
from engine.reporting import privacy
from engine.reporting.collector import system_properties
from engine.reporting.jvm_runtime import read_release, runtime_properties
from engine.reporting.privacy import (
    KafkaDefinitions,
    KeyDefinition,
    assert_private,
    kafka_definitions,
    scrub_broker_config,
    scrub_java_properties,
)
from engine.reporting.records import decode, encode
from tests.support.cp_records import enhanced_fields
from tests.support.privacy_corpus import (
    CONFIG,
    JVM_ARGS,
    JVM_RUNTIME,
    KEPT,
    corpus_strings,
)


def _enhanced(config: dict[str, str], jvm: dict[str, str] | None) -> bytes:
    record = {**enhanced_fields(broker_id=1, kafka_version="3.9.2"), "clusterId": "Vp5kX2cNQ0mJ2r8wq1zL1g"}
    record["brokerMetrics"]["brokerConfiguration"] = config
    record["brokerMetrics"]["javaSystemProperties"] = jvm
    return encode(record, "enhanced")


def test_no_byte_of_the_corpus_reaches_the_encoded_report():
    config = scrub_broker_config({**CONFIG, **KEPT})
    jvm = scrub_java_properties(JVM_RUNTIME, system_properties(JVM_ARGS))
    value = _enhanced(config.kept, jvm.kept)
    assert_private(value, corpus_strings())
    # Not private by emptiness: the plain settings went, in Kafka's canonical spelling.
    assert config.kept == {**KEPT, "unclean.leader.election.enable": "false"}
    assert config.withheld == len(CONFIG)
    assert decode(value).record["brokerMetrics"]["brokerConfiguration"] == config.kept
    assert jvm.kept == {"java.version": "17.0.15", "os.name": "Linux", "os.arch": "amd64",
                        "java.net.preferIPv4Stack": "true", "file.encoding": "UTF-8"}
    # Observed: 4 runtime properties and 11 distinct -D names; kept: 5.
    assert jvm.withheld == 4 + 11 - 5


def test_the_count_is_a_number_never_a_name():
    result = scrub_broker_config({"pwd": "x", "num.io.threads": "8"})
    assert result == ({"num.io.threads": "8"}, 1)
    kept, withheld = result
    assert isinstance(withheld, int)


def _defs(**keys: KeyDefinition) -> KafkaDefinitions:
    return KafkaDefinitions({k.replace("_", "."): (d,) for k, d in keys.items()},
                            frozenset({"org.apache.kafka.common.security.ssl", "kafka.server"}),
                            ("test",))


DEFS = _defs(
    b=KeyDefinition("BOOLEAN"), i=KeyDefinition("INT"), s=KeyDefinition("SHORT"),
    l=KeyDefinition("LONG"), d=KeyDefinition("DOUBLE"), free=KeyDefinition("STRING"),
    e=KeyDefinition("STRING", frozenset({"CreateTime", "LogAppendTime"})),
    ci=KeyDefinition("STRING", frozenset({"BIDIRECTIONAL", "DISABLED"}), True),
    list=KeyDefinition("LIST", frozenset({"compact", "delete"})),
    anylist=KeyDefinition("LIST"), c=KeyDefinition("CLASS"), p=KeyDefinition("PASSWORD"),
)


@pytest.mark.parametrize(("key", "value", "sent"), [
    ("b", "TRUE", "true"), ("b", " false ", "false"), ("b", "yes", None), ("b", "1", None),
    ("i", "2147483647", "2147483647"), ("i", "-2147483648", "-2147483648"),
    ("i", "2147483648", None), ("i", "+5", "5"), ("i", "007", "7"), ("i", "5.0", None),
    ("i", "1e3", None), ("i", "0x10", None), ("i", "10.1.2.3", None), ("i", "", None),
    ("s", "32767", "32767"), ("s", "32768", None), ("s", "-32769", None),
    ("l", "9223372036854775807", "9223372036854775807"), ("l", "9223372036854775808", None),
    ("d", "0.5", "0.5"), ("d", "1e3", "1000.0"), ("d", ".25", "0.25"), ("d", "NaN", None),
    ("d", "Infinity", None), ("d", "1e999", None), ("d", "0x1p3", None), ("d", "1.5d", None),
    ("d", "10.1.2.3", None),
    ("free", "anything", None), ("free", "", None),
    ("e", "LogAppendTime", "LogAppendTime"), ("e", "logappendtime", None),
    ("ci", "bidirectional", "bidirectional"), ("ci", "kafka7", None),
    ("list", "delete, compact", "delete,compact"), ("list", "compact", "compact"),
    ("list", "", ""), ("list", "delete,", None), ("list", "delete,secret-topic", None),
    ("anylist", "", ""), ("anylist", "PLAIN", None),
    ("c", "org.apache.kafka.common.security.ssl.DefaultSslEngineFactory",
     "org.apache.kafka.common.security.ssl.DefaultSslEngineFactory"),
    ("c", "kafka.server.Outer$Inner", "kafka.server.Outer$Inner"),
    ("c", "kafka.corp.Example", None),  # Kafka's prefix, not one of its packages
    ("c", "kafka.server.example", None), ("c", "com.acme.Builder", None),
    ("c", "org.apache.kafka.common.security.ssl.Kafka7Host", None),  # a forbidden name
    ("p", "true", None), ("p", "12", None),
])
def test_each_declared_type(key, value, sent):
    kept, withheld = scrub_broker_config({key: value}, definitions=DEFS,
                                         forbidden=["kafka7host"])
    assert kept == ({} if sent is None else {key: sent})
    assert withheld == (1 if sent is None else 0)


def test_keys_kafka_does_not_define_are_withheld_whatever_their_value():
    props = {"num.io.threads.extra": "8", "listener.name.internal.num.io.threads": "8",
             "confluent.support.customer.id": "c123", "confluent.support.metrics.enable": "true",
             "Num.Io.Threads": "8", " num.io.threads": "8", "num.io.threads": "8"}
    assert scrub_broker_config(props) == ({"num.io.threads": "8"}, len(props) - 1)


def test_a_key_either_kafka_line_defines_is_kept_and_password_in_any_wins():
    both = KafkaDefinitions({"k": (KeyDefinition("INT"), KeyDefinition("STRING",
                                                                       frozenset({"x"}))),
                             "q": (KeyDefinition("BOOLEAN"), KeyDefinition("PASSWORD"))},
                            frozenset(), ("a", "b"))
    assert scrub_broker_config({"k": "x", "q": "true"}, definitions=both) == ({"k": "x"}, 1)
    assert scrub_broker_config({"k": "12"}, definitions=both).kept == {"k": "12"}
    # 3.9's protocol versions and 4.x's key: the union.
    kept, _ = scrub_broker_config({"inter.broker.protocol.version": "3.9-IV0",
                                   "group.coordinator.rebalance.protocols": "classic,streams"})
    assert kept == {"inter.broker.protocol.version": "3.9-IV0",
                    "group.coordinator.rebalance.protocols": "classic,streams"}


def test_very_long_values_are_withheld():
    many = ",".join(["compact"] * 200)
    assert scrub_broker_config({"log.cleanup.policy": many}).withheld == 1


def test_the_package_data_is_kafkas_own_broker_config():
    folder = resources.files("engine.reporting") / "kafka_configs"
    docs = {n: json.loads((folder / n).read_text()) for n in privacy.DEFINITION_FILES}
    assert docs["broker-3.9.json"]["kafkaVersion"] == "3.9.2"
    assert docs["broker-4.x.json"]["kafkaVersion"].startswith("4.")
    for doc in docs.values():
        assert "make kafka-configs" in doc["generatedBy"]
        assert doc["generatedFrom"].startswith("kafka.server.KafkaConfig.configDef()")
        configs = doc["configs"]
        assert len(configs) > 300
        assert configs["num.io.threads"] == {"type": "INT"}
        assert configs["ssl.keystore.password"]["type"] == "PASSWORD"
        assert configs["sasl.jaas.config"]["type"] == "PASSWORD"
        assert configs["log.cleanup.policy"] == {"type": "LIST",
                                                 "values": ["compact", "delete"]}
        assert "org.apache.kafka.common.security.authenticator" in doc["kafkaPackages"]
        assert not [k for k in configs if k.startswith(("confluent.", "listener.name."))]
    assert "zookeeper.connect" in docs["broker-3.9.json"]["configs"]
    assert "zookeeper.connect" not in docs["broker-4.x.json"]["configs"]


def test_without_the_definitions_nothing_is_sent(monkeypatch, tmp_path):
    kafka_definitions.cache_clear()
    monkeypatch.setattr(privacy, "DEFINITION_FILES", ("broker-3.9.json", "missing.json"))
    try:
        with pytest.raises(PsError, match="nothing is sent"):
            scrub_broker_config({"num.io.threads": "8"})
    finally:
        kafka_definitions.cache_clear()


@pytest.mark.parametrize(("runtime", "kept"), [
    ({"java.version": "17.0.15"}, {"java.version": "17.0.15"}),
    ({"java.version": "1.8.0_402"}, {"java.version": "1.8.0_402"}),
    ({"java.version": "17.0.15.1"}, {}),  # four parts would read as an IP address
    ({"java.version": "17-acme"}, {}),
    ({"java.vendor": "Eclipse Adoptium"}, {"java.vendor": "Eclipse Adoptium"}),
    ({"java.vendor": "kafka7 build farm"}, {}),
    ({"os.name": "Linux", "os.arch": "aarch64"}, {"os.name": "Linux", "os.arch": "aarch64"}),
    ({"os.arch": "kafka7"}, {}),
    ({"user.name": "kafka"}, {}),
])
def test_runtime_properties_by_shape(runtime, kept):
    assert scrub_java_properties(runtime, {}) == (kept, len(runtime) - len(kept))


@pytest.mark.parametrize(("flag", "kept"), [
    ("java.awt.headless=true", True), ("java.awt.headless=kafka7", False),
    ("java.net.preferIPv6Addresses=system", True), ("file.encoding=UTF-8", True),
    ("file.encoding=acme", False), ("sun.net.inetaddr.ttl=60", True),
    ("sun.net.inetaddr.ttl=6.0", False), ("com.sun.management.jmxremote", True),
    ("com.sun.management.jmxremote=kafka7", False),
    ("com.sun.management.jmxremote.port=9999", False),
    ("java.rmi.server.hostname=kafka7", False), ("kafka.logs.dir=/srv/kafka", False),
    ("user.timezone=UTC", False), ("java.version=17", False),
])
def test_only_listed_jvm_flags_with_plain_values(flag, kept):
    flags = system_properties(["java", f"-D{flag}", "kafka.Kafka"])
    result = scrub_java_properties({}, flags)
    assert (result.kept == flags) is kept and result.withheld == (0 if kept else 1)


def test_release_file_and_runtime_of_this_process(tmp_path):
    (tmp_path / "release").write_text('IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="21.0.2"\n'
                                      'OS_ARCH="aarch64"\nbroken line\n')
    assert read_release(tmp_path) == {"IMPLEMENTOR": "Eclipse Adoptium",
                                      "JAVA_VERSION": "21.0.2", "OS_ARCH": "aarch64"}
    assert read_release(tmp_path / "nowhere") == {}
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "release").write_bytes(b"X" * (1 << 20))
    assert read_release(tmp_path / "big") == {}
    # Python is not a JDK: no release file above it, so only the OS is told.
    props = runtime_properties(os.getpid())
    assert props["os.name"] == "Linux" and "java.version" not in props
    assert runtime_properties(2**22 + 12345) == {k: v for k, v in props.items()
                                                  if k.startswith("os.")}
