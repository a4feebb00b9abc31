"""engine.printable: peer text made safe for a terminal, a log line or a file name."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from engine.printable import printable

_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def test_control_and_format_characters_are_escaped():
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("line\nforged\r") == "line\\x0aforged\\x0d"
    assert printable("\x00\x7f\x85") == "\\x00\\x7f\\x85"
    assert printable("abc\u202edcb") == "abc\\u202edcb"  # right-to-left override
    assert printable("a\u2028b") == "a\\u2028b"
    assert printable("back\\slash") == "back\\\\slash"
    assert printable("héllo wörld ✓") == "héllo wörld ✓"


def test_limit_cuts_and_marks():
    assert printable("abcdef", limit=3) == "abc..."
    assert printable("\x00\x00", limit=5) == "\\x00..."
    assert printable("abc", limit=3) == "abc"


@given(st.text())
def test_no_unsafe_character_survives(text):
    out = printable(text)
    assert not [ch for ch in out if unicodedata.category(ch) in _UNSAFE]
    if not any(unicodedata.category(ch) in _UNSAFE or ch == "\\" for ch in text):
        assert out == text
