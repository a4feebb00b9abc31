"""One connection to a cluster for one command, one agent cycle or one console refresh.

A `ClusterSession` owns what reaching a cluster costs: the one ZooKeeper client (started on
first use, at most once), the Kafka bootstrap servers (resolved once: as given, or from the
brokers' registrations in ZooKeeper), the client configuration (secured listeners checked
once for rejected credentials) and one AdminClient. Discovery, the collector, the submitters
and the topic reader all take the session, so a `ps-console report` opens one ZooKeeper
session, not one per question. Close it (or use it as a context manager) when done.

Not thread-safe: one thread uses a session at a time (a console worker, an agent cycle).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.cluster.connect import all_refused, format_bootstrap, parse_bootstrap
from engine.cluster.kafka_auth import check_kafka_auth, mask, secret_values
from engine.cluster.location import ClusterLocation
from engine.cluster.zookeeper import open_kazoo, stop_kazoo
from engine.errors import ConnectionFailure, NotFound, PsError, UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from confluent_kafka.admin import AdminClient
    from kazoo.client import KazooClient

    from engine.cluster.model import Broker

# librdkafka's own log lines go to this logger, and only when debugging: commands report
# failures in one line of their own.
KAFKA_LOG = logging.getLogger("engine.librdkafka")
log = logging.getLogger(__name__)


class ClusterSession:
    """See the module docstring. `location` says where; nothing happens until asked."""

    def __init__(self, location: ClusterLocation, fallback_bootstrap: str | None = None) -> None:
        self.location = location
        # Endpoints found in an earlier session, for when ZooKeeper cannot be asked again:
        # a broker's listeners outlive a ZooKeeper outage (the agent keeps reporting).
        self._fallback = fallback_bootstrap
        self._zk: KazooClient | None = None
        self._zk_error: PsError | None = None
        self._bootstrap: str | None = None
        self._auth_checked = False
        self._reach_checked = False
        self._refused: ConnectionFailure | None = None
        self._admin: AdminClient | None = None
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ClusterSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the ZooKeeper session (bounded wait) and drop the Kafka clients; idempotent."""
        self._closed = True
        client, self._zk = self._zk, None
        self._admin = None
        if client is not None:
            stop_kazoo(client)

    @property
    def timeout(self) -> float:
        """The bound of every network wait of this session, in seconds."""
        return self.location.timeout

    # -- ZooKeeper ---------------------------------------------------------------------------

    @property
    def has_zookeeper(self) -> bool:
        """True when the cluster is reached through ZooKeeper (a ZooKeeper-mode cluster)."""
        return self.location.zookeeper is not None

    def zookeeper(self) -> KazooClient:
        """The session's ZooKeeper client (chroot applied), started on first use.

        ConnectionFailure / AuthenticationFailure when ZooKeeper cannot be reached: the
        failure is remembered, so later questions of this session fail at once instead of
        waiting out the timeout again. UsageError for a cluster without ZooKeeper.
        """
        if self._closed:
            raise RuntimeError("the cluster session is closed")
        connect = self.location.zookeeper
        if connect is None:
            raise UsageError("this needs --zookeeper (a ZooKeeper-mode cluster)")
        if self._zk_error is not None:
            raise self._zk_error
        if self._zk is None:
            try:
                self._zk = open_kazoo(connect, self.timeout, self.location.zk_auth,
                                      self.location.zk_tls)
            except PsError as exc:
                self._zk_error = exc
                raise
        return self._zk

    # -- Kafka -------------------------------------------------------------------------------

    def bootstrap_servers(self) -> str:
        """The bootstrap list: as given, or the brokers' matching listeners from ZooKeeper.

        From ZooKeeper: one endpoint per live broker whose security protocol is the client's
        `security.protocol`; NotFound when no broker has one.
        """
        if self._bootstrap is None:
            if self.location.bootstrap:
                self._bootstrap = format_bootstrap(self.location.bootstrap)
            else:
                try:
                    self._bootstrap = self._endpoints_from_zookeeper()
                except ConnectionFailure as exc:
                    if not self._fallback:
                        raise
                    log.info("%s; using the brokers found before: %s", exc, self._fallback)
                    self._bootstrap = self._fallback
        return self._bootstrap

    def ensure_reachable(self) -> None:
        """ConnectionFailure at once when every bootstrap server refuses the connection:
        librdkafka would retry until its timeout and then report no answer. Called once a
        client accepted its configuration, so a bad setting is reported as such first."""
        if self._refused is not None:
            # Checked once per session; every later client of it hears the same answer
            # rather than waiting out its timeout on the same closed port.
            raise ConnectionFailure(str(self._refused))
        if self._reach_checked:
            return
        self._reach_checked = True
        servers = self.bootstrap_servers()
        if all_refused(parse_bootstrap(servers), min(self.timeout, 2.0)):
            self._refused = ConnectionFailure(f"Kafka at {servers} refused the connection "
                                              "(nothing listens there)")
            raise ConnectionFailure(str(self._refused))

    @property
    def resolved_bootstrap(self) -> str | None:
        """The bootstrap list once `bootstrap_servers` resolved it, else None."""
        return self._bootstrap

    def learn_brokers(self, brokers: Sequence[Broker]) -> None:
        """The registered brokers, just read from ZooKeeper by discovery: the bootstrap
        list comes from them rather than from a second read of every registration (a
        thousand brokers cost a third of a second to read)."""
        if self._bootstrap is not None or self.location.bootstrap or not brokers:
            return
        chosen = self._addresses(brokers)
        if chosen:
            self._bootstrap = ",".join(chosen)

    def _addresses(self, brokers: Sequence[Broker]) -> list[str]:
        """One endpoint of each broker in the client's security protocol, each address
        once: brokers behind one address (a proxy, a test's synthetic registrations)
        would make the client open that connection many times."""
        protocol = self.location.security_protocol
        return list(dict.fromkeys(
            e.address for b in brokers if (e := b.endpoint_for(protocol)) is not None))

    def _endpoints_from_zookeeper(self) -> str:
        from engine.cluster.znodes import read_registrations

        connect = self.location.zookeeper_text
        return self._endpoints(read_registrations(self.zookeeper(), connect, self.timeout))

    def _endpoints(self, brokers: list[Broker]) -> str:
        connect = self.location.zookeeper_text
        protocol = self.location.security_protocol
        chosen = self._addresses(brokers)
        if not chosen:
            if not brokers:
                raise NotFound(f"no broker is registered at {connect}")
            raise NotFound(f"no broker at {connect} has a {protocol} listener "
                           "(set security.protocol in --command-config)")
        return ",".join(chosen)

    def kafka_config(self, **extra: object) -> dict[str, Any]:
        """A confluent-kafka configuration for this cluster; `extra` wins over defaults.

        librdkafka's log goes to the `engine.librdkafka` logger when debugging, nowhere
        otherwise. On a secured protocol the credentials are checked once per session:
        librdkafka retries a rejected login forever, so each client would otherwise wait
        out its whole timeout on it.
        """
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers(),
            "socket.timeout.ms": int(self.timeout * 1000),
        }
        conf.update(self.location.client.props)
        if self.location.security_protocol != "PLAINTEXT" and not self._auth_checked:
            check_kafka_auth(conf, self.timeout, self.location.client.origin)
            self._auth_checked = True
        if logging.getLogger("engine").isEnabledFor(logging.DEBUG):
            conf["logger"] = KAFKA_LOG
        else:
            conf["log_level"] = 0
        conf.update(extra)
        return conf

    def admin(self) -> AdminClient:
        """The session's AdminClient, made on first use. Every call made with it waits for
        its answer (twice the request timeout), so it is never dropped mid-request."""
        if self._admin is None:
            from confluent_kafka import KafkaException
            from confluent_kafka.admin import AdminClient

            try:
                admin = AdminClient(self.kafka_config())
            except (KafkaException, ValueError, TypeError) as exc:
                raise UsageError("Kafka client configuration refused: "
                                 f"{self.one_line(exc)}") from None
            self.ensure_reachable()
            self._admin = admin
        return self._admin

    def one_line(self, exc: BaseException) -> str:
        """A confluent-kafka exception as one readable line, without any secret."""
        err: Any = exc.args[0] if exc.args else None
        text = err.str() if hasattr(err, "str") else str(exc)
        line = text.splitlines()[0] if text else type(exc).__name__
        # librdkafka quotes a rejected value; never let a secret through that way.
        return mask(line, secret_values(self.location.client.props))
