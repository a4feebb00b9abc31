"""The report wire format: encode/decode, byte layout, CP-era records, hostile input."""

from __future__ import annotations

import io
import json
import zlib

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ValidationError
from engine.reporting import records
from engine.reporting.records import MAX_VALUE_BYTES, decode, encode
from tests.support.cp_records import (
    CP30_BASIC_SCHEMA,
    GARBAGE,
    basic_fields,
    container,
    cp30_basic,
    cp30_enhanced,
    cp31_basic,
    cp31_enhanced,
    enhanced_fields,
)

SHARED = "/work/shared/schemas"


def _basic() -> dict:
    return {**basic_fields(timestamp=1_700_000_000, kafka_version="3.9.0", cp_version=None,
                           token="0b6c1f7e-2d4a-4d67-9f43-5a1b2c3d4e5f"),
            "clusterId": "MkU3OEVBNTcwNTJENDM2Qg"}


def _enhanced() -> dict:
    return {**enhanced_fields(broker_id=2, kafka_version="3.9.0"), "clusterId": "abc"}


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A separate, deliberately naive varint reader, so the test does not trust the code."""
    shift = acc = 0
    while True:
        b = data[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return (acc >> 1) ^ -(acc & 1), pos


def test_round_trip_basic_and_enhanced():
    for rec, kind, name in ((_basic(), "basic", "SupportKafkaMetricsBasic"),
                            (_enhanced(), "enhanced", "SupportKafkaMetricsEnhanced")):
        got = decode(encode(rec, kind))
        assert got.ok, got.error
        assert got.error is None
        assert got.schema == name
        assert got.schema_kind == kind
        assert got.record == rec


def test_plain_fastavro_reader_with_the_shared_schemas_reads_what_encode_writes():
    for rec, kind, file in ((_basic(), "basic", "SupportKafkaMetricsBasic.avsc"),
                            (_enhanced(), "enhanced", "SupportKafkaMetricsEnhanced.avsc")):
        with open(f"{SHARED}/{file}") as fh:
            reader_schema = fastavro.parse_schema(json.load(fh))
        rows = list(fastavro.reader(io.BytesIO(encode(rec, kind)), reader_schema=reader_schema))
        assert rows == [rec]


def test_header_layout_matches_java_data_file_writer():
    value = encode(_basic(), "basic")
    assert value[:4] == b"Obj\x01"
    count, pos = _read_long(value, 4)
    assert count == 1  # one metadata block holding avro.schema only, as CP's writer
    meta = {}
    for _ in range(count):
        klen, pos = _read_long(value, pos)
        key = value[pos:pos + klen].decode()
        pos += klen
        vlen, pos = _read_long(value, pos)
        meta[key] = value[pos:pos + vlen]
        pos += vlen
    end, pos = _read_long(value, pos)
    assert end == 0
    # No avro.codec: CP's DataFileWriter set none, and readers default to the null codec.
    assert list(meta) == ["avro.schema"]
    # Java's Schema.toString(): compact JSON, declared key order, docs kept.
    with open(f"{SHARED}/SupportKafkaMetricsBasic.avsc") as fh:
        assert meta["avro.schema"] == json.dumps(json.load(fh), separators=(",", ":")).encode()
    assert b" " not in meta["avro.schema"].split(b'"doc"')[0]
    sync = value[pos:pos + 16]
    pos += 16
    nrec, pos = _read_long(value, pos)
    size, pos = _read_long(value, pos)
    assert nrec == 1
    body = value[pos:pos + size]
    pos += size
    assert value[pos:] == sync  # the block ends with the header's sync marker, then nothing
    assert fastavro.schemaless_reader(io.BytesIO(body), records.BASIC, None) == _basic()


def test_sync_marker_is_random_per_report():
    a, b = encode(_basic(), "basic"), encode(_basic(), "basic")
    assert a != b and a[-16:] != b[-16:] and len(a) == len(b)


def test_cluster_id_may_be_left_out_and_defaults_to_na():
    rec = _basic()
    del rec["clusterId"]
    assert decode(encode(rec, "basic")).record["clusterId"] == "NA"


@pytest.mark.parametrize("mutate, needle", [
    (lambda r: r.pop("kafkaVersion"), "missing field kafkaVersion"),
    (lambda r: r.update(clusterID="x"), "unknown field 'clusterID'"),
    (lambda r: r.update(collectorState="2"), "collectorState"),
])
def test_encode_names_the_bad_field(mutate, needle):
    rec = _basic()
    mutate(rec)
    with pytest.raises(ValidationError, match=needle) as info:
        encode(rec, "basic")
    assert isinstance(info.value, ValueError)


def test_encode_checks_nested_records_and_schema_name():
    rec = _enhanced()
    del rec["brokerMetrics"]["brokerStatistics"]["numPartitions"]
    with pytest.raises(ValueError, match="brokerMetrics.brokerStatistics.numPartitions"):
        encode(rec, "enhanced")
    with pytest.raises(ValueError, match="unknown schema"):
        encode(_basic(), "fancy")


def test_cp30_records_get_cluster_id_na():
    for value, kind in ((cp30_basic(), "basic"), (cp30_enhanced(3), "enhanced")):
        got = decode(value)
        assert got.ok, got.error
        assert got.schema_kind == kind
        assert got.record["clusterId"] == "NA"
    assert decode(cp30_enhanced(3)).record["brokerId"] == 3


def test_cp31_records_keep_their_cluster_id():
    got = decode(cp31_basic(cluster_id="cid-1", kafka_version="0.10.2.1-cp2"))
    assert got.ok and got.record["clusterId"] == "cid-1"
    assert got.record["kafkaVersion"] == "0.10.2.1-cp2"
    assert decode(cp31_enhanced(1, cluster_id="cid-2")).record["clusterId"] == "cid-2"


def test_other_schema_is_ok_but_reported_as_other():
    schema = {"type": "record", "name": "Thing", "namespace": "x.y",
              "fields": [{"name": "a", "type": "int"}]}
    got = decode(container(schema, [{"a": 5}]))
    assert got.ok and got.schema == "Thing" and got.schema_kind == "other"
    assert got.record == {"a": 5}
    assert "clusterId" not in got.record


def test_deflate_codec_is_read():
    got = decode(container(CP30_BASIC_SCHEMA, [basic_fields()], codec="deflate"))
    assert got.ok, got.error
    assert got.record["clusterId"] == "NA"


@pytest.mark.parametrize("value, needle", [
    (None, "null"),
    (b"", "empty"),
    (GARBAGE, "magic"),
    (b"Obj\x01", "truncated"),
    (container(CP30_BASIC_SCHEMA, []), "no record"),
    (container(CP30_BASIC_SCHEMA, [basic_fields(), basic_fields()]), "2 records"),
])
def test_not_a_single_record(value, needle):
    got = decode(value)
    assert not got.ok and got.record is None
    assert needle in got.error


def test_two_blocks_are_refused():
    one = encode(_basic(), "basic")
    sync = one[-16:]
    body_start = len(one) - 16
    # append a second block (count 1, same datum) with the same sync marker
    datum = io.BytesIO()
    fastavro.schemaless_writer(datum, records.BASIC, _basic())
    extra = b"\x02" + records._zigzag_long(len(datum.getvalue())) + datum.getvalue() + sync
    got = decode(one[:body_start] + sync + extra)
    assert not got.ok and "more than one block" in got.error


def _header_then(tail: bytes, schema_json: str = records.BASIC_JSON,
                 sync: bytes = b"S" * 16) -> bytes:
    meta = (records._zigzag_long(1) + records._avro_bytes(b"avro.schema")
            + records._avro_bytes(schema_json.encode()) + records._zigzag_long(0))
    return b"Obj\x01" + meta + sync + tail


def test_hostile_size_claims_are_refused_without_allocating():
    huge = records._zigzag_long(1) + records._zigzag_long(2**62)
    got = decode(_header_then(huge))
    assert not got.ok and "truncated" in got.error
    # metadata claiming billions of entries
    got = decode(b"Obj\x01" + records._zigzag_long(2**40))
    assert not got.ok and "entries" in got.error
    # a value above the cap is refused before any parsing
    got = decode(b"Obj\x01" + b"\x00" * (MAX_VALUE_BYTES + 1))
    assert not got.ok and "limit" in got.error


def test_array_of_nulls_claiming_billions_of_items_is_refused():
    schema = json.dumps({"type": "record", "name": "Bomb", "fields": [
        {"name": "a", "type": {"type": "array", "items": "null"}}]})
    body = records._zigzag_long(2**60) + b"\x00"
    tail = records._zigzag_long(1) + records._zigzag_long(len(body)) + body + b"S" * 16
    got = decode(_header_then(tail, schema))
    assert not got.ok and "zero-width" in got.error


def test_deflate_bomb_is_capped():
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = bomb.compress(b"\x00" * (MAX_VALUE_BYTES + 1024)) + bomb.flush()
    meta = (records._zigzag_long(2) + records._avro_bytes(b"avro.schema")
            + records._avro_bytes(records.BASIC_JSON.encode())
            + records._avro_bytes(b"avro.codec") + records._avro_bytes(b"deflate")
            + records._zigzag_long(0))
    value = (b"Obj\x01" + meta + b"S" * 16 + records._zigzag_long(1)
             + records._zigzag_long(len(data)) + data + b"S" * 16)
    got = decode(value)
    assert not got.ok and "size limit" in got.error


_VALID = encode(_basic(), "basic")
_VALID_ENH = encode(_enhanced(), "enhanced")
_fuzz = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(got: records.DecodedRecord) -> None:
    assert isinstance(got, records.DecodedRecord)
    assert got.ok == (got.record is not None) == (got.error is None)


@_fuzz
@given(st.binary(max_size=2048))
def test_decode_never_raises_on_random_bytes(value):
    _check(decode(value))
    _check(decode(b"Obj\x01" + value))


@_fuzz
@given(st.data())
def test_decode_never_raises_on_truncations(data):
    source = data.draw(st.sampled_from([_VALID, _VALID_ENH]))
    cut = data.draw(st.integers(0, len(source) - 1))
    got = decode(source[:cut])
    _check(got)
    assert not got.ok  # every strict prefix is incomplete


@_fuzz
@given(st.data())
def test_decode_never_raises_on_bit_flips(data):
    source = bytearray(data.draw(st.sampled_from([_VALID, _VALID_ENH])))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(source) - 1))
        source[pos] ^= 1 << data.draw(st.integers(0, 7))
    _check(decode(bytes(source)))
