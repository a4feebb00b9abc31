"""The one place that reads the support topic: whole partitions, or one bounded window.

Everything that reads records (the bundle export, the reports view, latest-per-broker) goes
through `TopicReader` or the module functions that wrap it. A read takes the end offsets
once, when it starts, and stops there, so it always ends, even while agents keep writing.

The consumer is a throwaway: a unique `group.id` (librdkafka needs one even for `assign()`),
no subscription, no commits. It is always closed, also on errors and KeyboardInterrupt.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from engine.cluster.session import ClusterSession
from engine.errors import ConnectionFailure, NotFound

# Records asked from librdkafka's queue per consume() call: large enough that the Python
# side works on lists, small enough that one batch stays a few MB.
_BATCH = 5_000
# Longest single wait inside consume(): keeps Ctrl-C, cancel and the deadline responsive.
_MAX_WAIT = 0.25

# Throughput settings. The prefetch queue is bounded (16 MB) so memory stays flat however
# large the topic is; fetches are big so a broker round trip carries many records.
_READ_CONFIG: dict[str, object] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "earliest",  # retention may have moved `low` since we asked
    "fetch.max.bytes": 8 * 1024 * 1024,
    "max.partition.fetch.bytes": 4 * 1024 * 1024,
    "queued.min.messages": 200_000,
    "queued.max.messages.kbytes": 16 * 1024,
    # librdkafka >= 2.1 waits this long once the prefetch queue is full (default 1000 ms):
    # with a bounded queue that stalled reads to a third of their speed (measured).
    "fetch.queue.backoff.ms": 1,
    "fetch.wait.max.ms": 100,
    "check.crcs": False,
}


class TopicRecord(NamedTuple):
    """One record as read: where it sits, when it was written, its value and headers.

    A NamedTuple rather than a dataclass: it is built once per record on the hot path and
    a tuple is the cheapest object Python can make.
    """

    partition: int
    offset: int
    timestamp_ms: int
    value: bytes | None
    headers: dict[str, bytes]


class RecordBatch(NamedTuple):
    """Records from one consume() call, all of one partition, in offset order.

    For readers that want speed over convenience (the bundle export): `values()` costs no
    Python bytecode per record. `messages` are confluent-kafka Message objects.
    """

    partition: int
    messages: list[Message]

    def values(self) -> list[bytes | None]:
        """The record values, in order."""
        return list(map(Message.value, self.messages))

    def records(self) -> list[TopicRecord]:
        """The batch as TopicRecords."""
        p = self.partition
        # Data messages always have an offset, and their headers are (str, bytes) pairs;
        # confluent-kafka's types also cover error events, which never reach a batch.
        return [TopicRecord(p, m.offset(), m.timestamp()[1], m.value(),  # type: ignore[arg-type]
                            {k: (v or b"") for k, v in h}  # type: ignore[misc, str-unpack]
                            if (h := m.headers()) else {})
                for m in self.messages]


class PartitionRange(NamedTuple):
    """Offsets [low, high) of one partition, as taken when a read starts."""

    partition: int
    low: int
    high: int

    @property
    def offsets(self) -> int:
        """Offsets in the range; compaction or transaction markers may leave fewer records."""
        return max(0, self.high - self.low)


def _one_line(exc: BaseException) -> str:
    """A KafkaException's message without librdkafka's multi-line decorations."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0].str()
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class TopicReader:
    """One consumer for several reads of a topic; use as a context manager or call close().

    Not thread-safe: one thread uses a reader at a time (a worker thread owns it).
    """

    def __init__(self, session: ClusterSession, **config: object) -> None:
        self.session = session
        self.timeout = session.timeout
        self.cluster_id: str | None = None
        # Set by iter_records: True once every range was read to its end.
        self.complete = False
        self._partition_done = False
        conf = dict(_READ_CONFIG)
        conf.update(session.kafka_config(**{"group.id": f"ps-console-reader-{uuid.uuid4()}"}))
        # Reading must never join a group or commit, whatever the command config says.
        conf.update({"enable.auto.commit": False, "enable.partition.eof": True})
        conf.update(config)
        self._bootstrap = str(conf.get("bootstrap.servers", ""))
        self._conf = conf
        self._consumer: Consumer | None = Consumer(conf)
        try:
            session.ensure_reachable()
        except BaseException:
            self.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the consumer; safe to call twice."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _c(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError("TopicReader is closed")
        return self._consumer

    def _unreachable(self, exc: BaseException) -> ConnectionFailure:
        return ConnectionFailure(
            f"Kafka at {self._bootstrap} did not answer within {self.timeout:g} s "
            f"({_one_line(exc)})")

    # -- metadata ---------------------------------------------------------------------------

    def partitions(self, topic: str) -> list[int]:
        """The topic's partition ids, ascending. NotFound if the topic does not exist."""
        try:
            meta = self._c.list_topics(topic, timeout=self.timeout)
        except KafkaException as exc:
            raise self._unreachable(exc) from None
        self.cluster_id = meta.cluster_id or self.cluster_id
        info = meta.topics.get(topic)
        if info is None or (info.error is not None and
                            info.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
            raise NotFound(f"topic {topic} does not exist")
        if info.error is not None:
            raise ConnectionFailure(f"cannot read the metadata of {topic}: {info.error.str()}")
        return sorted(info.partitions)

    def end_offsets(self, topic: str) -> list[PartitionRange]:
        """[low, high) of every partition, now. NotFound if the topic does not exist."""
        ranges = []
        for p in self.partitions(topic):
            try:
                low, high = self._c.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=self.timeout, cached=False)
            except KafkaException as exc:
                raise self._unreachable(exc) from None
            ranges.append(PartitionRange(p, low, high))
        return ranges

    # -- reading ----------------------------------------------------------------------------

    def iter_records(self, topic: str, ranges: Iterable[PartitionRange] | None = None,
                     deadline: float | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     cancel: threading.Event | None = None) -> Iterator[TopicRecord]:
        """Every record of `ranges` (default: the whole topic, end offsets taken now).

        Partitions are read one after the other in ascending order, each in offset order,
        so the sequence is the topic order a bundle numbers its entries by. Stops at the
        range's high offset, at `deadline` (a `time.monotonic()` value) or when `cancel` is
        set, whichever comes first; afterwards `complete` tells a cut-short read from a
        whole one. `progress(done, total)` is called after every batch with `total` the
        number of offsets in the ranges.
        """
        for batch in self.iter_batches(topic, ranges, deadline, progress, cancel):
            yield from batch.records()

    def iter_batches(self, topic: str, ranges: Iterable[PartitionRange] | None = None,
                     deadline: float | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     cancel: threading.Event | None = None) -> Iterator[RecordBatch]:
        """The same read as `iter_records`, a consume() batch at a time."""
        self.complete = False
        todo = [r for r in (self.end_offsets(topic) if ranges is None else ranges)
                if r.high > r.low]
        total = sum(r.offsets for r in todo)
        done = 0
        for rng in todo:
            for batch in self._read_partition(topic, rng.partition, rng.low, rng.high,
                                              deadline, cancel):
                yield batch
                done += len(batch.messages)
                if progress is not None:
                    progress(done, total)
            if not self._partition_done:
                return
        self.complete = True

    def _idle_limit(self, topic: str, partition: int) -> Callable[[bool], None]:
        """For one partition's read: call it after every poll with whether anything came
        (data, EOF or an error event). A partition that stays silent longer than the
        session's timeout means the cluster stopped answering: ConnectionFailure. This
        bounds reads that have no deadline."""
        limit = max(self.timeout, 1.0)
        last = time.monotonic()

        def answered(anything: bool) -> None:
            nonlocal last
            now = time.monotonic()
            if anything:
                last = now
            elif now - last > limit:
                raise ConnectionFailure(f"no data from Kafka at {self._bootstrap} for "
                                        f"{limit:g} s while reading {topic}[{partition}]")

        return answered

    def read_window(self, topic: str, partition: int, start: int, stop: int
                    ) -> list[TopicRecord]:
        """The records with offsets in [start, stop) of one partition (for backward reads).

        `stop` beyond the end is fine: the read ends at the partition's end. Bounded by the
        session's timeout when the cluster stops answering.
        """
        if stop <= start:
            return []
        out: list[TopicRecord] = []
        for batch in self._read_partition(topic, partition, max(start, 0), stop, None, None):
            out.extend(batch.records())
        return out

    def read_messages(self, topic: str, partition: int, start: int, stop: int,
                      cancel: threading.Event | None = None, batch: int | None = None
                      ) -> list[Message]:
        """`read_window` as confluent-kafka Messages: for readers that look at a header or
        two of every record and decode few (a `TopicRecord` costs microseconds a record).

        With `cancel`, the read stops early once it is set, looked at every `batch`
        records: the messages are then those of [start, last offset returned]."""
        if stop <= start:
            return []
        out: list[Message] = []
        for got in self._read_partition(topic, partition, max(start, 0), stop, None, cancel,
                                        batch or _BATCH):
            out.extend(got.messages)
        return out

    def _read_partition(self, topic: str, partition: int, start: int, stop: int,
                        deadline: float | None, cancel: threading.Event | None,
                        batch_size: int = _BATCH) -> Iterator[RecordBatch]:
        """Batches of records of [start, stop) from one partition, then unassign it."""
        consumer = self._c
        self._partition_done = False
        tp = TopicPartition(topic, partition, start if start > 0 else OFFSET_BEGINNING)
        consumer.assign([tp])
        try:
            answered = self._idle_limit(topic, partition)
            expected = max(start, 0)
            while True:
                if _stopped(deadline, cancel):
                    return
                # consume() waits until it holds as many messages as asked for (or its
                # timeout): asking a small window for a full batch made every read of a
                # few records wait for a whole fetch (about 100 ms, measured).
                msgs = consumer.consume(max(1, min(batch_size, stop - expected)),
                                        _wait(deadline))
                answered(bool(msgs))
                if not msgs:
                    continue
                batch, finished = _data_in_range(msgs, partition, start, stop)
                if finished:
                    self._partition_done = True
                if batch:
                    expected = max(expected, (batch[-1].offset() or 0) + 1)
                    yield RecordBatch(partition, batch)
                if finished:
                    return
        finally:
            # The consumer may already be closed if the generator is finalised late.
            if self._consumer is not None:
                try:
                    consumer.unassign()
                except KafkaException:
                    pass


def _wait(deadline: float | None) -> float:
    """How long one consume may block: short, and never past the deadline."""
    if deadline is None:
        return _MAX_WAIT
    return max(0.0, min(_MAX_WAIT, deadline - time.monotonic()))


def _stopped(deadline: float | None, cancel: threading.Event | None) -> bool:
    return ((cancel is not None and cancel.is_set())
            or (deadline is not None and time.monotonic() >= deadline))


def _data_in_range(msgs: list[Message], partition: int, start: int, stop: int
                   ) -> tuple[list[Message], bool]:
    """The data messages of one consume() batch within [start, stop); True when done.

    Messages outside the range are dropped: a batch can overshoot `stop`, and after a
    reassignment librdkafka may still deliver a few records fetched for the previous one.
    """
    last = stop - 1
    # Fast path, nearly every batch: no error or EOF event, first and last in range.
    if not any(map(Message.error, msgs)):
        first_m, last_m = msgs[0], msgs[-1]
        first_off, last_off = first_m.offset() or 0, last_m.offset() or 0
        if (first_m.partition() == partition == last_m.partition()
                and first_off >= start and last_off <= last):
            return msgs, last_off == last
    out: list[Message] = []
    for m in msgs:
        err = m.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                if m.partition() == partition:
                    return out, True
                continue
            if err.fatal():
                raise ConnectionFailure(f"Kafka: {err.str()}")
            # Transient (a broker restarting, a leader moving): librdkafka retries itself.
            continue
        off = m.offset()
        if off is None or off < start or m.partition() != partition:
            continue
        if off > last:
            return out, True
        out.append(m)
        if off == last:
            return out, True
    return out, False
