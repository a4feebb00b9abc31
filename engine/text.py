"""Text for people: sizes and durations, one way everywhere (the CLI, the console, logs)."""

from __future__ import annotations

import math
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


def duration(seconds: float, exact: bool = True) -> str:
    """A compact duration: `42s`, `7m05s`, `3h05m`, `2d04h` (whole seconds, rounded down);
    with `exact=False` minutes drop their seconds (`7m`), for ages that tick on screen."""
    if not math.isfinite(seconds):
        return str(seconds)
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s" if exact else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


# C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder what a
# terminal shows (a name can hide what follows it).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` safe for a terminal, a log line or a file name: every control character and
    bidirectional override is written as an escape (`\\x1b`, `\\u202e`), a backslash stays
    as it is. Strings from reports, bundles, the topic and HTTP requests pass here before
    they are shown."""
    return UNSAFE.sub(_escape, text)
