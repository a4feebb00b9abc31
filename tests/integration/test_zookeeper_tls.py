"""ZooKeeper over TLS on the secured Kafka 3.9 sandbox (its ZooKeeper serves TLS on a second
port, wants a client certificate or a SASL login, and refuses anonymous sessions).

The engine reads Kafka's zookeeper.ssl.* settings from the broker's server.properties (for
`report` and the agent, with the broker's own zookeeper.connect) and from a --zookeeper-auth
file (any command, the console): PKCS12 and PEM stores work, a client certificate alone is
an identity (x509), a JKS store gets a keytool line that works, and an untrusted CA, a
client certificate ZooKeeper does not trust, TLS to the plaintext port and a wrong login
over TLS each end the command at once with one line.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import certifi
import pytest
import trustme

from tests.support.stores import KEYTOOL

PS_CONSOLE = str(Path(sys.executable).with_name("ps-console"))
FAST = 4.0  # seconds a refusal may take, process start included
NETTY = "org.apache.zookeeper.ClientCnxnSocketNetty"

pytestmark = pytest.mark.timeout(300)


class ZkTlsFiles:
    def __init__(self, facts: dict[str, str], broker_config: Path, folder: Path) -> None:
        self.f, self.folder = facts, folder
        self.tls_connect, self.plain_connect = (facts["KAFKA_ZK_TLS_CONNECT"],
                                                facts["KAFKA_ZK_CONNECT"])
        self.secrets = [facts["KAFKA_ZK_PASSWORD"], facts["KAFKA_STORE_PASSWORD"]]
        store = facts["KAFKA_STORE_PASSWORD"]
        self.on = {"zookeeper.ssl.client.enable": "true", "zookeeper.clientCnxnSocket": NETTY}
        self.trust_p12 = {"zookeeper.ssl.truststore.location": facts["KAFKA_TRUSTSTORE_P12"],
                          "zookeeper.ssl.truststore.password": store}
        self.key_p12 = {"zookeeper.ssl.keystore.location": facts["KAFKA_CLIENT_P12"],
                        "zookeeper.ssl.keystore.password": store}
        self.login = {"zookeeper.auth.mechanism": "DIGEST-MD5",
                      "zookeeper.auth.username": facts["KAFKA_ZK_USER"],
                      "zookeeper.auth.password": facts["KAFKA_ZK_PASSWORD"]}
        self.broker_config = folder / "server-1.properties"
        self.broker_config.write_text(
            broker_config.read_text("latin-1") + "confluent.support.metrics.enable=true\n"
            "confluent.support.metrics.endpoint.secure.enable=false\n"
            "confluent.support.metrics.endpoint.insecure.enable=false\n", "latin-1")

    def write(self, name: str, *parts: dict[str, str]) -> str:
        path = self.folder / name
        path.write_text("".join(f"{k}={v}\n" for part in parts for k, v in part.items()))
        return str(path)


@pytest.fixture(scope="module")
def zk(secure_sandbox, tmp_path_factory) -> ZkTlsFiles:
    return ZkTlsFiles(secure_sandbox.facts, secure_sandbox.broker_configs[1],
                      tmp_path_factory.mktemp("zk-tls"))


def run(zk: ZkTlsFiles, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([PS_CONSOLE, "--debug", *args], capture_output=True, text=True,
                          timeout=60, cwd=zk.folder)
    for secret in zk.secrets:
        assert secret not in done.stdout + done.stderr, f"a secret leaked from {args[0]}"
    return done, time.monotonic() - started


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("ps-console:")]


def test_a_client_certificate_alone_is_an_identity_pkcs12_and_pem(zk: ZkTlsFiles) -> None:
    f = zk.f
    p12 = zk.write("x509-p12.properties", zk.on, zk.trust_p12, zk.key_p12)
    pem_keystore = zk.folder / "client-keystore.pem"
    pem_keystore.write_text(Path(f["KAFKA_CLIENT_KEY_ENCRYPTED_PEM"]).read_text()
                            + Path(f["KAFKA_CLIENT_CERT_PEM"]).read_text())
    pem = zk.write("x509-pem.properties", zk.on, {
        "zookeeper.ssl.truststore.location": f["KAFKA_CA_PEM"],
        "zookeeper.ssl.truststore.type": "PEM",
        "zookeeper.ssl.keystore.location": str(pem_keystore),
        "zookeeper.ssl.keystore.type": "PEM",
        "zookeeper.ssl.keystore.password": f["KAFKA_STORE_PASSWORD"]})
    for auth in (p12, pem):
        done, _ = run(zk, "cluster", "--zookeeper", zk.tls_connect, "--zookeeper-auth", auth,
                      "--json")
        assert done.returncode == 0, done.stderr[-2000:]
        view = json.loads(done.stdout)
        assert [b["id"] for b in view["brokers"]] == [1] and view["source"] == "zookeeper"


def test_report_and_agent_from_the_brokers_own_file(zk: ZkTlsFiles) -> None:
    """The broker's file names ZooKeeper's TLS port and its truststore: with the login in
    --zookeeper-auth, `report` and the agent reach it as the broker does; without it,
    ZooKeeper's refusal is one line at once."""
    login = zk.write("login.properties", zk.login)
    beside = ["--broker-config", str(zk.broker_config), "--zookeeper-auth", login]
    done, _ = run(zk, "report", *beside, "--token-dir", str(zk.folder / "t"), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not registered" not in done.stderr  # the registration was read over TLS
    done, _ = run(zk, "agent", "--once", *beside, "--state-dir", str(zk.folder / "agent"))
    assert done.returncode == 0 and "topic=ok(" in done.stderr, done.stderr[-2000:]
    assert f"zk {zk.tls_connect}" in done.stderr  # the file's own connect string
    done, elapsed = run(zk, "agent", "--once", "--broker-config", str(zk.broker_config),
                        "--state-dir", str(zk.folder / "agent-anonymous"))
    assert done.returncode == 1 and elapsed < FAST, (elapsed, done.stderr[-2000:])
    [line] = error_lines(done)
    assert "requires a SASL login" in line


def test_an_explicit_plaintext_zookeeper_does_not_take_the_files_tls(zk: ZkTlsFiles) -> None:
    login = zk.write("login.properties", zk.login)
    done, _ = run(zk, "report", "--broker-config", str(zk.broker_config), "--zookeeper",
                  zk.plain_connect, "--zookeeper-auth", login, "--token-dir",
                  str(zk.folder / "t"), "--json")
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_console_backend_follows_zookeeper_over_tls(zk: ZkTlsFiles) -> None:
    from tests.support.cluster import location
    from tui.backend import ClusterBackend

    auth = zk.write("console.properties", zk.on, zk.trust_p12, zk.key_p12, zk.login)
    backend = ClusterBackend(location(zookeeper=zk.tls_connect, zookeeper_auth=auth), "t", ())
    assert [b.id for b in backend.snapshot().brokers] == [1]
    watch = backend.watch(lambda _event: None)
    try:
        assert list(watch.brokers) == [1] and watch.controller_id == 1
    finally:
        watch.stop()


def test_a_jks_truststore_gets_a_keytool_line_that_works(zk: ZkTlsFiles) -> None:
    f = zk.f
    jks = zk.write("jks.properties", zk.on, zk.key_p12, {
        "zookeeper.ssl.truststore.location": f["KAFKA_TRUSTSTORE_JKS"],
        "zookeeper.ssl.truststore.password": f["KAFKA_STORE_PASSWORD"]})
    done, elapsed = run(zk, "cluster", "--zookeeper", zk.tls_connect, "--zookeeper-auth", jks)
    assert done.returncode == 2 and elapsed < FAST
    [line] = error_lines(done)
    command = shlex.split(re.search(r"`keytool ([^`]*)`", line).group(1))
    target = zk.folder / "zk-ca.pem"
    command[command.index("-file") + 1] = str(target)
    subprocess.run([*KEYTOOL, *command], input=f["KAFKA_STORE_PASSWORD"] + "\n", text=True,
                   capture_output=True, timeout=60, check=True)
    assert "zookeeper.ssl.truststore.type=PEM" in line
    fixed = zk.write("jks-fixed.properties", zk.on, zk.key_p12, {
        "zookeeper.ssl.truststore.location": str(target),
        "zookeeper.ssl.truststore.type": "PEM"})
    done, _ = run(zk, "cluster", "--zookeeper", zk.tls_connect, "--zookeeper-auth", fixed)
    assert done.returncode == 0, done.stderr[-2000:]


def test_each_refusal_is_one_line_at_once(zk: ZkTlsFiles) -> None:
    other = trustme.CA().issue_cert("ps-console-client")
    other.private_key_and_cert_chain_pem.write_to_path(str(zk.folder / "other.pem"))
    untrusted = {"zookeeper.ssl.truststore.location": certifi.where(),
                 "zookeeper.ssl.truststore.type": "PEM"}
    cases = {
        "untrusted CA": (zk.write("untrusted.properties", zk.on, untrusted, zk.key_p12),
                         zk.tls_connect, "certificate verify failed|self.signed",
                         "zookeeper.ssl.truststore.location"),
        "client certificate": (zk.write("other-cert.properties", zk.on, zk.trust_p12, {
            "zookeeper.ssl.keystore.location": str(zk.folder / "other.pem"),
            "zookeeper.ssl.keystore.type": "PEM"}), zk.tls_connect, "TLS refused",
            "zookeeper.ssl.keystore.location"),
        "plaintext port": (zk.write("tls-on-plain.properties", zk.on, zk.trust_p12,
                                    zk.key_p12), zk.plain_connect, "does not speak TLS",
                           "zookeeper.ssl.client.enable"),
        "wrong login over TLS": (zk.write("bad-login.properties", zk.on, zk.trust_p12, {
            **zk.login, "zookeeper.auth.password": "not-it-either"}), zk.tls_connect,
            "authentication failed", "--zookeeper-auth"),
    }
    for case, (auth, connect, expected, names) in cases.items():
        for command in (["cluster"], ["reports"], ["bundle", "--file",
                                                   str(zk.folder / "never.zip")]):
            done, elapsed = run(zk, *command, "--zookeeper", connect, "--zookeeper-auth",
                                auth, "--timeout", "10")
            lines = error_lines(done)
            assert done.returncode == 1 and len(lines) == 1, (case, command, done.stderr)
            assert re.search(expected, lines[0]) and names in lines[0], (case, lines[0])
            assert elapsed < FAST, f"{case}: {command[0]} took {elapsed:.1f} s"
    assert not (zk.folder / "never.zip").exists()
