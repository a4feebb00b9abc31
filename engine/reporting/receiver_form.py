"""The form a report arrives in (CP's multipart post), read from the request stream within bounds.

`multipart/form-data` with a text part `cid` and a binary part `file` holding one Avro
container. aiohttp's multipart reader splits the stream; this module only bounds it (how
many parts, how many bytes in all) and says, in one line with an HTTP status, why a form
is refused. A refused form is never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import BodyPartReader, MultipartReader, StreamReader, hdrs
from aiohttp.http_exceptions import HttpProcessingError

from engine.reporting.records import decode

# A report form has two parts; a few more are tolerated (and ignored) for clients that
# add their own, but not thousands of empty ones.
MAX_PARTS = 8
MAX_PART_HEADER_BYTES = 1024
MAX_PART_HEADERS = 8
# Customer ids are at most 31 characters ('c' and up to 30 digits).
MAX_CID_BYTES = 64
_CHUNK = 64 * 1024


class FormRefused(Exception):  # noqa: N818 - a refusal, not a program error
    """The request is refused with `status`; `reason` is one line for the peer and the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ReportForm:
    """The parts of a form that holds one report. `cid` is None when the part was absent."""

    cid: str | None
    filename: str | None
    content_type: str
    body: bytes


def report_schema(form: ReportForm) -> str:
    """The schema name of the report in the `file` part; FormRefused(400) when the part is
    not an Avro container holding one record. CPU-bound: callers run it off their loop."""
    decoded = decode(form.body)
    if not decoded.ok:
        raise FormRefused(400, "the 'file' part is not an Avro container holding one "
                               "report")
    return decoded.schema or ""


async def _read_part(part: BodyPartReader, budget: int) -> bytes:
    """The part's raw bytes (no transfer decoding: a report must arrive byte for byte)."""
    data = bytearray()
    while True:
        chunk = await part.read_chunk(_CHUNK)
        if not chunk:
            return bytes(data)
        if len(data) + len(chunk) > budget:
            raise FormRefused(413, f"form larger than {budget} bytes")
        data += chunk


async def _parts(headers: Mapping[str, str], content: StreamReader, max_bytes: int
                 ) -> dict[str, tuple[str | None, str, bytes]]:
    reader = MultipartReader(headers, content, client_max_size=max_bytes,
                             max_field_size=MAX_PART_HEADER_BYTES,
                             max_headers=MAX_PART_HEADERS)
    parts: dict[str, tuple[str | None, str, bytes]] = {}
    budget = max_bytes
    count = 0
    while True:
        part = await reader.next()
        if part is None:
            break
        count += 1
        if count > MAX_PARTS:
            raise FormRefused(400, f"form has more than {MAX_PARTS} parts")
        if not isinstance(part, BodyPartReader):
            raise FormRefused(400, "form has a nested multipart part")
        data = await _read_part(part, budget)
        budget -= len(data)
        name = part.name
        if name in ("cid", "file"):
            if name in parts:
                raise FormRefused(400, f"form has two {name!r} parts")
            content_type = part.headers.get(hdrs.CONTENT_TYPE, "text/plain")
            parts[name] = (part.filename, content_type, data)
    if not reader.at_eof():
        raise FormRefused(400, "form has no closing delimiter")
    return parts


async def read_report_form(headers: Mapping[str, str], content: StreamReader,
                           max_bytes: int) -> ReportForm:
    """Read the request body as a report form, at most `max_bytes` of part content.

    Raises FormRefused: 400 when the body is not multipart/form-data, is malformed or has
    no `file` part; 413 when the parts hold more than `max_bytes`. The caller bounds the
    time it may take, and checks the report itself with `report_schema`.
    """
    ctype = headers.get(hdrs.CONTENT_TYPE, "")
    if not ctype.lower().lstrip().startswith("multipart/form-data"):
        raise FormRefused(400, "expected a multipart/form-data body")
    try:
        parts = await _parts(headers, content, max_bytes)
    except FormRefused:
        raise
    # aiohttp's reader signals a malformed body with these (and asserts on some); what
    # the peer sent is not echoed, only that it was malformed.
    except (HttpProcessingError, ValueError, AssertionError, LookupError, RuntimeError,
            UnicodeError, EOFError) as exc:
        raise FormRefused(400, f"malformed form ({type(exc).__name__})") from None
    if "file" not in parts:
        raise FormRefused(400, "form has no 'file' part")
    filename, content_type, body = parts["file"]
    cid: str | None = None
    if "cid" in parts:
        raw_cid = parts["cid"][2]
        if len(raw_cid) > MAX_CID_BYTES:
            raise FormRefused(400, f"'cid' part longer than {MAX_CID_BYTES} bytes")
        cid = raw_cid.decode("utf-8", "replace")
    return ReportForm(cid=cid, filename=filename, content_type=content_type, body=body)
