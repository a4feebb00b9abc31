"""The on-disk spool: order, bounds, corruption, and the once-only delete."""

from __future__ import annotations

import logging
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.reporting.records import encode
from engine.reporting.spool import CORRUPT_SUFFIX, Spool, SpooledReport


def _report(n: int, size: int = 10) -> SpooledReport:
    """A real report value of about `size` bytes or more (the Kafka version pads it)."""
    value = encode({"timestamp": 1_700_000_000 + n, "kafkaVersion": "3.9.2" + "-x" * size,
                    "confluentPlatformVersion": None, "collectorState": 2,
                    "brokerProcessUUID": str(uuid.UUID(int=n)), "clusterId": "c"}, "basic")
    return SpooledReport(topic="t", value=value, broker_id=1,
                         report_id=str(uuid.uuid4()), created_ms=1000 + n,
                         headers={"broker.id": "1"})


def test_reports_come_back_in_order_and_survive_a_reopen(tmp_path):
    spool = Spool(tmp_path)
    ids = [spool.put(_report(n)).report_id for n in range(5)]
    reopened = Spool(tmp_path)
    assert [r.report_id for r in reopened.pending()] == ids
    # A new report after the reopen goes after the old ones, not before.
    last = reopened.put(_report(9))
    assert [r.report_id for r in reopened.pending()] == ids + [last.report_id]
    assert reopened.pending().__next__().headers == {"broker.id": "1"}


def test_flush_delivers_in_order_and_deletes_only_what_was_confirmed(tmp_path):
    spool = Spool(tmp_path)
    for n in range(4):
        spool.put(_report(n))
    sent: list[int] = []

    def send(report: SpooledReport) -> bool | str:
        if len(sent) == 2:
            return "broker down"
        sent.append(report.created_ms)
        return True

    result = spool.flush(send)
    assert sent == [1000, 1001]
    assert (result.delivered, result.remaining, result.error) == (2, 2, "broker down")
    assert [r.created_ms for r in spool.pending()] == [1002, 1003]

    assert spool.flush(lambda r: True).delivered == 2
    assert len(spool) == 0


def test_a_raising_sender_keeps_the_report(tmp_path):
    spool = Spool(tmp_path)
    spool.put(_report(1))

    def send(report: SpooledReport) -> bool:
        raise RuntimeError("boom")

    result = spool.flush(send)
    assert result.delivered == 0 and "boom" in result.error
    assert len(spool) == 1


def test_count_bound_drops_the_oldest_with_a_warning(tmp_path, caplog):
    spool = Spool(tmp_path, max_count=3)
    with caplog.at_level(logging.WARNING, logger="engine.reporting.spool"):
        for n in range(5):
            spool.put(_report(n))
    assert [r.created_ms for r in spool.pending()] == [1002, 1003, 1004]
    assert sum("spool full" in m for m in caplog.messages) == 2


def test_byte_bound_drops_the_oldest_and_refuses_a_giant(tmp_path, caplog):
    one = len(Spool(tmp_path / "probe").put(_report(0, size=1000)).path.read_bytes())
    spool = Spool(tmp_path / "s", max_bytes=one * 2 + 10)
    for n in range(4):
        spool.put(_report(n, size=1000))
    assert [r.created_ms for r in spool.pending()] == [1002, 1003]
    assert spool.total_bytes() <= spool.max_bytes
    with caplog.at_level(logging.WARNING, logger="engine.reporting.spool"):
        assert spool.put(_report(7, size=one * 3)) is None
    assert "larger than the spool limit" in caplog.text
    assert len(spool) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_corrupt_file_is_skipped_with_a_warning(tmp_path, caplog, damage):
    spool = Spool(tmp_path)
    first = spool.put(_report(1))
    bad = spool.put(_report(2))
    third = spool.put(_report(3))
    data = bad.path.read_bytes()
    bad.path.write_bytes({
        "truncate": data[: len(data) // 2],
        "flip": data[:20] + bytes([data[20] ^ 0xFF]) + data[21:],
        "garbage": b"\x00\xffnot a spool file at all" * 3,
        "empty": b"",
    }[damage])
    delivered: list[str] = []
    with caplog.at_level(logging.WARNING, logger="engine.reporting.spool"):
        result = spool.flush(lambda r: delivered.append(r.report_id) or True)
    assert delivered == [first.report_id, third.report_id]
    assert result.corrupt == 1 and result.delivered == 2
    assert "corrupt" in caplog.text
    # Quarantined, not retried forever, and not counted as pending.
    assert (tmp_path / (bad.path.name + CORRUPT_SUFFIX)).exists()
    assert len(spool) == 0


def test_foreign_and_stale_temp_files_are_left_out(tmp_path):
    (tmp_path / "notes.txt").write_text("not ours")
    (tmp_path / ".spool-abc.tmp").write_bytes(b"half written")
    spool = Spool(tmp_path)
    assert not (tmp_path / ".spool-abc.tmp").exists()
    assert list(spool.pending()) == []
    assert (tmp_path / "notes.txt").exists()


def _hostile(spool: Spool, seq: int, meta: bytes, value: bytes | None = None) -> None:
    """A spool file whose checksum is right and whose content is not what the agent wrote."""
    import struct
    import zlib

    from engine.reporting.spool import MAGIC, SUFFIX

    value = _report(0).value if value is None else value
    body = (MAGIC + struct.pack(">I", len(meta)) + meta + struct.pack(">I", len(value))
            + value)
    (spool.folder / f"{seq:012d}{SUFFIX}").write_bytes(body + struct.pack(">I",
                                                                           zlib.crc32(body)))


@pytest.mark.parametrize("meta", [
    b"[" * 100_000 + b"]" * 100_000,  # deep nesting: the JSON decoder recurses
    b'{"topic":"t","broker_id":1e400,"report_id":"r","created_ms":1}',  # out of range
    b'{"topic":"t","broker_id":1,"report_id":"r","created_ms":99999999999999999999999}',
    b'{"topic":"t","broker_id":true,"report_id":"r","created_ms":1}',
    b'{"topic":"../../etc","broker_id":1,"report_id":"r","created_ms":1}',
    b'{"topic":"t","broker_id":1,"report_id":"r","created_ms":1,"headers":[1]}',
    b'"just a string"',
])
def test_checksummed_but_hostile_files_are_quarantined_and_the_rest_delivered(tmp_path, meta):
    good = Spool(tmp_path).put(_report(1))
    _hostile(Spool(tmp_path), good.seq + 1, meta)
    spool = Spool(tmp_path)  # a restarted agent: it numbers on after what it finds
    after = spool.put(_report(3))
    sent: list[str] = []
    result = spool.flush(lambda r: sent.append(r.report_id) or True)
    assert sent == [good.report_id, after.report_id]
    assert result.corrupt == 1 and len(spool) == 0
    assert [p.name.endswith(CORRUPT_SUFFIX) for p in tmp_path.iterdir()] == [True]


def test_a_value_that_is_no_report_is_quarantined(tmp_path):
    spool = Spool(tmp_path)
    _hostile(spool, 1, b'{"topic":"t","broker_id":1,"report_id":"r","created_ms":1}',
             value=b"\x00not avro")
    assert list(spool.pending()) == []


def test_a_report_refused_for_good_is_quarantined_and_later_ones_go(tmp_path):
    from engine.reporting.spool import Rejected

    spool = Spool(tmp_path)
    first, second = spool.put(_report(1)), spool.put(_report(2))
    sent: list[str] = []

    def send(report: SpooledReport) -> bool | Rejected:
        if report.report_id == first.report_id:
            return Rejected("MSG_SIZE_TOO_LARGE")
        sent.append(report.report_id)
        return True

    result = spool.flush(send)
    assert sent == [second.report_id] and result.corrupt == 1 and result.error is None


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4096))
def test_the_spool_reader_survives_any_checksummed_metadata(tmp_path, meta):
    spool = Spool(tmp_path / uuid.uuid4().hex)
    _hostile(spool, 1, meta)
    result = spool.flush(lambda r: True)  # never raises, whatever the file says
    assert len(spool) == 0 and result.delivered + result.corrupt == 1
