"""Opening a hostile bundle is bounded as a whole: overlapping entries (one compressed
kernel inflated many times), high-ratio entries, compressed Avro blocks and odd archive
comments cost little and leave the rest of the bundle readable."""

from __future__ import annotations

import io
import json
import resource
import struct
import time
import zipfile
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.reading.bundle import (
    CODEC_BUDGET_BYTES,
    MAX_ENTRY_BYTES,
    BundleReader,
    open_bundle,
    summarize,
)
from engine.reporting.records import MAX_VALUE_BYTES
from tests.support.cp_records import cp31_basic


def test_the_entry_bound_is_the_value_bound():
    assert MAX_ENTRY_BYTES == MAX_VALUE_BYTES


def _overlap_bomb(path: Path, entries: int, kernel_size: int) -> None:
    """One deflated kernel, and many central records whose entries all point at it."""
    raw = b"\0" * kernel_size
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    kernel = deflater.compress(raw) + deflater.flush()
    crc = zlib.crc32(raw)
    name = b"k.0"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(kernel),
                        len(raw), len(name), 0) + name
    central = b"".join(
        struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(kernel),
                    len(raw), len(b"k.%d" % i), 0, 0, 0, 0, 0, 0) + b"k.%d" % i
        for i in range(entries))
    start = len(local) + len(kernel)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(central), start, 0)
    path.write_bytes(local + kernel + central + end)


def test_overlapping_entries_are_refused_unread(tmp_path):
    path = tmp_path / "bomb.zip"
    _overlap_bomb(path, 2_000, 1_000_000)  # 2 GB if inflated; the file is ~80 KB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    opened = open_bundle(str(path))
    assert time.monotonic() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB
    assert len(opened.entries) == 2_000
    assert all(not e.ok and "overlaps" in (e.error or "") for e in opened.entries)


def test_a_high_ratio_entry_is_refused_and_the_others_read(tmp_path):
    path = tmp_path / "ratio.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("b.zip.0", cp31_basic())
        zf.writestr("b.zip.1", b"\0" * (MAX_ENTRY_BYTES - 10))  # ~1000:1
        zf.writestr("b.zip.2", cp31_basic())
    opened = open_bundle(str(path))
    assert [e.ok for e in opened.entries] == [True, False, True]
    assert "expand" in (opened.entries[1].error or "")


def _deflate_container(size: int) -> bytes:
    """A one-record container whose block is deflate-coded and expands to `size` bytes."""
    schema = json.dumps({"type": "record", "name": "Blob", "fields": [
        {"name": "b", "type": "bytes"}]}).encode()

    def long(n: int) -> bytes:
        z, out = (n << 1) ^ (n >> 63), bytearray()
        while z & ~0x7F:
            out.append((z & 0x7F) | 0x80)
            z >>= 7
        out.append(z)
        return bytes(out)

    datum = long(size - len(long(size))) + b"\0" * (size - len(long(size)))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflater.compress(datum) + deflater.flush()
    sync = b"S" * 16
    meta = (long(2) + long(11) + b"avro.schema" + long(len(schema)) + schema + long(10)
            + b"avro.codec" + long(7) + b"deflate" + long(0))
    return b"Obj\x01" + meta + sync + long(1) + long(len(block)) + block + sync


def test_compressed_blocks_share_one_budget_across_the_bundle(tmp_path):
    value = _deflate_container(MAX_VALUE_BYTES - 64)  # ~1 MB of work for ~1 KB of file
    count = CODEC_BUDGET_BYTES // MAX_VALUE_BYTES * 2
    path = tmp_path / "codec.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(count):
            zf.writestr(f"c.zip.{i}", value)
    started = time.monotonic()
    opened = open_bundle(str(path))
    decoded = sum(1 for e in opened.entries if e.ok)
    assert decoded <= CODEC_BUDGET_BYTES // (MAX_VALUE_BYTES - 64) + 1 < count
    assert all("budget" in (e.error or "") for e in opened.entries if not e.ok)
    assert time.monotonic() - started < 5


def test_an_archive_comment_of_odd_types_is_reported_not_fatal(tmp_path):
    path = tmp_path / "comment.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("b.zip.0", cp31_basic())
        zf.comment = json.dumps({"format": "ps-console support bundle", "topic": ["x"],
                                 "records": "many", "complete": "yes", "cluster_id": 3,
                                 "partitions": [{"partition": "0"}, {"partition": 1, "low": 0,
                                                                     "high": 1, "records": 1}]
                                 }).encode()
    opened = open_bundle(str(path))
    assert opened.metadata == {"format": "ps-console support bundle",
                               "partitions": [{"partition": 1, "low": 0, "high": 1,
                                               "records": 1}]}
    assert set(opened.metadata_problems) == {"topic", "records", "complete", "cluster_id",
                                             "partitions"}
    assert [e.ok for e in opened.entries] == [True]
    assert "wrong type, left out: " in summarize(opened)


def test_a_name_ending_in_thousands_of_digits_is_one_odd_entry(tmp_path):
    path = tmp_path / "digits.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("b.zip.0", cp31_basic())
        zf.writestr("b.zip." + "9" * 5000, cp31_basic())
    opened = open_bundle(str(path))
    assert [e.ok for e in opened.entries] == [True, True]


@settings(max_examples=60, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 200_000)), min_size=1,
                max_size=40))
def test_any_mix_of_bombs_opens_within_bounds(parts):
    """Entries of every hostile kind mixed: the open ends in bounded time, whatever it is."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (kind, size) in enumerate(parts):
            value = (cp31_basic(), b"\0" * size, _deflate_container(max(64, size)),
                     b"\xff" * size)[kind]
            zf.writestr(f"h.zip.{n}", value)
    started = time.monotonic()
    with BundleReader(_to_file(out.getvalue())) as reader:
        opened = reader.opened()
    assert len(opened.entries) == len(parts)
    assert time.monotonic() - started < 3


def _to_file(data: bytes) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)
    handle.write(data)
    handle.close()
    return handle.name
