"""Text for people: one size format, and nothing a peer sent can drive the terminal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.text import format_size, printable


def test_sizes_use_binary_units():
    assert [format_size(n) for n in (0, 1023, 1024, 4_410, 5 * 2**20, 3 * 2**40)] == [
        "0 B", "1023 B", "1.0 KiB", "4.3 KiB", "5.0 MiB", "3.0 TiB"]


def test_control_characters_and_bidi_overrides_are_escaped():
    assert printable("ok\x1b[2J\x07\r\n\u202egnp.exe\x85") == (
        "ok\\x1b[2J\\x07\\x0d\\x0a\\u202egnp.exe\\x85")
    assert printable("plain text, ünïcode, 日本") == "plain text, ünïcode, 日本"


@given(st.text())
def test_nothing_below_space_or_in_c1_survives(text):
    shown = printable(text)
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in shown)
