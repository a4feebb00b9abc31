"""Which cluster a command talks to, and the Kafka client configuration to reach it.

Every command that touches a cluster builds one `ClusterTarget` from its options
(`--zookeeper` or `--bootstrap-server`, `--command-config`, `--timeout`) and asks it for a
confluent-kafka configuration or a ZooKeeper session; nothing else assembles client configs
or opens ZooKeeper.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.cluster.connect import (
    ZkConnect,
    parse_bootstrap,
    parse_zk_connect,
    start_kazoo,
    stop_kazoo,
)
from engine.cluster.zk_auth import ZkAuth
from engine.errors import UsageError, ValidationError

if TYPE_CHECKING:
    from kazoo.client import KazooClient

DEFAULT_TOPIC = "__confluent.support.metrics"
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class ClusterTarget:
    """A cluster as the user named it. Construction validates the connect strings."""

    zookeeper: str | None = None
    bootstrap: str | None = None
    command_config: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    client_props: dict[str, str] = field(default_factory=dict)
    # Notes about the --command-config file (Java-only names dropped); the CLI prints them.
    config_hints: tuple[str, ...] = ()
    # ZooKeeper credentials (--zookeeper-auth FILE or a console profile); None: anonymous.
    zk_auth: ZkAuth | None = None
    # Set once the secured listeners accepted our credentials (see kafka_config); a list
    # because the dataclass is frozen. Not part of equality or repr.
    _auth_checked: list[bool] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.zookeeper is not None:
            parse_zk_connect(self.zookeeper)
        if self.bootstrap is not None:
            parse_bootstrap(self.bootstrap)
        if not self.timeout > 0:
            raise ValidationError(f"--timeout must be a positive number of seconds, "
                                  f"not {self.timeout:g}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClusterTarget:
        """The target named by the cluster options of `cli.options`."""
        from engine.cluster.client_config import ClientConfig, read_client_config

        command_config = getattr(args, "command_config", None)
        config = (read_client_config(command_config) if command_config
                  else ClientConfig(props={}))
        zookeeper = getattr(args, "zookeeper", None)
        bootstrap = getattr(args, "bootstrap_server", None)
        if not (zookeeper or bootstrap):
            raise UsageError("give --zookeeper or --bootstrap-server")
        zk_auth_file = getattr(args, "zookeeper_auth", None)
        zk_auth = None
        if zk_auth_file:
            from engine.cluster.zk_auth import read_zk_auth

            zk_auth = read_zk_auth(zk_auth_file)
        return cls(zookeeper=zookeeper, bootstrap=bootstrap,
                   command_config=command_config,
                   timeout=getattr(args, "timeout", DEFAULT_TIMEOUT),
                   client_props=config.props, config_hints=config.hints, zk_auth=zk_auth)

    @property
    def description(self) -> str:
        """How the cluster was reached, for headers and messages."""
        return f"zk {self.zookeeper}" if self.zookeeper else f"bootstrap {self.bootstrap}"

    @property
    def zk(self) -> ZkConnect | None:
        """The parsed --zookeeper string, or None for a bootstrap-only target."""
        return parse_zk_connect(self.zookeeper) if self.zookeeper else None

    @property
    def security_protocol(self) -> str:
        """The client's `security.protocol` (upper case), PLAINTEXT when not configured."""
        return self.client_props.get("security.protocol", "PLAINTEXT").upper()

    @contextmanager
    def zk_client(self) -> Iterator[KazooClient]:
        """A started kazoo client for --zookeeper (chroot applied), stopped on exit.

        Raises ConnectionFailure when ZooKeeper does not answer within `timeout`, and
        UsageError for a bootstrap-only target.
        """
        zk = self.zk
        if zk is None:
            raise UsageError("this needs --zookeeper (ZooKeeper mode cluster)")
        client = start_kazoo(zk, self.timeout, **self.kazoo_options())
        try:
            yield client
        finally:
            stop_kazoo(client)

    def kazoo_options(self) -> dict[str, object]:
        """Extra KazooClient arguments: the ZooKeeper login, if any."""
        return self.zk_auth.kazoo_options() if self.zk_auth is not None else {}

    def bootstrap_servers(self) -> str:
        """The bootstrap list: as given, or the brokers' matching listeners from ZooKeeper.

        With --zookeeper, one endpoint per live broker whose security protocol is the
        client's `security.protocol`; NotFound when no broker has one.
        """
        if self.bootstrap:
            return self.bootstrap
        from engine.cluster.discovery import client_endpoints

        return client_endpoints(self)

    def kafka_config(self, **extra: object) -> dict[str, object]:
        """A confluent-kafka configuration for this cluster; `extra` wins over defaults."""
        conf: dict[str, object] = {
            "bootstrap.servers": self.bootstrap_servers(),
            "socket.timeout.ms": int(self.timeout * 1000),
        }
        conf.update(self.client_props)
        if self.security_protocol != "PLAINTEXT" and not self._auth_checked:
            # librdkafka retries a rejected login forever; find out once, before any
            # client of this target waits out its timeout on it.
            from engine.cluster.kafka_auth import check_kafka_auth

            check_kafka_auth(conf, self.timeout)
            self._auth_checked.append(True)
        conf.update(extra)
        return conf
