#!/usr/bin/env python3
"""A real Apache Kafka sandbox on 127.0.0.1: Kafka 3.9 with ZooKeeper, or Kafka 4.x KRaft.

ZooKeeper mode runs ZooKeeper plus N brokers of 3.9 (the last line with ZooKeeper). KRaft
mode runs 4.x nodes with a static quorum: N combined broker+controller nodes, or with
`--controllers M` a split quorum (M controller-only nodes 101.., N broker-only nodes 1..N).
The jars come from Maven Central (pom.xml / pom-kafka4.xml beside this file) into
`.sandbox/lib/kafka-<version>`. Every process is recorded with its pid in `state.json` in
the state folder and carries `-Dsandbox.id=<run id>` on its command line, so that `stop`
ends exactly the processes it started, never anything found by name.

Commands (each prints `KEY=VALUE` lines that shells and tests can read):

    fetch [--mode zk|kraft]       download Kafka into the cache (both kinds by default;
                                  a no-op when present)
    start [--mode zk|kraft] [--brokers N] [--controllers M] [--timeout S] [--secure]
                                  --secure: brokers add SASL_PLAINTEXT (SCRAM-SHA-256), SSL,
                                  SASL_SSL (SCRAM-SHA-512) and MTLS (client certificate
                                  required) listeners; in ZooKeeper mode ZooKeeper also
                                  takes SASL DIGEST-MD5 logins (refusing sessions without
                                  one), serves TLS on a second port, and the brokers reach
                                  it over TLS and protect their znodes with ACLs
    status                        the connection facts and the state of every process
    env                           the connection facts only
    stop                          brokers first, then controllers and ZooKeeper; removes
                                  the run folder
    stop-broker ID / start-broker ID    any node by its id, for fault tests
    stop-controller               KRaft: stop the active controller (prints its id)

Without --state-dir (or PS_SANDBOX_DIR) a ZooKeeper sandbox lives in .sandbox/run and a
KRaft one in .sandbox/run-kraft; `--mode` on the other commands picks which.

The module is importable too: tests drive `Sandbox` directly.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tools.sandbox import configs
from tools.sandbox.errors import SandboxError
from tools.sandbox.fetch import (
    CACHE,
    KRAFT_VERSION,
    VERSIONS,
    ZK_VERSION,
    fetch,
    lib_dir,
    major,
    version_for,
)
from tools.sandbox.processes import (
    four_letter,
    free_port,
    owns,
    pid_alive,
    port_open,
    quiet_logger,
)
from tools.sandbox.state import (
    CHROOT,
    CONTROLLER,
    MTLS,
    PLAINTEXT,
    SASL_PLAINTEXT,
    SASL_SSL,
    SECURE_LISTENERS,
    SSL,
    Proc,
    State,
)
from tools.sandbox.tls import TlsFiles, make_tls

# The names other code imports from here (bench, demo, examples, tests).
KAFKA_VERSION = ZK_VERSION
__all__ = ["CACHE", "CHROOT", "DEFAULT_STATE", "KAFKA_VERSION", "KRAFT_VERSION", "Proc",
           "Sandbox", "SandboxError", "State", "ZK_VERSION", "fetch", "four_letter",
           "free_port", "lib_dir", "pid_alive"]

DEFAULT_STATE = CACHE / "run"
DEFAULT_STATES = {"zk": DEFAULT_STATE, "kraft": CACHE / "run-kraft"}
CONTROLLER_ID_BASE = 100  # controller-only nodes are 101, 102, ...

# Serial GC and C1 only: fewer threads and a faster start matter more than peak speed or
# pause times when four JVMs share two cores.
_SMALL = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError",
          "-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true"]
BROKER_JVM = ["-Xms128m", "-Xmx512m", *_SMALL]
KRAFT_JVM = ["-Xms128m", "-Xmx384m", *_SMALL]  # three of them, each also a controller
CONTROLLER_JVM = ["-Xms64m", "-Xmx256m", *_SMALL]
ZK_JVM = ["-Xms64m", "-Xmx256m", *_SMALL]
TOOL_JVM = ["-Xmx256m", *_SMALL]

# The line a Kafka node logs once its startup is over: "[KafkaServer id=1] started" (3.9,
# ZooKeeper mode), "[KafkaRaftServer nodeId=1] Kafka Server started" (KRaft).
STARTED = re.compile(rb"\] (?:Kafka Server )?started \(kafka\.server\.Kafka(?:Raft)?Server\)")
LOG_READ_LIMIT = 64 << 20


class Sandbox:
    """One sandbox run, kept in `state_dir`."""

    def __init__(self, state_dir: Path | str = DEFAULT_STATE, version: str | None = None):
        self.state_dir = Path(state_dir).resolve()
        self.state = State.load(self.state_dir)
        # None: `start` runs the version of its mode (VERSIONS).
        self.requested_version = version
        self.ready_seconds = 0.0

    @property
    def version(self) -> str | None:
        """The Kafka version of the run (or the one asked for, before a start)."""
        return self.state.version if self.state else self.requested_version

    # ---- life cycle -------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.state is not None and any(
            pid_alive(p.pid) and owns(p.pid, self.state.run_id) for p in self.state.procs)

    def start(self, brokers: int = 3, mode: str = "zk", timeout: float = 90.0,
              secure: bool = False, controllers: int = 0) -> State:
        """Start a fresh run and wait until it is ready (and, secured, until every secured
        listener takes the run's credentials). On any failure everything started is
        stopped again before the error is raised."""
        version = self._version(mode)
        if brokers < 1:
            raise SandboxError("a sandbox needs at least one broker")
        if controllers < 0 or (controllers and mode != "kraft"):
            raise SandboxError("--controllers is for KRaft mode (a split quorum)")
        if self.is_running():
            raise SandboxError(f"a sandbox is already running from {self.state_dir}; "
                               "stop it first")
        lib = fetch(version, quiet=True)
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True)
        started = time.monotonic()
        self.state = State(run_id=uuid.uuid4().hex[:12], mode=mode, version=version,
                           dir=str(self.state_dir), secure=secure)
        self._write_log_config()
        # keytool runs beside whatever needs no TLS file yet (formatting KRaft log dirs).
        pool = ThreadPoolExecutor(max_workers=1)
        try:
            tls = self._write_credentials() if secure else None
            made = pool.submit(make_tls, tls.folder, tls.password) if tls else None
            if mode == "zk":
                if made:
                    made.result()
                self._start_zookeeper(lib, tls)
                self._wait_zookeeper(timeout=20)
            self._plan_nodes(brokers, controllers)
            if mode == "zk":
                self._write_zk_brokers(tls)
            else:
                self._write_kraft_nodes(lib, tls)
            if made:
                made.result()
            for node in self.state.nodes:
                self._launch(node, lib)
            self.state.save()
            self.wait_ready(timeout=timeout)
            if secure:
                self._add_scram_users()
                self._wait_secure_listeners(timeout=timeout)
        except BaseException:
            pool.shutdown(wait=True)  # no keytool left writing into a removed folder
            self.stop()
            raise
        pool.shutdown()
        self.ready_seconds = time.monotonic() - started
        return self.state

    def _version(self, mode: str) -> str:
        version = self.requested_version or version_for(mode)
        if mode == "zk" and major(version) >= 4:
            raise SandboxError(f"Kafka {version} has no ZooKeeper mode (3.9 is the last "
                               "line with ZooKeeper)")
        return version

    def _write_log_config(self) -> None:
        assert self.state is not None
        if major(self.state.version) >= 4:
            (self.state_dir / "log4j2.properties").write_text(configs.LOG4J2)
        else:
            (self.state_dir / "log4j.properties").write_text(configs.LOG4J)

    def _log_flag(self) -> str:
        assert self.state is not None
        if major(self.state.version) >= 4:
            return f"-Dlog4j2.configurationFile={self.state_dir / 'log4j2.properties'}"
        return f"-Dlog4j.configuration=file:{self.state_dir / 'log4j.properties'}"

    def _command(self, name: str, jvm: list[str], main: list[str], lib: Path) -> list[str]:
        assert self.state is not None
        return ["java", *jvm, f"-Dsandbox.id={self.state.run_id}", self._log_flag(),
                f"-Dkafka.logs.dir={self.state_dir / name / 'logs'}",
                "-cp", f"{lib}/*", *main]

    def _java(self, name: str, jvm: list[str], main: list[str], lib: Path) -> int:
        log = self.state_dir / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(self._command(name, jvm, main, lib), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=self.state_dir)
        return proc.pid

    def _jvm(self, base: list[str]) -> list[str]:
        """JVM flags for a sandbox process; secured ZooKeeper runs add their JAAS file
        (ZooKeeper reads its Server section, brokers their Client section)."""
        assert self.state is not None
        if not (self.state.secure and self.state.mode == "zk"):
            return base
        return [*base, f"-Djava.security.auth.login.config={self.state_dir / 'jaas.conf'}"]

    def _tls(self) -> TlsFiles | None:
        assert self.state is not None
        if not self.state.secure:
            return None
        return TlsFiles(self.state_dir / "tls", self.state.credentials["store_password"])

    # ---- security ---------------------------------------------------------------------

    def _write_credentials(self) -> TlsFiles:
        """Throw-away credentials and the JAAS file (ZooKeeper mode); returns where the TLS
        material goes (made by `make_tls`)."""
        assert self.state is not None
        creds = {
            "sasl_user": "ps-operator",
            "sasl_password": secrets.token_urlsafe(15),
            "scram512_user": "ps-operator-512",
            "scram512_password": secrets.token_urlsafe(15),
            "store_password": secrets.token_urlsafe(15),
        }
        if self.state.mode == "zk":
            # Kafka's ZooKeeper ACLs name the SASL user the brokers log in as; an operator
            # who must read protected znodes logs in as that same user.
            creds.update(zk_user="kafka", zk_password=secrets.token_urlsafe(15))
            (self.state_dir / "jaas.conf").write_text(
                configs.jaas(creds["zk_user"], creds["zk_password"]))
        self.state.credentials = creds
        return TlsFiles(self.state_dir / "tls", creds["store_password"])

    def _add_scram_users(self) -> None:
        """Create both SCRAM users over PLAINTEXT (ZooKeeper mode stores them in ZooKeeper,
        KRaft in the metadata log)."""
        from confluent_kafka.admin import (
            AdminClient,
            ScramCredentialInfo,
            ScramMechanism,
            UserScramCredentialAlteration,
            UserScramCredentialUpsertion,
        )

        assert self.state is not None
        c = self.state.credentials
        admin = AdminClient({"bootstrap.servers": self.state.listener(PLAINTEXT),
                             "log_level": 0})
        upserts: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(
                c["sasl_user"], ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096),
                c["sasl_password"].encode()),
            UserScramCredentialUpsertion(
                c["scram512_user"], ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
                c["scram512_password"].encode()),
        ]
        for fut in admin.alter_user_scram_credentials(upserts, request_timeout=10).values():
            fut.result(timeout=15)

    def client_config(self, listener: str) -> dict[str, str]:
        """librdkafka settings that log in to `listener` of a secured run with its
        credentials (PLAINTEXT needs none)."""
        assert self.state is not None
        facts, c = self.state.facts(), self.state.credentials
        conf = {"bootstrap.servers": self.state.listener(listener)}
        if listener == PLAINTEXT:
            return conf
        conf["security.protocol"] = SECURE_LISTENERS[listener]
        if listener in (SSL, SASL_SSL, MTLS):
            conf["ssl.ca.location"] = facts["KAFKA_CA_PEM"]
        if listener == SASL_PLAINTEXT:
            conf.update({"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": c["sasl_user"],
                         "sasl.password": c["sasl_password"]})
        elif listener == SASL_SSL:
            conf.update({"sasl.mechanism": "SCRAM-SHA-512",
                         "sasl.username": c["scram512_user"],
                         "sasl.password": c["scram512_password"]})
        elif listener == MTLS:
            conf.update({"ssl.certificate.location": facts["KAFKA_CLIENT_CERT_PEM"],
                         "ssl.key.location": facts["KAFKA_CLIENT_KEY_PEM"]})
        return conf

    def _wait_secure_listeners(self, timeout: float) -> None:
        """Until a login on every secured listener sees every broker (SCRAM users reach
        all brokers a moment after they are created)."""
        from confluent_kafka.admin import AdminClient

        assert self.state is not None
        deadline = time.monotonic() + timeout
        for name in SECURE_LISTENERS:
            last = ""
            while True:
                try:
                    md = AdminClient({**self.client_config(name), "log_level": 0}
                                     ).list_topics(timeout=2)
                    if len(md.brokers) == len(self.state.brokers):
                        break
                    last = f"{len(md.brokers)} brokers"
                except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
                    last = str(exc)
                if time.monotonic() > deadline:
                    raise SandboxError(f"the {name} listeners did not accept the sandbox "
                                       f"client in time ({last})")
                time.sleep(0.5)

    # ---- ZooKeeper --------------------------------------------------------------------

    def _start_zookeeper(self, lib: Path, tls: TlsFiles | None) -> None:
        assert self.state is not None
        port = free_port()
        data = self.state_dir / "zookeeper" / "data"
        data.mkdir(parents=True)
        if tls is not None:
            self.state.zk_tls_port = free_port()
        cfg = self.state_dir / "zk.cfg"
        cfg.write_text(configs.zk_cfg(data, port, self.state.zk_tls_port, tls))
        self.state.zk_port = port
        self.state.procs.append(Proc("zookeeper", 0, port,
                                     str(self.state_dir / "zookeeper.log"), str(cfg)))
        self._launch(self.state.procs[-1], lib)
        self.state.save()

    def _wait_zookeeper(self, timeout: float) -> None:
        assert self.state is not None
        deadline = time.monotonic() + timeout
        zk = self.state.zk
        assert zk is not None
        while time.monotonic() < deadline:
            if not pid_alive(zk.pid):
                raise SandboxError("ZooKeeper exited at start:\n" + self._tail(zk))
            # Both ports are bound before either serves, so the plaintext answer covers the
            # TLS port too (a bare TCP probe there would log a failed handshake).
            if four_letter(self.state.zk_port, b"ruok") == b"imok":
                return
            time.sleep(0.1)
        raise SandboxError("ZooKeeper did not answer ruok in time:\n" + self._tail(zk))

    # ---- Kafka nodes ------------------------------------------------------------------

    def _plan_nodes(self, brokers: int, controllers: int) -> None:
        """Ids, roles and ports of every Kafka node of the run."""
        assert self.state is not None
        kraft, secure = self.state.mode == "kraft", self.state.secure
        plan: list[tuple[int, list[str]]] = []
        if not kraft:
            plan = [(i, ["broker"]) for i in range(1, brokers + 1)]
        elif controllers == 0:
            plan = [(i, ["broker", "controller"]) for i in range(1, brokers + 1)]
        else:
            plan = [(i, ["broker"]) for i in range(1, brokers + 1)]
            plan += [(CONTROLLER_ID_BASE + i, ["controller"])
                     for i in range(1, controllers + 1)]
        for node_id, roles in plan:
            names = []
            if "broker" in roles:
                names = [PLAINTEXT, *(SECURE_LISTENERS if secure else [])]
            if "controller" in roles:
                names.append(CONTROLLER)
            ports = {n: free_port() for n in names}
            name = f"kafka-{node_id}" if "broker" in roles else f"controller-{node_id}"
            for sub in ("data", "logs"):
                (self.state_dir / name / sub).mkdir(parents=True)
            self.state.procs.append(Proc(
                name, 0, ports[PLAINTEXT if "broker" in roles else CONTROLLER],
                str(self.state_dir / f"{name}.log"),
                str(self.state_dir / f"server-{node_id}.properties"),
                node_id=node_id, roles=roles, ports=ports))

    def _data(self, node: Proc) -> Path:
        return self.state_dir / node.name / "data"

    def _write_zk_brokers(self, tls: TlsFiles | None) -> None:
        assert self.state is not None
        for b in self.state.brokers:
            Path(b.config).write_text(configs.zk_broker(
                b, self.state.zk_port, self._data(b), tls, self.state.zk_tls_port))

    def _write_kraft_nodes(self, lib: Path, tls: TlsFiles | None) -> None:
        """Write every node's config, then format every log dir with one cluster id (all
        formats side by side: each is a JVM start)."""
        assert self.state is not None
        voters = self.state.quorum_voters()
        replicas = min(3, len(self.state.brokers))
        for node in self.state.nodes:
            Path(node.config).write_text(
                configs.kraft_node(node, voters, replicas, self._data(node), tls))
        cluster_id = _cluster_id()
        self.state.cluster_id = cluster_id
        formats = [(node, subprocess.Popen(
            self._command(f"format-{node.node_id}", TOOL_JVM,
                          ["kafka.tools.StorageTool", "format", "-t", cluster_id,
                           "-c", node.config], lib),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.state_dir, text=True)) for node in self.state.nodes]
        failed = []
        for node, proc in formats:
            try:
                out, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
                out += "\n(timed out after 120 s)"
            if proc.returncode != 0:
                failed.append(f"node {node.node_id}:\n{out[-2000:]}")
        if failed:
            raise SandboxError("kafka-storage format failed for " + "\n".join(failed))

    def _launch(self, proc: Proc, lib: Path) -> None:
        assert self.state is not None
        if proc.name == "zookeeper":
            jvm, main = ZK_JVM, ["org.apache.zookeeper.server.quorum.QuorumPeerMain"]
        elif self.state.mode == "zk":
            jvm, main = BROKER_JVM, ["kafka.Kafka"]
        else:
            jvm = KRAFT_JVM if proc.is_broker else CONTROLLER_JVM
            main = ["kafka.Kafka"]
        try:
            proc.log_start = Path(proc.log).stat().st_size
        except FileNotFoundError:
            proc.log_start = 0
        proc.pid = self._java(proc.name, self._jvm(jvm), [*main, proc.config], lib)

    def _started(self, node: Proc) -> bool:
        """True once the node's log (since its last launch) says its startup is complete.

        A 3.9 broker registers in ZooKeeper, and so looks ready from outside, before its
        startup ends; a SIGTERM in between makes it halt without closing its ZooKeeper
        session ("still starting up, cannot shut down"), which leaves its registration
        behind until the session expires. Fault tests stop brokers right after a start.
        """
        try:
            with open(node.log, "rb") as log:
                log.seek(node.log_start)
                text = log.read(LOG_READ_LIMIT)
        except OSError:
            return False
        return STARTED.search(text) is not None

    # ---- readiness --------------------------------------------------------------------

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until every broker is registered and metadata shows a controller."""
        assert self.state is not None
        deadline = time.monotonic() + timeout
        ids = {b.node_id for b in self.state.brokers}
        last = "nothing checked yet"
        from confluent_kafka.admin import AdminClient  # only needed once started

        # One client for the whole wait, and every request waited for to its end: a client
        # destroyed while a request of its is in flight has aborted the process in
        # librdkafka. log_level 0: no Python log callbacks from librdkafka's threads.
        admin = AdminClient({"bootstrap.servers": self.state.listener(PLAINTEXT),
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

    def _ready_once(self, ids: set[int], admin: Any) -> tuple[bool, str]:
        assert self.state is not None
        starting = [n.name for n in self.state.nodes if not self._started(n)]
        if starting:
            return False, f"still starting: {', '.join(starting)}"
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

    def _kazoo(self) -> Any:
        """A kazoo client on the plaintext port, logged in on a secured run."""
        from kazoo.client import KazooClient

        assert self.state is not None
        auth: dict[str, Any] = {}
        if self.state.secure:
            c = self.state.credentials
            auth = {"sasl_options": {"mechanism": "DIGEST-MD5", "username": c["zk_user"],
                                     "password": c["zk_password"]}}
        return KazooClient(hosts=f"127.0.0.1:{self.state.zk_port}", timeout=3,
                           logger=quiet_logger(), **auth)

    def _zk_children(self, path: str) -> list[str] | None:
        from kazoo.exceptions import NoNodeError

        zk = self._kazoo()
        try:
            zk.start(timeout=3)
            return list(zk.get_children(path))
        except NoNodeError:
            return None
        except Exception:  # noqa: BLE001 - not reachable yet
            return None
        finally:
            zk.stop()
            zk.close()

    def _zk_get(self, path: str) -> bytes | None:
        from kazoo.exceptions import NoNodeError

        zk = self._kazoo()
        try:
            zk.start(timeout=3)
            return bytes(zk.get(path)[0])
        except NoNodeError:
            return None
        finally:
            zk.stop()
            zk.close()

    # ---- KRaft quorum -----------------------------------------------------------------

    def active_controller(self, timeout: float = 30.0) -> int:
        """The node id of the quorum's leader, from the quorum-state file every live voter
        keeps in its metadata log dir (the newest epoch wins): the sandbox reads its own
        disk rather than asking the cluster it is there to test."""
        assert self.state is not None
        if self.state.mode != "kraft":
            raise SandboxError("only a KRaft sandbox has a controller quorum")
        deadline = time.monotonic() + timeout
        while True:
            best: tuple[int, int] = (-1, -1)  # (epoch, leader)
            for c in self.state.controllers:
                if not (pid_alive(c.pid) and owns(c.pid, self.state.run_id)):
                    continue
                path = self._data(c) / "__cluster_metadata-0" / "quorum-state"
                try:
                    raw = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                best = max(best, (int(raw.get("leaderEpoch", -1)),
                                  int(raw.get("leaderId", -1))))
            leader = self.state.node(best[1])
            if leader is not None and pid_alive(leader.pid):
                return leader.node_id
            if time.monotonic() > deadline:
                raise SandboxError(f"no live quorum leader after {timeout:.0f}s")
            time.sleep(0.2)

    def stop_active_controller(self, kill: bool = False) -> int:
        """Stop the quorum's leader (fault tests); returns its node id."""
        leader = self.active_controller()
        self.stop_broker(leader, kill=kill)
        return leader

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
            kill_deadline = time.monotonic() + 10
            while pid_alive(proc.pid) and time.monotonic() < kill_deadline:
                time.sleep(0.05)

    def stop(self, keep: bool = False) -> None:
        """Stop every process of this run by recorded pid: brokers, then controller-only
        nodes, then ZooKeeper (each group signalled at once so it shuts down in parallel)."""
        if self.state is None:
            return
        brokers = self.state.brokers
        groups = [brokers, [n for n in self.state.nodes if n not in brokers]]
        if self.state.zk:
            groups.append([self.state.zk])
        for group in groups:
            for p in group:
                if pid_alive(p.pid) and owns(p.pid, self.state.run_id):
                    os.kill(p.pid, signal.SIGTERM)
            for p in group:
                self._terminate(p, grace=self._stop_grace(p))
        if not keep and self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state = None

    def _stop_grace(self, proc: Proc) -> float:
        assert self.state is not None
        if proc.name == "zookeeper":
            return 10.0
        # A KRaft broker's shutdown waits for the quorum, which is going down beside it:
        # the data is thrown away anyway, so it gets less time before SIGKILL.
        return 10.0 if self.state.mode == "kraft" else 30.0

    def broker(self, broker_id: int) -> Proc:
        """The Kafka node with node id `broker_id` (a broker, combined or controller node)."""
        assert self.state is not None
        node = self.state.node(broker_id)
        if node is None:
            raise SandboxError(f"no node {broker_id} in this sandbox")
        return node

    def stop_broker(self, broker_id: int, kill: bool = False) -> None:
        """Stop one node (SIGTERM, or SIGKILL with kill=True), for fault tests."""
        b = self.broker(broker_id)
        assert self.state is not None
        if kill and pid_alive(b.pid) and owns(b.pid, self.state.run_id):
            os.kill(b.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while pid_alive(b.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        else:
            self._terminate(b)

    def start_broker(self, broker_id: int, timeout: float = 90.0) -> None:
        """Start a stopped node again on its old config and data, and wait for it."""
        self.start_brokers([broker_id], timeout=timeout)

    def start_brokers(self, broker_ids: list[int], timeout: float = 90.0) -> None:
        """Start several stopped nodes together, then wait for the whole cluster.

        `start_broker` waits until every broker is ready, so it cannot bring back a cluster
        whose brokers are all down one at a time.
        """
        assert self.state is not None
        nodes = [self.broker(i) for i in broker_ids]
        lib = lib_dir(self.state.version)
        for node in nodes:
            if not (pid_alive(node.pid) and owns(node.pid, self.state.run_id)):
                self._launch(node, lib)
        self.state.save()
        deadline = time.monotonic() + timeout
        # A controller-only node is back once its listener answers; brokers once metadata
        # lists them all again.
        for node in nodes:
            if not node.is_broker:
                while not port_open(node.port):
                    if not pid_alive(node.pid):
                        raise SandboxError(f"{node.name} exited:\n" + self._tail(node))
                    if time.monotonic() > deadline:
                        raise SandboxError(f"{node.name} did not listen in {timeout:.0f}s")
                    time.sleep(0.2)
        self.wait_ready(timeout=max(1.0, deadline - time.monotonic()))

    def stop_zookeeper(self) -> None:
        assert self.state is not None and self.state.zk is not None
        self._terminate(self.state.zk, grace=10)

    def start_zookeeper(self) -> None:
        """Start ZooKeeper again on the same port and data folder."""
        assert self.state is not None and self.state.zk is not None
        zk = self.state.zk
        if pid_alive(zk.pid) and owns(zk.pid, self.state.run_id):
            return
        self._launch(zk, lib_dir(self.state.version))
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
            roles = f" {'+'.join(p.roles)}" if p.roles else ""
            lines.append(f"# {p.name}{roles}: pid {p.pid} port {p.port} "
                         f"{'up' if alive else 'DOWN'} | {last}")
        return lines


def _cluster_id() -> str:
    """A random KRaft cluster id, base64url like Kafka's own; never one that starts with
    "-", which the storage tool's argument parser would take for an option (Kafka's
    Uuid.randomUuid skips those for the same reason)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _default_dir(mode: str | None) -> Path:
    if os.environ.get("PS_SANDBOX_DIR"):
        return Path(os.environ["PS_SANDBOX_DIR"])
    return DEFAULT_STATES.get(mode or "zk", DEFAULT_STATE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kafka_sandbox", description=__doc__.split("\n")[1])
    parser.add_argument("--state-dir", default=None,
                        help="folder of this sandbox run (default PS_SANDBOX_DIR, else "
                             ".sandbox/run, or .sandbox/run-kraft for --mode kraft)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    mode_default = os.environ.get("MODE", "zk")

    def with_mode(p: argparse.ArgumentParser, default: str | None = mode_default) -> None:
        p.add_argument("--mode", choices=["zk", "kraft"], default=default)

    with_mode(sub.add_parser("fetch", help="fetch Kafka jars (both kinds by default)"),
              default=None)
    p = sub.add_parser("start")
    with_mode(p)
    p.add_argument("--brokers", type=int, default=int(os.environ.get("BROKERS", 3)))
    p.add_argument("--controllers", type=int, default=int(os.environ.get("CONTROLLERS", 0)),
                   help="KRaft: this many controller-only nodes (a split quorum); "
                        "0 (default): every node is broker and controller")
    p.add_argument("--timeout", type=float, default=90.0)
    p.add_argument("--secure", action="store_true",
                   default=os.environ.get("SECURE", "") not in ("", "0"),
                   help="add SASL_PLAINTEXT (SCRAM-SHA-256), SSL, SASL_SSL (SCRAM-SHA-512) "
                        "and mutual-TLS listeners (ZooKeeper mode: ZooKeeper SASL logins "
                        "and TLS); credentials are printed as facts")
    for name in ("status", "env", "stop-controller"):
        with_mode(sub.add_parser(name))
    p = sub.add_parser("stop")
    with_mode(p)
    p.add_argument("--keep", action="store_true", help="keep the run folder and its logs")
    for name in ("stop-broker", "start-broker"):
        p = sub.add_parser(name)
        with_mode(p)
        p.add_argument("id", type=int)
    args = parser.parse_args(argv)
    if args.cmd == "fetch":
        try:
            for mode in [args.mode] if args.mode else list(VERSIONS):
                lib = fetch(version_for(mode))
                size = sum(f.stat().st_size for f in lib.iterdir())
                key = "KAFKA_LIB" if mode == "zk" else "KAFKA_LIB_KRAFT"
                print(f"{key}={lib}\n{key}_MB={size / 1e6:.1f}")
        except SandboxError as exc:
            print(f"sandbox: {exc}", file=sys.stderr)
            return 1
        return 0
    box = Sandbox(args.state_dir or _default_dir(args.mode))
    try:
        if args.cmd == "start":
            box.start(brokers=args.brokers, mode=args.mode, timeout=args.timeout,
                      secure=args.secure, controllers=args.controllers)
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
        elif box.state is None:
            print("no sandbox state in " + str(box.state_dir), file=sys.stderr)
            return 1
        elif args.cmd == "stop-broker":
            box.stop_broker(args.id)
        elif args.cmd == "start-broker":
            box.start_broker(args.id)
        elif args.cmd == "stop-controller":
            print(f"KAFKA_STOPPED_CONTROLLER={box.stop_active_controller()}")
    except SandboxError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        box.stop()
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
