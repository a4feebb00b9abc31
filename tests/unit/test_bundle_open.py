"""Opening bundles offline: CP-made zips, our own, and damaged or hostile files."""

from __future__ import annotations

import json
import os
import zipfile
from itertools import islice
from pathlib import Path

import pytest

from cli.main import main
from engine.errors import NotFound
from engine.reading.bundle import (
    MAX_ENTRY_BYTES,
    BundleError,
    BundleReader,
    OpenedBundle,
    default_bundle_name,
    open_bundle,
    summarize,
)
from engine.reading.zip_stream import ZipStream
from engine.reporting.records import encode
from tests.support.cp_records import GARBAGE, cp30_basic, cp30_enhanced, cp31_basic

TOKEN_A = "11111111-1111-4111-8111-111111111111"
TOKEN_B = "22222222-2222-4222-8222-222222222222"


def _cp_bundle(path: Path, typed: str, values: list[bytes]) -> None:
    """A zip the way CP's tool wrote it: entries named after the path the operator typed,
    deflated by java.util.zip, no archive comment."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, value in enumerate(values):
            zf.writestr(f"{typed}.{n}", value)


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_cp_bundle_with_path_names_opens_entry_by_entry(tmp_path, capsys):
    values = [cp30_basic(token=TOKEN_A, timestamp=1_470_000_000),
              cp31_basic(token=TOKEN_B, timestamp=1_480_000_000, cluster_id="clu"),
              GARBAGE,
              cp30_enhanced(broker_id=3, token=TOKEN_A, timestamp=1_475_000_000)]
    # Entries stored out of order (12 before 2): opening sorts by the trailing number.
    path = tmp_path / "cp.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in (0, 1, 3, 2):
            zf.writestr(f"/tmp/out/support-metrics.zip.{n}", values[n])
    opened = open_bundle(str(path))
    assert opened.metadata is None
    assert [e.position for e in opened.entries] == [f"entry {n}" for n in range(4)]
    assert [e.ok for e in opened.entries] == [True, True, False, True]
    first, second, bad, fourth = opened.entries
    assert first.schema.endswith("SupportKafkaMetricsBasic")
    assert first.cluster_id == "NA"  # CP 3.0 had no clusterId
    assert second.cluster_id == "clu"
    assert (fourth.broker_id, fourth.attributed_by) == (3, "enhanced")
    # The Basic report of broker 3's token is broker 3's; the other token names no broker.
    assert (first.broker_id, first.attributed_by) == (3, "token")
    assert second.broker_id is None and second.token == TOKEN_B
    assert bad.error and bad.token is None and bad.size == len(GARBAGE)

    assert main(["open", str(path), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["entry"] for r in rows] == [f"/tmp/out/support-metrics.zip.{n}" for n in range(4)]
    assert [r["ok"] for r in rows] == [True, True, False, True]
    assert set(rows[2]) == {"entry", "ok", "error"}
    assert set(rows[0]) == {"entry", "ok", "schema", "record"}
    assert rows[0]["record"]["brokerProcessUUID"] == TOKEN_A

    assert main(["open", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"{TOKEN_A}: 2" in text and f"{TOKEN_B}: 1" in text
    assert "2016-07-31" in text and "2016-11-24" in text  # time range, seconds not ms
    assert "undecodable 1" in text and "support-metrics.zip.2" in text
    # The story: broker 3 went from Basic to Enhanced; TOKEN_B's report names no broker.
    assert "broker 3: 2 reports" in text
    assert "schema Basic -> Enhanced (entry 0 -> entry 3)" in text
    assert f"token {TOKEN_B}: 1 report (no broker named)" in text
    assert "1 record(s) name neither a broker nor a token" in text


def test_relative_parent_names_are_read_in_memory_and_nothing_is_written(tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    path = work / "evil.zip"
    _cp_bundle(path, "../x.zip", [cp31_basic(), GARBAGE])
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("../../evil", b"#!/bin/sh\n")
        zf.writestr("/etc/evil.0", cp30_basic())
    before = _tree(tmp_path)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        opened = open_bundle("evil.zip")
        assert main(["open", "evil.zip", "--json"]) == 0
    finally:
        os.chdir(cwd)
    assert _tree(tmp_path) == before
    by_name = {e.entry: e for e in opened.entries}
    assert by_name["../x.zip.0"].ok and by_name["/etc/evil.0"].ok
    assert not by_name["../x.zip.1"].ok and not by_name["../../evil"].ok
    # Numbered entries first (by number, then zip order), unnumbered last.
    assert [e.entry for e in opened.entries][-1] == "../../evil"
    capsys.readouterr()


def test_only_garbage_exits_1(tmp_path, capsys):
    path = tmp_path / "junk.zip"
    _cp_bundle(path, "junk.zip", [GARBAGE, b""])
    assert main(["open", str(path), "--json"]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["ok"] for r in rows] == [False, False]


@pytest.mark.parametrize("content", [
    b"",                                   # empty file
    b"PK\x03\x04 this is not really a zip",  # zip magic, then nonsense
    b"hello, I am a text file\n" * 10,    # not a zip at all
])
def test_non_zip_files_are_refused_with_one_line(tmp_path, capsys, content):
    path = tmp_path / "b.zip"
    path.write_bytes(content)
    with pytest.raises(BundleError, match="not a readable zip"):
        open_bundle(str(path))
    assert main(["open", str(path), "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "not a readable zip" in err


def test_missing_file_is_not_found(tmp_path, capsys):
    with pytest.raises(NotFound):
        open_bundle(str(tmp_path / "none.zip"))
    assert main(["open", str(tmp_path / "none.zip")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_empty_zip_has_no_entries_and_exits_1(tmp_path, capsys):
    path = tmp_path / "empty.zip"
    zipfile.ZipFile(path, "w").close()
    assert list(open_bundle(str(path)).entries) == []
    assert main(["open", str(path), "--json"]) == 1
    assert capsys.readouterr().out == ""


def test_damaged_entry_is_reported_and_the_rest_still_decodes(tmp_path):
    good = cp31_basic(token=TOKEN_A)
    path = tmp_path / "damaged.zip"
    _cp_bundle(path, "d.zip", [good, good])
    data = bytearray(path.read_bytes())
    # Flip bytes inside the first entry's deflated data: its CRC or inflate must fail.
    header_end = 30 + len(b"d.zip.0")
    for i in range(header_end + 5, header_end + 25):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    opened = open_bundle(str(path))
    assert [e.ok for e in opened.entries] == [False, True]
    assert opened.entries[0].error


def test_zip_bomb_entry_is_refused_without_inflating_it(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.zip.0", b"\0" * (MAX_ENTRY_BYTES + 1))
        zf.writestr("bomb.zip.1", cp30_basic())
    assert path.stat().st_size < 100_000
    opened = open_bundle(str(path))
    assert [e.ok for e in opened.entries] == [False, True]
    assert "limit" in opened.entries[0].error


def test_our_writer_reads_back_with_zipfile_including_zip64_counts(tmp_path):
    """More than 65,535 entries needs ZIP64 end records; zipfile must read them back."""
    values = [encode({"timestamp": i, "kafkaVersion": "3.9.2",
                      "confluentPlatformVersion": None, "collectorState": 2,
                      "brokerProcessUUID": TOKEN_A}, "basic") for i in range(3)]
    path = tmp_path / "many.zip"
    count = 70_000
    with open(path, "wb", buffering=0) as fh:
        zw = ZipStream(fh.fileno(), "many.zip", 1_700_000_000)
        for first in range(0, count, 5000):
            zw.add_batch([values[i % 3] for i in range(first, first + 5000)])
        zw.finish(b'{"complete": true}')
        assert zw.pos == path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert len(infos) == count
        assert infos[-1].filename == f"many.zip.{count - 1}"
        assert zf.read("many.zip.4") == values[1]  # read() checks the CRC
        assert zf.read(infos[-1]) == values[(count - 1) % 3]
        assert json.loads(zf.comment) == {"complete": True}
    with BundleReader(str(path)) as reader:  # decoding all 70,000 would only cost time
        assert reader.metadata == {"complete": True} and len(reader) == count
        head = list(islice(reader, 6))
    assert [e.position for e in head] == [f"entry {n}" for n in range(6)]
    assert head[5].ok and head[5].fields["timestamp"] == 2 and head[5].time_s == 2
    assert "entries: 6, decoded 6" in summarize(OpenedBundle(str(path), None, head))


def test_default_bundle_name_is_utc():
    from datetime import UTC, datetime, timedelta, timezone

    when = datetime(2024, 3, 1, 1, 2, 3, tzinfo=timezone(timedelta(hours=2)))
    assert default_bundle_name("t.x", when) == "support-metrics-t.x.20240229-230203.zip"
    assert default_bundle_name("t", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == \
        "support-metrics-t.20240102-030405.zip"
