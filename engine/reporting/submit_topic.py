"""The topic destination: create the support topic when missing and produce reports to it.

As CP created it: one partition, replication factor min(3, live brokers) (a warning when below
3), `retention.ms=31536000000`; null key; a `broker.id` header. A topic created at the same
moment by another agent is fine: CP lost that round's report, this does not.
Security (SSL, SASL) comes from the session's client configuration, like every client here.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from engine.cluster.session import ClusterSession
from engine.errors import PsError
from engine.reporting.outcome import DestinationResult, skipped

log = logging.getLogger(__name__)

TOPIC_PARTITIONS = 1
TOPIC_MAX_REPLICATION = 3
TOPIC_RETENTION_MS = "31536000000"  # one year
BROKER_ID_HEADER = "broker.id"


def _one_line(exc: BaseException) -> str:
    # KafkaException wraps a KafkaError whose repr is noisy; its str() is the message.
    from confluent_kafka import KafkaError

    arg = exc.args[0] if exc.args else None
    text = arg.str() if isinstance(arg, KafkaError) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _permanent_codes() -> frozenset[int]:
    """Kafka errors that refuse a record for what it is, not for the cluster's state."""
    from confluent_kafka import KafkaError

    return frozenset({KafkaError.MSG_SIZE_TOO_LARGE,
                      KafkaError.RECORD_LIST_TOO_LARGE, KafkaError.INVALID_RECORD,
                      KafkaError.INVALID_MSG, KafkaError.INVALID_MSG_SIZE,
                      KafkaError.TOPIC_EXCEPTION, KafkaError._INVALID_ARG})


def _permanent(exc: BaseException) -> bool:
    from confluent_kafka import KafkaError

    error = exc.args[0] if exc.args else None
    return isinstance(error, KafkaError) and error.code() in _permanent_codes()


def ensure_topic(session: ClusterSession, topic: str) -> list[str]:
    """Create `topic` as the support topic if it does not exist; return warnings.

    TOPIC_ALREADY_EXISTS (another agent won the race) is success. Raises ConnectionFailure
    when the cluster cannot be asked or refuses the creation for another reason.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    from engine.errors import ConnectionFailure

    warnings: list[str] = []
    try:
        admin = session.admin()
        md = admin.list_topics(timeout=session.timeout)
    except KafkaException as exc:
        raise ConnectionFailure(f"Kafka metadata unavailable: {_one_line(exc)}") from None
    if topic in md.topics and md.topics[topic].error is None:
        return warnings
    live = len(md.brokers)
    if live == 0:
        raise ConnectionFailure("no live broker to host the support topic")
    replication = min(TOPIC_MAX_REPLICATION, live)
    new = NewTopic(topic, num_partitions=TOPIC_PARTITIONS, replication_factor=replication,
                   config={"retention.ms": TOPIC_RETENTION_MS})
    futures = admin.create_topics([new], operation_timeout=session.timeout,
                                  request_timeout=session.timeout)
    try:
        futures[topic].result(timeout=session.timeout * 2)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return warnings  # another agent created it in the meantime: fine
        raise ConnectionFailure(f"cannot create support topic {topic}: "
                                f"{_one_line(exc)}") from None
    log.info("created support topic %s (rf %d)", topic, replication)
    if replication < TOPIC_MAX_REPLICATION:
        warnings.append(f"support topic {topic} created with replication factor "
                        f"{replication} (only {live} live broker(s)); 3 is recommended")
    return warnings


class TopicSubmitter:
    """One producer for the life of an agent; `submit` sends one report and waits for it.

    Thread-safe: the agent's timer and a "report now" may submit at the same time.
    """

    def __init__(self, session: ClusterSession, delivery_timeout: float | None = None) -> None:
        self.session = session
        self.delivery_timeout = delivery_timeout or max(session.timeout, 5.0)
        self._producer: Any = None
        self._ensured: set[str] = set()
        # Warnings of the last submit (a support topic created below replication 3).
        self.warnings: list[str] = []
        self._lock = threading.Lock()

    def _client(self) -> Any:
        from confluent_kafka import Producer

        if self._producer is None:
            timeout_ms = int(self.delivery_timeout * 1000)
            self._producer = Producer(self.session.kafka_config(**{
                "acks": "all",
                # Bound the whole attempt, retries included, by the delivery timeout so a
                # dead cluster fails the report instead of hanging the agent.
                "message.timeout.ms": timeout_ms,
                "request.timeout.ms": min(timeout_ms, 30000),
            }))
        self.session.ensure_reachable()
        return self._producer

    def submit(self, topic: str, value: bytes, broker_id: int,
               headers: dict[str, str] | None = None) -> DestinationResult:
        """Send one report value to `topic`; the result says partition@offset or why not.

        `headers` are added after `broker.id` (the agent adds `report.id`)."""
        if not topic:
            return skipped("topic", "topic reporting disabled (empty topic setting)")
        with self._lock:
            self.warnings = []
            try:
                producer = self._client()
                if topic not in self._ensured:
                    self.warnings = ensure_topic(self.session, topic)
                    self._ensured.add(topic)
                    for w in self.warnings:
                        log.warning("%s", w)
                return self._produce(producer, topic, value, broker_id, headers)
            except PsError as exc:
                return DestinationResult("topic", False, str(exc))

    def _produce(self, producer: Any, topic: str, value: bytes, broker_id: int,
                 headers: dict[str, str] | None = None) -> DestinationResult:
        from confluent_kafka import KafkaException

        outcome: dict[str, Any] = {}

        def on_delivery(err: Any, msg: Any) -> None:
            outcome["err"], outcome["msg"] = err, msg

        try:
            extra = [(k, v.encode()) for k, v in (headers or {}).items()
                     if k != BROKER_ID_HEADER]
            producer.produce(topic, value=value, key=None,
                             headers=[(BROKER_ID_HEADER, str(int(broker_id)).encode()),
                                      *extra],
                             on_delivery=on_delivery)
        except (KafkaException, BufferError) as exc:
            return DestinationResult("topic", False, f"not sent: {_one_line(exc)}",
                                     permanent=_permanent(exc))
        # flush() returns once the delivery report ran or message.timeout.ms expired;
        # the extra second only covers the callback after a timeout.
        remaining = producer.flush(self.delivery_timeout + 1.0)
        if "err" not in outcome:
            return DestinationResult("topic", False,
                                     f"no acknowledgement within {self.delivery_timeout:g} s"
                                     f" ({remaining} pending)")
        if outcome["err"] is not None:
            return DestinationResult("topic", False, f"not acknowledged: {outcome['err'].str()}",
                                     permanent=outcome["err"].code() in _permanent_codes())
        msg = outcome["msg"]
        return DestinationResult("topic", True, f"{topic} {msg.partition()}@{msg.offset()}")

    def close(self) -> None:
        """Deliver what is pending (bounded) and drop the clients."""
        with self._lock:
            if self._producer is not None:
                self._producer.flush(self.delivery_timeout)
            self._producer = None


def submit_topic(session: ClusterSession, topic: str, value: bytes, broker_id: int,
                 warnings: list[str] | None = None) -> DestinationResult:
    """Send one report with a short-lived producer (for one-off commands); warnings about
    the topic's creation are appended to `warnings` when given."""
    submitter = TopicSubmitter(session)
    try:
        result = submitter.submit(topic, value, broker_id)
        if warnings is not None:
            warnings.extend(submitter.warnings)
        return result
    finally:
        submitter.close()
