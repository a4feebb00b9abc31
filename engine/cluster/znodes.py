"""What Kafka writes in ZooKeeper (ZooKeeper mode), parsed and read.

`/cluster/id`, `/controller`, `/brokers/ids/<id>` and `/brokers/topics/<t>`: the parsers
accept every version Kafka wrote and tolerate junk; the readers send all their reads at once
on a started kazoo client and bound the whole batch by one deadline.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from engine.cluster.model import SOURCE_ZOOKEEPER, Broker, ClusterView, Endpoint
from engine.config.broker import split_listener
from engine.errors import ConnectionFailure, NotFound

if TYPE_CHECKING:
    from kazoo.client import KazooClient

log = logging.getLogger(__name__)


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
    parts = split_listener(text)
    if parts is None:
        raise RegistrationError(f"endpoint {text!r} is not LISTENER://host:port")
    name, host, port_text = parts
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


def broker_ids(children: Iterable[str]) -> list[int]:
    """Numeric children of /brokers/ids, sorted; anything else there is not a broker."""
    return sorted(int(c) for c in children if c.isdigit())





class Deadline:
    """One time budget shared by a batch of waits, so the batch as a whole is bounded."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.05, self.end - time.monotonic())


def zk_errors() -> tuple[type[Exception], ...]:
    from kazoo.exceptions import ConnectionLoss, SessionExpiredError
    from kazoo.handlers.threading import KazooTimeoutError

    return (ConnectionLoss, SessionExpiredError, KazooTimeoutError)


def _request_brokers(zk: KazooClient, ids: list[int]) -> list[tuple[int, Any]]:
    """Send every registration read at once; collect them with `_collect_brokers`."""
    return [(i, zk.get_async(f"/brokers/ids/{i}")) for i in ids]


def _collect_brokers(pending: list[tuple[int, Any]], deadline: Deadline) -> list[Broker]:
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


def read_brokers(zk: KazooClient, ids: list[int], deadline: Deadline) -> list[Broker]:
    """Every registration in flight at once."""
    return _collect_brokers(_request_brokers(zk, ids), deadline)


def cluster_missing(connect: str) -> NotFound:
    return NotFound(f"no Kafka cluster registered at {connect}")


def read_cluster(zk: KazooClient, connect: str, timeout: float,
                 with_topics: bool = True) -> ClusterView:
    """The cluster under a started kazoo client's chroot (see `discover`)."""
    from kazoo.exceptions import NoNodeError

    deadline = Deadline(timeout)
    try:
        ids_async = zk.get_children_async("/brokers/ids")
        cluster_async = zk.get_async("/cluster/id")
        controller_async = zk.get_async("/controller")
        topics_async = zk.get_children_async("/brokers/topics") if with_topics else None
        try:
            ids = broker_ids(ids_async.get(timeout=deadline.left()))
        except NoNodeError:
            raise cluster_missing(connect) from None
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
    except zk_errors() as exc:
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




def read_registrations(zk: KazooClient, connect: str, timeout: float) -> list[Broker]:
    """Every registered broker, in id order (the registrations alone: no topic reads)."""
    from kazoo.exceptions import NoNodeError

    deadline = Deadline(timeout)
    try:
        try:
            ids = broker_ids(zk.get_children_async("/brokers/ids").get(timeout=deadline.left()))
        except NoNodeError:
            raise cluster_missing(connect) from None
        return read_brokers(zk, ids, deadline)
    except zk_errors() as exc:
        raise ConnectionFailure(f"ZooKeeper at {connect}: lost the connection while reading "
                                f"the brokers ({type(exc).__name__})") from None
