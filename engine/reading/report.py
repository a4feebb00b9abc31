"""A support report as read back, from the support topic or from a bundle: one model for the
CLI, the console and the health rules.

`ReportSummary` is what every listing holds: where the record is, when it was made, whose it
is, and the few facts a view shows in a row (token, collector state, schema, versions,
cluster id, size, decode error). It is small and immutable; millions of them are held in a
`engine.reading.report_log.ReportLog`. `Report` is a summary with the decoded fields and the
raw bytes riding along, made only where a view needs them (a detail pane, `reports`
output, `open --json`); a listing fetches one again by position when asked.

`build_report` makes both from a record value. It decides the per-record half of
attribution: the `broker.id` header, else an Enhanced report's `brokerId`. The other half
(a Basic report belongs to the broker that owns its token in the same sequence) needs the
whole sequence and lives in `engine.reading.rules`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from engine.reporting.records import DecodedRecord

BROKER_ID_HEADER: Final = "broker.id"
REPORT_ID_HEADER: Final = "report.id"

BASIC: Final = "basic"
ENHANCED: Final = "enhanced"
OTHER: Final = "other"

# `collectorState`, as CP's collector set it. Any other value is kept in the fields and reads as unknown.
STATE_STOPPED: Final = 0
STATE_SHUTTING_DOWN: Final = 1
STATE_RUNNING: Final = 2
STATE_NAMES: Final = {STATE_STOPPED: "Stopped", STATE_SHUTTING_DOWN: "ShuttingDown",
                      STATE_RUNNING: "Running"}

# How a report came to belong to a broker (`ReportSummary.attributed_by`).
BY_HEADER: Final = "header"
BY_ENHANCED: Final = "enhanced"
BY_TOKEN: Final = "token"

# Kafka broker ids are non-negative 32-bit ints; anything else names no broker.
_MAX_BROKER_ID = 2**31 - 1
# Longest header text taken from a record: a report id is 36 characters.
_MAX_HEADER_TEXT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportSummary:
    """One record of the support topic or one entry of a bundle, summarised.

    Where: `partition`@`offset` on a topic; in a bundle `partition` is None, `offset` is
    the entry's place in bundle order (0, 1, ...) and `entry` its name. `kafka_ms` is the
    Kafka timestamp (None in a bundle), `time_s` the report's own `timestamp` field in
    seconds (None when undecodable). `error` is None when the value decoded.
    """

    partition: int | None
    offset: int
    entry: str | None = None
    kafka_ms: int | None = None
    time_s: int | None = None
    broker_id: int | None = None
    attributed_by: str | None = None  # BY_HEADER, BY_ENHANCED, BY_TOKEN, or None
    token: str | None = None  # brokerProcessUUID
    state: int | None = None  # collectorState, when it is one of STATE_NAMES
    schema: str | None = None  # the writer schema's record name
    kafka_version: str | None = None
    cp_version: str | None = None
    cluster_id: str | None = None
    size: int = 0
    error: str | None = None
    report_id: str | None = None

    # -- where ---------------------------------------------------------------------------

    @property
    def in_bundle(self) -> bool:
        """True for a bundle entry, False for a topic record."""
        return self.partition is None

    @property
    def position(self) -> str:
        """How an operator finds the record again: `partition@offset`, or `entry N` (N the
        number its name ends with, as CP's tool numbered them), else the entry's name."""
        if self.partition is not None:
            return f"{self.partition}@{self.offset}"
        name = self.entry or ""
        head, dot, number = name.rpartition(".")
        if dot and number.isdigit() and len(number) <= 20:
            return f"entry {int(number)}"
        return name or f"entry #{self.offset}"

    @property
    def key(self) -> str:
        """Unique within one source (a bundle may repeat a name or a number)."""
        return f"{self.partition}@{self.offset}" if self.partition is not None \
            else f"#{self.offset}"

    # -- when ----------------------------------------------------------------------------

    @property
    def collected_ms(self) -> int | None:
        """When the report was made: its `timestamp` field, else the Kafka timestamp."""
        if self.time_s is not None:
            return self.time_s * 1000
        return self.kafka_ms

    # -- what ----------------------------------------------------------------------------

    @property
    def ok(self) -> bool:
        """True when the value decoded to a record (of any schema)."""
        return self.error is None

    @property
    def schema_kind(self) -> str:
        """BASIC, ENHANCED or OTHER (another schema, or nothing decoded)."""
        return _schema_kind(self.schema)

    @property
    def schema_short(self) -> str:
        """`Basic`, `Enhanced`, another schema's name, or `undecodable`."""
        if not self.ok:
            return "undecodable"
        return (self.schema or "?").replace("SupportKafkaMetrics", "")

    @property
    def state_name(self) -> str | None:
        """`Stopped`, `ShuttingDown`, `Running`, or None when unknown."""
        return STATE_NAMES.get(self.state) if self.state is not None else None

    @property
    def search_text(self) -> str:
        """What a filter matches, lower case: position, broker, schema, collector state,
        versions, token, error."""
        return f"{self.position} {self.profile_text}"

    @property
    def profile_text(self) -> str:
        """`search_text` without the position: the part every report of one broker runtime
        shares (a listing of a million rows matches it once per distinct value)."""
        return " ".join((
            "-" if self.broker_id is None else str(self.broker_id), self.schema_short,
            self.state_name or "", self.kafka_version or "", self.cp_version or "",
            self.token or "", self.error or "")).lower()

    def summary(self) -> ReportSummary:
        """This report without the fields and bytes (a summary is returned as it is)."""
        return self

    def with_detail(self, fields: dict[str, Any] | None, value: bytes | None) -> Report:
        """This summary with the decoded fields and raw bytes fetched again by position."""
        return Report(**_summary_values(self), fields=fields, value=value)

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (the `reports --json` object without `fields`)."""
        out: dict[str, Any] = {
            "partition": self.partition,
            "offset": self.offset,
            "timestamp_ms": self.kafka_ms,
            "time": iso_time(self.kafka_ms) if self.kafka_ms is not None else None,
            "broker_id": self.broker_id,
            "token": self.token,
            "report_id": self.report_id,
            "size": self.size,
            "ok": self.ok,
            "schema": self.schema,
            "schema_kind": self.schema_kind,
            "error": self.error,
            "collected_ms": self.collected_ms,
            "attributed_by": self.attributed_by,
            "state": self.state,
            "kafka_version": self.kafka_version,
            "cp_version": self.cp_version,
            "cluster_id": self.cluster_id,
        }
        if self.entry is not None:
            out["entry"] = self.entry
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Report(ReportSummary):
    """A summary with the decoded fields (None when undecodable) and the raw value."""

    fields: dict[str, Any] | None = None
    value: bytes | None = None

    def summary(self) -> ReportSummary:
        """The summary alone, for holding in a listing."""
        return ReportSummary(**_summary_values(self))

    def to_json(self) -> dict[str, Any]:
        """The summary's JSON plus `fields`, the decoded record (null when undecodable)."""
        out = ReportSummary.to_json(self)
        out["fields"] = self.fields
        return out


_SUMMARY_FIELDS = tuple(f.name for f in dataclasses.fields(ReportSummary))


def _summary_values(report: ReportSummary) -> dict[str, Any]:
    return {name: getattr(report, name) for name in _SUMMARY_FIELDS}


def _schema_kind(schema: str | None) -> str:
    if schema == "SupportKafkaMetricsBasic":
        return BASIC
    if schema == "SupportKafkaMetricsEnhanced":
        return ENHANCED
    return OTHER


def iso_time(ms: int) -> str:
    """`2026-09-21T12:53:20.00Z` (centiseconds), or the number itself when out of range."""
    try:
        stamp = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return str(ms)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z"


def header_text(headers: dict[str, bytes], name: str) -> str | None:
    """A record header as text (stripped), None when absent, empty, too long or not UTF-8."""
    raw = headers.get(name)
    if raw is None or len(raw) > _MAX_HEADER_TEXT:
        return None
    try:
        return raw.decode("utf-8").strip() or None
    except UnicodeDecodeError:
        return None


def _broker_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = int(value) if value.isascii() and value.isdigit() and len(value) <= 10 \
            else None
    return value if isinstance(value, int) and 0 <= value <= _MAX_BROKER_ID else None


def _text(value: object) -> str | None:
    return value if type(value) is str else None


@functools.cache
def _decoder() -> Callable[[bytes | None], DecodedRecord]:
    """`engine.reporting.records.decode`, imported on first use: fastavro loads then, and
    exporting a bundle (which never decodes) does not pay for it."""
    from engine.reporting.records import decode

    return decode


def build_report(value: bytes | None, *, partition: int | None, offset: int,
                 entry: str | None = None, kafka_ms: int | None = None,
                 headers: dict[str, bytes] | None = None,
                 decoded: DecodedRecord | None = None, size: int | None = None) -> Report:
    """Decode one record value (or take `decoded`) and summarise it; never raises.

    Attribution here is per record: the `broker.id` header, else an Enhanced report's
    `brokerId`. Facts are taken from this project's two schemas only: a record of another
    schema is shown with its fields but names no token, time or version. `size` defaults
    to the value's length.
    """
    result = decoded if decoded is not None else _decoder()(value)
    record = result.record if result.ok else None
    kind = _schema_kind(result.schema)
    ours = record if record is not None and kind != OTHER else {}
    broker = _broker_id(header_text(headers, BROKER_ID_HEADER)) if headers else None
    by = BY_HEADER if broker is not None else None
    if broker is None and kind == ENHANCED:
        broker = _broker_id(ours.get("brokerId"))
        by = BY_ENHANCED if broker is not None else None
    stamp = ours.get("timestamp")
    state = ours.get("collectorState")
    return Report(
        partition=partition, offset=offset, entry=entry, kafka_ms=kafka_ms,
        time_s=stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else None,
        broker_id=broker, attributed_by=by,
        token=_text(ours.get("brokerProcessUUID")),
        state=state if state in STATE_NAMES and not isinstance(state, bool) else None,
        schema=result.schema, kafka_version=_text(ours.get("kafkaVersion")),
        cp_version=_text(ours.get("confluentPlatformVersion")),
        cluster_id=_text(ours.get("clusterId")),
        size=len(value or b"") if size is None else size, error=None if result.ok else (result.error or "undecodable"),
        report_id=header_text(headers, REPORT_ID_HEADER) if headers else None,
        fields=record, value=bytes(value) if value is not None else None)
