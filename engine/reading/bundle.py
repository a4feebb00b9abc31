"""Support bundles: export the support topic into a zip, and open such a zip offline.

Layout (that of CP's `support-metrics-bundle`): one stored entry per
record holding the raw value bytes, named `<zip base name>.<n>` with n counting from 0 in
topic order (partition by partition); extra metadata only in the archive comment (JSON), so
readers that decode every entry keep working.

The zip is written by `engine.reading.zip_stream.ZipStream`, in flat memory whatever the topic's
size (`zipfile` keeps ~450 bytes per entry until it closes).

Opening never extracts anything: entries are read in memory, each capped in size, and a
damaged archive or entry becomes a message, never a crash. An opened bundle is a source of
`engine.reading.report` reports like the topic: `open_bundle` keeps the summaries of every
entry (attributed by the rules of `engine.reading.rules`), not their decoded records, and
`BundleReader.report` reads one entry again when a view needs its fields.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import re
import struct
import threading
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from engine import __version__
from engine.cluster.session import ClusterSession
from engine.errors import NotFound, PsError
from engine.files import TargetExists, atomic_file
from engine.reading.report import Report, ReportSummary, build_report
from engine.reading.report_log import ReportLog
from engine.reading.rules import DEFAULT_INTERVAL_S, token_owners
from engine.reading.topic_reader import PartitionRange, TopicReader
from engine.reading.zip_stream import ZipStream
from engine.text import printable

_LOG = logging.getLogger(__name__)

# A bigger entry is refused when opening: Kafka's default max message is 1 MB, and a
# zip bomb must not exhaust memory.
MAX_ENTRY_BYTES = 1024 * 1024  # records.MAX_VALUE_BYTES: not imported, it loads fastavro
# An entry may expand at most this many times when inflated: reports deflate to about
# 60 % of their size; a higher ratio is a decompression bomb, refused before inflating.
MAX_EXPANSION = 100
# Entries this small are never refused for their ratio (a run of zeros deflates well).
_RATIO_FREE_BYTES = 64 * 1024
# What the Avro blocks of all entries together may expand to (CP wrote no codec at all).
CODEC_BUDGET_BYTES = 64 * 1024 * 1024
_ZIP_COMMENT_MAX = 65535
# An entry's name ends with its number; more digits than this is no number of ours (and
# int() refuses thousands of them).
_TRAILING_NUMBER = re.compile(r"\.(\d{1,20})$")


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


def export_bundle(session: ClusterSession, topic: str, path: str | None = None,
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

    with TopicReader(session) as reader, _collector_paused():
        ranges = reader.end_offsets(topic)
        total = sum(r.offsets for r in ranges)
        if total == 0:
            raise NoRecords()
        folder = os.path.dirname(os.path.abspath(path))
        try:
            with atomic_file(path, overwrite=force) as fh:
                zw = ZipStream(fh.fileno(), entry_base, created.timestamp(), folder)
                steps = None
                try:
                    per_partition: Counter[int] = Counter()
                    steps = _steps(reader, zw, topic, ranges, deadline, cancel)
                    for partition, added in steps:
                        per_partition[partition] += added
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
                    if steps is not None:
                        steps.close()  # its consumer unassigns its partition now
                    zw.close()  # the writer thread must stop before the file closes
                size = zw.pos
        except TargetExists:
            raise BundleError(f"{path} already exists; use --force to replace it") from None
        except OSError as exc:
            where = folder if not os.access(folder, os.W_OK) else path
            raise BundleError(f"cannot write {where}: {exc.strerror or exc}") from None
    if progress is not None:
        progress(ExportProgress(records, total, size, time.monotonic() - started))
    return ExportResult(path=path, records=records, total=total, size_bytes=size,
                        complete=complete)


# Exports running now that paused the cyclic collector (the console may run one in a worker
# while the CLI's never overlap): the last to end turns it on again.
_PAUSES = 0
_PAUSES_LOCK = threading.Lock()
_PAUSED_ENABLED = False


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an export runs.

    confluent-kafka makes one Message object per record, tracked by the collector: a
    million-record export set off some 1,400 collections, which found 431 objects in all
    and took 0.29 s of a 2.5 s export (measured). Records are freed by their reference
    counts, so nothing waits on the collector meanwhile; collections resume afterwards.
    """
    global _PAUSES, _PAUSED_ENABLED
    with _PAUSES_LOCK:
        if _PAUSES == 0:
            _PAUSED_ENABLED = gc.isenabled()
            gc.disable()
        _PAUSES += 1
    try:
        yield
    finally:
        with _PAUSES_LOCK:
            _PAUSES -= 1
            if _PAUSES == 0 and _PAUSED_ENABLED:
                gc.enable()


def _steps(reader: TopicReader, zw: ZipStream, topic: str, ranges: list[PartitionRange],
           deadline: float, cancel: threading.Event | None
           ) -> Generator[tuple[int, int], None, None]:
    """Each batch read through confluent-kafka goes into the zip; yields (partition,
    records added) after every batch."""
    for batch in reader.iter_batches(topic, ranges, deadline=deadline, cancel=cancel):
        raw = batch.values()
        # A null value becomes an empty entry (`all` is the cheap test: b"" stays b"").
        values = cast("list[bytes]", raw) if all(raw) else [v or b"" for v in raw]
        zw.add_batch(values)
        yield batch.partition, len(values)


# ------------------------------------------------------------------------------ open

@dataclass(frozen=True)
class OpenedBundle:
    """A bundle read once: archive comment metadata (None if absent) and the summary of
    every entry in bundle order (`offset` is the entry's place, `entry` its name), Basic
    reports attributed to a broker by their token."""

    path: str
    metadata: dict[str, Any] | None
    entries: Sequence[ReportSummary]
    # Fields of the archive comment left out for having the wrong type.
    metadata_problems: tuple[str, ...] = ()

    @property
    def decoded(self) -> int:
        """How many entries decoded to a record."""
        return sum(1 for e in self.entries if e.ok)


@dataclass(frozen=True)
class BundleFacts:
    """What a bundle says about itself (the archive comment), and what its entries say
    when the comment is silent: for the console's header and identity line."""

    name: str
    cluster_id: str | None
    cluster_from_records: bool  # the comment named no cluster: the records' own id
    topic: str | None
    records: int | None  # as the comment says
    total_offsets: int | None
    complete: bool | None
    created: str | None
    tool: str | None
    entries: int
    decoded: int

    @classmethod
    def of(cls, opened: OpenedBundle) -> BundleFacts:
        """The facts of an opened bundle (comment values of the wrong type are dropped)."""
        meta = opened.metadata or {}
        cluster = _meta_text(meta, "cluster_id")
        from_records = cluster is None
        if cluster is None:
            ids = Counter(e.cluster_id for e in opened.entries
                          if e.ok and e.cluster_id not in (None, "NA"))
            cluster = ids.most_common(1)[0][0] if ids else None
        tool = _meta_text(meta, "tool")
        version = _meta_text(meta, "tool_version")
        complete = meta.get("complete")
        return cls(name=os.path.basename(opened.path), cluster_id=cluster,
                   cluster_from_records=from_records, topic=_meta_text(meta, "topic"),
                   records=_meta_int(meta, "records"),
                   total_offsets=_meta_int(meta, "total_offsets"),
                   complete=complete if isinstance(complete, bool) else None,
                   created=_meta_text(meta, "created"),
                   tool=f"{tool} {version}" if tool and version else tool,
                   entries=len(opened.entries), decoded=opened.decoded)

    def describe(self) -> str:
        """One line: topic, records (complete or partial), when and by what."""
        parts = [f"topic {self.topic}" if self.topic else "topic not recorded"]
        if self.records is not None:
            of = f" of {self.total_offsets:,}" if self.total_offsets is not None and \
                self.total_offsets != self.records else ""
            parts.append(f"{self.records:,}{of} records")
        else:
            parts.append(f"{self.entries:,} entries")
        if self.complete is not None:
            parts.append("complete" if self.complete else "PARTIAL")
        if self.created or self.tool:
            parts.append(f"made {_readable_time(self.created)}"
                         + (f" by {self.tool}" if self.tool else ""))
        if not (self.topic or self.created or self.tool):
            parts.append("no archive comment (a bundle from Confluent's tool?)")
        return printable(", ".join(parts))


def _readable_time(created: str | None) -> str:
    """The comment's `2026-09-21T12:53:20Z` as `2026-09-21 12:53:20 UTC` (as written when
    it is not such a time)."""
    if created is None:
        return "(time not recorded)"
    try:
        stamp = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return created
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def _meta_text(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return value if isinstance(value, str) and value else None


def _meta_int(meta: dict[str, Any], key: str) -> int | None:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class BundleReader:
    """An open bundle whose entries are decoded one at a time (flat memory).

    Iterating gives a `Report` per entry, with its fields (`ps-console open --json` streams
    them from here); `opened()` keeps only summaries; `report(n)` reads entry n again.
    Raises NotFound for a missing file and BundleError for anything that is not a readable
    zip. Never writes to disk. Entries may be read from several threads (zipfile locks its
    file).
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
            self.metadata, self.metadata_problems = _parse_comment(self._zip.comment)
            self._infos = _ordered(self._zip.infolist())
            self._overlapping = _overlapping(self._infos)
        except BaseException:
            self._zip.close()
            raise
        from engine.reporting.records import DecodeBudget  # fastavro: opening only

        self._budget = DecodeBudget(CODEC_BUDGET_BYTES)

    def __len__(self) -> int:
        return len(self._infos)

    def __iter__(self) -> Iterator[Report]:
        for place in range(len(self._infos)):
            yield self.report(place)

    def report(self, place: int) -> Report:
        """Entry number `place` in bundle order (0 is the first), decoded; never raises
        for a damaged entry (it is a report with an error). IndexError past the end."""
        from engine.reporting.records import DecodedRecord, decode

        info = self._infos[place]
        data, problem = self._read(info)
        if data is None:
            return build_report(None, partition=None, offset=place, entry=info.filename,
                                decoded=DecodedRecord(False, None, None, problem),
                                size=info.file_size)
        return build_report(data, partition=None, offset=place, entry=info.filename,
                            decoded=decode(data, self._budget))

    def raw(self, place: int) -> bytes | None:
        """The bytes of entry `place`, None when it cannot be read."""
        return self._read(self._infos[place])[0]

    def _read(self, info: zipfile.ZipInfo) -> tuple[bytes | None, str]:
        if id(info) in self._overlapping:
            return None, "entry overlaps another one in the archive (refused unread)"
        if info.file_size > MAX_ENTRY_BYTES:
            return None, (f"entry of {info.file_size} bytes is over the "
                          f"{MAX_ENTRY_BYTES // 1024} KiB limit")
        if (info.compress_type != zipfile.ZIP_STORED and info.file_size > _RATIO_FREE_BYTES
                and info.file_size > MAX_EXPANSION * max(1, info.compress_size)):
            return None, (f"entry would expand {info.file_size // max(1, info.compress_size)}"
                          " times (refused unread)")
        try:
            with self._zip.open(info) as fh:
                data = fh.read(MAX_ENTRY_BYTES + 1)
        except Exception as exc:  # noqa: BLE001 - a damaged entry is reported, not fatal
            return None, f"cannot read entry: {_short(exc)}"
        if len(data) > MAX_ENTRY_BYTES:
            return None, "entry is larger than its declared size"
        return data, ""

    def opened(self) -> OpenedBundle:
        """Every entry summarised, in bundle order, attributed by the rules."""
        stated = ReportLog(r.summary() for r in self)
        owners = token_owners(stated)
        return OpenedBundle(self.path, self.metadata,
                            ReportLog(owners.attribute(r) for r in stated),
                            tuple(self.metadata_problems))

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_bundle(path: str) -> OpenedBundle:
    """Read a bundle made by this project or by CP's tool: the summary of every entry.

    Entries are ordered by the number their name ends with (CP named them with the path
    the operator typed, e.g. `/tmp/out/support-metrics.zip.3`), unnumbered ones after, in
    zip order. A damaged, oversized or undecodable entry is an entry with `ok` False and
    its `error`.
    """
    with BundleReader(path) as reader:
        return reader.opened()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


# The archive comment's fields this project writes, with their JSON types.
_COMMENT_FIELDS: dict[str, tuple[type, ...]] = {
    "format": (str,), "format_version": (int,), "tool": (str,), "tool_version": (str,),
    "created": (str,), "topic": (str,), "cluster_id": (str, type(None)),
    "entry_base": (str,), "records": (int,), "total_offsets": (int,), "complete": (bool,),
    "partitions": (list, type(None)), "partition_count": (int,),
}
_PARTITION_FIELDS = ("partition", "low", "high", "records")
# A comment is at most 65,535 bytes; its JSON nests two levels.
_MAX_COMMENT_DEPTH = 8


def _parse_comment(comment: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """The archive comment's metadata, each field of its type or left out, and the names
    of the fields left out: one odd field never hides the others (or the bundle)."""
    try:
        text = comment.decode("utf-8")
        if text.count("[") + text.count("{") > 4096 or _depth(text) > _MAX_COMMENT_DEPTH:
            return None, ["the archive comment nests too deep"]
        meta = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, []  # not ours (CP's tool wrote no comment)
    if not isinstance(meta, dict):
        return None, []
    kept: dict[str, Any] = {}
    problems: list[str] = []
    for key, types in _COMMENT_FIELDS.items():
        if key not in meta:
            continue
        value = meta[key]
        if isinstance(value, bool) and bool not in types:
            problems.append(key)
        elif isinstance(value, types):
            kept[key] = value
        else:
            problems.append(key)
    if isinstance(kept.get("partitions"), list):
        parts = [p for p in kept["partitions"] if isinstance(p, dict) and all(
            type(p.get(f)) is int for f in _PARTITION_FIELDS)]
        if len(parts) != len(kept["partitions"]):
            problems.append("partitions")
        kept["partitions"] = parts
    return kept, problems


def _depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _overlapping(infos: list[zipfile.ZipInfo]) -> set[int]:
    """Entries whose data shares bytes of the archive with another entry's (the trick of
    zip bombs that inflate one kernel many times): the ids of both are refused. Each span
    starts at the local header and runs at least over header, name and compressed data."""
    spans = sorted((i.header_offset, i.header_offset + 30 + len(i.orig_filename.encode(
        "utf-8", "surrogateescape")) + i.compress_size, id(i)) for i in infos)
    bad: set[int] = set()
    reach, owner = -1, -1
    for start, end, ident in spans:
        if start < reach:
            bad.update((ident, owner))
        if end > reach:
            reach, owner = end, ident
    return bad


def _ordered(infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
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
    return [info for _, _, info in numbered] + others


# ------------------------------------------------------------------------------ summary

_MAX_LISTED_ERRORS = 20


def summarize(opened: OpenedBundle, interval_s: float = DEFAULT_INTERVAL_S,
              unicode: bool = True) -> str:
    """A readable account of a bundle: metadata, records per broker token and schema,
    time range, versions seen, the story of each broker (tokens, states, events between
    its reports, gaps judged against `interval_s`, a timeline strip, in ASCII when not
    `unicode`), undecodable entries. Control characters from the bundle are escaped."""
    from engine.reading.story import story_lines

    lines = [f"Bundle {opened.path}"]
    meta = opened.metadata
    if meta:
        complete = meta.get("complete")
        lines.append(f"  written by {meta.get('tool', '?')} {meta.get('tool_version', '?')} "
                     f"at {meta.get('created', '?')}")
        lines.append(f"  topic {meta.get('topic', '?')}, cluster {meta.get('cluster_id')}, "
                     f"{meta.get('records', '?')} records of {meta.get('total_offsets', '?')} "
                     f"offsets, {'complete' if complete else 'PARTIAL'}")
        partitions = meta.get("partitions")
        for p in partitions if isinstance(partitions, list) else []:
            if isinstance(p, dict):
                lines.append(f"    partition {p.get('partition')}: offsets "
                             f"{p.get('low')}..{p.get('high')}, {p.get('records')} records")
    else:
        lines.append("  no metadata in the archive comment (a bundle from CP's tool?)")
    if opened.metadata_problems:
        lines.append("  archive comment fields of the wrong type, left out: "
                     + ", ".join(opened.metadata_problems))
    entries = opened.entries
    good = [e for e in entries if e.ok]
    bad = [e for e in entries if not e.ok]
    lines.append(f"  entries: {len(entries)}, decoded {len(good)}, "
                 f"undecodable {len(bad)}")
    if good:
        by_schema = Counter(e.schema or "?" for e in good)
        by_token = Counter(e.token or "?" for e in good)
        stamps = [e.time_s for e in good if e.time_s is not None]
        versions = Counter(f"Kafka {e.kafka_version or '?'} / CP {e.cp_version or '-'}"
                           for e in good)
        clusters = Counter(e.cluster_id or "NA" for e in good)
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
        lines += story_lines(entries, interval_s, unicode)
    if bad:
        lines.append("  undecodable entries:")
        lines += [f"    {e.entry}: {e.error}" for e in bad[:_MAX_LISTED_ERRORS]]
        if len(bad) > _MAX_LISTED_ERRORS:
            lines.append(f"    ... and {len(bad) - _MAX_LISTED_ERRORS} more")
    # Names, tokens and versions come from the bundle: no control character reaches a
    # terminal.
    return "\n".join(printable(line) for line in lines)


def _utc(seconds: int) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{seconds} (out of range)"
