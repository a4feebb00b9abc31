"""Pure parsing of what Kafka writes in ZooKeeper: broker registrations v1-v5, /cluster/id,
/controller, topic assignments; and the client-config hints."""

from __future__ import annotations

import json

import pytest

from engine.cluster.model import Broker, Endpoint
from engine.cluster.znodes import (
    RegistrationError,
    count_partitions,
    fewest_replicas,
    parse_assignment,
    parse_broker_registration,
    parse_cluster_id,
    parse_controller,
)

# Byte for byte what a Kafka 3.9.2 broker of the sandbox wrote (key order is Jackson's).
V5_SANDBOX = (b'{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},'
              b'"endpoints":["PLAINTEXT://127.0.0.1:56425"],"jmx_port":-1,"port":56425,'
              b'"host":"127.0.0.1","version":5,"timestamp":"1795704796412"}')


def test_v5_as_kafka_writes_it():
    broker = parse_broker_registration(1, V5_SANDBOX, session_id=72057666111406087)
    assert broker == Broker(
        id=1, endpoints=(Endpoint("PLAINTEXT", "PLAINTEXT", "127.0.0.1", 56425),),
        rack=None, jmx_port=None, registered_at_ms=1795704796412,
        session_id=72057666111406087, raw_version=5)


def test_v5_ssl_only_broker_has_null_host_and_port_minus_one():
    reg = {
        "version": 5, "host": None, "port": -1, "jmx_port": 9999, "timestamp": "1700000000000",
        "endpoints": ["CLIENT://kafka-1.example.com:9093", "REPL://[fd00::12]:9094"],
        "listener_security_protocol_map": {"CLIENT": "SASL_SSL", "REPL": "SSL"},
        "rack": "eu-west-1a",
        "features": {"metadata.version": {"min_version": 1, "max_version": 21}},
    }
    broker = parse_broker_registration(7, json.dumps(reg).encode(), session_id=5)
    assert broker.endpoints == (
        Endpoint("CLIENT", "SASL_SSL", "kafka-1.example.com", 9093),
        Endpoint("REPL", "SSL", "fd00::12", 9094),
    )
    assert broker.rack == "eu-west-1a"
    assert broker.jmx_port == 9999
    assert broker.registered_at_ms == 1700000000000
    assert broker.endpoint_for("ssl") == Endpoint("REPL", "SSL", "fd00::12", 9094)
    assert broker.endpoint_for("PLAINTEXT") is None
    assert broker.endpoints[1].address == "[fd00::12]:9094"


def test_v4_with_a_listener_named_unlike_its_protocol():
    reg = {"version": 4, "host": "10.0.0.5", "port": 9092, "jmx_port": -1,
           "timestamp": "1500000000000",
           "endpoints": ["INTERNAL://10.0.0.5:9092", "EXTERNAL://kafka.example.com:19092"],
           "listener_security_protocol_map": {"INTERNAL": "PLAINTEXT", "EXTERNAL": "SSL"}}
    broker = parse_broker_registration(2, json.dumps(reg))
    assert [e.protocol for e in broker.endpoints] == ["PLAINTEXT", "SSL"]
    assert broker.endpoint_for("PLAINTEXT").address == "10.0.0.5:9092"
    assert broker.raw_version == 4
    assert broker.session_id is None


def test_v2_without_protocol_map_uses_the_listener_name_as_protocol():
    reg = {"version": 2, "host": "old-broker", "port": 9092, "jmx_port": -1,
           "timestamp": "1450000000000",
           "endpoints": ["PLAINTEXT://old-broker:9092", "SSL://old-broker:9093"]}
    broker = parse_broker_registration(0, json.dumps(reg))
    assert broker.endpoints == (Endpoint("PLAINTEXT", "PLAINTEXT", "old-broker", 9092),
                                Endpoint("SSL", "SSL", "old-broker", 9093))
    assert broker.raw_version == 2


def test_v1_with_host_and_port_only():
    reg = {"version": 1, "host": "ancient", "port": 9092, "jmx_port": 7071,
           "timestamp": 1400000000000}
    broker = parse_broker_registration(3, json.dumps(reg))
    assert broker.endpoints == (Endpoint("PLAINTEXT", "PLAINTEXT", "ancient", 9092),)
    assert broker.jmx_port == 7071
    assert broker.registered_at_ms == 1400000000000  # a number is tolerated too


@pytest.mark.parametrize("data", [
    b"", b"not json", b"[]", b"\xff\xfe",
    b'{"version":5,"endpoints":["no-scheme-here"]}',
    b'{"version":5,"endpoints":["PLAINTEXT://host-without-port"]}',
    b'{"version":5,"endpoints":[42]}',
])
def test_garbage_registrations_are_refused(data):
    with pytest.raises(RegistrationError):
        parse_broker_registration(1, data)


def test_cluster_id_controller_and_partitions():
    assert parse_cluster_id(b'{"version":"1","id":"AxLlMTXlQYGaQNmxRhMk3A"}') == \
        "AxLlMTXlQYGaQNmxRhMk3A"
    assert parse_cluster_id(b"garbage") is None
    assert parse_cluster_id(None) is None
    assert parse_controller(
        b'{"version":2,"brokerid":2,"timestamp":"1795704795631","kraftControllerEpoch":-1}') == 2
    assert parse_controller(b'{"version":1,"brokerid":1,"timestamp":"1"}') == 1
    assert parse_controller(b"{}") is None
    assert count_partitions(
        b'{"version":3,"partitions":{"0":[1,2],"1":[2,1],"2":[3,1]},"adding_replicas":{},'
        b'"removing_replicas":{},"topic_id":"abc"}') == 3
    assert count_partitions(b'{"version":1,"partitions":{"0":[1]}}') == 1
    assert count_partitions(b"nope") == 0


def test_replication_factor_is_the_fewest_replicas_of_any_partition():
    # A reassignment from [1,2] to [3] that stopped half way leaves uneven partitions.
    uneven = parse_assignment(
        b'{"version":3,"partitions":{"0":[1,2,3],"1":[2,3],"2":[3,1,2]},'
        b'"adding_replicas":{},"removing_replicas":{},"topic_id":"abc"}')
    assert uneven == {"0": [1, 2, 3], "1": [2, 3], "2": [3, 1, 2]}
    assert fewest_replicas(uneven.values()) == 2
    assert fewest_replicas(parse_assignment(b'{"version":1,"partitions":{"0":[1]}}')
                           .values()) == 1
    # The AdminClient's PartitionMetadata.replicas is a list too.
    assert fewest_replicas(iter([[1, 2, 3], [2, 3, 1]])) == 3


@pytest.mark.parametrize("data", [
    b"nope", None, b"[]", b'{"version":3}', b'{"partitions":[[1,2]]}',
    b'{"partitions":{}}',  # a topic without partitions has no replication factor
    b'{"partitions":{"0":[1,2],"1":3}}',  # one unreadable partition: the rest may hide it
    b'{"partitions":{"0":null}}',
])
def test_replication_factor_of_an_unreadable_assignment_is_unknown(data):
    assert fewest_replicas(parse_assignment(data).values()) is None
