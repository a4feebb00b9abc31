"""The bundle export's C fast path (engine/_zipdrain.c) against the pure-Python path, on the
real sandbox: for the same records, the same `when` and the same entry base, both write
the very same bytes, ZIP64 central records included."""

from __future__ import annotations

import logging
import os
import random
import struct
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from engine.target import ClusterTarget
from engine.topic_reader import TopicReader
from engine.zip_drain import drain_module, open_drain
from engine.zip_stream import ZipStream

pytestmark = pytest.mark.sandbox

WHEN = 1_700_000_000.0  # one DOS time and date for both files


def _values() -> list[list[bytes | None]]:
    """Partition 0: names cross 9→10, 99→100 and 999→1000; null, empty, small and large
    values. Partition 1: a few more, so entry numbers continue across partitions."""
    rnd = random.Random(7)
    first: list[bytes | None] = [None, b"", b"x"]
    first += [rnd.randbytes(rnd.randrange(1, 4000)) for _ in range(1200)]
    first[500] = rnd.randbytes(400_000)
    first[1100] = None
    return [first, [f"p1-{n}".encode() for n in range(25)]]


@pytest.fixture(scope="module")
def topic(sandbox) -> Iterator[tuple[str, list[list[bytes | None]]]]:
    name = f"zip-drain-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": sandbox.bootstrap})
    admin.create_topics([NewTopic(name, 2, 1)])[name].result(timeout=30)
    values = _values()
    producer = Producer({"bootstrap.servers": sandbox.bootstrap, "linger.ms": 20,
                         "enable.idempotence": True})
    for partition, items in enumerate(values):
        for value in items:
            producer.produce(name, value=value, partition=partition)
        producer.poll(0)
    assert producer.flush(60) == 0
    yield name, values
    for fut in admin.delete_topics([name]).values():
        fut.result(timeout=30)


def _write(sandbox, topic: str, path: Path, fast: bool, start_pos: int = 0) -> ZipStream:
    """Export the whole topic into `path` with one of the two paths, like export_bundle."""
    with TopicReader(ClusterTarget(bootstrap=sandbox.bootstrap)) as reader, \
            open(path, "wb", buffering=0) as fh:
        zw = ZipStream(fh.fileno(), "same.zip", WHEN, str(path.parent))
        zw.pos = start_pos
        ranges = reader.end_offsets(topic)
        drain = reader.open_drain() if fast else None
        try:
            if fast:
                assert drain is not None
                steps = list(reader.drain_ranges(topic, ranges, drain, zw.fill_from))
                assert sum(n for _, n in steps) == zw.count
            else:
                for batch in reader.iter_batches(topic, ranges):
                    zw.add_batch([v or b"" for v in batch.values()])
            assert reader.complete
            zw.finish(b'{"comment": true}')
        finally:
            if drain is not None:
                drain.close()
            zw.close()
    return zw


def test_the_fast_path_is_built_here():
    """CI must exercise the C path: a missing compiler would otherwise go unnoticed."""
    assert drain_module() is not None


def test_c_path_writes_the_bytes_of_the_python_path(sandbox, topic, tmp_path):
    name, values = topic
    (tmp_path / "c").mkdir()
    (tmp_path / "py").mkdir()
    c = _write(sandbox, name, tmp_path / "c" / "z.zip", fast=True)
    py = _write(sandbox, name, tmp_path / "py" / "z.zip", fast=False)
    assert (c.count, c.pos) == (py.count, py.pos) == (
        sum(map(len, values)), (tmp_path / "c" / "z.zip").stat().st_size)
    assert (tmp_path / "c" / "z.zip").read_bytes() == (tmp_path / "py" / "z.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "c" / "z.zip") as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        assert [i.filename for i in infos] == [f"same.zip.{n}" for n in range(len(infos))]
        assert [zf.read(i) for i in infos] == [v or b"" for part in values for v in part]


def test_zip64_central_records_are_the_same(sandbox, topic, tmp_path):
    """Entries past 4 GiB get their offset in a ZIP64 extra field: start the numbering of
    positions just below the limit (the file itself stays small) and compare."""
    name, _ = topic
    (tmp_path / "c").mkdir()
    (tmp_path / "py").mkdir()
    start = 0xFFFFFFFF - 2_000_000
    _write(sandbox, name, tmp_path / "c" / "z.zip", fast=True, start_pos=start)
    _write(sandbox, name, tmp_path / "py" / "z.zip", fast=False, start_pos=start)
    data = (tmp_path / "c" / "z.zip").read_bytes()
    assert data == (tmp_path / "py" / "z.zip").read_bytes()
    zip64_record = b"PK\x01\x02" + struct.pack("<HH", (3 << 8) | 45, 45)
    plain_record = b"PK\x01\x02" + struct.pack("<HH", (3 << 8) | 20, 20)
    assert data.count(zip64_record) > 0 and data.count(plain_record) > 0


def test_crc_is_zlibs(sandbox):
    module = drain_module()
    rnd = random.Random(3)
    for size in [0, 1, 7, 64, 1000, 65_537, 1 << 20]:
        data = rnd.randbytes(size)
        assert module.crc32(data) == zlib.crc32(data)


def test_python_objects_in_the_configuration_keep_the_export_in_python(sandbox):
    base = {"bootstrap.servers": sandbox.bootstrap, "group.id": f"t-{uuid.uuid4()}"}
    assert open_drain({**base, "error_cb": print}) is None
    logged = open_drain({**base, "logger": logging.getLogger("x")})  # --debug's logger
    assert logged is not None
    logged.close()
    assert open_drain({**base, "no.such.property": "1"}) is None
    drain = open_drain({**base, "enable.partition.eof": True, "socket.timeout.ms": 5000})
    assert drain is not None
    with pytest.raises(ValueError, match="no partition assigned"):
        drain.fill(1, 1, b"x.", 0, 0, 10, 0, 0, 0, 0.1)
    drain.close()
    drain.close()
    drain.unassign()  # after close: nothing to do, no error
    with pytest.raises(RuntimeError, match="closed"):
        drain.assign("t", 0, 0)


def test_a_failed_write_is_an_oserror_with_its_errno(sandbox, topic, tmp_path):
    name, _ = topic
    with TopicReader(ClusterTarget(bootstrap=sandbox.bootstrap)) as reader:
        drain = reader.open_drain()
        try:
            read_only = os.open(tmp_path / "ro", os.O_RDONLY | os.O_CREAT, 0o644)
            zw = ZipStream(read_only, "x.zip", WHEN, str(tmp_path))
            try:
                with pytest.raises(OSError) as err:
                    list(reader.drain_ranges(name, reader.end_offsets(name), drain,
                                             zw.fill_from))
                assert err.value.errno == 9  # EBADF: the fd is not open for writing
            finally:
                zw.close()
                os.close(read_only)
        finally:
            drain.close()
