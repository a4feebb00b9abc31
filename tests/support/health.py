"""Helpers of the health tests: crafted reports produced the way agents write them (Avro
from `engine.reporting.records.encode`, a `broker.id` header), topics made to order, and
evaluations polled until they show what a test waits for."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from engine.cluster.location import ClusterLocation
from engine.health.monitor import Evaluation, HealthMonitor
from engine.reporting.records import encode
from tests.support.cluster import location, wait_for_topic

YEAR_MS = "31536000000"


def where(cluster: Any, timeout: float = 10.0) -> ClusterLocation:
    """The sandbox named as an operator would: ZooKeeper when it has one."""
    if cluster.zk_connect:
        return location(zookeeper=cluster.zk_connect, timeout=timeout)
    return location(bootstrap=cluster.bootstrap, timeout=timeout)


def cli_where(cluster: Any) -> list[str]:
    """The same as command-line options."""
    if cluster.zk_connect:
        return ["--zookeeper", cluster.zk_connect]
    return ["--bootstrap-server", cluster.bootstrap]


def basic(ts: float, token: str, state: int = 2, kafka: str = "3.9.2") -> bytes:
    return encode({"timestamp": int(ts), "kafkaVersion": kafka,
                   "confluentPlatformVersion": None, "collectorState": state,
                   "brokerProcessUUID": token, "clusterId": "NA"}, "basic")


def enhanced(ts: float, broker_id: int, token: str, config: dict[str, str], state: int = 2,
             kafka: str = "3.9.2") -> bytes:
    return encode({
        "timestamp": int(ts), "jvmStartTimeMs": int(ts * 1000) - 60_000,
        "jvmUptimeMs": 60_000, "clusterId": "NA", "brokerId": broker_id,
        "kafkaVersion": kafka, "confluentPlatformVersion": None, "collectorState": state,
        "brokerProcessUUID": token,
        "brokerMetrics": {
            "brokerConfiguration": config, "javaSystemProperties": None,
            "jvmRuntimeEnvironment": {"availableProcessors": 2, "freeMemoryBytes": -1,
                                      "maxMemoryBytes": -1, "totalMemoryBytes": -1},
            "brokerStatistics": {"writtenBytes": -1, "readBytes": -1, "bytesInRate": -1.0,
                                 "bytesOutRate": -1.0, "numPartitions": 1}},
        "clusterMetrics": {"replicationHistogram": [0] * 6, "minIsrHistogram": [0] * 6,
                           "numberTopics": 1, "numberPartitions": 1, "numberTopicsZk": 1,
                           "zookeeperStats": None,
                           "uncleanLeaderElectionHistogram": [0, 0]}}, "enhanced")


def produce(bootstrap: str, topic: str, items: Iterable[tuple[int, bytes, float]]) -> None:
    """(broker id, value, Kafka time in seconds) each, with the agent's headers."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "log_level": 0})
    for broker_id, value, ts in items:
        producer.produce(topic, value=value, timestamp=int(ts * 1000),
                         headers=[("broker.id", str(broker_id).encode()),
                                  ("report.id", str(uuid.uuid4()).encode())])
    assert producer.flush(30) == 0


def create_topic(bootstrap: str, name: str, replication: int = 3, partitions: int = 1,
                 config: dict[str, str] | None = None,
                 assignment: list[list[int]] | None = None, timeout: float = 60.0) -> None:
    """Create a topic (again, once a deletion of the same name is through), and wait until
    every broker's metadata has it."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    while True:
        if assignment is not None:
            spec = NewTopic(name, num_partitions=len(assignment), replica_assignment=assignment,
                            config=config or {})
        else:
            spec = NewTopic(name, num_partitions=partitions, replication_factor=replication,
                            config=config or {})
        try:
            admin.create_topics([spec], operation_timeout=20)[name].result(timeout=30)
            break
        except Exception as exc:  # noqa: BLE001 - marked for deletion: wait and retry
            if "exists" not in str(exc) and "deletion" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not created: {exc}") from None
            time.sleep(0.5)
    wait_for_topic(bootstrap, name)


def delete_topic(bootstrap: str, name: str, timeout: float = 60.0) -> None:
    """Delete a topic and wait until the metadata no longer has it."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        admin.delete_topics([name], operation_timeout=20)[name].result(timeout=30)
    except Exception:  # noqa: BLE001 - already gone
        pass
    deadline = time.monotonic() + timeout
    while name in admin.list_topics(timeout=10).topics:
        assert time.monotonic() < deadline, f"{name} still in the metadata"
        time.sleep(0.3)


def rules_of(evaluation: Evaluation) -> set[tuple[str, str]]:
    return {(f.rule, f.subject) for f in evaluation.findings}


def poll(monitor: HealthMonitor, done: Callable[[Evaluation], bool], timeout: float = 90.0,
         every: float = 1.0) -> tuple[Evaluation, list[Evaluation]]:
    """Evaluate until `done` holds (bounded); the last evaluation and all of them."""
    deadline = time.monotonic() + timeout
    seen: list[Evaluation] = []
    while True:
        evaluation = monitor.evaluate()
        seen.append(evaluation)
        if done(evaluation):
            return evaluation, seen
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not within {timeout} s; last findings: "
                f"{[f.line() for f in evaluation.findings]}; problems {evaluation.problems}")
        time.sleep(every)
