"""The shared bearer token between agents and a `ps-console receive` endpoint.

A site that exposes its receiver can require every post to carry
`Authorization: Bearer <token>`; the token lives in a file on both sides (`--token-file`
for the receiver, `--http-token-file` for agents), never on a command line where `ps`
would show it.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from engine.errors import UsageError

# A token is a line of visible ASCII (RFC 6750's token68 and then some); long enough for
# any generator's output, short enough that a wrong file (a key, a log) is refused.
MAX_TOKEN_BYTES = 1024
MIN_TOKEN_CHARS = 16
_VISIBLE = frozenset(range(0x21, 0x7F))


def read_token_file(path: str | Path, option: str = "--token-file") -> str:
    """The token in `path`: one line of visible ASCII, 16 to 1024 characters.

    A trailing newline is allowed; anything else that is not the token (spaces, a second
    line, control characters, a file too short or too long) is a UsageError naming the
    option, never the token.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_TOKEN_BYTES + 3)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it ({exc.strerror or exc})") from None
    token = raw.removesuffix(b"\n").removesuffix(b"\r")
    if len(token) > MAX_TOKEN_BYTES:
        raise UsageError(f"{option} {path}: longer than {MAX_TOKEN_BYTES} bytes; "
                         "expected one line holding the token")
    if len(token) < MIN_TOKEN_CHARS:
        raise UsageError(f"{option} {path}: a token needs at least {MIN_TOKEN_CHARS} "
                         "characters")
    if any(b not in _VISIBLE for b in token):
        raise UsageError(f"{option} {path}: the token must be one line of visible ASCII "
                         "(no spaces or control characters)")
    return token.decode("ascii")


def bearer_matches(expected: str, authorization: str | None) -> bool:
    """Whether an `Authorization` header value carries `expected` as its bearer token.

    The comparison takes the same time whatever the header holds, so a client cannot
    learn the token a byte at a time from how fast it is refused.
    """
    scheme, _, given = (authorization or "").partition(" ")
    # Compare even when the scheme is wrong, so that case takes no less time.
    same = hmac.compare_digest(given.strip().encode("utf-8", "replace"),
                               expected.encode("ascii"))
    return same and scheme.lower() == "bearer"
