"""Report values as Confluent Platform 3.0 and 3.1 wrote them, for tests of every reader.

CP wrote each report with Java's DataFileWriter and its own writer schema. CP 3.0's schemas
had no `clusterId`; 3.1 added it. The schemas below are those shapes (declared without docs,
namespace first, as CP's .avsc files were laid out); the container is written by fastavro,
an independent Avro implementation, so readers are not tested only against our own writer.
"""

from __future__ import annotations

import copy
import io
import json
import uuid
from typing import Any

import fastavro

from engine.reporting.records import BASIC_JSON, ENHANCED_JSON

_NS = "io.confluent.support.metrics"


def _strip_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_docs(v) for k, v in node.items() if k != "doc"}
    if isinstance(node, list):
        return [_strip_docs(v) for v in node]
    return node


def _cp_schema(project_json: str, with_cluster_id: bool) -> dict[str, Any]:
    declared = _strip_docs(json.loads(project_json))
    fields = []
    for field in declared["fields"]:
        if field["name"] == "clusterId":
            if not with_cluster_id:
                continue
            field = {"name": "clusterId", "type": "string"}  # CP 3.1 declared no default
        fields.append(field)
    return {"namespace": _NS, "type": "record", "name": declared["name"], "fields": fields}


CP30_BASIC_SCHEMA = _cp_schema(BASIC_JSON, with_cluster_id=False)
CP31_BASIC_SCHEMA = _cp_schema(BASIC_JSON, with_cluster_id=True)
CP30_ENHANCED_SCHEMA = _cp_schema(ENHANCED_JSON, with_cluster_id=False)
CP31_ENHANCED_SCHEMA = _cp_schema(ENHANCED_JSON, with_cluster_id=True)


def container(schema: dict[str, Any], records: list[dict[str, Any]],
              codec: str = "null") -> bytes:
    """Write `records` into one Avro container with fastavro (any count, any codec)."""
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(copy.deepcopy(schema)), records, codec=codec)
    return out.getvalue()


def basic_fields(timestamp: int = 1_480_000_000, kafka_version: str = "0.10.1.0-cp1",
                 cp_version: str | None = "3.1.0", state: int = 2,
                 token: str | None = None) -> dict[str, Any]:
    """The fields every CP-era Basic report had."""
    return {"timestamp": timestamp, "kafkaVersion": kafka_version,
            "confluentPlatformVersion": cp_version, "collectorState": state,
            "brokerProcessUUID": token or str(uuid.uuid4())}


def enhanced_fields(broker_id: int = 0, **basic: Any) -> dict[str, Any]:
    """A plausible CP-era Enhanced report (without clusterId)."""
    return {**basic_fields(**basic), "jvmStartTimeMs": 1_479_999_000_000,
            "jvmUptimeMs": 1_000_000, "brokerId": broker_id,
            "brokerMetrics": {
                "brokerConfiguration": {"broker.id": str(broker_id), "num.partitions": "1"},
                "javaSystemProperties": None,
                "jvmRuntimeEnvironment": {"availableProcessors": 4, "freeMemoryBytes": 1,
                                          "maxMemoryBytes": 2, "totalMemoryBytes": 3},
                "brokerStatistics": {"writtenBytes": 10, "readBytes": 20, "bytesInRate": 0.5,
                                     "bytesOutRate": 0.25, "numPartitions": 3}},
            "clusterMetrics": {
                "replicationHistogram": [0, 1, 0, 2, 0, 0],
                "minIsrHistogram": [0, 3, 0, 0, 0, 0],
                "numberTopics": 3, "numberPartitions": 3, "numberTopicsZk": 3,
                "zookeeperStats": None, "uncleanLeaderElectionHistogram": [3, 0]}}


def cp30_basic(**fields: Any) -> bytes:
    """A CP 3.0 Basic report value: no clusterId in the writer schema."""
    return container(CP30_BASIC_SCHEMA, [basic_fields(**fields)])


def cp31_basic(cluster_id: str = "Vp5kX2cNQ0mJ2r8wq1zL1g", **fields: Any) -> bytes:
    """A CP 3.1+ Basic report value, with clusterId."""
    return container(CP31_BASIC_SCHEMA, [{**basic_fields(**fields), "clusterId": cluster_id}])


def cp30_enhanced(broker_id: int = 0, **fields: Any) -> bytes:
    """A CP 3.0 Enhanced report value: no clusterId."""
    return container(CP30_ENHANCED_SCHEMA, [enhanced_fields(broker_id, **fields)])


def cp31_enhanced(broker_id: int = 0, cluster_id: str = "Vp5kX2cNQ0mJ2r8wq1zL1g",
                  **fields: Any) -> bytes:
    """A CP 3.1+ Enhanced report value, with clusterId."""
    return container(CP31_ENHANCED_SCHEMA,
                     [{**enhanced_fields(broker_id, **fields), "clusterId": cluster_id}])


# A value that is certainly not a report: what a stray producer might leave on the topic.
GARBAGE = b"this is not an avro container \x00\xff\x01"
