"""What one evaluation knows: the cluster, its partitions, the support topic and the
reports, read once in one `ClusterSession`.

`gather` does all the I/O of an evaluation; the rules (`engine.health.rules`) only look at
the `HealthFacts` it returns. A part that cannot be read (the topic, the partition
metadata, the topic configs) leaves its field None and says why in `problems`; the rules
that need it are then not evaluated, rather than evaluated on nothing. Only a cluster that
cannot be reached at all raises (ConnectionFailure / NotFound from discovery).

Partition facts come from one Metadata request (every topic's partitions with leader,
replicas and ISR: cheap even for thousands of topics). `min.insync.replicas` needs a
DescribeConfigs per topic, so only these topics are described, at most
`HealthConfig.max_described_topics` of them: those with a partition whose ISR is short
(where the ISR can be below the minimum) and those whose replication factor is below the
brokers' default `min.insync.replicas` (read from one broker), plus the support topic for
its retention. A topic whose full ISR is below a `min.insync.replicas` override of its
own, above the brokers' default, is therefore not seen: that needs every topic described.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.cluster.model import ClusterView
from engine.cluster.quorum import Quorum
from engine.cluster.session import ClusterSession
from engine.errors import ConnectionFailure, NotFound, PsError
from engine.health.config import HealthConfig
from engine.health.report_window import ReportFacts, ReportWindow

log = logging.getLogger(__name__)

MIN_ISR = "min.insync.replicas"
RETENTION_MS = "retention.ms"


@dataclass(frozen=True, slots=True)
class PartitionState:
    """One partition as the metadata tells it; `leader` None when it has none."""

    topic: str
    partition: int
    leader: int | None
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def under_replicated(self) -> bool:
        """A leader, and fewer in-sync replicas than replicas."""
        return self.leader is not None and len(self.isr) < len(self.replicas)

    @property
    def offline(self) -> bool:
        """No leader."""
        return self.leader is None


@dataclass(frozen=True)
class PartitionFacts:
    """The partitions of every topic, as far as the rules need them.

    `unhealthy`: every partition with no leader or a short ISR. `checked`: every
    partition of the topics whose `min.insync.replicas` is known (`min_isr`).
    `unchecked_topics`: topics that could have been under their minimum but were not
    described (the cap, or a failed DescribeConfigs: then `problem` says why).
    """

    topics: int
    partitions: int
    unhealthy: tuple[PartitionState, ...]
    checked: tuple[PartitionState, ...]
    min_isr: Mapping[str, int]
    default_min_isr: int | None
    unchecked_topics: int = 0
    problem: str | None = None


@dataclass(frozen=True)
class SupportTopicFacts:
    """The support topic: whether it exists, its partitions, fewest replicas and
    `retention.ms` (None when not read; -1 is "forever")."""

    name: str
    exists: bool
    partitions: int = 0
    replication_factor: int | None = None
    retention_ms: int | None = None


@dataclass(frozen=True)
class ControllerFacts:
    """The active controller (the quorum leader in KRaft), when it was elected (ZooKeeper:
    the `/controller` znode's creation time) and the election epoch (ZooKeeper's
    `/controller_epoch`, the quorum's leader epoch)."""

    controller_id: int | None
    elected_ms: int | None = None
    epoch: int | None = None
    quorum: Quorum | None = None
    kraft: bool = False


@dataclass(frozen=True)
class HealthFacts:
    """Everything one evaluation read; see the module docstring."""

    now: float
    topic: str
    view: ClusterView
    controller: ControllerFacts
    partitions: PartitionFacts | None
    support: SupportTopicFacts | None
    reports: ReportFacts | None
    topic_missing: bool = False
    problems: tuple[str, ...] = ()
    # What each part cost, for `--debug` and the benchmark.
    timings: Mapping[str, float] = field(default_factory=dict)

    @functools.cached_property
    def registered(self) -> frozenset[int]:
        """The ids of the registered brokers."""
        return frozenset(b.id for b in self.view.brokers)


# ---------------------------------------------------------------------------- the cluster

def read_view(session: ClusterSession) -> ClusterView:
    """The cluster's brokers and controller (ZooKeeper without the topic reads: the
    partitions come from the metadata), or the AdminClient's view."""
    from engine.cluster.discovery import discover
    from engine.cluster.znodes import read_cluster

    if session.has_zookeeper:
        return read_cluster(session.zookeeper(), session.location.zookeeper_text,
                            session.timeout, with_topics=False)
    return discover(session)


def read_controller(session: ClusterSession, view: ClusterView) -> ControllerFacts:
    """When the controller was elected and its epoch; what cannot be read stays None."""
    if not session.has_zookeeper:
        quorum = view.quorum
        return ControllerFacts(view.controller_id, None,
                               quorum.leader_epoch if quorum is not None else None,
                               quorum, kraft=True)
    from kazoo.exceptions import NoNodeError

    from engine.cluster.znodes import parse_controller, zk_errors

    zk = session.zookeeper()
    controller_id, elected, epoch = view.controller_id, None, None
    try:
        node = zk.get_async("/controller")
        epoch_node = zk.get_async("/controller_epoch")
        try:
            data, stat = node.get(timeout=session.timeout)
            controller_id = parse_controller(data)
            elected = int(stat.ctime) if controller_id is not None else None
        except NoNodeError:
            controller_id = None
        try:
            text = epoch_node.get(timeout=session.timeout)[0].decode("ascii").strip()
            epoch = int(text) if text.isdigit() and len(text) < 19 else None
        except (NoNodeError, UnicodeDecodeError):
            epoch = None
    except zk_errors() as exc:
        log.info("controller znodes not read: %s", type(exc).__name__)
    return ControllerFacts(controller_id, elected, epoch)


# ---------------------------------------------------------------------------- partitions

def _metadata(session: ClusterSession) -> Any:
    admin = session.admin()
    try:
        return admin.list_topics(timeout=session.timeout)
    except Exception as exc:  # noqa: BLE001 - KafkaException: transport, timeout, auth
        raise ConnectionFailure(f"the partition metadata did not come within "
                                f"{session.timeout:g} s: {session.one_line(exc)}") from None


def partition_states(metadata: Any) -> list[PartitionState]:
    """Every partition of every topic in a confluent-kafka ClusterMetadata."""
    out = []
    for name, topic in metadata.topics.items():
        if topic.error is not None and not topic.partitions:
            continue
        for p in topic.partitions.values():
            leader = p.leader if p.leader is not None and p.leader >= 0 else None
            out.append(PartitionState(str(name), int(p.id), leader, tuple(p.replicas),
                                      tuple(p.isrs)))
    return out


def _describe(session: ClusterSession, broker_id: int | None, topics: list[str]
              ) -> tuple[int | None, dict[str, dict[str, str]]]:
    """The brokers' default min.insync.replicas (from `broker_id`) and these topics'
    configs (name -> {key: value}), in one DescribeConfigs round."""
    from confluent_kafka.admin import ConfigResource, ResourceType

    admin = session.admin()
    # Each topic once: a resource asked twice in one request makes librdkafka fail the
    # whole answer ("DescribeConfigs response protocol parse failure").
    resources = [ConfigResource(ResourceType.TOPIC, t) for t in sorted(set(topics))]
    if broker_id is not None:
        resources.append(ConfigResource(ResourceType.BROKER, str(broker_id)))
    if not resources:
        return None, {}
    default: int | None = None
    found: dict[str, dict[str, str]] = {}
    try:
        futures = admin.describe_configs(resources, request_timeout=session.timeout)
        for resource, future in futures.items():
            # Twice the request timeout: librdkafka ends the request first.
            entries = future.result(timeout=session.timeout * 2)
            wanted = {k: str(e.value) for k, e in entries.items()
                      if k in (MIN_ISR, RETENTION_MS) and e.value is not None}
            if resource.restype == ResourceType.BROKER:
                default = _int(wanted.get(MIN_ISR))
            else:
                found[resource.name] = wanted
    except Exception as exc:  # noqa: BLE001 - KafkaException, a topic deleted meanwhile
        raise ConnectionFailure(f"topic configurations not read: {session.one_line(exc)}"
                                ) from None
    return default, found


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    body = text[1:] if text.startswith("-") else text
    return int(text) if body.isdigit() and len(body) < 19 else None


def read_partitions(session: ClusterSession, view: ClusterView, topic: str,
                    config: HealthConfig, problems: list[str]
                    ) -> tuple[PartitionFacts | None, SupportTopicFacts | None]:
    """The partition facts and the support topic's; None (and a line in `problems`) for
    what could not be read."""
    try:
        metadata = _metadata(session)
    except PsError as exc:
        problems.append(str(exc))
        return None, None
    states = partition_states(metadata)
    by_topic: dict[str, list[PartitionState]] = {}
    for state in states:
        by_topic.setdefault(state.topic, []).append(state)
    support_parts = by_topic.get(topic)
    support = SupportTopicFacts(topic, False)
    if support_parts:
        support = SupportTopicFacts(topic, True, len(support_parts),
                                    min(len(p.replicas) for p in support_parts))
    short = sorted({s.topic for s in states if s.under_replicated})
    ids = sorted(b.id for b in view.brokers)
    broker = view.controller_id if view.controller_id in ids else (ids[0] if ids else None)
    problem = None
    default: int | None = None
    configs: dict[str, dict[str, str]] = {}
    try:
        # First round: the broker default, the support topic, and the short topics (they
        # are what usually matters; the cap keeps the rest for later).
        first = short[:config.max_described_topics]
        default, configs = _describe(session, broker,
                                     [*first, *([topic] if support_parts else [])])
    except PsError as exc:
        problem = str(exc)
    low_rf: list[str] = []
    if default is not None and default > 1 and problem is None:
        low_rf = sorted(name for name, parts in by_topic.items()
                        if name not in configs and min(len(p.replicas) for p in parts) < default)
        room = max(0, config.max_described_topics - len(short))
        if room and low_rf[:room]:
            try:
                configs.update(_describe(session, None, low_rf[:room])[1])
            except PsError as exc:
                problem = str(exc)
    candidates = set(short) | set(low_rf)
    min_isr = {name: value for name, cfg in configs.items()
               if name in candidates and (value := _int(cfg.get(MIN_ISR))) is not None}
    if support_parts and topic in configs:
        support = SupportTopicFacts(topic, True, support.partitions,
                                    support.replication_factor,
                                    _int(configs[topic].get(RETENTION_MS)))
    if problem is not None:
        problems.append(problem)
    facts = PartitionFacts(
        topics=len(by_topic), partitions=len(states),
        unhealthy=tuple(s for s in states if s.offline or s.under_replicated),
        checked=tuple(s for name in sorted(min_isr) for s in by_topic[name]),
        min_isr=min_isr, default_min_isr=default,
        unchecked_topics=len(candidates - set(min_isr)), problem=problem)
    return facts, support


# ---------------------------------------------------------------------------- reports

def horizon_s(config: HealthConfig) -> float:
    """How far back the reports are read: the window plus one interval and its grace
    (the report before a restart at the window's start), or `down_intervals` intervals
    (broker-down), whichever is longer."""
    from engine.reading.rules import overdue_after_s

    longest = config.longest_interval_s
    return max(config.window_s + overdue_after_s(longest, config.grace_s),
               config.down_intervals * longest)


def read_reports(session: ClusterSession, window: ReportWindow, wanted: list[int],
                 now: float, config: HealthConfig) -> ReportFacts:
    """Refresh the report window in this session. NotFound when the topic is missing."""
    from engine.reading.topic_reader import TopicReader

    horizon_ms = int((now - horizon_s(config)) * 1000)
    with TopicReader(session) as reader:
        return window.refresh(reader, wanted, horizon_ms)


def gather(session: ClusterSession, topic: str, config: HealthConfig, window: ReportWindow,
           now: float) -> HealthFacts:
    """Read everything one evaluation needs (see the module docstring).

    ConnectionFailure / NotFound when the cluster itself cannot be reached; every other
    failure is a line in `problems` and a None part.
    """
    import time

    timings: dict[str, float] = {}
    started = time.perf_counter()
    view = read_view(session)
    session.learn_brokers(view.brokers)
    controller = read_controller(session, view)
    timings["cluster"] = time.perf_counter() - started
    problems: list[str] = []

    mark = time.perf_counter()
    partitions, support = read_partitions(session, view, topic, config, problems)
    timings["partitions"] = time.perf_counter() - mark

    mark = time.perf_counter()
    reports: ReportFacts | None = None
    missing = False
    try:
        reports = read_reports(session, window, sorted(b.id for b in view.brokers), now,
                               config)
    except NotFound:
        missing = True
    except PsError as exc:
        window.forget()
        problems.append(f"reports not read from {topic}: {exc}")
    timings["reports"] = time.perf_counter() - mark
    if missing and support is not None and support.exists:
        missing = False  # in the metadata but not readable yet: say so, do not guess
        problems.append(f"reports not read from {topic}: the topic is not readable yet")
    if missing:
        support = SupportTopicFacts(topic, False)
    return HealthFacts(now=now, topic=topic, view=view, controller=controller,
                       partitions=partitions, support=support, reports=reports,
                       topic_missing=missing, problems=tuple(problems), timings=timings)
