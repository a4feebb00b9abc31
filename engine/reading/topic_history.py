"""The history of one broker in the support topic, at any size: an index of where its
records sit, found from record headers in the background, newest first, and rows decoded
only when a view shows them (or, later, by a background pass that feeds the events, the
timeline and the filter).

Why: decoding a report costs about 25 us, a million of them half a minute, and a million
summaries held as objects 375 MB. The `broker.id` header every report of this project
carries says whose a record is without decoding it, and reading records by position
(`TopicReader.read_messages`) costs a few milliseconds a window. So:

- The partition's offsets are cut into blocks of `BLOCK` offsets. A block, once indexed,
  holds the offsets and Kafka times of the broker's records in it (two int64 arrays), and,
  once decoded, their summaries in a `ReportLog` (about 60 bytes a report).
- Row 0 is the newest record. A block not indexed yet counts as many rows as the share of
  the broker's records among the records indexed so far predicts; its rows are `Unread`
  estimates until it is indexed, so a view can jump to the oldest rows (End) before the
  whole topic is indexed: the rows it shows are indexed first.
- `work()` does one bounded step, in this order: follow the end of the topic (an open
  history grows), index the blocks the view shows, decode the rows it shows, index the
  rest newest first, then decode the rest newest first.

Rows are in arrival order (offset order; the support topic has one partition): the rules
order a history by collected time, which differs only for a report resent from an agent's
spool. A topic of several partitions is read whole and ordered by the rules
(`open_topic_history`).

Attribution follows the rules with one limit: a record without a usable `broker.id` header
(written by Confluent's agent, or damaged) is decoded when indexed; an Enhanced report
belongs to the broker it names, a Basic one to the broker whose own reports carry its
token, once those are decoded. A token also carried by another broker's reports (which are
not decoded here) is not seen as contested. Resent duplicates (same `report.id`) are
dropped within one read window.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from engine.errors import PsError
from engine.reading import rules
from engine.reading.history import History, ListHistory, Progress, Row, Unread
from engine.reading.report import (
    BROKER_ID_HEADER,
    BY_TOKEN,
    REPORT_ID_HEADER,
    ReportSummary,
    build_report,
)
from engine.reading.report_log import ReportLog
from engine.reading.rules import Event, TokenOwners
from engine.reading.timeline import Timeline, build_timeline, count_arrivals

if TYPE_CHECKING:
    from confluent_kafka import Message

    from engine.cluster.session import ClusterSession
    from engine.reading.topic_reader import TopicReader

# A block is what a jump of the view reads before it shows rows: a read of 1,024 reports
# (about 750 KB) takes about 7 ms on a local broker, one of 4,096 about 17 ms.
BLOCK = 1024
# Background index steps read this many blocks at once (fewer round trips); a jump of the
# view stops the read in progress at the next block, then reads its own block alone.
INDEX_BLOCKS_PER_STEP = 4
# Records decoded per step of the background pass (about 12 ms of CPU).
DECODE_SLICE = 512
# Decoded rows outside the background pass's reach kept for the view (offset -> summary).
PAGE_CACHE = 4096
# How often the end of the topic is looked at, and the most new records taken at once.
TAIL_SECONDS = 2.0
# Rows above and below what the view shows that are read with it.
WANT_MARGIN = 50
# While the view moves (a scroll, a jump) the background pass waits until it has been
# still this long: the reads and the decoding of the rows it asks for do not share the
# interpreter with the rest.
VIEW_SETTLE = 0.25
# A failed read is tried again after this long (the history says why meanwhile).
RETRY_SECONDS = 2.0


class _Block:
    """Offsets [start, stop) of the partition; [start, scanned_to) indexed."""

    __slots__ = ("decode_gen", "first_ms", "last_ms", "log", "number", "offsets",
                 "scanned_to", "start", "stop", "times")

    def __init__(self, number: int, start: int, stop: int) -> None:
        self.number = number
        self.start = start
        self.stop = stop
        self.scanned_to = start
        self.offsets = array("q")  # the subject's records, ascending
        self.times = array("q")  # their Kafka times
        self.first_ms: int | None = None  # Kafka time of the first record read here
        self.last_ms: int | None = None
        self.log = ReportLog()  # summaries of offsets[:len(log)]
        self.decode_gen = 0  # bumped when `log` is rebuilt (not merely appended to)

    @property
    def unscanned(self) -> int:
        return self.stop - self.scanned_to

    @property
    def decoded(self) -> int:
        return len(self.log)


def open_topic_history(session: ClusterSession, topic: str, broker_id: int | None,
                       interval_s: float = rules.DEFAULT_INTERVAL_S,
                       on_close: Callable[[], None] | None = None) -> History:
    """The history of `broker_id` (None: every record of the topic) in `topic`.

    One partition (the support topic's shape): a `TopicHistory` with a reader of its own
    on `session`, reading in the background; closing it closes the reader and calls
    `on_close` (the caller's session). Several partitions: the topic is read whole now and
    ordered by the rules, as a `ListHistory` (and `on_close` is called at once).
    """
    from engine.reading.topic_reader import TopicReader

    # A window of the topic is asked for while its end is in view: a broker holding the
    # fetch 100 ms for more data would add that to every look at the end. Reads are a block
    # at a time, at offsets far apart: librdkafka prefetching past a block (a bulk read's
    # 16 MB) fetched and parsed records the next read, elsewhere, throws away.
    reader = TopicReader(session, **{"fetch.wait.max.ms": 10,
                                     "queued.min.messages": BLOCK * INDEX_BLOCKS_PER_STEP,
                                     "queued.max.messages.kbytes": 4096})
    try:
        partitions = reader.partitions(topic)
        if len(partitions) == 1:
            return TopicHistory(reader, topic, partitions[0], broker_id, interval_s,
                                owns_reader=True, on_close=on_close)
        from engine.reading.reports import read_reports

        log = ReportLog(read_reports(reader, topic))
        chosen = rules.history(log, broker_id) if broker_id is not None else \
            rules.attribute(log)
    except BaseException:
        reader.close()
        if on_close is not None:
            on_close()
        raise
    reader.close()
    if on_close is not None:
        on_close()
    return ListHistory(chosen, _label(broker_id), interval_s)


def _label(broker_id: int | None) -> str:
    return f"history of broker {broker_id}" if broker_id is not None else "every report"


_Headers = list[tuple[str, bytes | None]]


def _headers(m: Message) -> _Headers:
    """A data message's headers: (str, bytes) pairs (confluent-kafka's types also allow
    what a producer may pass in)."""
    return cast("_Headers", m.headers() or [])


def _header(headers: _Headers, wanted: str) -> bytes | None:
    for name, value in headers:
        if name == wanted:
            return value
    return None


def _header_dict(headers: _Headers) -> dict[str, bytes]:
    return {k: (v or b"") for k, v in headers}


class TopicHistory(History):
    """See the module docstring. Thread-safe: one worker thread calls `work`, the view's
    thread the rest."""

    def __init__(self, reader: TopicReader, topic: str, partition: int,
                 broker_id: int | None, interval_s: float = rules.DEFAULT_INTERVAL_S,
                 owns_reader: bool = False, clock: Callable[[], float] = time.monotonic,
                 on_close: Callable[[], None] | None = None) -> None:
        self.label = _label(broker_id)
        self.interval_s = interval_s
        self.topic = topic
        self.partition = partition
        self.broker_id = broker_id
        self._reader = reader
        self._owns_reader = owns_reader
        self._on_close = on_close
        self._clock = clock
        self._lock = threading.RLock()
        # Held while the reader reads: `close` waits for a read to end rather than close a
        # consumer inside a poll (which librdkafka does not allow).
        self._io = threading.Lock()
        self._wake = threading.Event()
        self._wanted = (0, 0)
        self._moved_at = -VIEW_SETTLE  # when the view last asked for other rows
        self._interrupt = threading.Event()  # set then: a background read stops early
        self._blocks: list[_Block] = []
        self._first = 0  # the number of _blocks[0]
        self._low = self._high = 0
        self._span: tuple[int, int] | None = None
        self._page: OrderedDict[int, ReportSummary] = OrderedDict()
        self._events: dict[int, list[Event]] = {}
        self._tokens: set[str] = set()  # tokens of the subject's own records
        self._owners = TokenOwners()
        # Records without a header that may belong by their token: token -> summaries.
        self._pending: dict[str, list[ReportSummary]] = {}
        self._layout: tuple[list[int], list[int]] | None = None  # newest first: counts, starts
        # The subject's share of the records indexed, which the estimates of the blocks not
        # indexed yet use. Worked out again after a step of the background pass, not after
        # the read of a block the view jumped to: a new share moves every estimated row,
        # and the rows on screen would then be in another block, read next.
        self._share: float | None = None
        self._next_tail = 0.0
        self._problem: str | None = None
        self._retry_at = 0.0
        self._closed = False
        # The strip's arrivals: per block (its length when counted, cells), their sum, and
        # the strip they were counted for (span and cells).
        self._bins: dict[int, tuple[int, list[int]]] = {}
        self._bin_total: list[int] = []
        self._bin_key: tuple[int, int, int] | None = None
        # Offsets a read did not return (deleted meanwhile): not asked for again until the
        # next look at the partition's ends.
        self._missing: set[int] = set()
        # The records of the block the background pass decodes, read once for its slices:
        # (block number, offset -> message, end offset of the read).
        self._block_read: tuple[int, dict[int | None, Message], int] | None = None
        self._progress = Progress(rows=0, exact=False)
        self._tail()
        self._measure()

    # -- the view's side -----------------------------------------------------------------

    def progress(self) -> Progress:
        # Worked out by the worker after each step that changed something: the view asks
        # for it several times a frame, and a pass over a thousand blocks under the lock
        # each time slowed every frame (and the worker) down.
        return self._progress

    def _measure(self) -> None:
        with self._lock:
            counts, _ = self._counts()
            total = self._high - self._low
            scanned = members = decoded = 0
            for b in self._blocks:
                scanned += b.scanned_to - b.start
                members += len(b.offsets)
                decoded += len(b.log)
            self._progress = Progress(rows=sum(counts), exact=scanned >= total,
                                      indexed=scanned / total if total else 1.0,
                                      decoded=decoded / members if members else 1.0,
                                      following=True, problem=self._problem)

    def rows(self, start: int, stop: int) -> list[Row]:
        with self._lock:
            counts, starts = self._counts()
            total = sum(counts)
            start, stop = max(0, start), min(stop, total)
            out: list[Row] = []
            r = start
            while r < stop:
                bi = bisect.bisect_right(starts, r) - 1
                block = self._blocks[len(self._blocks) - 1 - bi]
                j = r - starts[bi]
                estimated = counts[bi] - len(block.offsets)
                take = min(stop - r, counts[bi] - j)
                for k in range(j, j + take):
                    out.append(self._row_in(block, k, estimated))
                r += take
            return out

    def _row_in(self, block: _Block, k: int, estimated: int) -> Row:
        """Row k of a block counted from its newest; the estimated rows (an unindexed
        part, always the block's newest) come first."""
        if k < estimated:
            return Unread(self.partition)
        i = len(block.offsets) - 1 - (k - estimated)
        if i < block.decoded:
            return block.log[i]
        offset = block.offsets[i]
        cached = self._page.get(offset)
        if cached is not None:
            return cached
        return Unread(self.partition, offset, block.times[i])

    def want(self, start: int, stop: int) -> None:
        wanted = (max(0, start - WANT_MARGIN), stop + WANT_MARGIN)
        with self._lock:
            if wanted != self._wanted:
                before = self._wanted_span()
                self._wanted = wanted
                # Rows that merely moved as the index replaced estimates are the same
                # reports in the same blocks: not a move of the view.
                if self._wanted_span() != before:
                    self._moved_at = self._clock()
                    self._interrupt.set()
        self._wake.set()

    def _wanted_span(self) -> tuple[int, int] | None:
        """The numbers of the first and the last block the view shows."""
        blocks = self._wanted_blocks()
        return (blocks[0].number, blocks[-1].number) if blocks else None

    def wait(self, seconds: float) -> None:
        with self._lock:
            settling = self._moved_at + VIEW_SETTLE - self._clock()
        if settling > 0:  # the background pass goes on once the view is still
            seconds = min(seconds, settling)
        self._wake.wait(seconds)
        self._wake.clear()

    def events_of(self, row: ReportSummary) -> list[Event]:
        with self._lock:
            return list(self._events.get(row.offset, ())) \
                if row.partition == self.partition else []

    def events(self) -> list[Event]:
        with self._lock:
            return [e for off in sorted(self._events) for e in self._events[off]]

    def find(self, row: ReportSummary) -> int | None:
        if row.partition != self.partition:
            return None
        with self._lock:
            number = row.offset // BLOCK
            if not self._first <= number < self._first + len(self._blocks):
                return None
            block = self._blocks[number - self._first]
            i = bisect.bisect_left(block.offsets, row.offset)
            if i >= len(block.offsets) or block.offsets[i] != row.offset:
                return None
            counts, starts = self._counts()
            bi = len(self._blocks) - 1 - (number - self._first)
            estimated = counts[bi] - len(block.offsets)
            return starts[bi] + estimated + (len(block.offsets) - 1 - i)

    def summary_at(self, offset: int) -> ReportSummary | None:
        """The decoded summary of one of the subject's records, None when not decoded."""
        with self._lock:
            number = offset // BLOCK
            if not self._first <= number < self._first + len(self._blocks):
                return None
            block = self._blocks[number - self._first]
            i = bisect.bisect_left(block.offsets, offset)
            if i < block.decoded and block.offsets[i] == offset:
                return block.log[i]
            return self._page.get(offset)

    def timeline(self, cells: int) -> Timeline | None:
        """The strip over the topic's span (Kafka times of its first and last record);
        stretches not indexed yet are shown as such. Costs a pass over the arrivals of
        blocks whose counts changed: call it from a worker thread."""
        with self._lock:
            if self._span is None:
                return None
            start, end = self._span
            n = max(1, cells)
            unread: list[tuple[int, int]] = []
            known = start
            run_from: int | None = None
            for block in self._blocks:
                if block.scanned_to == block.start:
                    if run_from is None:
                        run_from = known
                    continue
                if run_from is not None:
                    unread.append((run_from, block.first_ms if block.first_ms is not None
                                   else known))
                    run_from = None
                self._count_block(block, start, end, n)
                if block.last_ms is not None:
                    known = block.last_ms
                if block.unscanned:
                    run_from = known
            if run_from is not None:
                unread.append((run_from, end + 1))
            counts = list(self._bin_total)
            events = [e for off in sorted(self._events) for e in self._events[off]]
        return build_timeline((), events, start, end, n, unread, counts=counts)

    def _count_block(self, block: _Block, start: int, end: int, n: int) -> None:
        """Add a block's arrivals per cell to the strip's total, counted again only when
        the block changed: a million arrivals take a third of a second to count, and
        adding every block's cells up again at each look some 10 ms."""
        if self._bin_key != (start, end, n):
            self._bin_key = (start, end, n)
            self._bins.clear()
            self._bin_total = [0] * n
        held = self._bins.get(block.number)
        if held is not None and held[0] == len(block.times):
            return
        bins = count_arrivals(block.times, start, end, n)
        total = self._bin_total
        old = held[1] if held is not None else [0] * n
        for i in range(n):
            total[i] += bins[i] - old[i]
        self._bins[block.number] = (len(block.times), bins)

    def _drop_bins(self, number: int) -> None:
        held = self._bins.pop(number, None)
        if held is not None:
            total = self._bin_total
            for i, c in enumerate(held[1]):
                total[i] -= c

    def matching(self, text: str) -> History:
        if not text:
            return self
        return TopicMatches(self, text)

    def close(self) -> None:
        """Stop reading and close the reader (after the read in progress, if any: call it
        off the UI thread)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        with self._io:
            if self._owns_reader:
                self._reader.close()
        if self._on_close is not None:
            self._on_close()

    # -- layout ---------------------------------------------------------------------------

    def _density(self) -> float:
        scanned = sum(b.scanned_to - b.start for b in self._blocks)
        members = sum(len(b.offsets) for b in self._blocks)
        return members / scanned if scanned else 0.0

    def _counts(self) -> tuple[list[int], list[int]]:
        """Rows per block, newest block first, and where each block's rows start."""
        if self._layout is None:
            if self._share is None:
                self._share = self._density()
            density = self._share
            counts = [len(b.offsets) + round(b.unscanned * density)
                      for b in reversed(self._blocks)]
            starts, at = [], 0
            for c in counts:
                starts.append(at)
                at += c
            self._layout = (counts, starts)
        return self._layout

    def _changed(self) -> None:
        self._layout = None

    # -- the worker's side ----------------------------------------------------------------

    @property
    def idle(self) -> bool:
        with self._lock:
            if self._closed:
                return True
            if self._problem is not None and self._clock() < self._retry_at:
                return True
            if self._clock() >= self._next_tail:
                return False
            return self._plan() is None

    @property
    def behind_view(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            plan = self._plan()
            return plan is not None and plan[0] in ("scan", "page")

    def work(self, cancel: threading.Event) -> bool:
        """One step (see the module docstring); True when rows or counts changed. A read
        that fails is tried again after `RETRY_SECONDS`; `progress().problem` says why."""
        changed = self._step(cancel)
        if changed:
            self._measure()
        return changed

    def _step(self, cancel: threading.Event) -> bool:
        if cancel.is_set() or self._closed:
            return False
        if self._problem is not None and self._clock() < self._retry_at:
            return False
        try:
            with self._io:
                if self._closed:
                    return False
                if self._clock() >= self._next_tail and self._tail():
                    return True
                with self._lock:
                    plan = self._plan()
                if plan is None:
                    return False
                kind, argument = plan
                if kind in ("scan", "index"):
                    self._scan(argument[0], argument[1], background=kind == "index")
                elif kind == "page":
                    self._fetch_page(argument)
                else:
                    self._decode(argument[0])
        except PsError as exc:
            with self._lock:
                self._problem = str(exc)
                self._retry_at = self._clock() + RETRY_SECONDS
            return True
        with self._lock:
            self._problem = None
        return True

    def _plan(self) -> tuple[str, tuple[int, ...]] | None:
        """The next step, under the lock: what the view shows first, then the rest."""
        if not self._blocks:
            return None
        wanted = self._wanted_blocks()
        for block in wanted:
            if block.unscanned:
                return "scan", (block.number, block.number + 1)
        page = self._wanted_undecoded(wanted)
        if page:
            return "page", tuple(page)
        if wanted and self._clock() - self._moved_at < VIEW_SETTLE:
            return None  # (a view with no rows yet waits for the index to find some)
        for i in range(len(self._blocks) - 1, -1, -1):
            if self._blocks[i].unscanned:
                first = i
                while first > 0 and i - first + 1 < INDEX_BLOCKS_PER_STEP and \
                        self._blocks[first - 1].unscanned:
                    first -= 1
                return "index", (self._blocks[first].number, self._blocks[i].number + 1)
        for i in range(len(self._blocks) - 1, -1, -1):
            block = self._blocks[i]
            if block.decoded < len(block.offsets):
                return "decode", (block.number,)
        return None

    def _wanted_blocks(self) -> list[_Block]:
        counts, starts = self._counts()
        start, stop = self._wanted
        stop = min(stop, sum(counts))
        if stop <= start:
            return []
        first = bisect.bisect_right(starts, start) - 1
        last = bisect.bisect_right(starts, max(start, stop - 1)) - 1
        n = len(self._blocks)
        return [self._blocks[n - 1 - bi] for bi in range(max(first, 0), min(last, n - 1) + 1)]

    def _wanted_undecoded(self, blocks: list[_Block]) -> list[int]:
        start, stop = self._wanted
        rows = self.rows(start, stop)
        return [r.offset for r in rows if isinstance(r, Unread) and r.offset is not None
                and r.offset not in self._missing]

    # -- steps ----------------------------------------------------------------------------

    def _tail(self) -> bool:
        """Look at the partition's ends: add blocks for new offsets, drop what retention
        deleted. True when the history changed."""
        self._next_tail = self._clock() + TAIL_SECONDS
        ranges = {r.partition: r for r in self._reader.end_offsets(self.topic)}
        rng = ranges.get(self.partition)
        if rng is None:
            return False
        with self._lock:
            if (rng.low, rng.high) == (self._low, self._high):
                return False
            if rng.high < self._high:
                self._reset()  # the topic was deleted and made again
            grew = rng.high > self._high
            self._missing.clear()
            self._retain(rng.low)
            self._extend(rng.low, rng.high)
            self._low, self._high = rng.low, rng.high
            self._changed()
        if rng.high > rng.low:
            self._read_span(rng.low, rng.high, grew)
        return True

    def _retain(self, low: int) -> None:
        while self._blocks and self._blocks[0].stop <= low:
            gone = self._blocks.pop(0)
            self._first += 1
            self._drop_bins(gone.number)
            for off in gone.offsets:
                self._events.pop(off, None)
        if not self._blocks:
            self._first = low // BLOCK
            return
        head = self._blocks[0]
        if head.start < low:
            keep = bisect.bisect_left(head.offsets, low)
            for off in head.offsets[:keep]:
                self._events.pop(off, None)
            head.offsets = head.offsets[keep:]
            head.times = head.times[keep:]
            head.log = ReportLog(head.log[keep:]) if keep < head.decoded else ReportLog()
            head.decode_gen += 1
            head.start = low
            head.scanned_to = max(head.scanned_to, low)

    def _reset(self) -> None:
        self._blocks.clear()
        self._events.clear()
        self._page.clear()
        self._bins.clear()
        self._bin_key = None
        self._pending.clear()
        self._tokens.clear()
        self._owners = TokenOwners()
        self._span = None
        self._share = None
        self._low = self._high = 0

    def _extend(self, low: int, high: int) -> None:
        if not self._blocks:
            start = low
            self._first = low // BLOCK
        else:
            last = self._blocks[-1]
            last.stop = max(last.stop, min((last.number + 1) * BLOCK, high))
            start = last.stop
        while start < high:
            number = start // BLOCK
            stop = min((number + 1) * BLOCK, high)
            self._blocks.append(_Block(number, start, stop))
            start = stop

    def _read_span(self, low: int, high: int, grew: bool) -> None:
        """The Kafka times of the partition's first and last record: the timeline's span."""
        first = self._reader.read_messages(self.topic, self.partition, low, low + 1)
        last = self._reader.read_messages(self.topic, self.partition, high - 1, high) \
            if grew or self._span is None else []
        with self._lock:
            start = first[0].timestamp()[1] if first else (self._span or (0, 0))[0]
            end = last[0].timestamp()[1] if last else (self._span or (start, start))[1]
            self._span = (start, max(start, end))

    def _scan(self, number_from: int, number_to: int, background: bool = False) -> None:
        """Index blocks [number_from, number_to): read their records, keep the subject's
        offsets and times, decode only records without a usable header. A step of the
        background pass stops early when the view moves (what it read is kept)."""
        with self._lock:
            blocks = [self._blocks[n - self._first] for n in range(number_from, number_to)
                      if 0 <= n - self._first < len(self._blocks)]
            if not blocks:
                return
            start, stop = blocks[0].scanned_to, blocks[-1].stop
            if background:
                self._interrupt.clear()
        if background:
            messages = self._reader.read_messages(self.topic, self.partition, start, stop,
                                                  cancel=self._interrupt, batch=BLOCK)
            if self._interrupt.is_set():
                stop = (messages[-1].offset() or start) + 1 if messages else start
        else:
            messages = self._reader.read_messages(self.topic, self.partition, start, stop)
        wanted = None if self.broker_id is None else str(self.broker_id).encode()
        # Per block: offsets and times found, decoded summaries, first and last time. The
        # loop is the hot path of indexing (a million records): plain locals, no calls of
        # our own but for records without the subject's header.
        found: dict[int, tuple[array[int], array[int], list[ReportSummary], list[int]]] = {}
        seen: set[bytes] = set()
        number = -1
        offsets = times = array("q")
        decoded: list[ReportSummary] = []
        span = [0, 0]
        for m in messages:
            offset = m.offset()
            if offset is None:
                continue
            ms = m.timestamp()[1]
            if offset // BLOCK != number:
                number = offset // BLOCK
                offsets, times, decoded, span = array("q"), array("q"), [], [ms, ms]
                found[number] = (offsets, times, decoded, span)
            span[1] = ms
            header = rid = None
            for name, value in cast("_Headers", m.headers() or ()):
                if name == BROKER_ID_HEADER:
                    header = value
                elif name == REPORT_ID_HEADER:
                    rid = value
            if rid is not None:
                if rid in seen:
                    continue  # a resend of a report this window already holds
                seen.add(rid)
            if wanted is None or header == wanted:
                offsets.append(offset)
                times.append(ms)
                continue
            summary = self._attribution(m, header)
            if summary is not None:
                offsets.append(offset)
                times.append(ms)
                decoded.append(summary)
        with self._lock:
            if self._closed:
                return
            for block in blocks:
                if block.number - self._first < 0:
                    continue
                lo, hi = block.scanned_to, min(block.stop, stop)
                if hi <= lo:
                    continue  # not reached by a read that stopped early
                got = found.get(block.number)
                if got is not None:
                    new_offsets, new_times, summaries, (first_ms, last_ms) = got
                    keep = bisect.bisect_left(new_offsets, lo)
                    block.offsets.extend(new_offsets[keep:])
                    block.times.extend(new_times[keep:])
                    for summary in summaries:
                        if summary.offset >= lo:
                            self._page[summary.offset] = summary
                    if block.first_ms is None:
                        block.first_ms = first_ms
                    block.last_ms = last_ms
                block.scanned_to = hi
            self._trim_page()
            self._changed()
            if background:
                self._share = None
            # The rows the view shows that this read holds are decoded now, not by a read
            # of their own after it: a jump of the view waits for one read, not two.
            shown = [off for off in self._wanted_undecoded(self._wanted_blocks())
                     if start <= off < stop]
        if shown:
            self._page_in(messages, set(shown))

    def _attribution(self, m: Message, header: bytes | None) -> ReportSummary | None:
        """A record whose header does not name the subject: None when it is another
        broker's; decoded when no usable header says whose it is."""
        from engine.reading.report import _broker_id, header_text

        if header is not None and _broker_id(header_text({BROKER_ID_HEADER: header},
                                                         BROKER_ID_HEADER)) is not None:
            return None  # a header that names another broker
        summary = build_report(m.value(), partition=self.partition, offset=m.offset() or 0,
                               kafka_ms=m.timestamp()[1],
                               headers=_header_dict(_headers(m))).summary()
        with self._lock:
            self._owners.learn(summary)
            if summary.broker_id == self.broker_id:
                return summary
            if summary.broker_id is None and summary.token is not None:
                if summary.token in self._tokens and \
                        self._owners.owner(summary.token) in (None, self.broker_id):
                    return self._claimed(summary)
                self._pending.setdefault(summary.token, []).append(summary)
        return None

    def _claimed(self, summary: ReportSummary) -> ReportSummary:
        return dataclasses.replace(summary, broker_id=self.broker_id, attributed_by=BY_TOKEN)

    def _fetch_page(self, offsets: tuple[int, ...]) -> None:
        """Decode the records the view shows that the background pass has not reached."""
        by_block: dict[int, list[int]] = {}
        for off in offsets:
            by_block.setdefault(off // BLOCK, []).append(off)
        for group in by_block.values():
            wanted = set(group)
            messages = self._reader.read_messages(self.topic, self.partition, min(group),
                                                  max(group) + 1)
            found = self._page_in(messages, wanted)
            with self._lock:
                self._missing.update(wanted - found)

    def _page_in(self, messages: list[Message], wanted: set[int]) -> set[int]:
        """Decode the records at the `wanted` offsets into the rows the view is shown;
        the offsets found among `messages`."""
        decoded = [self._decoded(m) for m in messages if m.offset() in wanted]
        with self._lock:
            for summary in decoded:
                self._page[summary.offset] = summary
            self._trim_page()
        return {r.offset for r in decoded}

    def _trim_page(self) -> None:
        while len(self._page) > PAGE_CACHE:
            self._page.popitem(last=False)

    def _decoded(self, m: Message) -> ReportSummary:
        summary = build_report(m.value(), partition=self.partition, offset=m.offset() or 0,
                               kafka_ms=m.timestamp()[1],
                               headers=_header_dict(_headers(m))).summary()
        if summary.broker_id is None and self.broker_id is not None:
            summary = self._claimed(summary)
        return summary

    def _decode(self, number: int) -> None:
        """The background pass: decode the next `DECODE_SLICE` records of a block, its
        records read once for all its slices."""
        with self._lock:
            index = number - self._first
            if not 0 <= index < len(self._blocks):
                return
            block = self._blocks[index]
            begin = block.decoded
            end = min(len(block.offsets), begin + DECODE_SLICE)
            if begin >= end:
                return
            targets = block.offsets[begin:end]
            gen = block.decode_gen
            held: dict[int, ReportSummary] = {}
            for off in targets:
                cached = self._page.get(off)
                if cached is not None:
                    held[off] = cached
            read = self._block_read
        if any(off not in held for off in targets):
            if read is None or read[0] != number or targets[-1] not in read[1] and \
                    targets[-1] < read[2]:
                messages = self._reader.read_messages(
                    self.topic, self.partition, targets[0], block.offsets[-1] + 1)
                read = (number, {m.offset(): m for m in messages}, block.offsets[-1] + 1)
            for off in targets:
                if off not in held:
                    m = read[1].get(off)
                    if m is not None:
                        held[off] = self._decoded(m)
        with self._lock:
            self._block_read = read if end < len(block.offsets) else None
            if self._closed or block.decode_gen != gen or block.decoded != begin or \
                    number - self._first < 0:
                return
            fresh = [held[off] for off in targets if off in held]
            if len(fresh) != len(targets):
                # Gone meanwhile (retention): index them as gone by dropping them.
                keep = [i for i, off in enumerate(block.offsets) if i < begin or
                        off in held or i >= end]
                block.offsets = array("q", (block.offsets[i] for i in keep))
                block.times = array("q", (block.times[i] for i in keep))
                self._changed()
            context = self._context(block, begin)
            block.log.extend(fresh)
            self._set_events(context, fresh)
            if block.decoded == len(block.offsets):
                self._after_block_decoded(block)
            # Last: a token learnt here may bring records without a header into this or
            # another block, which then works its events out again.
            self._learn(fresh)

    def _learn(self, fresh: list[ReportSummary]) -> None:
        """Tokens of the subject's own records: header-less Basic reports waiting for one
        of them join the history."""
        if self.broker_id is None:
            return
        new = {r.token for r in fresh if r.token is not None and r.attributed_by != BY_TOKEN}
        for r in fresh:
            self._owners.learn(r)
        new -= self._tokens
        self._tokens |= new
        for token in new:
            for summary in self._pending.pop(token, []):
                if self._owners.owner(token) in (None, self.broker_id):
                    self._join(self._claimed(summary))

    def _join(self, summary: ReportSummary) -> None:
        number = summary.offset // BLOCK
        index = number - self._first
        if not 0 <= index < len(self._blocks):
            return
        block = self._blocks[index]
        i = bisect.bisect_left(block.offsets, summary.offset)
        if i < len(block.offsets) and block.offsets[i] == summary.offset:
            return
        block.offsets.insert(i, summary.offset)
        block.times.insert(i, summary.kafka_ms or 0)
        if i < block.decoded:
            rows = list(block.log)
            rows.insert(i, summary)
            block.log = ReportLog(rows)
            block.decode_gen += 1
            self._recompute_block_events(block)
            if block.decoded == len(block.offsets):
                self._after_block_decoded(block)  # its last row may be the new one
        else:
            self._page[summary.offset] = summary
        self._changed()

    # -- events ---------------------------------------------------------------------------

    def _context(self, block: _Block, begin: int) -> list[ReportSummary] | None:
        """The rows before row `begin` of a block that its events compare with: the row
        just before and the last decodable one; None when the row before is unknown."""
        if begin > 0:
            rows = block.log
            before = rows[begin - 1]
            if before.ok:
                return [before]
            for i in range(begin - 2, -1, -1):
                if rows[i].ok:
                    return [rows[i], before]
            # No decodable row in this block before it: the last one is further back.
            earlier = self._context(block, 0)
            if earlier is None:
                return None
            return [r for r in earlier if r.ok][-1:] + [before]
        index = block.number - self._first
        for i in range(index - 1, -1, -1):
            older = self._blocks[i]
            if older.unscanned:
                return None
            if not older.offsets:
                continue
            if older.decoded < len(older.offsets):
                return None
            return self._context(older, older.decoded)
        return []  # the oldest record of the topic: nothing before it

    def _set_events(self, context: list[ReportSummary] | None,
                    fresh: list[ReportSummary]) -> None:
        if not fresh:
            return
        mine = {r.offset for r in fresh}
        for off in mine:
            self._events.pop(off, None)
        found = rules.events((context or []) + fresh, self.interval_s)
        for event in found:
            # With the row before unknown (None), the first row only has its own events
            # (shutdown, undecodable); the rest come when the older block is decoded.
            if event.after.offset in mine:
                self._events.setdefault(event.after.offset, []).append(event)

    def _after_block_decoded(self, block: _Block) -> None:
        """A block is decoded whole: the next newer block's first rows can now be compared
        with its last ones."""
        index = block.number - self._first
        for i in range(index + 1, len(self._blocks)):
            newer = self._blocks[i]
            if newer.unscanned and not newer.offsets:
                return
            if not newer.offsets:
                continue
            if newer.decoded:
                self._recompute_boundary(newer)
            if newer.decoded == len(newer.offsets) and not any(r.ok for r in newer.log):
                continue  # nothing decodable there: the next block compares with this one
            return

    def _recompute_boundary(self, block: _Block) -> None:
        """Events of a block's first rows, up to its first decodable one: the only rows
        whose events look at the block before."""
        rows: list[ReportSummary] = []
        for i in range(block.decoded):
            rows.append(block.log[i])
            if rows[-1].ok:
                break
        self._set_events(self._context(block, 0), rows)

    def _recompute_block_events(self, block: _Block) -> None:
        self._set_events(self._context(block, 0), list(block.log))


class TopicMatches(History):
    """The decoded rows of a `TopicHistory` whose search text holds `text`, newest first;
    it examines rows as the parent decodes them (its `work` drives the parent)."""

    def __init__(self, parent: TopicHistory, text: str) -> None:
        self.parent = parent
        self.text = text
        self.label = parent.label
        self.interval_s = parent.interval_s
        self._seen: dict[int, tuple[int, int]] = {}  # block -> (decode_gen, rows examined)
        self._hits: dict[int, list[int]] = {}  # block -> matching offsets, ascending
        self._flat: list[int] | None = None  # every hit, newest first
        self._refresh()

    def _refresh(self) -> bool:
        parent = self.parent
        changed = False
        with parent._lock:
            for block in parent._blocks:
                gen, done = self._seen.get(block.number, (block.decode_gen, 0))
                if gen != block.decode_gen:
                    done = 0
                    self._hits.pop(block.number, None)
                    changed = True
                if done < block.decoded:
                    hits = [block.log.offset_at(i)
                            for i in block.log.matching(self.text, done, block.decoded)]
                    if hits:
                        self._hits.setdefault(block.number, []).extend(hits)
                    changed = True
                self._seen[block.number] = (block.decode_gen, block.decoded)
            for number in [n for n in self._hits if n < parent._first]:
                del self._hits[number]
                changed = True
            if changed:
                self._flat = None
        return changed

    def _all(self) -> list[int]:
        if self._flat is None:
            self._flat = [off for n in sorted(self._hits, reverse=True)
                          for off in reversed(self._hits[n])]
        return self._flat

    def progress(self) -> Progress:
        base = self.parent.progress()
        return dataclasses.replace(base, rows=len(self._all()),
                                   exact=base.exact and base.decoded >= 1.0)

    def rows(self, start: int, stop: int) -> list[Row]:
        hits = self._all()[max(0, start):stop]
        out: list[Row] = []
        for off in hits:
            found = self.parent.summary_at(off)
            out.append(found if found is not None else Unread(self.parent.partition, off))
        return out

    @property
    def idle(self) -> bool:
        return self.parent.idle

    def wait(self, seconds: float) -> None:
        self.parent.wait(seconds)

    def work(self, cancel: threading.Event) -> bool:
        did = self.parent.work(cancel)
        return self._refresh() or did

    def events_of(self, row: ReportSummary) -> list[Event]:
        return self.parent.events_of(row)

    def events(self) -> list[Event]:
        return self.parent.events()

    def timeline(self, cells: int) -> Timeline | None:
        return self.parent.timeline(cells)

    def find(self, row: ReportSummary) -> int | None:
        if row.partition != self.parent.partition:
            return None
        hits = self._all()  # descending offsets
        i = bisect.bisect_left(hits, -row.offset, key=lambda off: -off)
        return i if i < len(hits) and hits[i] == row.offset else None

    def matching(self, text: str) -> History:
        return self.parent.matching(text)

    def close(self) -> None:
        pass  # the parent is the screen's to close
