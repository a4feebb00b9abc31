"""A small bounded on-disk spool for reports that could not reach the support topic.

CP 3.x dropped a report when Kafka was down; the agent keeps it here and delivers it, in
order, when Kafka is back. One file per report, written atomically (temp file, fsync,
rename, fsync of the folder), named by a zero-padded sequence number so that the folder's
sorted listing is the delivery order.

Delivery guarantee, stated honestly: a file is deleted only after the producer's delivery
report said ok. If the process dies after the broker acknowledged the record and before the
`unlink` (a few microseconds plus one folder fsync), the record is sent again on the next
start. Every spooled report therefore carries a `report.id` header (a UUID4 chosen when the
report was made, the same on every attempt), and the reports reader drops duplicates by it.

A file that cannot be parsed (truncated, bit rot, written by something else) is renamed to
`*.corrupt`, logged once and skipped: it never stops the delivery of the others.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.files import TEMP_SUFFIX, TooLarge, atomic_write, fsync_folder, read_bounded

log = logging.getLogger(__name__)

MAGIC = b"PSSPOOL1"
SUFFIX = ".report"
CORRUPT_SUFFIX = ".corrupt"
DEFAULT_MAX_COUNT = 100
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
# Quarantined files are kept for a post-mortem, but never more than this many.
MAX_CORRUPT_KEPT = 10
_LEN = struct.Struct(">I")
# A legal Kafka topic name; the agent only spools reports for one.
_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_MAX_HEADERS = 16


@dataclass(frozen=True)
class SpooledReport:
    """One report waiting for the topic: the Avro value plus what is needed to resend it."""

    topic: str
    value: bytes
    broker_id: int
    report_id: str
    created_ms: int
    headers: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    path: Path | None = None


@dataclass
class FlushResult:
    """What one `Spool.flush` did; `remaining` counts the files still waiting."""

    delivered: int = 0
    remaining: int = 0
    corrupt: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Rejected:
    """What `send` returns for a report its destination refuses for what it is."""

    reason: str


class SpoolCorrupt(ValueError):
    """A spool file that is not a complete, intact spool record."""


def encode_entry(report: SpooledReport) -> bytes:
    """The on-disk form: magic, JSON metadata, value, CRC32 of everything before it."""
    meta = json.dumps({
        "topic": report.topic, "broker_id": report.broker_id,
        "report_id": report.report_id, "created_ms": report.created_ms,
        "headers": report.headers,
    }, separators=(",", ":")).encode()
    body = MAGIC + _LEN.pack(len(meta)) + meta + _LEN.pack(len(report.value)) + report.value
    return body + _LEN.pack(zlib.crc32(body))


def decode_entry(data: bytes, seq: int = 0, path: Path | None = None) -> SpooledReport:
    """Parse one spool file; raise `SpoolCorrupt` on any inconsistency."""
    if len(data) < len(MAGIC) + 3 * _LEN.size or not data.startswith(MAGIC):
        raise SpoolCorrupt("not a spool record (bad magic or too short)")
    body, crc = data[:-_LEN.size], _LEN.unpack(data[-_LEN.size:])[0]
    if zlib.crc32(body) != crc:
        raise SpoolCorrupt("checksum mismatch")
    pos = len(MAGIC)
    (meta_len,) = _LEN.unpack_from(body, pos)
    pos += _LEN.size
    meta_raw = body[pos:pos + meta_len]
    pos += meta_len
    if pos + _LEN.size > len(body):
        raise SpoolCorrupt("truncated metadata")
    (value_len,) = _LEN.unpack_from(body, pos)
    pos += _LEN.size
    value = body[pos:pos + value_len]
    if pos + value_len != len(body):
        raise SpoolCorrupt("value length does not match the file size")
    try:
        return _entry(json.loads(meta_raw), bytes(value), seq, path)
    except SpoolCorrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - deep nesting, huge numbers, odd types: corrupt
        raise SpoolCorrupt(f"bad metadata: {type(exc).__name__}") from None


def _entry(meta: Any, value: bytes, seq: int, path: Path | None) -> SpooledReport:
    """Check every field of the metadata for what the agent wrote; SpoolCorrupt otherwise."""
    if not isinstance(meta, dict):
        raise SpoolCorrupt("bad metadata: not an object")
    topic, broker_id, report_id = meta.get("topic"), meta.get("broker_id"), meta.get("report_id")
    created_ms, headers = meta.get("created_ms"), meta.get("headers") or {}
    if not isinstance(topic, str) or not _TOPIC.fullmatch(topic):
        raise SpoolCorrupt("bad metadata: not a topic name")
    if type(broker_id) is not int or not 0 <= broker_id < 2**31:
        raise SpoolCorrupt("bad metadata: not a broker id")
    if not isinstance(report_id, str) or not 0 < len(report_id) <= 64:
        raise SpoolCorrupt("bad metadata: not a report id")
    if type(created_ms) is not int or not 0 <= created_ms < 2**53:
        raise SpoolCorrupt("bad metadata: not a time")
    if not isinstance(headers, dict) or len(headers) > _MAX_HEADERS or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) + len(v) <= 512
            for k, v in headers.items()):
        raise SpoolCorrupt("bad metadata: headers")
    from engine.reporting.records import decode

    decoded = decode(value)
    if not decoded.ok:
        # Nothing reads a report that is not one: sending it would only fail every reader.
        raise SpoolCorrupt(f"the value is not a report ({decoded.error})")
    return SpooledReport(topic=topic, value=value, broker_id=broker_id, report_id=report_id,
                         created_ms=created_ms, headers=dict(headers), seq=seq, path=path)


class Spool:
    """A folder of pending reports, bounded by `max_count` files and `max_bytes` in total.

    Not safe for two processes on one folder: each agent owns its own spool folder (the
    agent puts it under its state folder, one per broker).
    """

    def __init__(self, folder: Path | str, max_count: int = DEFAULT_MAX_COUNT,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_count < 1 or max_bytes < 1:
            raise ValueError("spool bounds must be positive")
        self.folder = Path(folder)
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(f".*{TEMP_SUFFIX}"):
            # Left by a process that died mid-write: never renamed, so never a report.
            stale.unlink(missing_ok=True)
        entries = self._entries()
        self._next_seq = (entries[-1][0] + 1) if entries else 1

    # -- listing ---------------------------------------------------------------------------

    def _entries(self) -> list[tuple[int, Path]]:
        """(sequence, path) of every pending file, oldest first."""
        found = []
        for path in self.folder.iterdir():
            if path.suffix != SUFFIX:
                continue
            try:
                found.append((int(path.stem), path))
            except ValueError:
                continue  # not ours; leave it alone
        found.sort()
        return found

    def __len__(self) -> int:
        return len(self._entries())

    def total_bytes(self) -> int:
        """The size on disk of every pending file."""
        total = 0
        for _, path in self._entries():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total

    def pending(self) -> Iterator[SpooledReport]:
        """Every intact pending report, oldest first; corrupt files are quarantined."""
        for seq, path in self._entries():
            report = self._load(seq, path)
            if report is not None:
                yield report

    # -- writing ---------------------------------------------------------------------------

    def put(self, report: SpooledReport) -> SpooledReport | None:
        """Store a report at the end of the queue; return it with its sequence and path.

        Oldest reports are dropped (with a warning) to keep the bounds; a report larger than
        the whole byte budget is refused (warning, None returned).
        """
        data = encode_entry(report)
        if len(data) > self.max_bytes:
            log.warning("spool: report %s of broker %s is %d bytes, larger than the spool "
                        "limit of %d bytes; not kept", report.report_id, report.broker_id,
                        len(data), self.max_bytes)
            return None
        self._make_room(len(data))
        seq = self._next_seq
        self._next_seq += 1
        path = self.folder / f"{seq:012d}{SUFFIX}"
        atomic_write(path, data, mode=0o600)
        return SpooledReport(topic=report.topic, value=report.value,
                             broker_id=report.broker_id, report_id=report.report_id,
                             created_ms=report.created_ms, headers=dict(report.headers),
                             seq=seq, path=path)

    def _make_room(self, incoming: int) -> None:
        entries = self._entries()
        sizes = []
        for seq, path in entries:
            try:
                sizes.append((seq, path, path.stat().st_size))
            except FileNotFoundError:
                continue
        count = len(sizes)
        total = sum(size for _, _, size in sizes)
        for seq, path, size in sizes:
            if count + 1 <= self.max_count and total + incoming <= self.max_bytes:
                break
            log.warning("spool full (%d reports, %d bytes; limits %d reports, %d bytes): "
                        "dropping the oldest report, #%d", count, total, self.max_count,
                        self.max_bytes, seq)
            self._remove(path)
            count -= 1
            total -= size

    # -- delivering ------------------------------------------------------------------------

    def flush(self, send: Callable[[SpooledReport], bool | str | Rejected | None]
              ) -> FlushResult:
        """Deliver pending reports in order through `send`, deleting each one it confirms.

        `send` returns True once the delivery report said ok; `Rejected` when the
        destination refused the report for good (it is quarantined, and the flush goes on:
        one bad report never blocks the others); anything else (False, or an error text)
        stops the flush so that order is kept: later reports never overtake an earlier one
        that failed. Exceptions from `send` count as a failure.
        """
        result = FlushResult()
        entries = self._entries()
        for index, (seq, path) in enumerate(entries):
            report = self._load(seq, path)
            if report is None:
                result.corrupt += 1
                continue
            try:
                outcome = send(report)
            except Exception as exc:  # noqa: BLE001 - a failed send must not lose the spool
                outcome = f"{type(exc).__name__}: {exc}"
            if outcome is True:
                # The only window for a duplicate: acknowledged, not yet unlinked.
                self._remove(path)
                result.delivered += 1
                continue
            if isinstance(outcome, Rejected):
                log.warning("spool: %s was refused for good (%s); moved aside as %s%s",
                            path.name, outcome.reason, path.name, CORRUPT_SUFFIX)
                self._quarantine(path)
                result.corrupt += 1
                continue
            result.error = outcome if isinstance(outcome, str) else "not delivered"
            result.remaining = sum(1 for s, p in entries[index:] if p.exists())
            return result
        return result

    # -- internals -------------------------------------------------------------------------

    def _load(self, seq: int, path: Path) -> SpooledReport | None:
        try:
            data = read_bounded(path, self.max_bytes)
        except FileNotFoundError:
            return None
        except TooLarge:
            log.warning("spool: %s is larger than the spool's limit; moved aside as %s%s",
                        path.name, path.name, CORRUPT_SUFFIX)
            self._quarantine(path)
            return None
        except OSError as exc:
            log.warning("spool: cannot read %s (%s); skipped", path.name, exc)
            self._quarantine(path)
            return None
        try:
            return decode_entry(data, seq=seq, path=path)
        except SpoolCorrupt as exc:
            log.warning("spool: %s is corrupt (%s); moved aside as %s%s and skipped",
                        path.name, exc, path.name, CORRUPT_SUFFIX)
            self._quarantine(path)
            return None

    def _quarantine(self, path: Path) -> None:
        try:
            os.replace(path, path.with_name(path.name + CORRUPT_SUFFIX))
        except OSError:
            self._remove(path)
            return
        corrupt = sorted(p for p in self.folder.iterdir() if p.name.endswith(CORRUPT_SUFFIX))
        for old in corrupt[:-MAX_CORRUPT_KEPT]:
            self._remove(old)
        fsync_folder(self.folder)

    def _remove(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return
        fsync_folder(self.folder)
