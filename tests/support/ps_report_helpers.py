"""Helpers shared by the collector / report-now / privacy integration tests."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import fastavro

SCHEMAS = Path(__file__).resolve().parents[2] / "engine" / "reporting" / "schemas"
SHARED_SCHEMAS = Path("/work/shared/schemas")


def schema_path(kind: str) -> Path:
    name = {"basic": "SupportKafkaMetricsBasic.avsc",
            "enhanced": "SupportKafkaMetricsEnhanced.avsc"}[kind]
    shared = SHARED_SCHEMAS / name
    return shared if shared.exists() else SCHEMAS / name


def plain_read(value: bytes, kind: str) -> dict[str, Any]:
    """Decode with fastavro alone against the shared schema: what any Avro reader does."""
    reader_schema = fastavro.parse_schema(json.loads(schema_path(kind).read_text()))
    records = list(fastavro.reader(io.BytesIO(value), reader_schema=reader_schema))
    assert len(records) == 1
    return records[0]


ENABLE = "confluent.support.metrics.enable"


def broker_config_copy(sandbox, broker_id: int, tmp_path: Path,
                       extra: dict[str, str | None]) -> Path:
    """The broker's real server.properties, copied, with settings appended: the opt-in
    CP's shipped file carried (`confluent.support.metrics.enable=true`) unless `extra`
    says otherwise, then `extra` (a None value leaves its key out)."""
    source = Path(sandbox.box.broker(broker_id).config)
    text = source.read_text()
    text += "".join(f"{k}={v}\n" for k, v in {ENABLE: "true", **extra}.items()
                    if v is not None)
    target = tmp_path / f"server-{broker_id}.properties"
    target.write_text(text)
    return target


def unique_topic(prefix: str = "ps-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def delete_topics(bootstrap: str, *topics: str) -> None:
    """Test cleanup through a plain AdminClient of the sandbox's PLAINTEXT listeners."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(list(topics), operation_timeout=10).values():
        try:
            future.result(timeout=15)
        except Exception:  # noqa: BLE001 - cleanup of a topic that may not exist
            pass
