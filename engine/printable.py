"""Text from outside (reports, requests, files) made safe for a terminal, a log or a name.

A string that came from a peer can hold escape sequences that rewrite the operator's
terminal, line breaks that forge log lines, or bidirectional overrides that make one name
look like another. Before such text is printed, logged or put into a file name, every
control or format character is replaced by a visible escape.
"""

from __future__ import annotations

import unicodedata

# Cc: C0/C1 controls and DEL; Cf: format characters (bidi overrides, zero-width joiners);
# Zl/Zp: the Unicode line and paragraph separators; Cs: lone surrogates (from
# surrogateescape decoding), which a terminal cannot show either.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str, limit: int | None = None) -> str:
    """`text` with every control/format character (and the backslash) escaped.

    The backslash is doubled so that an escape in the output always means an escaped
    character, never one the peer typed. With `limit`, the result is cut to that many
    characters and ends with "..." when it was longer.
    """
    out: list[str] = []
    length = 0
    for ch in text:
        piece = "\\\\" if ch == "\\" else (
            _escape_char(ch) if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch)
        if limit is not None and length + len(piece) > limit:
            out.append("...")
            break
        out.append(piece)
        length += len(piece)
    return "".join(out)
