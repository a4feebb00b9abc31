"""The report wire format: one Avro Object Container File holding exactly one record.

CP 3.x wrote each report with Java's `DataFileWriter` into a byte array and sent those
bytes, unchanged, to the support topic and over HTTP. `encode` writes the same layout:

    "Obj" 0x01 | metadata map {avro.schema} | 16-byte sync | block: count=1, size, datum | sync

CP's writer set no codec, so its header held the one `avro.schema` entry and readers took
the null codec by default; so does this one. What holds between the two: every CP reader
decodes every record written here and the datum bytes are identical; the headers differ,
because the schema text in `avro.schema` is this project's (and the sync marker is random).

The container is written here rather than by `fastavro.writer` because fastavro always
writes an `avro.codec` entry and its own canonical form of the schema (full names, no docs),
while Java stores `Schema.toString()`, the compact JSON of the schema as declared.
fastavro still encodes and decodes the datum itself.

`decode` is the one reader of report values in the project. It reads with the writer schema
embedded in the container, so it accepts this project's records, CP 3.1+ records and CP 3.0
records (which lack `clusterId`), and it never raises: whatever arrives on the topic is
either a record or a short reason why it is not.
"""

from __future__ import annotations

import functools
import io
import json
import os
import zlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import fastavro
from fastavro.validation import validate as _fastavro_validate

from engine.errors import ValidationError

MAGIC = b"Obj\x01"
SYNC_SIZE = 16
# A report is a few KiB (and Kafka's default largest message is 1 MiB); the cap keeps a
# hostile or corrupt value from making the reader allocate or loop over gigabytes, and also
# bounds what a compressed block may expand to.
MAX_VALUE_BYTES = 1024 * 1024
# Metadata holds one or two entries in practice; a few more are tolerated, thousands are not.
_MAX_META_ENTRIES = 64

BASIC_NAME = "SupportKafkaMetricsBasic"
ENHANCED_NAME = "SupportKafkaMetricsEnhanced"
NAMESPACE = "io.confluent.support.metrics"


class RecordInvalid(ValidationError, ValueError):
    """A record given to `encode` does not match its schema (missing, unknown or bad field)."""


def _load_schema_text(name: str) -> str:
    raw = resources.files("engine.reporting").joinpath("schemas", f"{name}.avsc").read_text("utf-8")
    # Java's Schema.toString() is compact JSON with the keys in declaration order, which is
    # what json.dumps gives for a schema loaded in order from the .avsc file.
    return json.dumps(json.loads(raw), separators=(",", ":"))


BASIC_JSON: str = _load_schema_text(BASIC_NAME)
ENHANCED_JSON: str = _load_schema_text(ENHANCED_NAME)
# fastavro types parse_schema loosely (a schema may be a name or a union); ours are records.
BASIC: dict[str, Any] = fastavro.parse_schema(json.loads(BASIC_JSON))  # type: ignore[assignment]
ENHANCED: dict[str, Any] = fastavro.parse_schema(  # type: ignore[assignment]
    json.loads(ENHANCED_JSON))

_BY_KIND: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "basic": (BASIC_JSON, BASIC, json.loads(BASIC_JSON)),
    "enhanced": (ENHANCED_JSON, ENHANCED, json.loads(ENHANCED_JSON)),
}


@dataclass(frozen=True)
class DecodedRecord:
    """What `decode` found in one value: a record, or the reason there is none."""

    ok: bool
    schema: str | None  # the writer schema's record name, e.g. "SupportKafkaMetricsBasic"
    record: dict[str, Any] | None
    error: str | None

    @property
    def schema_kind(self) -> str:
        """"basic", "enhanced" or "other" (other schema, or nothing decoded)."""
        short = (self.schema or "").rsplit(".", 1)[-1]
        if short == BASIC_NAME:
            return "basic"
        if short == ENHANCED_NAME:
            return "enhanced"
        return "other"


# --------------------------------------------------------------------------- encoding

def _zigzag_long(n: int) -> bytes:
    """Avro's variable-length zig-zag encoding of a long."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z & ~0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _avro_bytes(b: bytes) -> bytes:
    return _zigzag_long(len(b)) + b


def _check_fields(record: Any, schema: dict[str, Any], path: str) -> None:
    """Name the first missing or unknown field, recursing into nested records.

    fastavro's validator reports type errors well but silently fills defaults and ignores
    extra keys; a misspelt optional field (say `clusterID`) would vanish without a word.
    """
    if not isinstance(record, dict):
        raise RecordInvalid(f"{path or 'record'}: expected a mapping, got {type(record).__name__}")
    names = {f["name"] for f in schema["fields"]}
    unknown = sorted(set(record) - names)
    if unknown:
        raise RecordInvalid(f"{schema['name']}: unknown field {path}{unknown[0]!r}")
    for field in schema["fields"]:
        name = field["name"]
        if name not in record:
            if "default" in field:
                continue
            raise RecordInvalid(f"{schema['name']}: missing field {path}{name}")
        ftype = field["type"]
        if isinstance(ftype, dict) and ftype.get("type") == "record":
            _check_fields(record[name], ftype, f"{path}{name}.")


def encode(record: dict[str, Any], schema: str) -> bytes:
    """Encode one report as a single-record Avro container, laid out as CP 3.x's
    DataFileWriter wrote it (one `avro.schema` metadata entry, no `avro.codec`).

    `schema` is "basic" or "enhanced". Fields with a schema default (`clusterId`) may be
    left out. Raises `RecordInvalid` (a ValidationError and a ValueError) naming the first
    field that is missing, unknown or of the wrong type.
    """
    if schema not in _BY_KIND:
        raise RecordInvalid(f"unknown schema {schema!r}: use 'basic' or 'enhanced'")
    text, parsed, declared = _BY_KIND[schema]
    _check_fields(record, declared, "")
    try:
        _fastavro_validate(record, parsed, raise_errors=True)
    except fastavro.validation.ValidationError as exc:
        # fastavro gives a JSON list of messages with full names; one line reads better.
        problems = "; ".join(str(e).replace(f"{NAMESPACE}.", "") for e in exc.errors)
        raise RecordInvalid(problems or f"{declared['name']}: invalid record") from None
    datum = io.BytesIO()
    fastavro.schemaless_writer(datum, parsed, record)
    body = datum.getvalue()
    sync = os.urandom(SYNC_SIZE)
    # One block holding the one entry, then the end marker: no avro.codec, as CP's writer
    # (readers take the null codec when the entry is absent).
    meta = (_zigzag_long(1)
            + _avro_bytes(b"avro.schema") + _avro_bytes(text.encode("utf-8"))
            + _zigzag_long(0))
    return b"".join((MAGIC, meta, sync, _zigzag_long(1), _zigzag_long(len(body)), body, sync))


# --------------------------------------------------------------------------- decoding

class _Bad(Exception):
    """A reason the value is not a readable report; its message is shown to the user."""


class _Cursor:
    """Reads Avro primitives from a bytes value, never past its end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def long(self, what: str) -> int:
        shift = 0
        acc = 0
        for _ in range(10):  # a long takes at most 10 bytes
            if self.pos >= len(self.data):
                raise _Bad(f"truncated ({what})")
            b = self.data[self.pos]
            self.pos += 1
            acc |= (b & 0x7F) << shift
            if not b & 0x80:
                return (acc >> 1) ^ -(acc & 1)
            shift += 7
        raise _Bad(f"malformed varint ({what})")

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or n > len(self.data) - self.pos:
            raise _Bad(f"truncated ({what})")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


def _read_header(cur: _Cursor) -> tuple[dict[str, bytes], bytes]:
    if cur.data[:len(MAGIC)] != MAGIC:
        raise _Bad("not an Avro container (bad magic)")
    cur.pos = len(MAGIC)
    meta: dict[str, bytes] = {}
    for _ in range(_MAX_META_ENTRIES + 1):  # blocks of the metadata map
        count = cur.long("metadata count")
        if count == 0:
            break
        if count < 0:  # a negative count is followed by the block's size in bytes
            count = -count
            cur.long("metadata block size")
        if len(meta) + count > _MAX_META_ENTRIES:
            raise _Bad(f"metadata claims {count} entries")
        for _ in range(count):
            key = cur.take(cur.long("metadata key"), "metadata key")
            meta[key.decode("utf-8", "replace")] = cur.take(cur.long("metadata value"),
                                                            "metadata value")
    else:
        raise _Bad("metadata map does not end")
    return meta, cur.take(SYNC_SIZE, "sync marker")


class DecodeBudget:
    """Bytes that compressed blocks may still expand to, across many decodes (a bundle).

    CP's writer used no codec; a container that does must not make a small file cost
    gigabytes of work, one 1 MiB block at a time."""

    def __init__(self, codec_bytes: int) -> None:
        self.codec_bytes = codec_bytes

    def spend(self, size: int) -> None:
        if size > self.codec_bytes:
            self.codec_bytes = 0
            raise _Bad("compressed records: the decode budget of this bundle is used up")
        self.codec_bytes -= size


def _inflate(block: bytes, codec: str, budget: DecodeBudget | None = None) -> bytes:
    if codec == "null":
        return block
    if budget is not None and budget.codec_bytes <= 0:
        budget.spend(1)  # used up: refused before any work
    out = _expand(block, codec)
    if budget is not None:
        budget.spend(len(out))
    return out


def _snappy_length(payload: bytes) -> int:
    """The uncompressed length a raw snappy block declares (its leading varint)."""
    value = shift = 0
    for byte in payload[:5]:
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
    raise _Bad("snappy block has no length")


def _expand(block: bytes, codec: str) -> bytes:
    if codec == "deflate":
        # Raw deflate, as Java's DeflateCodec writes; max_length stops a decompression bomb.
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(block, MAX_VALUE_BYTES + 1)
        if len(out) > MAX_VALUE_BYTES:
            raise _Bad("deflate block expands beyond the size limit")
        return out
    if codec == "snappy":
        try:
            import cramjam  # type: ignore[import-not-found]  # fastavro's optional snappy
        except ImportError:
            raise _Bad("snappy codec: no snappy library installed") from None
        # Java's SnappyCodec appends a 4-byte CRC32 of the uncompressed data.
        if len(block) < 4:
            raise _Bad("snappy block too short")
        payload, crc = block[:-4], block[-4:]
        if _snappy_length(payload) > MAX_VALUE_BYTES:  # before anything is allocated
            raise _Bad("snappy block expands beyond the size limit")
        out = bytes(cramjam.snappy.decompress_raw(payload))
        if len(out) > MAX_VALUE_BYTES:
            raise _Bad("snappy block expands beyond the size limit")
        if zlib.crc32(out).to_bytes(4, "big") != crc:
            raise _Bad("snappy block checksum mismatch")
        return out
    raise _Bad(f"unsupported codec {codec[:40]!r}")


def _zero_width(schema: Any, named: dict[str, Any], seen: frozenset[str]) -> bool:
    """True if a value of this (parsed) type can take zero bytes on the wire."""
    if isinstance(schema, str):
        if schema == "null":
            return True
        if schema in named and schema not in seen:
            return _zero_width(named[schema], named, seen | {schema})
        return False
    if isinstance(schema, list):
        return False  # a union always carries its branch index
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "fixed":
            return schema.get("size") == 0
        if kind in ("record", "error"):
            name = schema.get("name", "")
            return all(_zero_width(f.get("type"), named, seen | {name})
                       for f in schema.get("fields", []))
        if kind in ("array", "map", "enum"):
            return False
        return _zero_width(kind, named, seen)
    return False


def _has_unbounded_array(schema: Any, named: dict[str, Any], visited: set[int]) -> bool:
    """An array of zero-width items lets a tiny value claim billions of items."""
    if isinstance(schema, list):
        return any(_has_unbounded_array(s, named, visited) for s in schema)
    if not isinstance(schema, dict) or id(schema) in visited:
        return False
    visited.add(id(schema))
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return _zero_width(items, named, frozenset()) or _has_unbounded_array(
            items, named, visited)
    if kind == "map":
        return _has_unbounded_array(schema.get("values"), named, visited)
    if kind in ("record", "error"):
        return any(_has_unbounded_array(f.get("type"), named, visited)
                   for f in schema.get("fields", []))
    return False


def _collect_named(schema: Any, named: dict[str, Any], budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise _Bad("writer schema too complex")
    if isinstance(schema, list):
        for s in schema:
            _collect_named(s, named, budget)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed") and "name" in schema:
            named[schema["name"]] = schema
        for f in schema.get("fields", []) if kind in ("record", "error") else []:
            _collect_named(f.get("type"), named, budget)
        if kind == "array":
            _collect_named(schema.get("items"), named, budget)
        if kind == "map":
            _collect_named(schema.get("values"), named, budget)


@functools.lru_cache(maxsize=64)
def _writer_schema(schema_json: bytes) -> tuple[Any, str]:
    """Parse and vet a writer schema once: a topic repeats the same few schemas in every
    record, and parsing dominated the cost of decoding (bytes key: the cache is exact)."""
    try:
        declared = json.loads(schema_json)
        parsed = fastavro.parse_schema(declared)
    except Exception as exc:  # noqa: BLE001 - any defect in a foreign schema is one reason
        raise _Bad(f"unreadable writer schema: {_one_line(exc)}") from None
    name = parsed.get("name") if isinstance(parsed, dict) else None
    if not isinstance(name, str):
        raise _Bad("writer schema is not a record")
    named: dict[str, Any] = {}
    _collect_named(parsed, named, [10_000])
    if _has_unbounded_array(parsed, named, set()):
        raise _Bad(f"writer schema {name} has an array of zero-width items")
    return parsed, name


def _decode(value: bytes, budget: DecodeBudget | None) -> DecodedRecord:
    if len(value) > MAX_VALUE_BYTES:
        raise _Bad(f"value of {len(value)} bytes exceeds the {MAX_VALUE_BYTES}-byte limit")
    cur = _Cursor(value)
    meta, sync = _read_header(cur)
    if "avro.schema" not in meta:
        raise _Bad("container has no avro.schema")
    codec = meta.get("avro.codec", b"null").decode("utf-8", "replace")
    parsed, name = _writer_schema(meta["avro.schema"])
    if cur.pos == len(value):
        raise _Bad("container holds no record")
    count = cur.long("block count")
    size = cur.long("block size")
    block = cur.take(size, "block")
    if cur.take(SYNC_SIZE, "block sync marker") != sync:
        raise _Bad("block sync marker does not match the header")
    if count != 1:
        raise _Bad(f"block holds {count} records, expected 1")
    if cur.pos != len(value):
        raise _Bad("container holds more than one block")
    data = _inflate(block, codec, budget)
    buf = io.BytesIO(data)
    record = fastavro.schemaless_reader(buf, parsed, None)
    if buf.tell() != len(data):
        raise _Bad(f"{len(data) - buf.tell()} bytes left after the record")
    if not isinstance(record, dict):
        raise _Bad("record is not a mapping")
    short = name.rsplit(".", 1)[-1]
    if short in (BASIC_NAME, ENHANCED_NAME):
        # CP 3.0 wrote no clusterId; the schema's own default says what that means.
        record.setdefault("clusterId", "NA")
    return DecodedRecord(ok=True, schema=short, record=record, error=None)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def decode(value: bytes | None, budget: DecodeBudget | None = None) -> DecodedRecord:
    """Decode one report value; never raises. `budget` bounds, across calls, what
    compressed blocks may expand to.

    Reads with the writer schema embedded in the container. `ok` is True for any
    well-formed single-record container, whatever its schema (`schema` then names it, and
    `schema_kind` says whether it is one of ours); anything else gives `ok=False` and a
    short `error`.
    """
    if value is None:
        return DecodedRecord(False, None, None, "no value (null)")
    if not isinstance(value, bytes | bytearray | memoryview):
        return DecodedRecord(False, None, None, f"not bytes: {type(value).__name__}")
    if len(value) == 0:
        return DecodedRecord(False, None, None, "empty value")
    try:
        return _decode(bytes(value), budget)
    except _Bad as exc:
        return DecodedRecord(False, None, None, str(exc))
    except MemoryError:
        return DecodedRecord(False, None, None, "value too large to decode")
    except RecursionError:
        return DecodedRecord(False, None, None, "record nested too deeply")
    except Exception as exc:  # noqa: BLE001 - the decoder's contract is to never raise
        return DecodedRecord(False, None, None,
                             f"undecodable: {type(exc).__name__}: {_one_line(exc)}")
