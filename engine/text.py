"""Text for people: sizes, one way everywhere (the CLI, the console, logs)."""

from __future__ import annotations

import re

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def format_size(n: int) -> str:
    """`812 B`, `4.3 KiB`, `1.2 MiB`, ... (binary units, one decimal)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


# C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder what a
# terminal shows (a name can hide what follows it).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` safe for a terminal, a log line or a file name: every control character and
    bidirectional override is written as an escape (`\\x1b`, `\\u202e`), a backslash stays
    as it is. Strings from reports, bundles, the topic and HTTP requests pass here before
    they are shown."""
    return _UNSAFE.sub(_escape, text)
