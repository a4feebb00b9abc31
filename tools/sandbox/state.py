"""What a sandbox run is made of (`state.json` in its folder) and the facts it prints.

Every process is recorded with its pid; Kafka nodes also with their node id, roles and the
port of each listener. The facts are `KEY=VALUE` lines that shells and tests read.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CHROOT = "/kafka"

# Listener names. Brokers talk to each other on PLAINTEXT and to the KRaft quorum on
# CONTROLLER; only clients use the secured listeners. MTLS is a second SSL listener, the one
# that requires a client certificate.
PLAINTEXT = "PLAINTEXT"
CONTROLLER = "CONTROLLER"
SASL_PLAINTEXT = "SASL_PLAINTEXT"
SSL = "SSL"
SASL_SSL = "SASL_SSL"
MTLS = "MTLS"
SECURE_LISTENERS = {SASL_PLAINTEXT: "SASL_PLAINTEXT", SSL: "SSL", SASL_SSL: "SASL_SSL",
                    MTLS: "SSL"}


@dataclass
class Proc:
    """One process of the run: ZooKeeper or a Kafka node."""

    name: str
    pid: int
    port: int  # the client port: PLAINTEXT for brokers, CONTROLLER for controller-only nodes
    log: str
    config: str
    node_id: int = 0
    roles: list[str] = field(default_factory=list)  # "broker", "controller"; [] = ZooKeeper
    ports: dict[str, int] = field(default_factory=dict)  # listener name -> port
    log_start: int = 0  # size of the log when the process was last launched

    @property
    def is_broker(self) -> bool:
        return "broker" in self.roles

    @property
    def is_controller(self) -> bool:
        return "controller" in self.roles


@dataclass
class State:
    run_id: str
    mode: str
    version: str
    dir: str
    zk_port: int = 0
    zk_tls_port: int = 0
    procs: list[Proc] = field(default_factory=list)
    cluster_id: str = ""
    # Secured runs only (start --secure): throw-away credentials generated for this run.
    secure: bool = False
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def brokers(self) -> list[Proc]:
        return [p for p in self.procs if p.is_broker]

    @property
    def controllers(self) -> list[Proc]:
        """KRaft quorum voters (combined nodes and controller-only nodes)."""
        return [p for p in self.procs if p.is_controller]

    @property
    def nodes(self) -> list[Proc]:
        """Every Kafka process: brokers, combined nodes, controller-only nodes."""
        return [p for p in self.procs if p.roles]

    @property
    def zk(self) -> Proc | None:
        return next((p for p in self.procs if p.name == "zookeeper"), None)

    def node(self, node_id: int) -> Proc | None:
        return next((p for p in self.nodes if p.node_id == node_id), None)

    def quorum_voters(self) -> str:
        """`controller.quorum.voters` of a KRaft run ("" in ZooKeeper mode)."""
        return ",".join(f"{c.node_id}@127.0.0.1:{c.ports[CONTROLLER]}"
                        for c in self.controllers)

    def listener(self, name: str) -> str:
        """host:port of listener `name` on every broker, comma-separated."""
        return ",".join(f"127.0.0.1:{b.ports[name]}" for b in self.brokers if name in b.ports)

    def facts(self) -> dict[str, str]:
        out = {"KAFKA_BOOTSTRAP": self.listener(PLAINTEXT)}
        if self.mode == "zk":
            out["KAFKA_ZK_CONNECT"] = f"127.0.0.1:{self.zk_port}{CHROOT}"
        else:
            out["KAFKA_CONTROLLERS"] = ",".join(
                f"127.0.0.1:{c.ports[CONTROLLER]}" for c in self.controllers)
            out["KAFKA_QUORUM_VOTERS"] = self.quorum_voters()
        out["KAFKA_BROKER_IDS"] = ",".join(str(b.node_id) for b in self.brokers)
        if self.mode == "kraft":
            out["KAFKA_CONTROLLER_IDS"] = ",".join(str(c.node_id) for c in self.controllers)
        for node in self.nodes:
            kind = "BROKER" if node.is_broker else "CONTROLLER"
            out[f"KAFKA_{kind}_CONFIG_{node.node_id}"] = node.config
        if self.secure:
            out.update(self._secure_facts())
        out["KAFKA_SANDBOX_MODE"] = self.mode
        out["KAFKA_SANDBOX_DIR"] = self.dir
        out["KAFKA_VERSION"] = self.version
        return out

    def _secure_facts(self) -> dict[str, str]:
        c, tls = self.credentials, Path(self.dir) / "tls"
        out = {
            "KAFKA_BOOTSTRAP_SASL": self.listener(SASL_PLAINTEXT),
            "KAFKA_BOOTSTRAP_SSL": self.listener(SSL),
            "KAFKA_BOOTSTRAP_SASL_SSL": self.listener(SASL_SSL),
            "KAFKA_BOOTSTRAP_MTLS": self.listener(MTLS),
            "KAFKA_CA_PEM": str(tls / "ca.pem"),
            "KAFKA_SASL_USER": c["sasl_user"],  # SCRAM-SHA-256, on KAFKA_BOOTSTRAP_SASL
            "KAFKA_SASL_PASSWORD": c["sasl_password"],
            "KAFKA_SCRAM512_USER": c["scram512_user"],  # SCRAM-SHA-512, on SASL_SSL
            "KAFKA_SCRAM512_PASSWORD": c["scram512_password"],
            "KAFKA_CLIENT_CERT_PEM": str(tls / "client.pem"),
            "KAFKA_CLIENT_KEY_PEM": str(tls / "client.key"),
            # Encrypted with KAFKA_STORE_PASSWORD (ssl.key.password).
            "KAFKA_CLIENT_KEY_ENCRYPTED_PEM": str(tls / "client-encrypted.key"),
            "KAFKA_CLIENT_P12": str(tls / "client.p12"),
            "KAFKA_TRUSTSTORE_P12": str(tls / "truststore.p12"),
            "KAFKA_TRUSTSTORE_JKS": str(tls / "truststore.jks"),
            "KAFKA_STORE_PASSWORD": c["store_password"],
        }
        if self.mode == "zk":
            out["KAFKA_ZK_TLS_CONNECT"] = f"127.0.0.1:{self.zk_tls_port}{CHROOT}"
            out["KAFKA_ZK_USER"] = c["zk_user"]
            out["KAFKA_ZK_PASSWORD"] = c["zk_password"]
        return out

    def save(self) -> None:
        path = Path(self.dir) / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)

    @classmethod
    def load(cls, state_dir: Path) -> State | None:
        path = state_dir / "state.json"
        if not path.exists():
            return None
        return cls.from_json(json.loads(path.read_text()))

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> State:
        """A state as saved, also one saved by the sandbox before nodes had roles and
        ports (a sandbox started before an upgrade stays reusable and stoppable)."""
        procs = [_proc(p) for p in raw.get("procs", [])]
        legacy_ports = {"controller_port": raw.get("controller_port", 0),
                        SASL_PLAINTEXT: raw.get("sasl_ports", []), SSL: raw.get("ssl_ports", [])}
        brokers = [p for p in procs if p.is_broker]
        for name in (SASL_PLAINTEXT, SSL):
            for b, port in zip(brokers, legacy_ports[name], strict=False):
                b.ports.setdefault(name, port)
        if raw.get("mode") == "kraft" and legacy_ports["controller_port"] and brokers:
            brokers[0].roles = ["broker", "controller"]
            brokers[0].ports.setdefault(CONTROLLER, legacy_ports["controller_port"])
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in raw.items() if k in known and k != "procs"}
        return cls(procs=procs, **kept)


def _proc(raw: dict[str, Any]) -> Proc:
    known = {f.name for f in fields(Proc)}
    proc = Proc(**{k: v for k, v in raw.items() if k in known})
    if not proc.roles and proc.name.startswith("kafka-"):  # saved before roles existed
        proc.roles = ["broker"]
        proc.node_id = int(proc.name.split("-")[1])
        proc.ports = {PLAINTEXT: proc.port}
    return proc
