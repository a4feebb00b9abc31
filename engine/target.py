"""Which cluster a command talks to, and the Kafka client configuration to reach it.

Every command that touches a cluster builds one `ClusterTarget` from its options
(`--zookeeper` or `--bootstrap-server`, `--command-config`, `--timeout`) and asks it for a
confluent-kafka configuration; nothing else assembles client configs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

from engine.errors import ConnectionFailure, NotFound, UsageError

DEFAULT_TOPIC = "__confluent.support.metrics"
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class ClusterTarget:
    zookeeper: str | None = None
    bootstrap: str | None = None
    command_config: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    client_props: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClusterTarget:
        from engine.client_config import load_client_config

        props = load_client_config(args.command_config) if args.command_config else {}
        target = cls(zookeeper=args.zookeeper, bootstrap=args.bootstrap_server,
                     command_config=args.command_config,
                     timeout=getattr(args, "timeout", DEFAULT_TIMEOUT), client_props=props)
        if not (target.zookeeper or target.bootstrap):
            raise UsageError("give --zookeeper or --bootstrap-server")
        return target

    @property
    def description(self) -> str:
        """How the cluster was reached, for headers and messages."""
        return f"zk {self.zookeeper}" if self.zookeeper else f"bootstrap {self.bootstrap}"

    @property
    def security_protocol(self) -> str:
        return self.client_props.get("security.protocol", "PLAINTEXT").upper()

    def bootstrap_servers(self) -> str:
        """The bootstrap list: as given, or the matching listeners found in ZooKeeper."""
        if self.bootstrap:
            return self.bootstrap
        return ",".join(self._endpoints_from_zookeeper())

    def kafka_config(self, **extra: object) -> dict[str, object]:
        """A confluent-kafka configuration for this cluster; `extra` wins over defaults."""
        conf: dict[str, object] = {
            "bootstrap.servers": self.bootstrap_servers(),
            "socket.timeout.ms": int(self.timeout * 1000),
        }
        conf.update(self.client_props)
        conf.update(extra)
        return conf

    def _endpoints_from_zookeeper(self) -> list[str]:
        from kazoo.client import KazooClient
        from kazoo.exceptions import NoNodeError
        from kazoo.handlers.threading import KazooTimeoutError

        zk = KazooClient(hosts=self.zookeeper, timeout=self.timeout)
        try:
            zk.start(timeout=self.timeout)
        except KazooTimeoutError:
            raise ConnectionFailure(
                f"ZooKeeper at {self.zookeeper} did not answer within {self.timeout:g} s"
            ) from None
        try:
            try:
                ids = zk.get_children("/brokers/ids")
            except NoNodeError:
                raise NotFound(f"no Kafka cluster registered at {self.zookeeper}") from None
            found: list[str] = []
            for broker_id in ids:
                try:
                    reg = json.loads(zk.get(f"/brokers/ids/{broker_id}")[0])
                except NoNodeError:
                    continue  # left between the listing and the read
                protocols = reg.get("listener_security_protocol_map", {})
                for endpoint in reg.get("endpoints", []):
                    name, _, hostport = endpoint.partition("://")
                    if protocols.get(name, name) == self.security_protocol:
                        found.append(hostport)
                        break
            if not found:
                raise NotFound(f"no broker at {self.zookeeper} has a "
                               f"{self.security_protocol} listener")
            return found
        finally:
            zk.stop()
            zk.close()
