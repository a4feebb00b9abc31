"""The bundle's zip writer on real files: every entry readable by Python's zipfile with its
CRC, names across power-of-ten boundaries, ZIP64 for many entries and for offsets past 4 GiB,
and no disk space left reserved after the last byte."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

from engine.reading.zip_stream import ZipStream


def _write(path: Path, batches: list[list[bytes]], start: int = 0) -> ZipStream:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if start:
            os.lseek(fd, start, os.SEEK_SET)  # a sparse file: the entries start there
        zw = ZipStream(fd, path.name, time.time(), str(path.parent))
        zw.pos = start
        try:
            for batch in batches:
                zw.add_batch(batch)
            zw.finish(b'{"test": true}')
        finally:
            zw.close()
    finally:
        os.close(fd)
    return zw


def test_entries_read_back_with_their_crcs_across_name_lengths(tmp_path):
    values = [os.urandom(n % 300) for n in range(2_500)]  # b"" included
    path = tmp_path / "b.zip"
    zw = _write(path, [values[i:i + 333] for i in range(0, len(values), 333)])
    assert zw.count == len(values) and zw.pos == path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.comment == b'{"test": true}'
        names = zf.namelist()
        assert names[9:11] == ["b.zip.9", "b.zip.10"] and names[999:1001] == [
            "b.zip.999", "b.zip.1000"]
        assert [zf.read(n) for n in names] == values


def test_more_than_65535_entries_use_zip64_end_records(tmp_path):
    path = tmp_path / "many.zip"
    _write(path, [[b"x%d" % (i + j) for j in range(7_000)] for i in range(0, 70_000, 7_000)])
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 70_000
        assert zf.read("many.zip.69999") == b"x69999"


def test_offsets_past_4_gib_go_into_zip64_extra_fields(tmp_path):
    path = tmp_path / "far.zip"
    start = 2**32 - 2_000
    _write(path, [[os.urandom(900) for _ in range(5)]], start=start)  # sparse: no 4 GiB used
    with zipfile.ZipFile(path) as zf:
        offsets = [i.header_offset for i in zf.infolist()]
        assert offsets[0] < 2**32 < offsets[-1]
        assert zf.testzip() is None


def test_no_space_stays_reserved_after_the_last_byte(tmp_path):
    path = tmp_path / "small.zip"
    zw = _write(path, [[b"report"] * 3])
    assert path.stat().st_size == zw.pos
    assert path.stat().st_blocks * 512 < 1024 * 1024  # not the 64 MiB reserved while writing
