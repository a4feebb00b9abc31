"""engine.reporting.http_token: the bearer token file and its constant-time check."""

from __future__ import annotations

import pytest

from engine.errors import UsageError
from engine.reporting.http_token import bearer_matches, read_token_file

TOKEN = "0123456789abcdef-token"


@pytest.mark.parametrize("content", [TOKEN.encode(), TOKEN.encode() + b"\n",
                                     TOKEN.encode() + b"\r\n"])
def test_a_token_file_holds_one_line(tmp_path, content):
    path = tmp_path / "token"
    path.write_bytes(content)
    assert read_token_file(path) == TOKEN


@pytest.mark.parametrize("content, needle", [
    (b"", "at least 16"), (b"short\n", "at least 16"), (b"a" * 1025, "longer than"),
    (b"with a space inside it\n", "visible ASCII"), (b"tab\tseparated-token-x", "visible"),
    (b"two-lines-of-token\nsecond-line-here\n", "visible ASCII"),
    ("n\u00f6n-ascii-token-value".encode(), "visible ASCII")])
def test_anything_else_is_refused_without_showing_it(tmp_path, content, needle):
    path = tmp_path / "token"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=needle) as info:
        read_token_file(path, "--http-token-file")
    assert "--http-token-file" in str(info.value)
    if len(content) > 8:
        assert content.decode("utf-8", "replace").strip() not in str(info.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(UsageError, match="cannot read it"):
        read_token_file(tmp_path / "absent")


@pytest.mark.parametrize("header, ok", [
    (f"Bearer {TOKEN}", True), (f"bearer {TOKEN}", True), (f"Bearer  {TOKEN} ", True),
    (f"Basic {TOKEN}", False), (f"Bearer {TOKEN}x", False), (f"Bearer {TOKEN[:-1]}", False),
    ("Bearer", False), ("", False), (None, False), (TOKEN, False),
    ("Bearer \u00e9\u00e9", False)])
def test_bearer_matches(header, ok):
    assert bearer_matches(TOKEN, header) is ok
