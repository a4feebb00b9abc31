"""What a Kafka cluster looks like right now, and how it changes.

`discover` reads the cluster from ZooKeeper (Kafka 3.x in ZooKeeper mode: `/cluster/id`,
`/controller`, `/brokers/ids/<id>`, `/brokers/topics/<t>`, see KAFKA-NOTES §1) with all
reads in flight at once, or, given only `--bootstrap-server`, from the AdminClient.
`ClusterWatch` follows brokers joining, leaving and restarting, and controller changes,
through ZooKeeper watches.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.cluster.connect import format_host_port, start_kazoo, stop_kazoo
from engine.errors import ConnectionFailure, NotFound, PsError, UsageError

if TYPE_CHECKING:
    from kazoo.client import KazooClient

    from engine.cluster.target import ClusterTarget

log = logging.getLogger(__name__)

SOURCE_ZOOKEEPER = "zookeeper"
SOURCE_ADMIN = "admin"


# --- The model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One advertised listener. `listener` is None when only the protocol is known (KRaft)."""

    listener: str | None
    protocol: str
    host: str
    port: int

    @property
    def address(self) -> str:
        """`host:port`, IPv6 in brackets."""
        return format_host_port(self.host, self.port)

    def __str__(self) -> str:
        return f"{self.listener or self.protocol}://{self.address}"


@dataclass(frozen=True)
class Broker:
    """A live broker. Fields only ZooKeeper knows are None when read from the AdminClient."""

    id: int
    endpoints: tuple[Endpoint, ...]
    rack: str | None
    jmx_port: int | None
    registered_at_ms: int | None
    session_id: int | None
    raw_version: int | None

    def endpoint_for(self, protocol: str) -> Endpoint | None:
        """The first endpoint with this security protocol, as Kafka orders them."""
        wanted = protocol.upper()
        return next((e for e in self.endpoints if e.protocol.upper() == wanted), None)


@dataclass(frozen=True)
class ClusterView:
    """A snapshot of the cluster. `source` is "zookeeper" or "admin".

    `replication_factors` maps each topic to the fewest replicas any of its partitions has
    (they differ only during or after a partial reassignment). It is empty when the topics
    were not read (`topics` is None); a topic whose assignment is unreadable is left out.
    """

    cluster_id: str | None
    controller_id: int | None
    brokers: tuple[Broker, ...]
    topics: int | None
    partitions: int | None
    source: str
    # Not hashed or shown: a dict cannot be hashed, and a repr listing thousands of topics
    # would drown every log line that shows a view.
    replication_factors: Mapping[str, int] = field(default_factory=dict, hash=False,
                                                   repr=False)

    def broker(self, broker_id: int) -> Broker | None:
        """The live broker with this id, or None."""
        return next((b for b in self.brokers if b.id == broker_id), None)


class ClusterEvent:
    """Base of the events `ClusterWatch` posts."""


@dataclass(frozen=True)
class BrokerJoined(ClusterEvent):
    """A broker id entered the live set (first start, or back after leaving)."""

    broker: Broker


@dataclass(frozen=True)
class BrokerLeft(ClusterEvent):
    """A broker's registration disappeared (shutdown, crash past the session timeout)."""

    broker_id: int


@dataclass(frozen=True)
class BrokerRestarted(ClusterEvent):
    """The id stayed registered but its znode now belongs to a new session: a restart
    faster than the watch could see the gap, or one that happened during an outage."""

    broker: Broker


@dataclass(frozen=True)
class ControllerChanged(ClusterEvent):
    """The active controller changed; None while no controller is elected."""

    controller_id: int | None


@dataclass(frozen=True)
class ConnectionChanged(ClusterEvent):
    """The watch's ZooKeeper session: "connected", "suspended" or "lost"."""

    state: str


# --- Parsing what Kafka writes ---------------------------------------------------------------


class RegistrationError(ValueError):
    """A broker registration that is not the JSON Kafka writes."""


def _int_or_none(value: Any) -> int | None:
    """Kafka writes some numbers as strings (`timestamp`); tolerate both, and junk."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def parse_endpoint(text: str, protocol_map: dict[str, str]) -> Endpoint:
    """`LISTENER://host:port` (IPv6 as `[::1]`); the protocol comes from the listener map,
    or is the listener name itself (registrations before version 4 had no map)."""
    name, sep, hostport = text.partition("://")
    if not sep or not name:
        raise RegistrationError(f"endpoint {text!r} is not LISTENER://host:port")
    if hostport.startswith("["):
        host, close, rest = hostport[1:].partition("]")
        port_text = rest[1:] if close and rest.startswith(":") else ""
    else:
        host, _, port_text = hostport.rpartition(":")
    port = _int_or_none(port_text)
    if not host or port is None:
        raise RegistrationError(f"endpoint {text!r} has no host:port")
    return Endpoint(listener=name, protocol=protocol_map.get(name, name), host=host, port=port)


def parse_broker_registration(broker_id: int, data: bytes | str,
                              session_id: int | None = None) -> Broker:
    """A `/brokers/ids/<id>` znode (JSON versions 1-5) as a `Broker`.

    `session_id` is the znode's ephemeralOwner. `host`/`port` are only a fallback for
    registrations without `endpoints`: Kafka sets them to null/-1 on brokers without a
    PLAINTEXT listener. Raises RegistrationError for anything that is not such JSON.
    """
    try:
        reg = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistrationError(f"broker {broker_id}: registration is not JSON ({exc})") from None
    if not isinstance(reg, dict):
        raise RegistrationError(f"broker {broker_id}: registration is not a JSON object")
    raw_map = reg.get("listener_security_protocol_map")
    protocol_map = ({str(k): str(v) for k, v in raw_map.items()}
                    if isinstance(raw_map, dict) else {})
    endpoints: list[Endpoint] = []
    raw_endpoints = reg.get("endpoints")
    if isinstance(raw_endpoints, list):
        for text in raw_endpoints:
            if not isinstance(text, str):
                raise RegistrationError(f"broker {broker_id}: endpoint {text!r} is not a string")
            endpoints.append(parse_endpoint(text, protocol_map))
    else:
        host, port = reg.get("host"), _int_or_none(reg.get("port"))
        if isinstance(host, str) and host and port is not None and port >= 0:
            endpoints.append(Endpoint("PLAINTEXT", "PLAINTEXT", host, port))
    jmx_port = _int_or_none(reg.get("jmx_port"))
    rack = reg.get("rack")
    return Broker(
        id=broker_id,
        endpoints=tuple(endpoints),
        rack=rack if isinstance(rack, str) else None,
        jmx_port=jmx_port if jmx_port is not None and jmx_port > 0 else None,
        registered_at_ms=_int_or_none(reg.get("timestamp")),
        session_id=session_id or None,
        raw_version=_int_or_none(reg.get("version")),
    )


def _unreadable_broker(broker_id: int, session_id: int | None) -> Broker:
    """A registered broker whose JSON could not be read: alive, details unknown."""
    return Broker(broker_id, (), None, None, None, session_id or None, None)


def parse_cluster_id(data: bytes | None) -> str | None:
    """`/cluster/id`: `{"version":"1","id":"..."}` (version is a string there)."""
    try:
        value = json.loads(data) if data else None
    except (ValueError, UnicodeDecodeError):
        return None
    cid = value.get("id") if isinstance(value, dict) else None
    return cid if isinstance(cid, str) and cid else None


def parse_controller(data: bytes | None) -> int | None:
    """`/controller`: `{"version":2,"brokerid":1,...}`; None when absent or unreadable."""
    try:
        value = json.loads(data) if data else None
    except (ValueError, UnicodeDecodeError):
        return None
    return _int_or_none(value.get("brokerid")) if isinstance(value, dict) else None


def parse_assignment(data: bytes | None) -> dict[str, Any]:
    """The `partitions` object of a `/brokers/topics/<t>` znode: partition number (as a
    string) to its replicas' broker ids, as Kafka wrote them; {} if unreadable."""
    try:
        value = json.loads(data) if data else None
    except (ValueError, UnicodeDecodeError):
        return {}
    parts = value.get("partitions") if isinstance(value, dict) else None
    return parts if isinstance(parts, dict) else {}


def count_partitions(data: bytes | None) -> int:
    """Partitions in a `/brokers/topics/<t>` assignment (0 if unreadable)."""
    return len(parse_assignment(data))


def fewest_replicas(replica_lists: Iterable[Any]) -> int | None:
    """The smallest replica count among a topic's partitions. None without partitions, or
    when one replica list is not a list: a count from the rest could hide the low one."""
    counts: list[int] = []
    for replicas in replica_lists:
        if not isinstance(replicas, (list, tuple)):
            return None
        counts.append(len(replicas))
    return min(counts, default=None)


def _broker_ids(children: Iterable[str]) -> list[int]:
    """Numeric children of /brokers/ids, sorted; anything else there is not a broker."""
    return sorted(int(c) for c in children if c.isdigit())


# --- Reading ZooKeeper -----------------------------------------------------------------------


class _Deadline:
    """One time budget shared by a batch of waits, so the batch as a whole is bounded."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.05, self.end - time.monotonic())


def _zk_errors() -> tuple[type[BaseException], ...]:
    from kazoo.exceptions import ConnectionLoss, SessionExpiredError
    from kazoo.handlers.threading import KazooTimeoutError

    return (ConnectionLoss, SessionExpiredError, KazooTimeoutError)


def _request_brokers(zk: KazooClient, ids: list[int]) -> list[tuple[int, Any]]:
    """Send every registration read at once; collect them with `_collect_brokers`."""
    return [(i, zk.get_async(f"/brokers/ids/{i}")) for i in ids]


def _collect_brokers(pending: list[tuple[int, Any]], deadline: _Deadline) -> list[Broker]:
    """The answers of `_request_brokers`; brokers gone meanwhile are left out."""
    from kazoo.exceptions import NoNodeError

    brokers: list[Broker] = []
    for broker_id, result in pending:
        try:
            data, stat = result.get(timeout=deadline.left())
        except NoNodeError:
            continue  # left between the listing and the read
        try:
            brokers.append(parse_broker_registration(broker_id, data, stat.ephemeralOwner))
        except RegistrationError as exc:
            log.warning("%s", exc)
            brokers.append(_unreadable_broker(broker_id, stat.ephemeralOwner))
    return brokers


def _read_brokers(zk: KazooClient, ids: list[int], deadline: _Deadline) -> list[Broker]:
    """Every registration in flight at once."""
    return _collect_brokers(_request_brokers(zk, ids), deadline)


def _cluster_missing(connect: str) -> NotFound:
    return NotFound(f"no Kafka cluster registered at {connect}")


def read_cluster(zk: KazooClient, connect: str, timeout: float,
                 with_topics: bool = True) -> ClusterView:
    """The cluster under a started kazoo client's chroot (see `discover`)."""
    from kazoo.exceptions import NoNodeError

    deadline = _Deadline(timeout)
    try:
        ids_async = zk.get_children_async("/brokers/ids")
        cluster_async = zk.get_async("/cluster/id")
        controller_async = zk.get_async("/controller")
        topics_async = zk.get_children_async("/brokers/topics") if with_topics else None
        try:
            ids = _broker_ids(ids_async.get(timeout=deadline.left()))
        except NoNodeError:
            raise _cluster_missing(connect) from None
        brokers_pending = _request_brokers(zk, ids)

        def optional(result: Any) -> Any:
            try:
                return result.get(timeout=deadline.left())
            except NoNodeError:
                return None

        cluster = optional(cluster_async)
        controller = optional(controller_async)
        topic_names = optional(topics_async) if topics_async is not None else None
        topic_reads = [(t, zk.get_async(f"/brokers/topics/{t}")) for t in topic_names or ()]

        brokers = _collect_brokers(brokers_pending, deadline)
        partitions = 0
        topics = 0
        factors: dict[str, int] = {}
        for name, result in topic_reads:
            got = optional(result)
            if got is not None:  # None: deleted meanwhile
                topics += 1
                assignment = parse_assignment(got[0])
                partitions += len(assignment)
                if (factor := fewest_replicas(assignment.values())) is not None:
                    factors[name] = factor
    except _zk_errors() as exc:
        raise ConnectionFailure(f"ZooKeeper at {connect}: lost the connection while reading "
                                f"the cluster ({type(exc).__name__})") from None
    return ClusterView(
        cluster_id=parse_cluster_id(cluster[0]) if cluster else None,
        controller_id=parse_controller(controller[0]) if controller else None,
        brokers=tuple(brokers),
        topics=topics if topic_names is not None else None,
        partitions=partitions if topic_names is not None else None,
        source=SOURCE_ZOOKEEPER,
        replication_factors=factors,
    )


# --- Reading the AdminClient (no ZooKeeper) --------------------------------------------------


def _admin(target: ClusterTarget) -> Any:
    from confluent_kafka.admin import AdminClient

    # librdkafka prints connection failures straight to stderr unless given a logger; route
    # them to logging so the CLI shows one line, and --debug still shows everything.
    conf = target.kafka_config(logger=logging.getLogger("engine.librdkafka"))
    try:
        return AdminClient(conf)
    except Exception as exc:  # KafkaException or ValueError from a bad client config
        reason = _kafka_reason(exc)
        # librdkafka quotes a rejected value; never let a secret through that way.
        for key, value in target.client_props.items():
            if value and any(w in key for w in ("password", "secret", "jaas", "token")):
                reason = reason.replace(value, "***")
        raise UsageError(f"Kafka client configuration refused: {reason}") from None


def _kafka_reason(exc: BaseException) -> str:
    """One readable line out of a confluent-kafka exception."""
    err = exc.args[0] if exc.args else None
    text = err.str() if hasattr(err, "str") else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _read_cluster_admin(target: ClusterTarget) -> ClusterView:
    admin = _admin(target)
    where = f"Kafka at {target.bootstrap}"
    try:
        # Twice the request timeout: librdkafka ends the request first, so the client is
        # never dropped with it still in flight.
        described = admin.describe_cluster(request_timeout=target.timeout).result(
            timeout=target.timeout * 2)
        metadata = admin.list_topics(timeout=target.timeout)
    except Exception as exc:  # KafkaException: transport, timeout, auth
        raise ConnectionFailure(f"{where} did not answer within {target.timeout:g} s: "
                                f"{_kafka_reason(exc)}") from None
    protocol = target.security_protocol
    brokers = tuple(
        Broker(id=node.id, endpoints=(Endpoint(None, protocol, node.host, node.port),),
               rack=node.rack or None, jmx_port=None, registered_at_ms=None,
               session_id=None, raw_version=None)
        for node in sorted(described.nodes, key=lambda n: n.id))
    controller = described.controller
    factors = {name: factor for name, t in metadata.topics.items()
               if (factor := fewest_replicas(p.replicas for p in t.partitions.values()))
               is not None}
    return ClusterView(
        cluster_id=described.cluster_id or None,
        controller_id=controller.id if controller is not None and controller.id >= 0 else None,
        brokers=brokers,
        topics=len(metadata.topics),
        partitions=sum(len(t.partitions) for t in metadata.topics.values()),
        source=SOURCE_ADMIN,
        replication_factors=factors,
    )


# --- Public entry points ---------------------------------------------------------------------


def discover(target: ClusterTarget) -> ClusterView:
    """The cluster as it is now: from ZooKeeper when --zookeeper was given, otherwise from
    the AdminClient.

    Raises ConnectionFailure when ZooKeeper or Kafka does not answer within the target's
    timeout, and NotFound when the ZooKeeper chroot holds no Kafka cluster.
    """
    if target.zookeeper:
        with target.zk_client() as zk:
            return read_cluster(zk, target.zookeeper, target.timeout)
    return _read_cluster_admin(target)


def live_broker_ids(target: ClusterTarget) -> list[int]:
    """The ids of the registered brokers, sorted."""
    from kazoo.exceptions import NoNodeError

    if not target.zookeeper:
        return [b.id for b in _read_cluster_admin(target).brokers]
    with target.zk_client() as zk:
        try:
            return _broker_ids(zk.get_children("/brokers/ids"))
        except NoNodeError:
            raise _cluster_missing(target.zookeeper) from None
        except _zk_errors() as exc:
            raise ConnectionFailure(f"ZooKeeper at {target.zookeeper}: "
                                    f"{type(exc).__name__}") from None


def broker_session(target: ClusterTarget, broker_id: int) -> int | None:
    """The ZooKeeper session owning `/brokers/ids/<id>` (changes on every broker restart);
    None when the broker is not registered or the target has no ZooKeeper."""
    if not target.zookeeper:
        return None
    with target.zk_client() as zk:
        try:
            stat = zk.exists(f"/brokers/ids/{int(broker_id)}")
        except _zk_errors() as exc:
            raise ConnectionFailure(f"ZooKeeper at {target.zookeeper}: "
                                    f"{type(exc).__name__}") from None
    return (stat.ephemeralOwner or None) if stat is not None else None


def client_endpoints(target: ClusterTarget) -> str:
    """`host:port,...` of each broker's endpoint for the client's security protocol, read
    from ZooKeeper (broker registrations only: no topic reads)."""
    with target.zk_client() as zk:
        view = read_cluster(zk, target.zookeeper or "", target.timeout, with_topics=False)
    protocol = target.security_protocol
    chosen = [e.address for b in view.brokers if (e := b.endpoint_for(protocol)) is not None]
    if not chosen:
        if not view.brokers:
            raise NotFound(f"no broker is registered at {target.zookeeper}")
        raise NotFound(f"no broker at {target.zookeeper} has a {protocol} listener "
                       "(set security.protocol in --command-config)")
    return ",".join(chosen)


# --- Live updates ----------------------------------------------------------------------------


_STOP = object()


class ClusterWatch:
    """Follow a ZooKeeper-mode cluster and post `ClusterEvent`s to `on_event`.

    kazoo runs watch callbacks on a single thread that must never block, so the callbacks
    here only enqueue; one worker thread of this class reads ZooKeeper (async calls with a
    deadline), diffs against what it knew, and calls `on_event` - always from that worker
    thread, never concurrently. `start()` reads the initial state (no events for it; see
    `brokers` and `controller_id`); after a ZooKeeper outage kazoo reconnects by itself and
    the watch re-diffs the broker set when connected again.
    """

    def __init__(self, target: ClusterTarget,
                 on_event: Callable[[ClusterEvent], None]) -> None:
        if not target.zookeeper:
            raise UsageError("watching a cluster needs --zookeeper")
        self._target = target
        self._on_event = on_event
        self._queue: queue.Queue[object] = queue.Queue()
        self._zk: KazooClient | None = None
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()
        self._brokers: dict[int, Broker] = {}
        self._controller: int | None = None
        self._state = "connected"

    @property
    def brokers(self) -> dict[int, Broker]:
        """The live brokers as the watch knows them (a copy)."""
        return dict(self._brokers)

    @property
    def controller_id(self) -> int | None:
        """The controller as the watch knows it."""
        return self._controller

    def start(self) -> None:
        """Connect, read the current brokers and controller, and begin watching.

        Raises ConnectionFailure / NotFound like `discover`.
        """

        zk_connect = self._target.zk
        assert zk_connect is not None
        self._zk = start_kazoo(zk_connect, self._target.timeout,
                               **self._target.kazoo_options())
        try:
            ids, self._controller = self._read_ids_and_controller(self._zk)
            deadline = _Deadline(self._target.timeout)
            self._brokers = {b.id: b for b in _read_brokers(self._zk, ids, deadline)}
            self._worker = threading.Thread(target=self._run, name="cluster-watch",
                                            daemon=True)
            self._worker.start()
            self._zk.add_listener(self._on_state)
            # Both fire once at once with the current value; the worker finds no change.
            self._zk.ChildrenWatch("/brokers/ids", self._on_children)
            self._zk.DataWatch("/controller", self._on_controller)
        except (PsError, *_zk_errors()) as exc:
            self.stop()
            if isinstance(exc, PsError):
                raise
            raise ConnectionFailure(f"ZooKeeper at {self._target.zookeeper}: "
                                    f"{type(exc).__name__}") from None

    def _read_ids_and_controller(self, zk: KazooClient) -> tuple[list[int], int | None]:
        """Both reads in flight together, bounded by the target's timeout."""
        from kazoo.exceptions import NoNodeError

        deadline = _Deadline(self._target.timeout)
        ids_async = zk.get_children_async("/brokers/ids")
        controller_async = zk.get_async("/controller")
        try:
            ids = _broker_ids(ids_async.get(timeout=deadline.left()))
        except NoNodeError:
            raise _cluster_missing(self._target.zookeeper or "") from None
        try:
            controller = parse_controller(controller_async.get(timeout=deadline.left())[0])
        except NoNodeError:
            controller = None
        return ids, controller

    def stop(self) -> None:
        """Stop watching and close the session (bounded waits)."""
        self._stopping.set()
        self._queue.put(_STOP)
        if self._zk is not None:
            stop_kazoo(self._zk)
            self._zk = None
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(self._target.timeout + 5)
            self._worker = None

    # kazoo-thread callbacks: enqueue only.

    def _on_state(self, state: str) -> None:
        self._queue.put(("state", str(state).lower()))

    def _on_children(self, children: list[str]) -> bool:
        self._queue.put(("brokers", _broker_ids(children)))
        return not self._stopping.is_set()

    def _on_controller(self, data: bytes | None, _stat: Any, _event: Any = None) -> bool:
        self._queue.put(("controller", parse_controller(data)))
        return not self._stopping.is_set()

    # worker thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            item = self._queue.get()
            if item is _STOP:
                return
            kind, value = item  # type: ignore[misc]
            try:
                if kind == "state":
                    self._state_changed(value)
                elif kind == "brokers":
                    self._brokers_changed(value)
                elif kind == "controller":
                    self._controller_changed(value)
            except (PsError, *_zk_errors()) as exc:
                # The connection dropped mid-read; the CONNECTED state re-diffs later.
                log.info("cluster watch: %s (%s)", kind, exc)
            except Exception:  # noqa: BLE001 - a watch must survive a bad callback
                log.exception("cluster watch: handling %s failed", kind)

    def _post(self, event: ClusterEvent) -> None:
        if self._stopping.is_set():
            return  # nothing after stop(), not even the "lost" of our own close
        try:
            self._on_event(event)
        except Exception:  # noqa: BLE001 - the listener's bug must not stop the watch
            log.exception("cluster watch listener failed on %s", event)

    def _state_changed(self, state: str) -> None:
        previous, self._state = self._state, state
        if state == previous:
            return
        self._post(ConnectionChanged(state))
        zk = self._zk
        if state == "connected" and zk is not None:
            # Events during the outage were missed: compare the whole set again.
            ids, controller = self._read_ids_and_controller(zk)
            self._brokers_changed(ids)
            self._controller_changed(controller)

    def _brokers_changed(self, ids: list[int]) -> None:
        zk = self._zk
        if zk is None or self._stopping.is_set():
            return
        # Read every registration, not only new ids: a restart faster than the watch shows
        # the same id set with a new owner session.
        current = {b.id: b for b in _read_brokers(zk, ids, _Deadline(self._target.timeout))}
        for broker_id in sorted(set(self._brokers) - set(current)):
            del self._brokers[broker_id]
            self._post(BrokerLeft(broker_id))
        for broker_id, broker in sorted(current.items()):
            known = self._brokers.get(broker_id)
            self._brokers[broker_id] = broker
            if known is None:
                self._post(BrokerJoined(broker))
            elif known.session_id != broker.session_id:
                self._post(BrokerRestarted(broker))

    def _controller_changed(self, controller_id: int | None) -> None:
        if controller_id != self._controller:
            self._controller = controller_id
            self._post(ControllerChanged(controller_id))
