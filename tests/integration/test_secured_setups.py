"""The secured setups real clusters run, on both kinds (issue 17): SASL_SSL with SCRAM-SHA-512
and mutual TLS with the client certificate as a PKCS12 keystore, a Java PEM keystore
(encrypted key and chain in one file) or librdkafka's PEM names, on the secured Kafka 3.9
ZooKeeper sandbox and the secured Kafka 4.4 KRaft sandbox.

For each setup every command works: `report`, the agent (`--once`), `cluster`, `reports`,
`bundle` and the console (Pilot); with a rejected credential each fails within a few seconds
with one line; no secret of the run is in any output, even with --debug. `report` and the
agent run from the broker's own server.properties: on KRaft it names the listener; in
ZooKeeper mode its zookeeper.connect is ZooKeeper's TLS port, with the broker's
zookeeper.ssl.* settings, and the SASL login comes from --zookeeper-auth. The console in
ZooKeeper mode follows ZooKeeper over TLS with a client certificate (x509) and the login.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import trustme

from tests.support.sandboxes import SandboxFacts
from tests.support.stores import KEYTOOL

PS_CONSOLE = str(Path(sys.executable).with_name("ps-console"))
TIMEOUT = 10  # the commands' --timeout; a rejected credential must end well before it
FAST = 4.0  # seconds a rejected credential may take, process start included
SETUPS = ("sasl_ssl", "mtls_pkcs12", "mtls_java_pem", "mtls_librdkafka_pem")
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"

pytestmark = pytest.mark.timeout(600)


class Secured:
    """The client files of one secured sandbox, one per setup, and how to name it."""

    def __init__(self, cluster: SandboxFacts, folder: Path) -> None:
        f = cluster.facts
        self.cluster, self.facts, self.folder = cluster, f, folder
        self.secrets = [f["KAFKA_SASL_PASSWORD"], f["KAFKA_SCRAM512_PASSWORD"],
                        f["KAFKA_STORE_PASSWORD"], *([f["KAFKA_ZK_PASSWORD"]]
                                                    if "KAFKA_ZK_PASSWORD" in f else [])]
        store = f["KAFKA_STORE_PASSWORD"]
        trust_p12 = {"ssl.truststore.location": f["KAFKA_TRUSTSTORE_P12"],
                     "ssl.truststore.password": store}
        # Java's PEM keystore: the (encrypted) private key and its chain in one file.
        pem_keystore = folder / "client-keystore.pem"
        pem_keystore.write_text(Path(f["KAFKA_CLIENT_KEY_ENCRYPTED_PEM"]).read_text()
                                + Path(f["KAFKA_CLIENT_CERT_PEM"]).read_text())
        sasl = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.jaas.config": f'{SCRAM} required username="{f["KAFKA_SCRAM512_USER"]}" '
                                    f'password="{f["KAFKA_SCRAM512_PASSWORD"]}";', **trust_p12}
        self.files = {
            "sasl_ssl": self.write("sasl-ssl.properties", sasl),
            "mtls_pkcs12": self.write("mtls-p12.properties", {
                "security.protocol": "SSL", **trust_p12, "ssl.keystore.type": "PKCS12",
                "ssl.keystore.location": f["KAFKA_CLIENT_P12"],
                "ssl.keystore.password": store}),
            "mtls_java_pem": self.write("mtls-java-pem.properties", {
                "security.protocol": "SSL", "ssl.truststore.type": "PEM",
                "ssl.truststore.location": f["KAFKA_CA_PEM"], "ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(pem_keystore), "ssl.key.password": store}),
            "mtls_librdkafka_pem": self.write("mtls-pem.properties", {
                "security.protocol": "SSL", "ssl.ca.location": f["KAFKA_CA_PEM"],
                "ssl.certificate.location": f["KAFKA_CLIENT_CERT_PEM"],
                "ssl.key.location": f["KAFKA_CLIENT_KEY_PEM"]}),
        }
        # A client certificate the brokers do not trust: signed by another CA.
        other = trustme.CA().issue_cert("ps-console-client")
        other.cert_chain_pems[0].write_to_path(str(folder / "other.pem"))
        other.private_key_pem.write_to_path(str(folder / "other.key"))
        self.rejected = {
            "sasl password": (self.write("bad-sasl.properties", {
                **sasl, "sasl.jaas.config": f'{SCRAM} required username='
                                            f'"{f["KAFKA_SCRAM512_USER"]}" password="no-7";'}),
                "SASL_SSL", "SASL authentication error"),
            "client certificate": (self.write("bad-cert.properties", {
                "security.protocol": "SSL", "ssl.ca.location": f["KAFKA_CA_PEM"],
                "ssl.certificate.location": str(folder / "other.pem"),
                "ssl.key.location": str(folder / "other.key")}), "MTLS", "client certificate"),
            "no client certificate": (self.write("no-cert.properties", {
                "security.protocol": "SSL", **trust_p12}), "MTLS", "want a client certificate"),
        }
        if cluster.zk_connect is not None:
            zk_login = {"zookeeper.auth.mechanism": "DIGEST-MD5",
                        "zookeeper.auth.username": f["KAFKA_ZK_USER"],
                        "zookeeper.auth.password": f["KAFKA_ZK_PASSWORD"]}
            self.zk_login = self.write("zk-login.properties", zk_login)
            # The console's way to ZooKeeper: TLS with a client certificate, and the login.
            self.zk_tls = self.write("zk-tls.properties", {
                **zk_login, "zookeeper.ssl.client.enable": "true",
                "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
                "zookeeper.ssl.truststore.location": f["KAFKA_TRUSTSTORE_P12"],
                "zookeeper.ssl.truststore.password": store,
                "zookeeper.ssl.keystore.location": f["KAFKA_CLIENT_P12"],
                "zookeeper.ssl.keystore.password": store})

    def write(self, name: str, lines: dict[str, str]) -> str:
        path = self.folder / name
        path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
        return str(path)

    def listener(self, setup: str) -> str:
        """The bootstrap list of the listener a setup speaks to."""
        name = "SASL_SSL" if setup == "sasl_ssl" else "MTLS"
        return self.facts[f"KAFKA_BOOTSTRAP_{name}"]

    def broker_config(self, topic: str) -> Path:
        """Broker 1's own server.properties (its keystore password, and in ZooKeeper mode
        its ZooKeeper TLS settings, included), reporting to `topic` only."""
        path = self.folder / f"server-1-{topic}.properties"
        path.write_text(self.cluster.broker_configs[1].read_text("latin-1") +
                        f"confluent.support.metrics.topic={topic}\n"
                        "confluent.support.metrics.enable=true\n"
                        "confluent.support.metrics.endpoint.secure.enable=false\n"
                        "confluent.support.metrics.endpoint.insecure.enable=false\n",
                        "latin-1")
        return path

    def beside_broker(self, setup: str, config: Path) -> list[str]:
        """How `report` and the agent find the cluster: the broker's file (ZooKeeper mode:
        ZooKeeper over TLS as the file says, with the login). A security.protocol of SSL
        names the first SSL listener of the file, which needs no client certificate: the
        mutual-TLS setups name their listener."""
        where = ["--broker-config", str(config)]
        if self.cluster.zk_connect is not None:
            where += ["--zookeeper-auth", self.zk_login]
        if setup != "sasl_ssl":
            where += ["--bootstrap-server", self.listener(setup)]
        return where


@pytest.fixture(scope="module")
def sec(secure_cluster, tmp_path_factory) -> Secured:
    return Secured(secure_cluster, tmp_path_factory.mktemp(f"secured-{secure_cluster.mode}"))


def run(sec: Secured, *args: str, timeout: float = 90
        ) -> tuple[subprocess.CompletedProcess[str], float]:
    """ps-console --debug ARGS; asserts that no secret of the run is in its output."""
    started = time.monotonic()
    done = subprocess.run([PS_CONSOLE, "--debug", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=sec.folder)
    elapsed = time.monotonic() - started
    for secret in sec.secrets:
        assert secret not in done.stdout + done.stderr, f"a secret leaked from {args[0]}"
    return done, elapsed


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("ps-console:")]


@pytest.mark.parametrize("setup", SETUPS)
def test_every_command_over_each_secured_setup(sec: Secured, setup: str) -> None:
    topic = f"ps-secured-{setup.replace('_', '-')}-{time.monotonic_ns() % 10**8}"
    cc = ["--command-config", sec.files[setup]]
    config = sec.broker_config(topic)
    beside = sec.beside_broker(setup, config)
    done, _ = run(sec, "report", *beside, *cc, "--token-dir", str(sec.folder / "t"), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["ok"] and out["fields"]["kafkaVersion"] == sec.cluster.version
    assert out["destinations"][0]["destination"] == "topic" and out["destinations"][0]["ok"]

    done, _ = run(sec, "agent", "--once", *beside, *cc,
                  "--state-dir", str(sec.folder / f"agent-{setup}"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "topic=ok(" in done.stderr, done.stderr[-3000:]

    bootstrap = ["--bootstrap-server", sec.listener(setup)]
    done, _ = run(sec, "cluster", *bootstrap, *cc, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    view = json.loads(done.stdout)
    assert [b["id"] for b in view["brokers"]] == sec.cluster.broker_ids
    protocol = "SASL_SSL" if setup == "sasl_ssl" else "SSL"
    assert {e["protocol"] for b in view["brokers"] for e in b["endpoints"]} == {protocol}

    # In ZooKeeper mode the reports are found through ZooKeeper over TLS (the brokers'
    # endpoints of the client's protocol); KRaft names the listener.
    read_from = (["--zookeeper", sec.facts["KAFKA_ZK_TLS_CONNECT"], "--zookeeper-auth",
                  sec.zk_tls] if sec.cluster.zk_connect is not None and setup == "sasl_ssl"
                 else bootstrap)
    done, _ = run(sec, "reports", *read_from, *cc, "--topic", topic, "--all", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads(line) for line in done.stdout.splitlines()]  # JSON lines
    assert len(reports) == 2 and all(r["ok"] and r["broker_id"] == 1 for r in reports)

    out_zip = sec.folder / f"bundle-{setup}.zip"
    done, _ = run(sec, "bundle", *read_from, *cc, "--topic", topic, "--file", str(out_zip))
    assert done.returncode == 0, done.stderr[-3000:]
    with zipfile.ZipFile(out_zip) as z:
        assert len(z.namelist()) == 2


@pytest.mark.parametrize("case", ["sasl password", "client certificate",
                                  "no client certificate"])
def test_a_rejected_credential_ends_each_command_at_once_with_one_line(sec: Secured,
                                                                       case: str) -> None:
    config_file, listener, expected = sec.rejected[case]
    bootstrap = ["--bootstrap-server", sec.facts[f"KAFKA_BOOTSTRAP_{listener}"]]
    config = sec.broker_config("ps-secured-never")
    beside = ["--broker-config", str(config), *bootstrap]
    never = sec.folder / "never.zip"
    for command in (["cluster", *bootstrap], ["reports", *bootstrap],
                    ["bundle", *bootstrap, "--file", str(never)],
                    ["report", *beside, "--token-dir", str(sec.folder / "t")],
                    ["agent", "--once", *beside, "--state-dir", str(sec.folder / "never")]):
        args = [*command, "--command-config", config_file, "--timeout", str(TIMEOUT)]
        started = time.monotonic()
        done = subprocess.run([PS_CONSOLE, *args], capture_output=True, text=True,
                              timeout=60, cwd=sec.folder)
        elapsed = time.monotonic() - started
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        # `report` too: the broker's registration is read first, and the rejection ends it.
        lines = error_lines(done)
        assert len(lines) == 1, (command, done.stdout, done.stderr)
        assert "authentication failed" in lines[0] and expected in lines[0], lines[0]
        assert elapsed < FAST, f"{command[0]} took {elapsed:.1f} s: {lines[0]}"
        for secret in sec.secrets:
            assert secret not in done.stdout + done.stderr
    assert not never.exists()


def test_a_jks_truststore_is_refused_with_the_keytool_line(sec: Secured) -> None:
    f = sec.facts
    jks = sec.write("jks.properties", {"security.protocol": "SSL",
                                       "ssl.truststore.location": f["KAFKA_TRUSTSTORE_JKS"],
                                       "ssl.truststore.password": f["KAFKA_STORE_PASSWORD"]})
    done, elapsed = run(sec, "cluster", "--bootstrap-server", f["KAFKA_BOOTSTRAP_SSL"],
                        "--command-config", jks)
    assert done.returncode == 2 and elapsed < FAST
    [line] = error_lines(done)
    command = shlex.split(re.search(r"`keytool ([^`]*)`", line).group(1))
    # The line's own command makes a PEM file that then works.
    target = sec.folder / "from-jks.pem"
    command[command.index("-file") + 1] = str(target)
    subprocess.run([*KEYTOOL, *command], input=f["KAFKA_STORE_PASSWORD"] + "\n", text=True,
                   capture_output=True, timeout=60, check=True)
    fixed = sec.write("jks-fixed.properties", {"security.protocol": "SSL",
                                               "ssl.truststore.location": str(target),
                                               "ssl.truststore.type": "PEM"})
    done, _ = run(sec, "cluster", "--bootstrap-server", f["KAFKA_BOOTSTRAP_SSL"],
                  "--command-config", fixed, "--json")
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.anyio
@pytest.mark.parametrize("setup", SETUPS)
async def test_the_console_over_each_secured_setup(sec: Secured, setup: str) -> None:
    """The real console: its Cluster screen lists the brokers, its Reports screen the
    report `report` sent over the same setup."""
    from engine.reporting.report_now import report_now
    from tests.support.cluster import location
    from tests.support.console import SIZE, table_rows, wait_for
    from tui.app import ConsoleApp
    from tui.backend import ClusterBackend
    from tui.config import load_config
    from tui.widgets.row_table import RowTable
    from tui.widgets.virtual_table import VirtualTable

    topic = f"ps-secured-console-{setup.replace('_', '-')}-{time.monotonic_ns() % 10**8}"
    cc = sec.files[setup]
    outcome = report_now(str(sec.broker_config(topic)), location(
        bootstrap=sec.listener(setup), command_config=cc), token_dir=sec.folder / "t")
    assert outcome.ok, outcome.destinations
    cfg = load_config(None)
    if sec.cluster.zk_connect is not None:
        cfg.zookeeper, cfg.zookeeper_auth = sec.facts["KAFKA_ZK_TLS_CONNECT"], sec.zk_tls
        if setup != "sasl_ssl":  # ZooKeeper's SSL endpoints are the listener without mTLS
            cfg.zookeeper, cfg.zookeeper_auth = None, None
            cfg.bootstrap = sec.listener(setup)
    else:
        cfg.bootstrap = sec.listener(setup)
    cfg.command_config, cfg.topic = cc, topic
    target = location(zookeeper=cfg.zookeeper, bootstrap=cfg.bootstrap, command_config=cc,
                      zookeeper_auth=cfg.zookeeper_auth, timeout=TIMEOUT)
    app = ConsoleApp(cfg, ClusterBackend(target, topic, ()))
    async with app.run_test(size=SIZE) as pilot:
        brokers = app.screen.query_one("#brokers", RowTable)
        count = len(sec.cluster.broker_ids)
        await wait_for(pilot, lambda: brokers.row_count == count)
        assert [str(brokers.get_row_at(r)[0]) for r in range(count)] == [
            str(b) for b in sec.cluster.broker_ids]
        await pilot.press("2")
        reports = app.screen.query_one("#reports", VirtualTable)
        await wait_for(pilot, lambda: reports.row_count == 1 and all(table_rows(reports)))
        assert table_rows(reports)[0][1] == "1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
