"""What a Kafka cluster looks like right now.

`discover` reads the cluster from ZooKeeper (Kafka 3.x in ZooKeeper mode: `/cluster/id`,
`/controller`, `/brokers/ids/<id>`, `/brokers/topics/<t>`, see `engine.cluster.znodes`) with
all reads in flight at once, or, for a cluster without ZooKeeper (KRaft), from the
AdminClient. Every function takes the command's `ClusterSession`, so one command asks one
ZooKeeper session everything it needs. `engine.cluster.watch` follows the changes.
"""

from __future__ import annotations

import logging

from engine.cluster.model import SOURCE_ADMIN, Broker, ClusterView, Endpoint
from engine.cluster.quorum import Quorum, describe_quorum
from engine.cluster.session import ClusterSession
from engine.cluster.znodes import (
    broker_ids,
    cluster_missing,
    fewest_replicas,
    read_cluster,
    zk_errors,
)
from engine.errors import ConnectionFailure, PsError

log = logging.getLogger(__name__)


def _read_cluster_admin(session: ClusterSession) -> ClusterView:
    admin = session.admin()
    where = f"Kafka at {session.bootstrap_servers()}"
    timeout = session.timeout
    try:
        # Twice the request timeout: librdkafka ends the request first, so the client is
        # never dropped with it still in flight.
        described = admin.describe_cluster(request_timeout=timeout).result(timeout=timeout * 2)
        metadata = admin.list_topics(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - KafkaException: transport, timeout, auth
        raise ConnectionFailure(f"{where} did not answer within {timeout:g} s: "
                                f"{session.one_line(exc)}") from None
    # Metadata answers carry host and port only; the protocol is the one this client
    # speaks to that listener.
    protocol = session.location.security_protocol
    brokers = tuple(
        Broker(id=node.id, endpoints=(Endpoint(None, protocol, node.host, node.port),),
               rack=node.rack or None, jmx_port=None, registered_at_ms=None,
               session_id=None, raw_version=None)
        for node in sorted(described.nodes, key=lambda n: n.id))
    controller = described.controller
    factors = {name: factor for name, t in metadata.topics.items()
               if (factor := fewest_replicas(p.replicas for p in t.partitions.values()))
               is not None}
    quorum = _quorum(session, brokers)
    controller_id = controller.id if controller is not None and controller.id >= 0 else None
    if quorum is not None:
        # In KRaft, DescribeCluster names some broker as "controller" (clients cannot reach
        # the controllers); the quorum's leader is the active controller.
        controller_id = quorum.leader_id
    return ClusterView(
        cluster_id=described.cluster_id or None,
        controller_id=controller_id,
        brokers=brokers,
        topics=len(metadata.topics),
        partitions=sum(len(t.partitions) for t in metadata.topics.values()),
        source=SOURCE_ADMIN,
        replication_factors=factors,
        quorum=quorum,
    )


def _quorum(session: ClusterSession, brokers: tuple[Broker, ...]) -> Quorum | None:
    """The KRaft quorum, asked of the brokers one after the other until one tells."""
    timeout = min(session.timeout, 5.0)
    for broker in brokers:
        for endpoint in broker.endpoints:
            try:
                return describe_quorum(endpoint.host, endpoint.port,
                                       session.location.client.props, timeout)
            except PsError as exc:
                log.debug("quorum not read from broker %d: %s", broker.id, exc)
    return None


def discover(session: ClusterSession) -> ClusterView:
    """The cluster as it is now: from ZooKeeper for a ZooKeeper-mode cluster, otherwise from
    the AdminClient.

    Raises ConnectionFailure when ZooKeeper or Kafka does not answer within the session's
    timeout, and NotFound when the ZooKeeper chroot holds no Kafka cluster.
    """
    if session.has_zookeeper:
        view = read_cluster(session.zookeeper(), session.location.zookeeper_text,
                            session.timeout)
        session.learn_brokers(view.brokers)  # the session's Kafka clients start from them
        return view
    return _read_cluster_admin(session)


def live_broker_ids(session: ClusterSession) -> list[int]:
    """The ids of the registered brokers, sorted."""
    from kazoo.exceptions import NoNodeError

    if not session.has_zookeeper:
        return [b.id for b in _read_cluster_admin(session).brokers]
    connect = session.location.zookeeper_text
    try:
        return broker_ids(session.zookeeper().get_children("/brokers/ids"))
    except NoNodeError:
        raise cluster_missing(connect) from None
    except zk_errors() as exc:
        raise ConnectionFailure(f"ZooKeeper at {connect}: {type(exc).__name__}") from None


def registration_owner(session: ClusterSession, broker_id: int) -> int | None:
    """The ZooKeeper session owning `/brokers/ids/<id>` (changes on every broker restart);
    None when the broker is not registered or the cluster has no ZooKeeper."""
    if not session.has_zookeeper:
        return None
    try:
        stat = session.zookeeper().exists(f"/brokers/ids/{int(broker_id)}")
    except zk_errors() as exc:
        raise ConnectionFailure(f"ZooKeeper at {session.location.zookeeper_text}: "
                                f"{type(exc).__name__}") from None
    return (stat.ephemeralOwner or None) if stat is not None else None
