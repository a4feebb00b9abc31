#!/usr/bin/env python3
"""A real Apache Kafka 3.9 sandbox on 127.0.0.1: ZooKeeper plus N brokers, or one KRaft node.

The jars come from Maven Central (see pom.xml beside this file) into `.sandbox/lib`. Every
process the sandbox starts is recorded with its pid in `state.json` inside the state folder
and carries `-Dsandbox.id=<run id>` on its command line, so that `stop` ends exactly the
processes it started, never anything found by name.

Commands (each prints `KEY=VALUE` lines that shells and tests can read):

    fetch                         download Kafka into the cache (a no-op when present)
    start [--brokers N] [--mode zk|kraft] [--timeout S] [--secure]
                                  --secure (ZooKeeper mode): brokers add SASL_PLAINTEXT
                                  (SCRAM-SHA-256) and SSL listeners, ZooKeeper takes SASL
                                  DIGEST-MD5 logins and Kafka protects its znodes with ACLs
    status                        the connection facts and the state of every process
    env                           the connection facts only
    stop                          brokers first, then ZooKeeper; removes the run folder
    stop-broker ID / start-broker ID    for fault tests

The module is importable too: tests drive `Sandbox` directly.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

KAFKA_VERSION = os.environ.get("KAFKA_VERSION", "3.9.2")
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("PS_SANDBOX_CACHE", REPO / ".sandbox"))
DEFAULT_STATE = CACHE / "run"
CHROOT = "/kafka"

# Serial GC and C1 only: fewer threads and a faster start matter more than peak speed or
# pause times when four JVMs share two cores.
BROKER_JVM = [
    "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
    "-Djava.net.preferIPv4Stack=true",
]
ZK_JVM = ["-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
          "-Djava.net.preferIPv4Stack=true"]

LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.zookeeper=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.controller=INFO
"""


class SandboxError(RuntimeError):
    """A sandbox step failed; the message says which and how to look further."""


def lib_dir(version: str = KAFKA_VERSION) -> Path:
    return CACHE / "lib" / f"kafka-{version}"


def fetch(version: str = KAFKA_VERSION, quiet: bool = False) -> Path:
    """Download Kafka and its runtime dependencies once; later calls fetch nothing."""
    lib = lib_dir(version)
    marker = lib / ".complete"
    if marker.exists():
        if not quiet:
            print(f"# kafka {version} already in {lib}", file=sys.stderr)
        return lib
    if shutil.which("mvn") is None:
        raise SandboxError("Maven (mvn) is not on PATH: it is needed once to fetch Kafka")
    cmd = ["mvn", "-B", "-q", "-f", str(HERE / "pom.xml"),
           f"-Dkafka.version={version}", f"-Dkafka.lib.dir={lib}",
           f"-Dmaven.repo.local={CACHE / 'm2'}", "dependency:copy-dependencies"]
    if not quiet:
        print(f"# fetching kafka {version} with Maven into {lib}", file=sys.stderr)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise SandboxError(f"Maven could not fetch Kafka {version}:\n{tail}")
    needed = [f"kafka_2.13-{version}.jar", "zookeeper-3.8.*.jar", "reload4j-*.jar"]
    for pattern in needed:
        if not list(lib.glob(pattern)):
            raise SandboxError(f"Maven ran but {pattern} is missing from {lib}")
    marker.touch()
    return lib


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except OSError:
        return False
    return True


def owns(pid: int, run_id: str) -> bool:
    """True only when pid is a live process this sandbox run started."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"-Dsandbox.id={run_id}".encode() in cmdline


@dataclass
class Proc:
    name: str
    pid: int
    port: int
    log: str
    config: str


@dataclass
class State:
    run_id: str
    mode: str
    version: str
    dir: str
    zk_port: int = 0
    controller_port: int = 0
    procs: list[Proc] = field(default_factory=list)
    cluster_id: str = ""
    # Secured runs only (start --secure): per-broker ports of the extra listeners, and
    # throw-away credentials generated for this run (test-only, never reused).
    secure: bool = False
    sasl_ports: list[int] = field(default_factory=list)
    ssl_ports: list[int] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def brokers(self) -> list[Proc]:
        return [p for p in self.procs if p.name.startswith("kafka-")]

    @property
    def zk(self) -> Proc | None:
        return next((p for p in self.procs if p.name == "zookeeper"), None)

    def facts(self) -> dict[str, str]:
        out = {"KAFKA_BOOTSTRAP": ",".join(f"127.0.0.1:{b.port}" for b in self.brokers)}
        if self.mode == "zk":
            out["KAFKA_ZK_CONNECT"] = f"127.0.0.1:{self.zk_port}{CHROOT}"
        if self.secure:
            c = self.credentials
            out["KAFKA_BOOTSTRAP_SASL"] = ",".join(f"127.0.0.1:{p}" for p in self.sasl_ports)
            out["KAFKA_BOOTSTRAP_SSL"] = ",".join(f"127.0.0.1:{p}" for p in self.ssl_ports)
            out["KAFKA_CA_PEM"] = str(Path(self.dir) / "tls" / "ca.pem")
            out["KAFKA_SASL_USER"] = c["sasl_user"]
            out["KAFKA_SASL_PASSWORD"] = c["sasl_password"]
            out["KAFKA_ZK_USER"] = c["zk_user"]
            out["KAFKA_ZK_PASSWORD"] = c["zk_password"]
        out["KAFKA_SANDBOX_MODE"] = self.mode
        out["KAFKA_SANDBOX_DIR"] = self.dir
        out["KAFKA_VERSION"] = self.version
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
        raw = json.loads(path.read_text())
        raw["procs"] = [Proc(**p) for p in raw["procs"]]
        return cls(**raw)


class Sandbox:
    """One sandbox run, kept in `state_dir`."""

    def __init__(self, state_dir: Path | str = DEFAULT_STATE, version: str = KAFKA_VERSION):
        self.state_dir = Path(state_dir).resolve()
        self.version = version
        self.state = State.load(self.state_dir)

    # ---- life cycle -------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.state is not None and any(
            pid_alive(p.pid) and owns(p.pid, self.state.run_id) for p in self.state.procs)

    def start(self, brokers: int = 3, mode: str = "zk", timeout: float = 90.0,
              secure: bool = False) -> State:
        if mode not in ("zk", "kraft"):
            raise SandboxError(f"unknown mode {mode!r}: use zk or kraft")
        if secure and mode != "zk":
            raise SandboxError("--secure needs ZooKeeper mode (the point is ZooKeeper auth)")
        if mode == "kraft" and brokers != 1:
            raise SandboxError("the KRaft sandbox has exactly one node")
        if self.is_running():
            raise SandboxError(f"a sandbox is already running from {self.state_dir}; "
                               "stop it first")
        lib = fetch(self.version, quiet=True)
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True)
        run_id = uuid.uuid4().hex[:12]
        self.state = State(run_id=run_id, mode=mode, version=self.version,
                           dir=str(self.state_dir), secure=secure)
        (self.state_dir / "log4j.properties").write_text(LOG4J)
        started = time.monotonic()
        try:
            if secure:
                self._write_security_files()
            if mode == "zk":
                self._start_zookeeper(lib)
                self._wait_zookeeper(timeout=20)
                for i in range(1, brokers + 1):
                    self._write_zk_broker(i)
            else:
                self._write_kraft_node(lib)
            for b in self.state.brokers:
                self._launch_broker(b, lib)
            self.state.save()
            self.wait_ready(timeout=timeout)
            if secure:
                self._add_scram_user(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - started
        return self.state

    def _java(self, name: str, jvm: list[str], main: list[str], lib: Path,
              extra_env: dict[str, str] | None = None) -> int:
        assert self.state is not None
        log = self.state_dir / f"{name}.log"
        cmd = ["java", *jvm, f"-Dsandbox.id={self.state.run_id}",
               f"-Dlog4j.configuration=file:{self.state_dir / 'log4j.properties'}",
               f"-Dkafka.logs.dir={self.state_dir / name / 'logs'}",
               "-cp", f"{lib}/*", *main]
        env = dict(os.environ, **(extra_env or {}))
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    env=env, cwd=self.state_dir)
        return proc.pid

    def _jvm(self, base: list[str]) -> list[str]:
        """JVM flags for a sandbox process; secured runs add their JAAS file (ZooKeeper
        reads its Server section, brokers their Client section)."""
        assert self.state is not None
        if not self.state.secure:
            return base
        return [*base, f"-Djava.security.auth.login.config={self.state_dir / 'jaas.conf'}"]

    def _write_security_files(self) -> None:
        """Credentials, JAAS file, CA and broker certificate for a secured run.

        The CA and broker key pair come from keytool (PKCS12). librdkafka wants the CA as
        PEM, hence the -rfc export; the broker keystore holds the CA-signed chain.
        """
        assert self.state is not None
        creds = {
            "sasl_user": "ps-operator",
            "sasl_password": secrets.token_urlsafe(15),
            # Kafka's ZooKeeper ACLs name the SASL user the brokers log in as; an operator
            # who must read protected znodes logs in as that same user.
            "zk_user": "kafka",
            "zk_password": secrets.token_urlsafe(15),
            "store_password": secrets.token_urlsafe(15),
        }
        self.state.credentials = creds
        (self.state_dir / "jaas.conf").write_text(
            "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
            f'  user_{creds["zk_user"]}="{creds["zk_password"]}";\n}};\n'
            "Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
            f'  username="{creds["zk_user"]}" password="{creds["zk_password"]}";\n}};\n')
        tls = self.state_dir / "tls"
        tls.mkdir()
        pw = creds["store_password"]
        san = "SAN=IP:127.0.0.1,DNS:localhost"
        ca, broker = str(tls / "ca.p12"), str(tls / "broker.p12")
        steps = [
            ["-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048",
             "-dname", "CN=ps-console sandbox CA", "-ext", "bc:c", "-validity", "30",
             "-storetype", "PKCS12", "-keystore", ca, "-storepass", pw],
            ["-exportcert", "-rfc", "-alias", "ca", "-keystore", ca, "-storepass", pw,
             "-file", str(tls / "ca.pem")],
            ["-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048",
             "-dname", "CN=localhost", "-ext", san, "-validity", "30",
             "-storetype", "PKCS12", "-keystore", broker, "-storepass", pw],
            ["-certreq", "-alias", "broker", "-keystore", broker, "-storepass", pw,
             "-file", str(tls / "broker.csr")],
            ["-gencert", "-rfc", "-alias", "ca", "-keystore", ca, "-storepass", pw,
             "-infile", str(tls / "broker.csr"), "-outfile", str(tls / "broker.pem"),
             "-ext", san, "-ext", "KU=digitalSignature,keyEncipherment",
             "-ext", "EKU=serverAuth", "-validity", "30"],
            ["-importcert", "-noprompt", "-alias", "ca", "-file", str(tls / "ca.pem"),
             "-keystore", broker, "-storepass", pw],
            ["-importcert", "-alias", "broker", "-file", str(tls / "broker.pem"),
             "-keystore", broker, "-storepass", pw],
            # A truststore for Java clients (librdkafka uses ca.pem).
            ["-importcert", "-noprompt", "-alias", "ca", "-file", str(tls / "ca.pem"),
             "-storetype", "PKCS12", "-keystore", str(tls / "truststore.p12"),
             "-storepass", pw],
        ]
        if shutil.which("keytool") is None:
            raise SandboxError("keytool (JDK) is not on PATH: --secure needs it")
        for step in steps:
            done = subprocess.run(["keytool", *step], capture_output=True, text=True,
                                  timeout=60)
            if done.returncode != 0:
                raise SandboxError(f"keytool {step[0]} failed:\n{done.stdout}{done.stderr}")

    def _secure_listeners(self) -> tuple[str, str]:
        """Broker properties that add the SASL_PLAINTEXT and SSL listeners (secured runs).

        Brokers talk to each other on PLAINTEXT; only clients use the secured listeners.
        """
        assert self.state is not None
        sasl, tls = free_port(), free_port()
        self.state.sasl_ports.append(sasl)
        self.state.ssl_ports.append(tls)
        pw = self.state.credentials["store_password"]
        return (
            f"SASL_PLAINTEXT://127.0.0.1:{sasl},SSL://127.0.0.1:{tls}",
            "inter.broker.listener.name=PLAINTEXT\n"
            "sasl.enabled.mechanisms=SCRAM-SHA-256\n"
            "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;\n"
            f"ssl.keystore.location={self.state_dir / 'tls' / 'broker.p12'}\n"
            f"ssl.keystore.type=PKCS12\nssl.keystore.password={pw}\nssl.key.password={pw}\n"
            "ssl.client.auth=none\n"
            # Kafka creates its znodes with SASL ACLs (world read except the sensitive
            # paths); the login comes from the Client section of the JAAS file.
            "zookeeper.set.acl=true\n")

    def _add_scram_user(self, timeout: float) -> None:
        """Create the SCRAM-SHA-256 client user (over PLAINTEXT), then wait until a login
        on the SASL listener and a handshake on the SSL listener both succeed."""
        from confluent_kafka.admin import (
            AdminClient,
            ScramCredentialInfo,
            ScramMechanism,
            UserScramCredentialUpsertion,
        )

        assert self.state is not None
        facts = self.state.facts()
        creds = self.state.credentials
        admin = AdminClient({"bootstrap.servers": facts["KAFKA_BOOTSTRAP"], "log_level": 0})
        upsert = UserScramCredentialUpsertion(
            creds["sasl_user"], ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096),
            creds["sasl_password"].encode())
        for fut in admin.alter_user_scram_credentials([upsert], request_timeout=10).values():
            fut.result(timeout=15)
        checks = {
            "SASL_PLAINTEXT": {"bootstrap.servers": facts["KAFKA_BOOTSTRAP_SASL"],
                               "security.protocol": "SASL_PLAINTEXT",
                               "sasl.mechanism": "SCRAM-SHA-256",
                               "sasl.username": creds["sasl_user"],
                               "sasl.password": creds["sasl_password"]},
            "SSL": {"bootstrap.servers": facts["KAFKA_BOOTSTRAP_SSL"],
                    "security.protocol": "SSL", "ssl.ca.location": facts["KAFKA_CA_PEM"]},
        }
        deadline = time.monotonic() + timeout
        for name, conf in checks.items():
            last = ""
            while True:
                try:
                    md = AdminClient({**conf, "log_level": 0}).list_topics(timeout=2)
                    if len(md.brokers) == len(self.state.brokers):
                        break
                    last = f"{len(md.brokers)} brokers"
                except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
                    last = str(exc)
                if time.monotonic() > deadline:
                    raise SandboxError(f"the {name} listeners did not accept the sandbox "
                                       f"client in time ({last})")
                time.sleep(0.5)

    def _start_zookeeper(self, lib: Path) -> None:
        assert self.state is not None
        port = free_port()
        data = self.state_dir / "zookeeper" / "data"
        data.mkdir(parents=True)
        cfg = self.state_dir / "zk.cfg"
        cfg.write_text(
            f"tickTime=2000\ndataDir={data}\nclientPort={port}\n"
            "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr,mntr,envi,stat\n"
            # Secured: SASL logins, and no operation at all without one (Kafka's own ACLs
            # leave most znodes world-readable, so this is what makes credentials needed).
            + ("authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"
               "enforce.auth.enabled=true\nenforce.auth.schemes=sasl\n"
               if self.state.secure else ""))
        self.state.zk_port = port
        pid = self._java("zookeeper", self._jvm(ZK_JVM),
                         ["org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)], lib)
        self.state.procs.append(Proc("zookeeper", pid, port,
                                     str(self.state_dir / "zookeeper.log"), str(cfg)))
        self.state.save()

    def _wait_zookeeper(self, timeout: float) -> None:
        assert self.state is not None
        deadline = time.monotonic() + timeout
        zk = self.state.zk
        assert zk is not None
        while time.monotonic() < deadline:
            if not pid_alive(zk.pid):
                raise SandboxError("ZooKeeper exited at start:\n" + self._tail(zk))
            if four_letter(self.state.zk_port, b"ruok") == b"imok":
                return
            time.sleep(0.1)
        raise SandboxError("ZooKeeper did not answer ruok in time:\n" + self._tail(zk))

    def _broker_common(self, i: int) -> str:
        data = self.state_dir / f"kafka-{i}" / "data"
        data.mkdir(parents=True)
        (self.state_dir / f"kafka-{i}" / "logs").mkdir()
        return (
            f"log.dirs={data}\n"
            "num.partitions=1\n"
            "num.network.threads=2\nnum.io.threads=2\nbackground.threads=2\n"
            "num.recovery.threads.per.data.dir=1\n"
            "log.cleaner.dedupe.buffer.size=16777216\n"
            "offsets.topic.num.partitions=3\n"
            "transaction.state.log.num.partitions=3\n"
            "transaction.state.log.min.isr=1\n"
            "group.initial.rebalance.delay.ms=0\n"
            "auto.create.topics.enable=false\n"
            "controlled.shutdown.enable=false\n")

    def _write_zk_broker(self, i: int) -> None:
        assert self.state is not None
        port = free_port()
        listeners, security = f"PLAINTEXT://127.0.0.1:{port}", ""
        if self.state.secure:
            more, security = self._secure_listeners()
            listeners += "," + more
        cfg = self.state_dir / f"server-{i}.properties"
        cfg.write_text(
            f"broker.id={i}\n"
            f"listeners={listeners}\n"
            f"advertised.listeners={listeners}\n"
            + security +
            f"zookeeper.connect=127.0.0.1:{self.state.zk_port}{CHROOT}\n"
            "zookeeper.session.timeout.ms=6000\n"
            # One replica for internal topics so that a single stopped broker in a
            # fault test never makes consumer groups unavailable.
            "offsets.topic.replication.factor=1\n"
            "transaction.state.log.replication.factor=1\n"
            + self._broker_common(i))
        self.state.procs.append(Proc(f"kafka-{i}", 0, port,
                                     str(self.state_dir / f"kafka-{i}.log"), str(cfg)))

    def _write_kraft_node(self, lib: Path) -> None:
        assert self.state is not None
        port, cport = free_port(), free_port()
        self.state.controller_port = cport
        cfg = self.state_dir / "server-1.properties"
        cfg.write_text(
            "process.roles=broker,controller\nnode.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{cport}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n"
            "controller.listener.names=CONTROLLER\ninter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            "offsets.topic.replication.factor=1\n"
            "transaction.state.log.replication.factor=1\n"
            + self._broker_common(1))
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.state.cluster_id = cluster_id
        done = subprocess.run(
            ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", f"{lib}/*",
             f"-Dlog4j.configuration=file:{self.state_dir / 'log4j.properties'}",
             "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(cfg)],
            capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxError("kafka-storage format failed:\n" + done.stdout + done.stderr)
        self.state.procs.append(Proc("kafka-1", 0, port,
                                     str(self.state_dir / "kafka-1.log"), str(cfg)))

    def _launch_broker(self, broker: Proc, lib: Path) -> None:
        broker.pid = self._java(broker.name, self._jvm(BROKER_JVM),
                                ["kafka.Kafka", broker.config], lib)

    # ---- readiness --------------------------------------------------------------------

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until every broker is registered and metadata shows a controller."""
        assert self.state is not None
        deadline = time.monotonic() + timeout
        ids = {int(b.name.split("-")[1]) for b in self.state.brokers}
        last = "nothing checked yet"
        from confluent_kafka.admin import AdminClient  # only needed once started

        # One client for the whole wait, and every request waited for to its end: a client
        # destroyed while a request of its is in flight has aborted the process in
        # librdkafka. log_level 0: no Python log callbacks from librdkafka's threads.
        admin = AdminClient({"bootstrap.servers": self.state.facts()["KAFKA_BOOTSTRAP"],
                             "socket.timeout.ms": 2000, "log_level": 0})
        while time.monotonic() < deadline:
            for p in self.state.procs:
                if not pid_alive(p.pid):
                    raise SandboxError(f"{p.name} (pid {p.pid}) exited:\n" + self._tail(p))
            ok, last = self._ready_once(ids, admin)
            if ok:
                return
            time.sleep(0.5)
        raise SandboxError(f"sandbox not ready after {timeout:.0f}s ({last}); logs in "
                           f"{self.state_dir}")

    def _ready_once(self, ids: set[int], admin) -> tuple[bool, str]:  # noqa: ANN001
        assert self.state is not None
        if self.state.mode == "zk":
            registered = self._zk_children(f"{CHROOT}/brokers/ids")
            if registered is None or {int(x) for x in registered} != ids:
                return False, f"registered in ZooKeeper: {sorted(registered or [])}"
        try:
            md = admin.list_topics(timeout=2)
            # librdkafka ends the request at 2 s; the longer wait only guards a hang.
            desc = admin.describe_cluster(request_timeout=2).result(timeout=30)
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            return False, f"metadata: {exc}"
        if set(md.brokers) != ids:
            return False, f"metadata brokers: {sorted(md.brokers)}"
        if desc.controller is None or desc.controller.id < 0:
            return False, "no controller elected yet"
        if self.state.mode == "zk" and self._zk_get(f"{CHROOT}/controller") is None:
            return False, "no /controller znode yet"
        self.state.cluster_id = desc.cluster_id or self.state.cluster_id
        self.state.save()
        return True, "ready"

    def _kazoo_auth(self) -> dict[str, object]:
        """kazoo options that log in to a secured run's ZooKeeper (none otherwise)."""
        assert self.state is not None
        if not self.state.secure:
            return {}
        c = self.state.credentials
        return {"sasl_options": {"mechanism": "DIGEST-MD5", "username": c["zk_user"],
                                 "password": c["zk_password"]}}

    def _zk_children(self, path: str) -> list[str] | None:
        from kazoo.client import KazooClient
        from kazoo.exceptions import NoNodeError

        zk = KazooClient(hosts=f"127.0.0.1:{self.state.zk_port}", timeout=3,
                         logger=_quiet_logger(), **self._kazoo_auth())
        try:
            zk.start(timeout=3)
            return zk.get_children(path)
        except NoNodeError:
            return None
        except Exception:  # noqa: BLE001 - not reachable yet
            return None
        finally:
            zk.stop()
            zk.close()

    def _zk_get(self, path: str) -> bytes | None:
        from kazoo.client import KazooClient
        from kazoo.exceptions import NoNodeError

        zk = KazooClient(hosts=f"127.0.0.1:{self.state.zk_port}", timeout=3,
                         logger=_quiet_logger(), **self._kazoo_auth())
        try:
            zk.start(timeout=3)
            return zk.get(path)[0]
        except NoNodeError:
            return None
        finally:
            zk.stop()
            zk.close()

    # ---- stopping ---------------------------------------------------------------------

    def _terminate(self, proc: Proc, grace: float = 30.0) -> None:
        assert self.state is not None
        if not (pid_alive(proc.pid) and owns(proc.pid, self.state.run_id)):
            return
        os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and pid_alive(proc.pid):
            time.sleep(0.1)
        if pid_alive(proc.pid) and owns(proc.pid, self.state.run_id):
            os.kill(proc.pid, signal.SIGKILL)
            while pid_alive(proc.pid):
                time.sleep(0.05)

    def stop(self, keep: bool = False) -> None:
        """Stop every process of this run, brokers before ZooKeeper, by recorded pid."""
        if self.state is None:
            return
        brokers = self.state.brokers
        for b in brokers:  # signal all first so they shut down in parallel
            if pid_alive(b.pid) and owns(b.pid, self.state.run_id):
                os.kill(b.pid, signal.SIGTERM)
        for b in brokers:
            self._terminate(b)
        if self.state.zk:
            self._terminate(self.state.zk, grace=10)
        if not keep and self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state = None

    def broker(self, broker_id: int) -> Proc:
        assert self.state is not None
        for b in self.state.brokers:
            if b.name == f"kafka-{broker_id}":
                return b
        raise SandboxError(f"no broker {broker_id} in this sandbox")

    def stop_broker(self, broker_id: int, kill: bool = False) -> None:
        """Stop one broker (SIGTERM, or SIGKILL with kill=True), for fault tests."""
        b = self.broker(broker_id)
        assert self.state is not None
        if kill and pid_alive(b.pid) and owns(b.pid, self.state.run_id):
            os.kill(b.pid, signal.SIGKILL)
            while pid_alive(b.pid):
                time.sleep(0.05)
        else:
            self._terminate(b)

    def start_broker(self, broker_id: int, timeout: float = 90.0) -> None:
        """Start a stopped broker again on its old config and data, and wait for it."""
        b = self.broker(broker_id)
        assert self.state is not None
        if pid_alive(b.pid) and owns(b.pid, self.state.run_id):
            return
        self._launch_broker(b, lib_dir(self.state.version))
        self.state.save()
        self.wait_ready(timeout=timeout)

    def start_brokers(self, broker_ids: list[int], timeout: float = 90.0) -> None:
        """Start several stopped brokers together, then wait for the whole cluster.

        `start_broker` waits until every broker is ready, so it cannot bring back a cluster
        whose brokers are all down one at a time.
        """
        assert self.state is not None
        for broker_id in broker_ids:
            b = self.broker(broker_id)
            if not (pid_alive(b.pid) and owns(b.pid, self.state.run_id)):
                self._launch_broker(b, lib_dir(self.state.version))
        self.state.save()
        self.wait_ready(timeout=timeout)

    def stop_zookeeper(self) -> None:
        assert self.state is not None and self.state.zk is not None
        self._terminate(self.state.zk, grace=10)

    def start_zookeeper(self) -> None:
        """Start ZooKeeper again on the same port and data folder."""
        assert self.state is not None and self.state.zk is not None
        zk = self.state.zk
        if pid_alive(zk.pid) and owns(zk.pid, self.state.run_id):
            return
        zk.pid = self._java("zookeeper", self._jvm(ZK_JVM),
                            ["org.apache.zookeeper.server.quorum.QuorumPeerMain", zk.config],
                            lib_dir(self.state.version))
        self.state.save()
        self._wait_zookeeper(timeout=20)

    # ---- reporting --------------------------------------------------------------------

    def _tail(self, proc: Proc, lines: int = 40) -> str:
        try:
            text = Path(proc.log).read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {proc.log})"
        return "\n".join(text[-lines:])

    def status_lines(self) -> list[str]:
        if self.state is None:
            return ["KAFKA_SANDBOX_STATE=stopped"]
        lines = [f"{k}={v}" for k, v in self.state.facts().items()]
        lines.append("KAFKA_SANDBOX_STATE=" + ("running" if self.is_running() else "stopped"))
        for p in self.state.procs:
            alive = pid_alive(p.pid) and owns(p.pid, self.state.run_id)
            # The last log record, not the last line: a stack trace's tail says nothing.
            records = [line for line in self._tail(p, 200).splitlines()
                       if line.startswith("[")]
            last = (records[-1] if records else self._tail(p, 1))[:160]
            lines.append(f"# {p.name}: pid {p.pid} port {p.port} "
                         f"{'up' if alive else 'DOWN'} | {last}")
        return lines


def four_letter(port: int, word: bytes, timeout: float = 1.0) -> bytes:
    """Send a ZooKeeper four-letter word and return the answer (b'' when unreachable)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word)
            chunks = []
            while True:
                data = s.recv(4096)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks)
    except OSError:
        return b""


def _quiet_logger():
    import logging

    logger = logging.getLogger("kafka_sandbox.clients")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kafka_sandbox", description=__doc__.split("\n")[0])
    parser.add_argument("--state-dir", default=os.environ.get("PS_SANDBOX_DIR", DEFAULT_STATE),
                        help="folder of this sandbox run (default .sandbox/run)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch")
    p = sub.add_parser("start")
    p.add_argument("--brokers", type=int, default=int(os.environ.get("BROKERS", 3)))
    p.add_argument("--mode", choices=["zk", "kraft"], default=os.environ.get("MODE", "zk"))
    p.add_argument("--timeout", type=float, default=90.0)
    p.add_argument("--secure", action="store_true",
                   default=os.environ.get("SECURE", "") not in ("", "0"),
                   help="add SASL_PLAINTEXT (SCRAM-SHA-256) and SSL listeners and "
                        "ZooKeeper SASL auth; credentials are printed as facts")
    sub.add_parser("status")
    sub.add_parser("env")
    p = sub.add_parser("stop")
    p.add_argument("--keep", action="store_true", help="keep the run folder and its logs")
    for name in ("stop-broker", "start-broker"):
        p = sub.add_parser(name)
        p.add_argument("id", type=int)
    args = parser.parse_args(argv)
    box = Sandbox(args.state_dir)
    try:
        if args.cmd == "fetch":
            lib = fetch()
            size = sum(f.stat().st_size for f in lib.iterdir())
            print(f"KAFKA_LIB={lib}\nKAFKA_LIB_MB={size / 1e6:.1f}")
        elif args.cmd == "start":
            brokers = 1 if args.mode == "kraft" else args.brokers
            box.start(brokers=brokers, mode=args.mode, timeout=args.timeout,
                      secure=args.secure)
            print("\n".join(box.status_lines()))
            print(f"KAFKA_SANDBOX_READY_SECONDS={box.ready_seconds:.1f}")
        elif args.cmd == "status":
            print("\n".join(box.status_lines()))
            return 0 if box.is_running() else 1
        elif args.cmd == "env":
            if box.state is None:
                print("no sandbox state in " + str(box.state_dir), file=sys.stderr)
                return 1
            print("\n".join(f"{k}={v}" for k, v in box.state.facts().items()))
        elif args.cmd == "stop":
            box.stop(keep=args.keep)
            print("KAFKA_SANDBOX_STATE=stopped")
        elif args.cmd == "stop-broker":
            box.stop_broker(args.id)
        elif args.cmd == "start-broker":
            box.start_broker(args.id)
    except SandboxError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        box.stop()
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
