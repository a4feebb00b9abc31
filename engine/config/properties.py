"""Java `.properties` files, read the way `java.util.Properties.load` reads them, and
edited without disturbing a single byte the edit does not touch.

Kafka loads `server.properties` through an `InputStream`, so Java decodes the file as
ISO-8859-1. This module does the same: every byte maps to exactly one character and back,
which is what makes a byte-exact round trip possible even for files written in UTF-8.

The model is a list of *logical lines* (`Entry`): a blank line, a comment, or a property
that may span several physical lines through `\\` continuations. Each entry keeps its raw
text, terminators included, so joining the raw texts gives the file back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from engine.errors import UsageError

# Java's LineReader treats exactly these as white space; a vertical tab is not one of them.
_WHITESPACE = " \t\f"
_TERMINATOR = re.compile(r"\r\n|\r|\n")
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


class PropertiesSyntaxError(UsageError):
    """A line Java itself would reject (a malformed `\\uXXXX` escape)."""


@dataclass(frozen=True)
class _Physical:
    """One physical line: its text without the terminator, and the terminator ('' at EOF)."""

    start: int  # offset of the line in the whole text
    content: str
    terminator: str


@dataclass
class Entry:
    """One logical line. `kind` is "blank", "comment" or "property".

    "blank" covers every line Java skips: empty or white space only, and a line holding
    nothing but a continuation backslash (Java's reader then starts afresh).

    For a property, `key` and `value` are decoded (escapes resolved, continuations
    joined); `value_offset` is where the value's raw text starts inside `raw`, and
    `has_separator` says whether anything separates the key from the value.
    """

    kind: str
    raw: str
    line: int  # 1-based number of the first physical line
    key: str | None = None
    value: str | None = None
    value_offset: int = 0
    has_separator: bool = True

    @property
    def terminator(self) -> str:
        """The line ending that closes this logical line ('' for a last line without one)."""
        match = re.search(r"(\r\n|\r|\n)\Z", self.raw)
        return match.group(1) if match else ""


def _physical_lines(text: str) -> list[_Physical]:
    lines: list[_Physical] = []
    pos = 0
    for match in _TERMINATOR.finditer(text):
        lines.append(_Physical(pos, text[pos:match.start()], match.group()))
        pos = match.end()
    if pos < len(text):
        lines.append(_Physical(pos, text[pos:], ""))
    return lines


def _odd_trailing_backslashes(segment: str) -> bool:
    count = len(segment) - len(segment.rstrip("\\"))
    return count % 2 == 1


def decode_escapes(raw: str, line: int = 0) -> str:
    """Resolve backslash escapes as `Properties.load` does (`\\uXXXX`, `\\t`, `\\x` → x).

    UTF-16 surrogate pairs written as two `\\u` escapes become one character.
    """
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        i += 1
        if ch != "\\":
            out.append(ch)
            continue
        if i >= n:
            break  # Java's line reader already dropped a trailing lone backslash
        ch = raw[i]
        i += 1
        if ch == "u":
            digits = raw[i:i + 4]
            if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                where = f"line {line}: " if line else ""
                raise PropertiesSyntaxError(f"{where}malformed \\uXXXX escape")
            out.append(chr(int(digits, 16)))
            i += 4
        else:
            out.append(_SIMPLE_ESCAPES.get(ch, ch))
    text = "".join(out)
    if any("\ud800" <= c <= "\udfff" for c in text):
        # Pair up surrogates; a lone one stays as it is, as in a Java String.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return text


def _escape(text: str, is_key: bool) -> str:
    """Escape `text` so that Java reads it back as `text`, and no more than needed.

    Unlike `Properties.store`, a `:` or `=` inside a value stays as it is (the separator
    is already behind it), so URLs remain readable; only what would change the meaning
    is escaped. Anything outside printable ASCII becomes `\\uXXXX`, because Java reads
    the file as ISO-8859-1 whatever encoding an editor assumed.
    """
    out: list[str] = []
    for index, ch in enumerate(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\t\n\r\f":
            out.append("\\" + {"\t": "t", "\n": "n", "\r": "r", "\f": "f"}[ch])
        elif code < 0x20 or code > 0x7E:
            # One \uXXXX per UTF-16 code unit, as Java strings are UTF-16.
            units = ch.encode("utf-16-be", "surrogatepass").hex().upper()
            out.extend(f"\\u{units[j:j + 4]}" for j in range(0, len(units), 4))
        elif ch == " " and (is_key or index == 0):
            out.append("\\ ")
        elif ch in "=:" and (is_key or index == 0):
            out.append("\\" + ch)
        elif ch in "#!" and is_key and index == 0:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def escape_key(key: str) -> str:
    """The raw text of a key: separators, spaces and a leading comment mark escaped."""
    return _escape(key, is_key=True)


def escape_value(value: str) -> str:
    """The raw text of a value: backslashes, leading blanks/separators, controls escaped."""
    return _escape(value, is_key=False)


class PropertiesDocument:
    """A `.properties` file as logical lines, editable in place, byte-exact otherwise.

    `str(doc)` (or `doc.text`) is the file; unchanged, it equals the text parsed.
    """

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries

    @classmethod
    def parse(cls, text: str) -> PropertiesDocument:
        """Split `text` into logical lines following Java's `LineReader` rules."""
        lines = _physical_lines(text)
        entries: list[Entry] = []
        i = 0
        while i < len(lines):
            first = lines[i]
            stripped = first.content.lstrip(_WHITESPACE)
            if not stripped:
                entries.append(Entry("blank", first.content + first.terminator, i + 1))
                i += 1
                continue
            if stripped == "\\" and first.terminator and (
                    i + 1 < len(lines) or first.terminator == "\r\n"):
                # A lone continuation backslash leaves Java's reader with an empty line,
                # so it goes on as at the start of a line: blanks skipped, comments
                # ignored. Only a file ending right after "\\\n" or "\\\r" (JDK 9+
                # checks for the end there) makes it an empty key.
                entries.append(Entry("blank", first.content + first.terminator, i + 1))
                i += 1
                continue
            if stripped[0] in "#!":
                # A comment never continues, even when it ends with a backslash.
                entries.append(Entry("comment", first.content + first.terminator, i + 1))
                i += 1
                continue
            entry, i = cls._property(text, lines, i)
            entries.append(entry)
        return cls(entries)

    @staticmethod
    def _property(text: str, lines: list[_Physical], i: int) -> tuple[Entry, int]:
        """Read one property starting at physical line `i`, continuations included.

        Returns the entry and the index of the first physical line after it.
        """
        first_line = i
        # Logical characters paired with their offsets in `text`, so positions found in
        # the joined line map back to the raw bytes.
        chars: list[str] = []
        offsets: list[int] = []
        line = lines[i]
        lead = len(line.content) - len(line.content.lstrip(_WHITESPACE))
        segment_start = line.start + lead
        segment = line.content[lead:]
        while True:
            continued = _odd_trailing_backslashes(segment)
            keep = segment[:-1] if continued else segment
            chars.extend(keep)
            offsets.extend(range(segment_start, segment_start + len(keep)))
            end = line.start + len(line.content) + len(line.terminator)
            if not continued or not line.terminator or i + 1 >= len(lines):
                break
            i += 1
            line = lines[i]
            lead = len(line.content) - len(line.content.lstrip(_WHITESPACE))
            if lead == len(line.content):
                # An empty line after a continuation ends the logical line (Java does
                # not skip it as it would skip a blank line between properties).
                end = line.start + len(line.content) + len(line.terminator)
                break
            segment_start = line.start + lead
            segment = line.content[lead:]
        start = lines[first_line].start
        logical = "".join(chars)
        key_end, value_start, has_sep = _split_key_value(logical)
        raw_value_at = (offsets[value_start] if value_start < len(offsets)
                        else (offsets[-1] + 1 if offsets else start))
        entry = Entry(
            "property", text[start:end], first_line + 1,
            key=decode_escapes(logical[:key_end], first_line + 1),
            value=decode_escapes(logical[value_start:], first_line + 1),
            value_offset=raw_value_at - start,
            has_separator=has_sep or value_start > key_end,
        )
        return entry, i + 1

    @property
    def text(self) -> str:
        """The whole file as it stands now."""
        return "".join(entry.raw for entry in self.entries)

    def __str__(self) -> str:
        return self.text

    def properties(self) -> Iterator[Entry]:
        """The property entries, in file order (duplicates included)."""
        return (entry for entry in self.entries if entry.kind == "property")

    def effective(self) -> dict[str, str]:
        """Key → value as Java sees it: where a key repeats, the last one wins."""
        return {str(entry.key): str(entry.value) for entry in self.properties()}

    def find(self, key: str) -> Entry | None:
        """The entry that decides `key` (the last one), or None."""
        found = None
        for entry in self.properties():
            if entry.key == key:
                found = entry
        return found

    def line_ending(self) -> str:
        """The file's own line ending: that of its first line, LF for a file without one."""
        for entry in self.entries:
            match = _TERMINATOR.search(entry.raw)
            if match:
                return match.group()
        return "\n"

    def set_value(self, key: str, value: str) -> bool:
        """Replace the value of the deciding `key` entry in place; False if it is absent.

        The key, its separator and the blanks around it stay as written; continuation
        lines of the old value go; the line keeps its own line ending.
        """
        entry = self.find(key)
        if entry is None:
            return False
        head = entry.raw[:entry.value_offset]
        if not entry.has_separator:
            head += "="
        tail = entry.terminator
        new = Entry("property", head + escape_value(value) + tail, entry.line, key=key,
                    value=value, value_offset=len(head), has_separator=True)
        # By identity: two entries may compare equal by value.
        position = next(i for i, e in enumerate(self.entries) if e is entry)
        self.entries[position] = new
        return True

    def append_lines(self, lines: list[str], separate: bool = True) -> None:
        """Append raw lines (without terminators) at the end with the file's line ending.

        A last line without a terminator gets one first, and a blank line separates the
        new lines from what was there, so that a dangling `\\` continuation at the end
        of the file cannot swallow them. (A last line that is a lone backslash, which
        JDK 9+ reads as an empty key, is then ignored by Java: nothing can follow it and
        keep that meaning.) With `separate=False` the blank line is left out; the caller
        then vouches that the last line does not continue.
        """
        eol = self.line_ending()
        text = self.text
        if text:
            if not text.endswith(("\n", "\r")):
                text += eol
            # After a lone CR, an LF would join it into one CRLF terminator, and a
            # continuation backslash before it would then swallow the new lines.
            joiner = "\r" if text.endswith("\r") and eol == "\n" else eol
            if separate and self.entries[-1].kind != "blank":
                text += joiner
            elif joiner != eol:
                text += joiner
        text += "".join(line + eol for line in lines)
        self.entries = PropertiesDocument.parse(text).entries


def _split_key_value(logical: str) -> tuple[int, int, bool]:
    """Where the key ends and the value starts in a logical line, as `Properties.load`.

    Returns (key length, value start, whether an `=` or `:` separator was seen).
    """
    key_len = 0
    value_start = len(logical)
    has_sep = False
    backslash = False
    while key_len < len(logical):
        ch = logical[key_len]
        if ch in "=:" and not backslash:
            value_start = key_len + 1
            has_sep = True
            break
        if ch in _WHITESPACE and not backslash:
            value_start = key_len + 1
            break
        backslash = (not backslash) if ch == "\\" else False
        key_len += 1
    while value_start < len(logical):
        ch = logical[value_start]
        if ch not in _WHITESPACE:
            if not has_sep and ch in "=:":
                has_sep = True
            else:
                break
        value_start += 1
    return key_len, value_start, has_sep


def parse_properties(text: str) -> PropertiesDocument:
    """Parse properties text (ISO-8859-1 decoded) into an editable document."""
    return PropertiesDocument.parse(text)


def load_properties(text: str) -> dict[str, str]:
    """Key → value of properties text with Java semantics (last duplicate wins).

    Raises PropertiesSyntaxError for a malformed `\\uXXXX` escape, as Java would.
    """
    return PropertiesDocument.parse(text).effective()


# A client or credentials file holds a few settings (inline PEM certificates included).
MAX_SMALL_FILE = 1 << 20


def read_properties_file(path: str, what: str) -> dict[str, str]:
    """Key → value of a small properties file the user named (`what` names it in errors:
    "command config", "ZooKeeper auth file"). ISO-8859-1, as Java reads it.

    Missing or unreadable file: NotFound; malformed escape: UsageError.
    """
    from engine.errors import NotFound
    from engine.files import TooLarge, read_bounded

    try:
        data = read_bounded(path, MAX_SMALL_FILE)
    except FileNotFoundError:
        raise NotFound(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise NotFound(f"cannot read {what} {path}: {exc.strerror}") from None
    except TooLarge:
        raise UsageError(f"{what} {path} is larger than {MAX_SMALL_FILE >> 20} MiB; "
                         "it should hold a few settings") from None
    text = data.decode("iso-8859-1")
    try:
        return load_properties(text)
    except PropertiesSyntaxError as exc:
        raise UsageError(f"{what} {path}: {exc}") from None
