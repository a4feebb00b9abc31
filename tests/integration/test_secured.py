"""Secured clusters (issue 7): every command against the SASL_PLAINTEXT (SCRAM-SHA-256) and
SSL listeners of a private secured sandbox whose ZooKeeper refuses anonymous sessions.

Each command runs with --debug and its whole output is searched for the run's passwords;
wrong credentials must give one error line and exit 1 well inside the timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import certifi
import pytest

PS_CONSOLE = str(Path(sys.executable).with_name("ps-console"))
TIMEOUT = 10  # the commands' --timeout; failures must come well before it

pytestmark = pytest.mark.timeout(300)


class Secured:
    """Facts of the secured sandbox plus the client files the tests hand to ps-console."""

    def __init__(self, box, folder: Path) -> None:
        f = box.state.facts()
        self.facts = f
        self.dir = Path(f["KAFKA_SANDBOX_DIR"])
        self.zk = f["KAFKA_ZK_CONNECT"]
        self.secrets = [f["KAFKA_SASL_PASSWORD"], f["KAFKA_ZK_PASSWORD"],
                        box.state.credentials["store_password"]]
        self.folder = folder

        def write(name: str, lines: dict[str, str]) -> str:
            path = folder / name
            path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
            return str(path)

        sasl = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
                "sasl.username": f["KAFKA_SASL_USER"], "sasl.password": f["KAFKA_SASL_PASSWORD"]}
        self.config = {
            "SASL_PLAINTEXT": write("sasl.properties", sasl),
            "SSL": write("ssl.properties", {"security.protocol": "SSL",
                                            "ssl.ca.location": f["KAFKA_CA_PEM"]}),
        }
        self.bad_sasl = write("bad-sasl.properties", {**sasl, "sasl.password": "not-it-42"})
        # A real CA bundle that did not sign the sandbox's broker certificate.
        self.untrusted = write("untrusted.properties", {"security.protocol": "SSL",
                                                        "ssl.ca.location": certifi.where()})
        zk_auth = {"zookeeper.auth.mechanism": "DIGEST-MD5",
                   "zookeeper.auth.username": f["KAFKA_ZK_USER"],
                   "zookeeper.auth.password": f["KAFKA_ZK_PASSWORD"]}
        self.zk_auth = write("zk-auth.properties", zk_auth)
        self.bad_zk_auth = write("bad-zk-auth.properties",
                                 {**zk_auth, "zookeeper.auth.password": "not-it-either"})
        # The broker's own server.properties (it holds the keystore password), with the
        # HTTP endpoints off so that `report` and the agent only use the topic.
        self.broker_config = folder / "server-1.properties"
        self.broker_config.write_text(
            (self.dir / "server-1.properties").read_text()
            + "confluent.support.metrics.enable=true\n"
              "confluent.support.metrics.endpoint.secure.enable=false\n"
              "confluent.support.metrics.endpoint.insecure.enable=false\n")

    def zk_args(self, auth: str | None = None) -> list[str]:
        return ["--zookeeper", self.zk, "--zookeeper-auth", auth or self.zk_auth]


@pytest.fixture(scope="module")
def sec(secure_sandbox, tmp_path_factory) -> Secured:
    return Secured(secure_sandbox.box, tmp_path_factory.mktemp("secured"))


def run(sec: Secured, *args: str, timeout: float = 90
        ) -> tuple[subprocess.CompletedProcess[str], float]:
    """ps-console --debug ARGS; asserts that no secret of the run is in its output."""
    started = time.monotonic()
    done = subprocess.run([PS_CONSOLE, "--debug", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=sec.folder)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    for secret in sec.secrets:
        assert secret not in output, f"a password leaked in the output of {args[0]}"
    return done, elapsed


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SSL"])
def test_every_command_over_the_secured_listener(sec: Secured, protocol: str) -> None:
    cc = ["--command-config", sec.config[protocol]]
    # report first: it creates the topic the read commands need.
    done, _ = run(sec, "report", "--broker-config", str(sec.broker_config), *sec.zk_args(),
                  *cc, "--token-dir", str(sec.folder / "tokens"), "--json")
    assert done.returncode == 0, done.stderr[-2000:]

    done, _ = run(sec, "agent", "--once", "--broker-config", str(sec.broker_config),
                  *sec.zk_args(), *cc, "--state-dir", str(sec.folder / f"agent-{protocol}"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "topic=ok(" in done.stderr

    done, _ = run(sec, "agent", "--check", "--interval-seconds", "600",
                  "--broker-config", str(sec.broker_config), *sec.zk_args(), *cc)
    assert done.returncode == 0 and done.stdout.startswith("PS-AGENT OK"), done.stdout

    done, _ = run(sec, "cluster", *sec.zk_args(), *cc, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    view = json.loads(done.stdout)
    assert [b["id"] for b in view["brokers"]] == [1]

    done, _ = run(sec, "reports", *sec.zk_args(), *cc, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(r["broker_id"] == 1 and r["ok"] for r in json.loads(done.stdout))

    # The same listener named directly, without ZooKeeper.
    bootstrap = sec.facts["KAFKA_BOOTSTRAP_SASL" if protocol == "SASL_PLAINTEXT"
                          else "KAFKA_BOOTSTRAP_SSL"]
    out = sec.folder / f"bundle-{protocol}.zip"
    done, _ = run(sec, "bundle", "--bootstrap-server", bootstrap, *cc, "--file", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    with zipfile.ZipFile(out) as z:
        assert len(z.namelist()) >= 2  # this test's report and agent report at least


def test_zookeeper_refuses_anonymous_sessions(sec: Secured) -> None:
    done, elapsed = run(sec, "cluster", "--zookeeper", sec.zk)
    assert done.returncode == 1
    assert "requires a SASL login" in last_line(done)
    assert elapsed < TIMEOUT


@pytest.mark.parametrize("case", ["sasl password", "zookeeper password", "untrusted CA"])
def test_wrong_credentials_fail_fast_with_one_line(sec: Secured, case: str) -> None:
    zk_auth = sec.bad_zk_auth if case == "zookeeper password" else sec.zk_auth
    cc = {"sasl password": sec.bad_sasl, "untrusted CA": sec.untrusted}.get(
        case, sec.config["SASL_PLAINTEXT"])
    expected = {"sasl password": "SASL authentication error",
                "zookeeper password": "ZooKeeper at",
                "untrusted CA": "certificate verify failed"}[case]
    listener = sec.facts["KAFKA_BOOTSTRAP_SSL" if case == "untrusted CA"
                         else "KAFKA_BOOTSTRAP_SASL"]
    # `cluster --zookeeper` never talks to Kafka, so the Kafka cases name the listener.
    cluster_at = (sec.zk_args(zk_auth) if case == "zookeeper password"
                  else ["--bootstrap-server", listener])
    for command in (["cluster", *cluster_at], ["reports", *sec.zk_args(zk_auth)],
                    ["bundle", *sec.zk_args(zk_auth), "--file", str(sec.folder / "never.zip")],
                    ["report", "--broker-config", str(sec.broker_config), *sec.zk_args(zk_auth),
                     "--token-dir", str(sec.folder / "tokens")]):
        args = [*command, "--command-config", cc, "--timeout", str(TIMEOUT)]
        started = time.monotonic()
        done = subprocess.run([PS_CONSOLE, *args], capture_output=True, text=True,
                              timeout=60, cwd=sec.folder)
        elapsed = time.monotonic() - started
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        # `report` prints its outcome per destination on stdout (after its warnings about
        # what it could not collect): the topic's line says why. A rejected ZooKeeper
        # login ends it before, when it reads the broker's registration: one error line.
        per_destination = command[0] == "report" and case != "zookeeper password"
        lines = ([line for line in done.stdout.splitlines() if "FAILED" in line]
                 if per_destination else done.stderr.strip().splitlines())
        assert len(lines) == 1, (command, done.stdout, done.stderr)
        assert "authentication failed" in lines[0] and expected in lines[0], lines[0]
        assert elapsed < TIMEOUT / 2, f"{command[0]} took {elapsed:.1f} s"
        for secret in sec.secrets:
            assert secret not in done.stderr + done.stdout
    assert not (sec.folder / "never.zip").exists()


def test_console_backend_from_a_profile(sec: Secured, tmp_path: Path) -> None:
    """The console reads the profile (paths only, no secret in the TOML), builds its location
    and its backend reads the cluster, the reports and follows ZooKeeper."""
    from cli.main import _location
    from tui.backend import ClusterBackend
    from tui.config import load_config

    toml = tmp_path / "config.toml"
    toml.write_text('profile = "secured"\n[profiles.secured]\n'
                    f'zookeeper = "{sec.zk}"\n'
                    f'zookeeper_auth = "{sec.zk_auth}"\n'
                    f'command_config = "{sec.config["SSL"]}"\n')
    config = load_config(env={}, path=toml)
    shown = "\n".join(f"{n} {v} {s}" for n, v, s in config.describe())
    assert sec.zk_auth in shown and not any(s in shown for s in sec.secrets)
    backend = ClusterBackend(_location(config, TIMEOUT), config.topic, ())
    snapshot = backend.snapshot()
    assert [b.id for b in snapshot.brokers] == [1]
    assert snapshot.reports_problem is None and 1 in snapshot.latest
    assert backend.latest_reports([1]), "the console sees no report over SSL"
    watch = backend.watch(lambda _event: None)
    try:
        assert list(watch.brokers) == [1] and watch.controller_id == 1
    finally:
        watch.stop()


def test_sensitive_znodes_need_the_login(sec: Secured) -> None:
    """Kafka's ACLs (zookeeper.set.acl) name the SASL user; the engine's session has it."""
    from engine.cluster.session import ClusterSession
    from tests.support.cluster import location

    with ClusterSession(location(zookeeper=sec.zk, zookeeper_auth=sec.zk_auth)) as session:
        zk = session.zookeeper()
        acls, _ = zk.get_acls("/config/users")
        assert {(a.id.scheme, a.id.id) for a in acls} == {("sasl", sec.facts["KAFKA_ZK_USER"])}
        assert sec.facts["KAFKA_SASL_USER"] in zk.get_children("/config/users")
