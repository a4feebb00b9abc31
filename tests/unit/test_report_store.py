"""engine.reporting.report_store: each received report durably in a file of its own, with
a name that holds nothing the peer sent."""

from __future__ import annotations

import os

import pytest

from engine.reporting.report_store import KINDS, ReportStore


def test_reports_are_stored_under_names_of_fixed_words(tmp_path):
    store = ReportStore(tmp_path / "in")
    store.prepare()
    paths = [store.store(path, seq, f"v{seq}".encode()) for seq, path in
             enumerate(KINDS, start=1)]
    assert [p.read_bytes() for p in paths] == [b"v1", b"v2", b"v3"]
    assert [p.name.rsplit("-", 1)[1] for p in paths] == ["anon.avro", "test.avro",
                                                          "submit.avro"]
    assert sorted(os.listdir(store.folder)) == sorted(p.name for p in paths)


def test_two_stores_in_one_folder_never_overwrite_each_other(tmp_path):
    a, b = ReportStore(tmp_path), ReportStore(tmp_path)
    first = a.store("/anon", 1, b"first")
    second = b.store("/anon", 1, b"second")
    assert first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")


@pytest.mark.parametrize("path", ["/elsewhere", "/anon/../x", "/anon\x00", "anon", ""])
def test_no_other_path_is_ever_stored(tmp_path, path):
    with pytest.raises(KeyError):
        ReportStore(tmp_path).store(path, 1, b"x")
    assert os.listdir(tmp_path) == []


def test_a_failed_store_raises_and_leaves_nothing(tmp_path):
    store = ReportStore(tmp_path / "gone")
    with pytest.raises(OSError):
        store.store("/anon", 1, b"x")
    assert not (tmp_path / "gone").exists()
