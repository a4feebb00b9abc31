"""Support bundles: export the support topic into a zip, and open such a zip offline.

Layout (SPEC §3, compatible with CP's `support-metrics-bundle`): one stored entry per
record holding the raw value bytes, named `<zip base name>.<n>` with n counting from 0 in
topic order (partition by partition); extra metadata only in the archive comment (JSON), so
readers that decode every entry keep working.

The zip is written by a small streaming writer of our own rather than `zipfile`: `zipfile`
keeps a ZipInfo object (~450 bytes) per entry until it closes, so a million-record topic
would cost ~450 MB. Here each entry costs 16 bytes (crc, size, offset in arrays), names are
regenerated from their number for the central directory, and ZIP64 records are written when
there are more than 65,535 entries or the file passes 4 GiB.

Opening never extracts anything: entries are read in memory, each capped in size, and a
damaged archive or entry becomes a message, never a crash.
"""

from __future__ import annotations

import json
import os
import queue
import re
import struct
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate, repeat
from operator import add
from typing import Any

try:  # ISA-L's CRC-32 is about three times zlib's on report-sized values; same results
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - isal is a dependency; a platform without a wheel
    from zlib import crc32 as _crc32

from engine import __version__
from engine.errors import NotFound, PsError
from engine.records import decode
from engine.target import ClusterTarget
from engine.topic_reader import PartitionRange, TopicReader

# A bigger entry is refused when opening: Kafka's default max message is 1 MB, and a
# zip bomb must not exhaust memory.
MAX_ENTRY_BYTES = 16 * 1024 * 1024
_ZIP_COMMENT_MAX = 65535
# writev() takes at most this many buffers per call on Linux (IOV_MAX).
_IOV_MAX = 1024
# Batches (a few MB each) waiting for the writer thread: bounds the export's memory.
_QUEUED_BATCHES = 4
# The writer thread syncs the file every this many bytes (see _ZipStream._write_loop).
_SYNC_EVERY = 64 * 1024 * 1024
_TRAILING_NUMBER = re.compile(r"\.(\d+)$")


class BundleError(PsError):
    """The bundle cannot be written or read (file exists, folder not writable, bad zip)."""


class NoRecords(NotFound):
    """The topic holds no records, so no bundle was written."""

    def __init__(self) -> None:
        super().__init__("No records found.")


class ExportCancelled(PsError):
    """The export was cancelled through its `cancel` event; no file was left behind."""


# ------------------------------------------------------------------------------ export

@dataclass(frozen=True)
class ExportProgress:
    """How far an export is: records written of `total` offsets, bytes, seconds."""

    records: int
    total: int
    size_bytes: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Records per second so far."""
        return self.records / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, or None before there is a rate."""
        rate = self.rate
        return max(0.0, (self.total - self.records) / rate) if rate > 0 else None


@dataclass(frozen=True)
class ExportResult:
    """A written bundle. `complete` is False when `runtime` cut the read short."""

    path: str
    records: int
    total: int
    size_bytes: int
    complete: bool


def default_bundle_name(topic: str, now: datetime) -> str:
    """`support-metrics-<topic>.<UTC %Y%m%d-%H%M%S>.zip`, the file name of a new bundle."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    return f"support-metrics-{topic}.{now:%Y%m%d-%H%M%S}.zip"


class _ZipStream:
    """Write a stored-only zip a batch of entries at a time, in flat memory.

    The per-entry work (name, CRC, local header, central directory record) is done by
    `map` over C functions, not by Python bytecode per record, once per entry: each batch's
    central records go straight to an anonymous spill file beside the zip (`spill_dir`),
    and `finish` has the kernel copy that file after the entries (copy_file_range), so
    nothing per entry stays in memory and no name is formatted twice. The disk writes run
    on a writer thread fed through a small bounded queue: `writev` releases the GIL, so the
    kernel copies one batch into the page cache while the calling thread reads and
    prepares the next (at most `_QUEUED_BATCHES` batches wait). `finish` or `close` always
    stops the thread and removes the spill file.
    """

    # Everything before the CRC is the same for every entry (signature, versions, flags,
    # method stored, DOS time and date): a constant prefix, then one Struct per name length
    # packs the rest of a header and the name in one call.
    _ZIP64_EXTRA = struct.Struct("<HHQ")
    _CENTRAL64 = struct.Struct("<IHHHHHHIIIHHHHHII")
    _EOCD = struct.Struct("<IHHHHIIH")
    _EOCD64 = struct.Struct("<IQHHIIQQQQ")
    _LOCATOR64 = struct.Struct("<IIQI")

    def __init__(self, fd: int, entry_base: str, when: float,
                 spill_dir: str | None = None) -> None:
        self._fd = fd
        # bytes %-formatting makes each name in one C call; a '%' in the file name is escaped.
        self._name_format = f"{entry_base}.".encode().replace(b"%", b"%%") + b"%d"
        # Names are ASCII unless the file name is not; bit 11 then marks them UTF-8.
        self._flags = 0 if entry_base.isascii() else 0x800
        t = time.localtime(when)
        self._dostime = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
        self._dosdate = (max(t.tm_year, 1980) - 1980) << 9 | (t.tm_mon << 5) | t.tm_mday
        self._local_prefix = struct.pack("<IHHHHH", 0x04034B50, 20, self._flags, 0,
                                         self._dostime, self._dosdate)
        self._central_prefix = struct.pack("<IHHHHHH", 0x02014B50, (3 << 8) | 20, 20,
                                           self._flags, 0, self._dostime, self._dosdate)
        self._structs: dict[tuple[str, int], struct.Struct] = {}
        self.count = 0  # entries added
        self.pos = 0  # bytes of entries handed to the writer (all written once finish ends)
        self._spill = tempfile.TemporaryFile(dir=spill_dir)  # O_TMPFILE: never left behind
        self._spill_size = 0
        self._queue: queue.Queue[tuple[int, list[bytes]] | None] = queue.Queue(
            maxsize=_QUEUED_BATCHES)
        self._error: BaseException | None = None
        self._writer = threading.Thread(target=self._write_loop, name="bundle-writer",
                                        daemon=True)
        self._writer.start()

    def _struct(self, kind: str, name_len: int) -> struct.Struct:
        """The Struct packing a local header ("L") or central record ("C") and its name."""
        packer = self._structs.get((kind, name_len))
        if packer is None:
            layout = "14sIIIHH" if kind == "L" else "16sIIIHHHHHII"
            packer = self._structs[kind, name_len] = struct.Struct(f"<{layout}{name_len}s")
        return packer

    def add_batch(self, values: list[bytes]) -> None:
        """Append one entry per value; names continue the numbering."""
        if not values:
            return
        first = self.count
        stop = first + len(values)
        # Names only change length at a power of ten: split the batch there, so each part
        # packs a header and its name in one call with one Struct.
        name_len = len(self._name_format % first)
        if len(self._name_format % (stop - 1)) != name_len:
            cut = 10 ** len(str(first)) - first
            self.add_batch(values[:cut])
            self.add_batch(values[cut:])
            return
        names = list(map(self._name_format.__mod__, range(first, stop)))
        crcs = list(map(_crc32, values))
        sizes = list(map(len, values))
        heads = list(map(self._struct("L", name_len).pack, repeat(self._local_prefix),
                         crcs, sizes, sizes, repeat(name_len), repeat(0), names))
        offsets = list(accumulate(map(add, sizes, repeat(30 + name_len)), initial=self.pos))
        end = offsets.pop()  # the last sum is where the next batch starts
        if offsets[-1] < 0xFFFFFFFF:
            central = b"".join(map(
                self._struct("C", name_len).pack, repeat(self._central_prefix), crcs, sizes,
                sizes, repeat(name_len), repeat(0), repeat(0), repeat(0), repeat(0),
                repeat(0o100644 << 16), offsets, names))
        else:
            central = self._central_zip64(names, crcs, sizes, offsets)
        # Header, value, header, value...: filled by two slice assignments, not by zip(),
        # which would make (and have the garbage collector track) a tuple per entry.
        parts: list[bytes] = [b""] * (2 * len(values))
        parts[0::2] = heads
        parts[1::2] = values
        self._send(self._fd, parts)
        self._send(self._spill.fileno(), [central])
        self.count = stop
        self.pos = end
        self._spill_size += len(central)

    def _send(self, fd: int, parts: list[bytes]) -> None:
        """Queue buffers for the writer thread; blocks while the queue is full."""
        if self._error is not None:
            raise self._error
        self._queue.put((fd, parts))

    def _write_loop(self) -> None:
        """The writer thread: writev each queued list, 1024 buffers per system call.

        After an error it keeps draining the queue (so the producer never blocks) and
        leaves the error for the calling thread to raise.
        """
        unsynced = 0
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue
            fd, parts = item
            try:
                for i in range(0, len(parts), _IOV_MAX):
                    group = parts[i:i + _IOV_MAX]
                    done = os.writev(fd, group)
                    want = sum(map(len, group))
                    if done < want:  # rare (a signal, a nearly full disk): plain writes
                        rest = memoryview(b"".join(group))[done:]
                        while rest:
                            rest = rest[os.write(fd, rest):]
                    if fd == self._fd:
                        unsynced += want
                if unsynced >= _SYNC_EVERY:
                    # The disk writes back while the reader keeps going, so the fsync at
                    # the end waits for the last stretch only, not the whole file.
                    unsynced = 0
                    try:
                        os.fdatasync(self._fd)
                    except OSError:  # not a regular file (a test's /dev/null): no syncing
                        unsynced = -(1 << 62)
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                self._error = exc

    def close(self) -> None:
        """Stop the writer thread once the queue is written, drop the spill file; safe to
        call twice."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()
        self._spill.close()

    def finish(self, comment: bytes) -> None:
        """Copy the central directory in, write the end records; wait until all is written."""
        self._queue.put(None)
        self._writer.join()
        if self._error is not None:
            raise self._error
        cd_start, cd_size, count = self.pos, self._spill_size, self.count
        _copy_file(self._spill.fileno(), self._fd, cd_size)
        self.pos += cd_size
        tail = bytearray()
        if count >= 0xFFFF or cd_start >= 0xFFFFFFFF or cd_size >= 0xFFFFFFFF:
            tail += self._EOCD64.pack(0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size,
                                      cd_start)
            tail += self._LOCATOR64.pack(0x07064B50, 0, self.pos, 1)
        tail += self._EOCD.pack(0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                                min(cd_size, 0xFFFFFFFF), min(cd_start, 0xFFFFFFFF),
                                len(comment))
        tail += comment
        rest = memoryview(bytes(tail))
        while rest:
            rest = rest[os.write(self._fd, rest):]
        self.pos += len(tail)
        self._spill.close()

    def _central_zip64(self, names: list[bytes], crcs: list[int], sizes: list[int],
                       offsets: list[int]) -> bytes:
        """Central records past 4 GiB: the offset moves into a ZIP64 extra field."""
        parts = []
        for name, crc, size, offset in zip(names, crcs, sizes, offsets, strict=True):
            extra, needed = b"", 20
            if offset >= 0xFFFFFFFF:
                extra, offset, needed = self._ZIP64_EXTRA.pack(1, 8, offset), 0xFFFFFFFF, 45
            parts += (self._CENTRAL64.pack(0x02014B50, (3 << 8) | needed, needed, self._flags,
                                           0, self._dostime, self._dosdate, crc, size, size,
                                           len(name), len(extra), 0, 0, 0, 0o100644 << 16,
                                           offset), name, extra)
        return b"".join(parts)


def _copy_file(src: int, dst: int, size: int) -> None:
    """Append `size` bytes of `src` (from its start) to `dst`, in the kernel when it can."""
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src, dst, size - done, done)
            if n == 0:
                break
            done += n
    except (AttributeError, OSError):  # no copy_file_range here: copy through memory
        pass
    while done < size:
        chunk = os.pread(src, min(8 << 20, size - done), done)
        if not chunk:
            raise OSError(f"the central directory spill file ended at {done} of {size}")
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]
        done += len(chunk)


def _metadata(topic: str, cluster_id: str | None, ranges: list[PartitionRange],
              per_partition: dict[int, int], records: int, total: int, complete: bool,
              created: datetime, entry_base: str) -> bytes:
    """The archive comment: JSON, shrunk to fit the 65,535-byte zip comment limit."""
    meta: dict[str, Any] = {
        "format": "ps-console support bundle", "format_version": 1,
        "tool": "ps-console", "tool_version": __version__,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "topic": topic, "cluster_id": cluster_id, "entry_base": entry_base,
        "records": records, "total_offsets": total, "complete": complete,
        "partitions": [{"partition": r.partition, "low": r.low, "high": r.high,
                        "records": per_partition.get(r.partition, 0)} for r in ranges],
    }
    text = json.dumps(meta, separators=(",", ":")).encode()
    if len(text) > _ZIP_COMMENT_MAX:
        # Thousands of partitions: keep the totals, drop the per-partition detail.
        meta["partitions"] = None
        meta["partition_count"] = len(ranges)
        text = json.dumps(meta, separators=(",", ":")).encode()
    return text


def _check_destination(path: str, force: bool) -> None:
    if os.path.isdir(path):
        raise BundleError(f"{path} is a folder; give a file name")
    if os.path.lexists(path) and not force:
        raise BundleError(f"{path} already exists; use --force to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BundleError(f"folder {folder} does not exist")


def _publish(tmp: str, path: str, force: bool) -> None:
    """Give the finished temp file its name; without `force`, never replace a file."""
    if force:
        os.replace(tmp, path)
        return
    try:
        # link() fails if `path` appeared meanwhile: no check-then-rename race.
        os.link(tmp, path)
    except FileExistsError:
        raise BundleError(f"{path} already exists; use --force to replace it") from None
    except OSError:
        # Filesystems without hard links: the best we can do is check, then rename.
        if os.path.lexists(path):
            raise BundleError(f"{path} already exists; use --force to replace it") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def export_bundle(target: ClusterTarget, topic: str, path: str | None = None,
                  runtime: float = 10.0, force: bool = False,
                  progress: Callable[[ExportProgress], None] | None = None,
                  cancel: threading.Event | None = None) -> ExportResult:
    """Export every record of `topic` (up to the end offsets taken now) into a zip bundle.

    `path` defaults to `default_bundle_name(topic, now)` in the current folder. `runtime`
    bounds the wall time: when it runs out the bundle is still written, with
    `complete=False`. Raises NoRecords (no file) when the topic is empty, BundleError
    (exit 1) when `path` exists without `force` or cannot be written, ExportCancelled when
    `cancel` is set, NotFound when the topic does not exist, ConnectionFailure when Kafka
    does not answer. Whatever goes wrong, including KeyboardInterrupt, no file and no
    temporary file is left behind. `progress` is called from the calling thread after
    every batch read (a few thousand records) and once at the end.
    """
    started = time.monotonic()
    deadline = started + max(0.0, runtime)
    created = datetime.now(UTC)
    path = path or default_bundle_name(topic, created)
    _check_destination(path, force)
    entry_base = os.path.basename(path)

    with TopicReader(target) as reader:
        ranges = reader.end_offsets(topic)
        total = sum(r.count for r in ranges)
        if total == 0:
            raise NoRecords()
        folder = os.path.dirname(os.path.abspath(path))
        # Hidden, unique, beside the target (so the final rename stays on one filesystem);
        # created by hand rather than with mkstemp so the bundle gets the umask's mode.
        tmp = os.path.join(folder, f".{entry_base}.{uuid.uuid4().hex[:12]}.part")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as exc:
            raise BundleError(f"cannot write in {folder}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb", buffering=0) as fh:
                zw = _ZipStream(fh.fileno(), entry_base, created.timestamp(), folder)
                try:
                    per_partition: Counter[int] = Counter()
                    for batch in reader.iter_batches(topic, ranges, deadline=deadline,
                                                     cancel=cancel):
                        values = batch.values()
                        if None in values:  # a null value becomes an empty entry
                            values = [v or b"" for v in values]
                        zw.add_batch(values)
                        per_partition[batch.partition] += len(values)
                        if progress is not None:
                            progress(ExportProgress(zw.count, total, zw.pos,
                                                    time.monotonic() - started))
                    if cancel is not None and cancel.is_set():
                        raise ExportCancelled("export cancelled; no file written")
                    complete = reader.complete
                    records = zw.count
                    if records == 0 and complete:
                        raise NoRecords()  # only compaction gaps or transaction markers
                    cluster_id = reader.cluster_id
                    zw.finish(_metadata(topic, cluster_id, ranges, per_partition, records,
                                        total, complete, created, entry_base))
                finally:
                    zw.close()  # the writer thread must stop before the file closes
                size = zw.pos
                os.fsync(fh.fileno())
            _publish(tmp, path, force)
        except OSError as exc:
            _discard(tmp)
            raise BundleError(f"cannot write {path}: {exc.strerror or exc}") from None
        except BaseException:
            _discard(tmp)
            raise
    if progress is not None:
        progress(ExportProgress(records, total, size, time.monotonic() - started))
    return ExportResult(path=path, records=records, total=total, size_bytes=size,
                        complete=complete)


def _discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


# ------------------------------------------------------------------------------ open

@dataclass(frozen=True)
class BundleEntry:
    """One zip entry and what decoding it gave. `index` is the name's trailing number."""

    name: str
    index: int | None
    ok: bool
    schema: str | None
    record: dict[str, Any] | None
    error: str | None
    size: int


@dataclass(frozen=True)
class OpenedBundle:
    """A bundle read in memory: archive comment metadata (None if absent) and entries."""

    path: str
    metadata: dict[str, Any] | None
    entries: list[BundleEntry]

    @property
    def decoded(self) -> int:
        """How many entries decoded to a record."""
        return sum(1 for e in self.entries if e.ok)


class BundleReader:
    """An open bundle whose entries are decoded one at a time (flat memory).

    `open_bundle` gathers them all; `ps-console open --json` streams them from here.
    Raises NotFound for a missing file and BundleError for anything that is not a readable
    zip. Never writes to disk.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise NotFound(f"{path} does not exist") from None
        except IsADirectoryError:
            raise BundleError(f"{path} is a folder, not a zip file") from None
        except OSError as exc:
            raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error,
                NotImplementedError, OverflowError) as exc:
            raise BundleError(f"{path} is not a readable zip file ({_short(exc)})") from None
        try:
            self.metadata = _parse_comment(self._zip.comment)
            self._infos = _ordered(self._zip.infolist())
        except BaseException:
            self._zip.close()
            raise

    def __len__(self) -> int:
        return len(self._infos)

    def __iter__(self) -> Iterator[BundleEntry]:
        for index, info in self._infos:
            yield self._entry(index, info)

    def _entry(self, index: int | None, info: zipfile.ZipInfo) -> BundleEntry:
        name = info.filename
        if info.file_size > MAX_ENTRY_BYTES:
            return BundleEntry(name, index, False, None, None,
                               f"entry of {info.file_size} bytes is over the "
                               f"{MAX_ENTRY_BYTES // (1024 * 1024)} MiB limit", info.file_size)
        try:
            with self._zip.open(info) as fh:
                data = fh.read(MAX_ENTRY_BYTES + 1)
        except Exception as exc:  # noqa: BLE001 - a damaged entry is reported, not fatal
            return BundleEntry(name, index, False, None, None,
                               f"cannot read entry: {_short(exc)}", info.file_size)
        if len(data) > MAX_ENTRY_BYTES:
            return BundleEntry(name, index, False, None, None,
                               "entry is larger than its declared size", info.file_size)
        result = decode(data)
        return BundleEntry(name, index, result.ok, result.schema, result.record,
                           result.error, len(data))

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_bundle(path: str) -> OpenedBundle:
    """Read a bundle made by this project or by CP's tool, decoding every entry in memory.

    Entries are ordered by the number their name ends with (CP named them with the path
    the operator typed, e.g. `/tmp/out/support-metrics.zip.3`), unnumbered ones after, in
    zip order. A damaged, oversized or undecodable entry is an entry with `ok=False`.
    """
    with BundleReader(path) as reader:
        return OpenedBundle(path, reader.metadata, list(reader))


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _parse_comment(comment: bytes) -> dict[str, Any] | None:
    try:
        meta = json.loads(comment.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _ordered(infos: list[zipfile.ZipInfo]) -> list[tuple[int | None, zipfile.ZipInfo]]:
    numbered: list[tuple[int, int, zipfile.ZipInfo]] = []
    others: list[zipfile.ZipInfo] = []
    for position, info in enumerate(infos):
        if info.is_dir():
            continue
        m = _TRAILING_NUMBER.search(info.filename)
        if m:
            numbered.append((int(m.group(1)), position, info))
        else:
            others.append(info)
    numbered.sort(key=lambda t: (t[0], t[1]))
    return [(n, info) for n, _, info in numbered] + [(None, info) for info in others]


# ------------------------------------------------------------------------------ summary

_MAX_LISTED_ERRORS = 20


def summarize(opened: OpenedBundle) -> str:
    """A readable account of a bundle: metadata, records per broker token and schema,
    time range, versions seen, undecodable entries."""
    lines = [f"Bundle {opened.path}"]
    meta = opened.metadata
    if meta:
        complete = meta.get("complete")
        lines.append(f"  written by {meta.get('tool', '?')} {meta.get('tool_version', '?')} "
                     f"at {meta.get('created', '?')}")
        lines.append(f"  topic {meta.get('topic', '?')}, cluster {meta.get('cluster_id')}, "
                     f"{meta.get('records', '?')} records of {meta.get('total_offsets', '?')} "
                     f"offsets, {'complete' if complete else 'PARTIAL'}")
        for p in meta.get("partitions") or []:
            if isinstance(p, dict):
                lines.append(f"    partition {p.get('partition')}: offsets "
                             f"{p.get('low')}..{p.get('high')}, {p.get('records')} records")
    else:
        lines.append("  no metadata in the archive comment (a bundle from CP's tool?)")
    good = [e for e in opened.entries if e.ok]
    bad = [e for e in opened.entries if not e.ok]
    lines.append(f"  entries: {len(opened.entries)}, decoded {len(good)}, "
                 f"undecodable {len(bad)}")
    by_schema = Counter(e.schema or "?" for e in good)
    by_token = Counter(str((e.record or {}).get("brokerProcessUUID", "?")) for e in good)
    stamps = [t for e in good
              if isinstance(t := (e.record or {}).get("timestamp"), int)]
    versions = Counter(
        f"Kafka {(e.record or {}).get('kafkaVersion', '?')} / "
        f"CP {(e.record or {}).get('confluentPlatformVersion') or '-'}" for e in good)
    clusters = Counter(str((e.record or {}).get("clusterId", "NA")) for e in good)
    if good:
        lines.append("  records per schema:")
        lines += [f"    {name}: {n}" for name, n in by_schema.most_common()]
        lines.append("  records per broker token:")
        lines += [f"    {token}: {n}" for token, n in by_token.most_common()]
        if stamps:
            lines.append(f"  time range: {_utc(min(stamps))} .. {_utc(max(stamps))}")
        lines.append("  versions seen:")
        lines += [f"    {v}: {n}" for v, n in versions.most_common()]
        lines.append("  cluster ids in records: " +
                     ", ".join(f"{c} ({n})" for c, n in clusters.most_common()))
    if bad:
        lines.append("  undecodable entries:")
        lines += [f"    {e.name}: {e.error}" for e in bad[:_MAX_LISTED_ERRORS]]
        if len(bad) > _MAX_LISTED_ERRORS:
            lines.append(f"    ... and {len(bad) - _MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def _utc(seconds: int) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{seconds} (out of range)"
