"""Where a cluster is: a plain description, built in one place, that does no network I/O.

Every command, agent and console names its cluster the same way: `ClusterOptions` holds what
the user gave (flags, or a console profile), `locate` turns it, and the broker's own
`server.properties` when there is one, into a `ClusterLocation`. Building one reads only the
small local files it names (the client properties of `--command-config` and the key and
trust stores they name, the ZooKeeper credentials of `--zookeeper-auth`); reaching the
cluster is `ClusterSession`'s work.

How the cluster is found, first match wins:

1. `--zookeeper` and/or `--bootstrap-server` as given;
2. the broker's `zookeeper.connect` (ZooKeeper mode);
3. the broker's own client listener (KRaft: advertised first, never a controller
   listener), with its security protocol.

ZooKeeper over TLS (engine.cluster.zk_tls) follows the connect string it belongs to: the
`zookeeper.ssl.*` settings of `--zookeeper-auth FILE` when that file has any, else, only
when the connect string is the broker's own `zookeeper.connect`, the broker's settings. An
explicit `--zookeeper` never takes the broker file's TLS settings: they describe the
broker's own address (often a TLS port), and an operator who names another one (the
plaintext port, another ensemble) says how to reach it in `--zookeeper-auth`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from engine.cluster.client_config import ClientConfig, read_client_config
from engine.cluster.connect import (
    HostPort,
    ZkConnect,
    format_bootstrap,
    parse_bootstrap,
    parse_zk_connect,
)
from engine.errors import UsageError, ValidationError

if TYPE_CHECKING:
    from engine.cluster.zk_auth import ZkAuth
    from engine.cluster.zk_tls import ZkTls
    from engine.config.broker import BrokerConfig

DEFAULT_TOPIC = "__confluent.support.metrics"
DEFAULT_TIMEOUT = 10.0
# A timeout is a bound on a wait that a person sits through: beyond an hour it is a typo, and
# kazoo and librdkafka overflow on values near a float's range.
MAX_TIMEOUT = 3600.0


def check_timeout(value: float, name: str = "--timeout") -> float:
    """`value` when it is a finite number of seconds in (0, MAX_TIMEOUT]; ValidationError."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(
            value) or not 0 < value <= MAX_TIMEOUT:
        raise ValidationError(f"{name} must be a number of seconds above 0 and at most "
                              f"{MAX_TIMEOUT:g}, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class ClusterOptions:
    """The cluster options a user gives, unparsed: None means not given."""

    zookeeper: str | None = None
    bootstrap: str | None = None
    command_config: str | None = None
    zookeeper_auth: str | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class ClusterLocation:
    """A cluster as named by the user or by a broker's file. Construction validates.

    `zookeeper` is set for ZooKeeper-mode clusters (discovery reads it); `bootstrap` is the
    Kafka bootstrap list when one was given or derived from a broker's listener (empty:
    found from ZooKeeper's broker registrations, see `ClusterSession.bootstrap_servers`).
    """

    zookeeper: ZkConnect | None = None
    bootstrap: tuple[HostPort, ...] = ()
    client: ClientConfig = field(default_factory=lambda: ClientConfig(props={}))
    zk_auth: ZkAuth | None = None
    zk_tls: ZkTls | None = None  # ZooKeeper over TLS (see the module docstring)
    timeout: float = DEFAULT_TIMEOUT
    # Where the description came from, for messages: "the command line", a file, a profile.
    origin: str = "the command line"
    # The --command-config file the client settings came from, for messages.
    command_config: str | None = None

    def __post_init__(self) -> None:
        check_timeout(self.timeout)
        if self.zookeeper is None and not self.bootstrap:
            raise UsageError("give --zookeeper or --bootstrap-server")

    @property
    def address(self) -> str:
        """The ZooKeeper connect string, else the bootstrap list."""
        if self.zookeeper is not None:
            return str(self.zookeeper)
        return format_bootstrap(self.bootstrap)

    @property
    def description(self) -> str:
        """How the cluster is reached, for headers and messages."""
        return f"{'zk' if self.zookeeper is not None else 'bootstrap'} {self.address}"

    @property
    def zookeeper_text(self) -> str:
        """The ZooKeeper connect string, '' for a cluster without ZooKeeper."""
        return str(self.zookeeper) if self.zookeeper is not None else ""

    @property
    def security_protocol(self) -> str:
        """The client's `security.protocol` (upper case), PLAINTEXT when not configured."""
        return self.client.props.get("security.protocol", "PLAINTEXT").upper()

    def with_timeout(self, timeout: float) -> ClusterLocation:
        """The same cluster with another timeout (an agent's short last report)."""
        return replace(self, timeout=timeout)


def locate(options: ClusterOptions, broker: BrokerConfig | None = None,
           default_timeout: float = DEFAULT_TIMEOUT, origin: str | None = None
           ) -> ClusterLocation:
    """The one place a `ClusterLocation` is made (see the module docstring for the rules).

    `broker` is the broker's config when the command runs for one broker (agent, report);
    its file then names the cluster unless the options do. UsageError / ValidationError
    (exit 2) for a bad connect string, timeout or file; NotFound for a missing file.
    """
    timeout = check_timeout(default_timeout if options.timeout is None else options.timeout)
    client = (read_client_config(options.command_config) if options.command_config
              else ClientConfig(props={}))
    zk_file = None
    if options.zookeeper_auth:
        # Imported here, as zk_tls below: ZooKeeper's login and TLS modules (ssl,
        # keystores) load only for a cluster that has them; every command comes here.
        from engine.cluster.zk_auth import read_zookeeper_file

        zk_file = read_zookeeper_file(options.zookeeper_auth)
    zk_auth = zk_file.auth if zk_file is not None else None
    zk_tls = zk_file.tls if zk_file is not None else None
    tls_decided = zk_file is not None and zk_file.tls_given
    zookeeper = parse_zk_connect(options.zookeeper) if options.zookeeper else None
    bootstrap = parse_bootstrap(options.bootstrap) if options.bootstrap else ()
    where = origin or "the command line"
    if zookeeper is None and not bootstrap and broker is not None:
        where = origin or str(broker.path)
        connect = broker.zookeeper_connect
        if connect is not None:
            try:
                zookeeper = parse_zk_connect(connect)
            except ValidationError as exc:
                raise ValidationError(f"{broker.path}: zookeeper.connect: {exc}") from None
            if not tls_decided:
                from engine.cluster.zk_tls import zk_tls_from_properties

                zk_tls = zk_tls_from_properties(broker.properties, str(broker.path))
        elif broker.kraft:
            if "broker" not in broker.process_roles:
                broker.require_broker()  # a controller-only node: refused, in one line
            wanted = client.props.get("security.protocol")
            listener = broker.client_listener(wanted)
            bootstrap = parse_bootstrap(listener.address)
            if wanted is None and listener.protocol != "PLAINTEXT":
                # The listener says how to talk to it; credentials still come from
                # --command-config, and their absence is reported by the client.
                client = replace(client, props={**client.props,
                                                "security.protocol": listener.protocol})
        else:
            raise UsageError(f"{broker.path} has neither zookeeper.connect nor process.roles: "
                             "give --zookeeper or --bootstrap-server")
    return ClusterLocation(zookeeper=zookeeper, bootstrap=bootstrap, client=client,
                           zk_auth=zk_auth, zk_tls=zk_tls if zookeeper is not None else None,
                           timeout=timeout, origin=where,
                           command_config=options.command_config)
