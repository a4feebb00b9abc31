"""What a Kafka cluster looks like, as plain data: brokers with their endpoints, a snapshot of
the cluster, and the events a watch posts when it changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.cluster.connect import format_host_port
from engine.cluster.quorum import Quorum

SOURCE_ZOOKEEPER = "zookeeper"
SOURCE_ADMIN = "admin"


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
    `quorum` is a KRaft cluster's metadata quorum where the cluster tells it (its leader is
    then the active controller, `controller_id`); None in ZooKeeper mode.
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
    quorum: Quorum | None = None

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


