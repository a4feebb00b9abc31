"""`sasl.jaas.config` read the way Kafka's Java client reads it.

Kafka parses the value with `java.io.StreamTokenizer` (slash-slash and slash-star comments,
`-`, `_` and `$` as word characters, numbers parsed) into login entries
`<LoginModule class> <control flag> [name=value ...];`, and a client takes exactly one entry.
The tokenizer's quirks decide what works in a real `client.properties`, so they are kept
here: a value is a word or a quoted string (`"..."` or `'...'`, with `\\n`, `\\t`, `\\"`,
octal escapes and the like); an unquoted value that starts with a digit, or holds `/`, `@`
or `:`, is not a value; a quoted string ends at a line break; a lone `/` starts a comment.
(`tests/unit/test_jaas_java.py` compares this parser with Kafka's own on a corpus.)

The text holds passwords, so no error message quotes it: they name the rule that was
broken and, at most, an option name this module knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.errors import UsageError

CONTROL_FLAGS = ("required", "requisite", "sufficient", "optional")

# Option names of the login modules Kafka clients use; only these are ever named in a
# message (an unknown "name" may be a piece of a mistyped password).
KNOWN_OPTIONS = frozenset({
    "username", "password", "tokenauth",  # PLAIN, SCRAM
    "useKeyTab", "keyTab", "principal", "storeKey", "useTicketCache", "ticketCache",
    "renewTGT", "doNotPrompt", "refreshKrb5Config", "isInitiator", "serviceName", "debug",
    "storePass", "clearPass", "tryFirstPass", "useFirstPass",  # Krb5LoginModule
    "clientId", "clientSecret", "scope", "unsecuredLoginStringClaim_sub",  # OAUTHBEARER
})

# StreamTokenizer's token kinds (its ttype), as Kafka's configuration leaves them.
_EOF = "EOF"
_WORD = "WORD"
_NUMBER = "NUMBER"

_WHITESPACE, _DIGIT, _ALPHA, _QUOTE, _COMMENT = 1, 2, 4, 8, 16


def _char_types() -> list[int]:
    ct = [0] * 256
    for c in range(0, ord(" ") + 1):
        ct[c] |= _WHITESPACE
    for lo, hi in (("a", "z"), ("A", "Z")):
        for c in range(ord(lo), ord(hi) + 1):
            ct[c] |= _ALPHA
    for c in range(128 + 32, 256):
        ct[c] |= _ALPHA
    for ch in "0123456789.-":  # parseNumbers()
        ct[ord(ch)] |= _DIGIT
    for ch in "-_$":  # Kafka's wordChars() calls; '-' stays a digit too
        ct[ord(ch)] |= _ALPHA
    ct[ord('"')] = _QUOTE
    ct[ord("'")] = _QUOTE
    ct[ord("/")] = _COMMENT
    return ct


_CT = _char_types()
_ESCAPES = {"a": 0x7, "b": 0x8, "f": 0xC, "n": 0xA, "r": 0xD, "t": 0x9, "v": 0xB}


class JaasSyntaxError(UsageError):
    """A `sasl.jaas.config` value Kafka's Java client would refuse (exit 2)."""


@dataclass(frozen=True)
class JaasEntry:
    """One login entry. `options` maps option names to values (the last of a name wins);
    options whose name is not a word or a string are only counted, as Java keeps them under
    a null name that no login module reads."""

    module: str
    flag: str  # lower case, one of CONTROL_FLAGS
    options: Mapping[str, str] = field(default_factory=dict)
    unnamed_options: int = 0

    def __repr__(self) -> str:
        # Option values are passwords and secrets: never shown.
        return (f"JaasEntry(module={self.module!r}, flag={self.flag!r}, "
                f"options=<{len(self.options)} options: {', '.join(sorted(self.options))}>)")


class _Tokenizer:
    """java.io.StreamTokenizer, as configured by Kafka's JaasConfig."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.peekc: int | None = None  # None: read a new character next time
        self.ttype: str = _EOF
        self.sval: str | None = None

    def _read(self) -> int:
        if self.pos >= len(self.text):
            return -1
        c = ord(self.text[self.pos])
        self.pos += 1
        return c

    @staticmethod
    def _ctype(c: int) -> int:
        return _CT[c] if c < 256 else _ALPHA

    def next_token(self) -> str:
        """Advance; returns the new `ttype` (a kind above, or the character itself)."""
        # Comments restart the scan; iterate rather than recurse (a long run of comments
        # must not exhaust the stack).
        while True:
            result = self._scan()
            if result is not None:
                self.ttype = result
                return result

    def _scan(self) -> str | None:
        self.sval = None
        c = self._read() if self.peekc is None else self.peekc
        self.peekc = None
        if c < 0:
            return _EOF
        ctype = self._ctype(c)
        while ctype & _WHITESPACE:
            c = self._read()
            if c < 0:
                return _EOF
            ctype = self._ctype(c)
        if ctype & _DIGIT:
            if c == ord("-"):
                c = self._read()
                if c != ord(".") and not ord("0") <= c <= ord("9"):
                    self.peekc = c
                    return "-"
            seen_dot = False
            while True:
                if c == ord(".") and not seen_dot:
                    seen_dot = True
                elif not ord("0") <= c <= ord("9"):
                    break
                c = self._read()
            self.peekc = c
            return _NUMBER
        if ctype & _ALPHA:
            chars: list[str] = []
            while c >= 0 and self._ctype(c) & (_ALPHA | _DIGIT):
                chars.append(chr(c))
                c = self._read()
            self.peekc = c
            self.sval = "".join(chars)
            return _WORD
        if ctype & _QUOTE:
            return self._quoted(c)
        if c == ord("/"):
            c = self._read()
            if c == ord("*"):
                return self._block_comment()
            # "//" or a lone '/' (a comment character): the rest of the line goes, and in
            # the lone case the character just read with it, whatever it was (Java reads on
            # before looking at it).
            while (c := self._read()) not in (ord("\n"), ord("\r")) and c >= 0:
                pass
            self.peekc = c
            return None
        return chr(c)

    def _quoted(self, quote: int) -> str:
        chars: list[str] = []
        d = self._read()
        while d >= 0 and d != quote and d not in (ord("\n"), ord("\r")):
            if d == ord("\\"):
                c = self._read()
                first = c
                if ord("0") <= c <= ord("7"):
                    c -= ord("0")
                    c2 = self._read()
                    if ord("0") <= c2 <= ord("7"):
                        c = (c << 3) + (c2 - ord("0"))
                        c2 = self._read()
                        if ord("0") <= c2 <= ord("7") and first <= ord("3"):
                            c = (c << 3) + (c2 - ord("0"))
                            d = self._read()
                        else:
                            d = c2
                    else:
                        d = c2
                else:
                    c = _ESCAPES.get(chr(c), c) if c >= 0 else 0xFFFF  # Java's (char) -1
                    d = self._read()
            else:
                c = d
                d = self._read()
            chars.append(chr(c))
        self.peekc = None if d == quote else d
        self.sval = "".join(chars)
        return chr(quote)

    def _block_comment(self) -> str | None:
        prevc = 0
        while True:
            c = self._read()
            if c == ord("/") and prevc == ord("*"):
                return None
            if c == ord("\r"):
                c = self._read()
                if c == ord("\n"):
                    c = self._read()
            elif c == ord("\n"):
                c = self._read()
            if c < 0:
                return _EOF
            prevc = c


def _entry(tok: _Tokenizer) -> JaasEntry:
    module = tok.sval
    if tok.next_token() == _EOF:
        raise JaasSyntaxError("no control flag after the login module "
                              f"(one of {', '.join(CONTROL_FLAGS)})")
    # Java compares the upper-cased word with REQUIRED, REQUISITE, ...
    upper = tok.sval.upper() if tok.sval is not None else None
    flag = next((f for f in CONTROL_FLAGS if f.upper() == upper), None)
    if flag is None:
        raise JaasSyntaxError("the login module's control flag must be one of "
                              f"{', '.join(CONTROL_FLAGS)}")
    options: dict[str, str] = {}
    unnamed = 0
    count = 0
    while tok.next_token() != _EOF and tok.ttype != ";":
        count += 1
        key = tok.sval
        if tok.next_token() != "=" or tok.next_token() == _EOF or tok.sval is None:
            name = f"'{key}'" if key in KNOWN_OPTIONS else f"number {count}"
            raise JaasSyntaxError(f"option {name} has no value (write name=\"value\"; "
                                  "quote values that hold anything but letters, digits, "
                                  "'.', '-', '_' and '$' or that start with a digit)")
        if key is None:
            unnamed += 1
        else:
            options[key] = tok.sval
    if tok.ttype != ";":
        raise JaasSyntaxError("the login entry does not end with ';' (or a quoted value "
                              "is not closed)")
    if not module:
        raise JaasSyntaxError("the login module's class name is missing")
    return JaasEntry(module=module, flag=flag, options=options, unnamed_options=unnamed)


def parse_jaas_entries(text: str) -> list[JaasEntry]:
    """Every login entry of a JAAS text (Kafka's syntax, see the module docstring).

    JaasSyntaxError for anything Kafka's parser refuses; the message never quotes `text`.
    """
    tok = _Tokenizer(text)
    entries: list[JaasEntry] = []
    while tok.next_token() != _EOF:
        entries.append(_entry(tok))
    return entries


def parse_jaas_config(text: str) -> JaasEntry:
    """The one login entry of a client's `sasl.jaas.config` (Kafka allows exactly one).

    JaasSyntaxError when the text is not Kafka's JAAS syntax or does not hold one entry.
    """
    entries = parse_jaas_entries(text)
    if not entries:
        raise JaasSyntaxError("no login module (write e.g. "
                              "org.apache.kafka.common.security.scram.ScramLoginModule "
                              "required username=\"...\" password=\"...\";)")
    if len(entries) != 1:
        raise JaasSyntaxError(f"{len(entries)} login modules; a client takes exactly one")
    return entries[0]
