"""Whether a broker is registered with its cluster now, and what the cluster records about
that registration.

ZooKeeper mode: a running broker holds the ephemeral znode `/brokers/ids/<id>`. Its stat
names the ZooKeeper session that owns it (`ephemeralOwner`) and when it was made (`czxid`,
`ctime`); a restart makes a new znode from a new session, so all three change, and every
client that reads the znode sees the same three numbers. `/cluster/id` names the cluster;
its znode is made once, when the cluster is, and its `czxid` and `ctime` never leave the
cluster (no report carries them).

KRaft: the controllers keep what identifies a registration (the broker's incarnation id and
its broker epoch) to themselves. Kafka 4.x sends both only in the brokers' own requests
(BrokerRegistration, BrokerHeartbeat, AlterPartition); DescribeCluster answers a client
with id, host, port and rack (and, from version 2, whether the broker is fenced).
A client can tell only whether the broker is registered and unfenced: listed there.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.cluster.session import ClusterSession
from engine.errors import ConnectionFailure


@dataclass(frozen=True)
class Registration:
    """One broker's current registration as a client sees it.

    `facts` are the registration znode's (ephemeralOwner, czxid, ctime) and
    `cluster_facts` the `/cluster/id` znode's (czxid, ctime), in ZooKeeper mode; both are
    empty in KRaft, where clients are shown neither.
    """

    broker_id: int
    cluster_id: str | None
    facts: tuple[int, ...] = ()
    cluster_facts: tuple[int, ...] = ()

    @property
    def from_zookeeper(self) -> bool:
        """True when the registration was read from ZooKeeper (it then has its facts)."""
        return bool(self.facts)


def read_registration(session: ClusterSession, broker_id: int) -> Registration | None:
    """The broker's registration now; None when it is not registered (not running).

    Raises ConnectionFailure (or AuthenticationFailure) when the registration cannot be
    read at all: ZooKeeper, or in KRaft the brokers, do not answer within the session's
    timeout. That is not "not registered": nothing is known then.
    """
    if session.has_zookeeper:
        return _from_zookeeper(session, int(broker_id))
    return _from_kafka(session, int(broker_id))


def _from_zookeeper(session: ClusterSession, broker_id: int) -> Registration | None:
    from kazoo.exceptions import NoNodeError

    from engine.cluster.znodes import parse_cluster_id, zk_errors

    connect = session.location.zookeeper_text
    zk = session.zookeeper()
    try:
        stat = zk.exists(f"/brokers/ids/{broker_id}")
        if stat is None or not stat.ephemeralOwner:
            # A persistent znode of that name is no broker's: only a live session owns one.
            return None
        try:
            data, cluster_stat = zk.get("/cluster/id")
        except NoNodeError:
            return Registration(broker_id, None, (stat.ephemeralOwner, stat.czxid, stat.ctime))
    except zk_errors() as exc:
        raise ConnectionFailure(f"ZooKeeper at {connect}: {type(exc).__name__}") from None
    return Registration(broker_id, parse_cluster_id(data),
                        (stat.ephemeralOwner, stat.czxid, stat.ctime),
                        (cluster_stat.czxid, cluster_stat.ctime))


def _from_kafka(session: ClusterSession, broker_id: int) -> Registration | None:
    admin = session.admin()
    timeout = session.timeout
    try:
        # Twice the request timeout: librdkafka ends the request first, so the client is
        # never dropped with it still in flight.
        described = admin.describe_cluster(request_timeout=timeout).result(timeout=timeout * 2)
    except Exception as exc:  # noqa: BLE001 - KafkaException: transport, timeout, auth
        raise ConnectionFailure(f"Kafka at {session.bootstrap_servers()} did not answer "
                                f"within {timeout:g} s: {session.one_line(exc)}") from None
    if broker_id not in {node.id for node in described.nodes}:
        return None
    return Registration(broker_id, described.cluster_id or None)
