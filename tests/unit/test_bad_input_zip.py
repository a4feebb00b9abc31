"""Hostile and damaged bundles, generated (hypothesis): entries named with `../`, absolute
paths, backslashes, drive letters or as symlinks, then the zip cut short or with bytes
flipped anywhere (local headers, data, central directory, end record). `open` and
`open_bundle` either read it or refuse it with a PsError (one line, exit 1); they never
raise anything else, and nothing is created, changed or removed in the folders around.
The fixed cases (CP bundles, `../` names, empty, bomb, ZIP64) are in test_bundle_open.py."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from engine.errors import PsError
from engine.reading.bundle import BundleReader, open_bundle
from tests.support.cp_records import GARBAGE, cp30_basic, cp31_basic

_hostile = st.sampled_from([
    "../escape.0", "../../etc/passwd.1", "/etc/evil.2", "/tmp/abs.3", "..\\win.4",
    "C:/drive.5", "C:\\drive.6", "a/../../b.7", "./../dot.8", "dir/", "bundle.zip.9",
    "sub/dir/bundle.zip.10", "\u202ertl.11", "trailing-dot..12", "x" * 300])
_value = st.sampled_from([cp31_basic(), cp30_basic(), GARBAGE, b""]) | st.binary(max_size=64)


@st.composite
def _damaged_zip(draw) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", draw(st.sampled_from([zipfile.ZIP_STORED,
                                                        zipfile.ZIP_DEFLATED]))) as zf:
        for name, value in draw(st.lists(st.tuples(_hostile, _value), max_size=6)):
            info = zipfile.ZipInfo(name)
            if draw(st.booleans()) and not name.endswith("/"):
                info.external_attr = (stat.S_IFLNK | 0o777) << 16  # a symlink entry
            zf.writestr(info, value)
    data = bytearray(out.getvalue())
    how = draw(st.sampled_from(["intact", "cut", "flip"]))
    if how == "cut" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif how == "flip" and data:
        for at in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
            data[at] ^= draw(st.integers(1, 255))
    return bytes(data)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root` with its size and mtime (ns)."""
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in root.rglob("*")}


# Duplicate entry names are part of the hostility: zipfile warns about them when writing.
@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_damaged_zip())
def test_open_reads_or_refuses_and_never_writes_around_it(data):
    with tempfile.TemporaryDirectory(prefix="ps-zip-") as tmp:
        root = Path(tmp)
        work = root / "a" / "b" / "work"
        work.mkdir(parents=True)
        (root / "a" / "sibling.txt").write_bytes(b"keep me")
        (work / "bundle.zip").write_bytes(data)
        before = _snapshot(root)
        cwd = os.getcwd()
        os.chdir(work)
        try:
            try:
                opened = open_bundle("bundle.zip")
            except PsError as exc:
                assert str(exc) and "\n" not in str(exc)
                opened = None
            if opened is not None:
                for entry in opened.entries:
                    assert entry.ok or entry.error
            try:
                with BundleReader("bundle.zip") as reader:
                    assert len(list(reader)) == len(reader)
            except PsError:
                assert opened is None
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                codes = [main(["open", "bundle.zip"]), main(["open", "bundle.zip", "--json"])]
        finally:
            os.chdir(cwd)
        assert set(codes) <= {0, 1}
        assert codes[0] == codes[1]
        if opened is None:
            assert codes == [1, 1] and err.getvalue().count("\n") == 2
        else:
            assert codes[0] == (0 if opened.decoded else 1)
        assert "Traceback" not in err.getvalue()
        assert "unexpected" not in err.getvalue().lower()
        assert _snapshot(root) == before
