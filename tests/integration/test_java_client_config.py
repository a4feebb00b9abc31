"""A Java client.properties as --command-config against the secured sandbox (issue 17,
point 5): the SASL_PLAINTEXT (SCRAM-SHA-256) listener through a JAAS login, the SSL
listener through the PKCS12 truststore Java clients use and through a PEM one; a JKS
truststore is refused with the keytool command that makes it usable, which then works.

Every command runs with --debug and its output is searched for the run's secrets; a
rejected credential ends the command well inside a second or two with one line.
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

from tests.support.stores import KEYTOOL, keytool

PS_CONSOLE = str(Path(sys.executable).with_name("ps-console"))
TIMEOUT = 10
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"

pytestmark = pytest.mark.timeout(300)


class JavaFiles:
    """The secured sandbox's facts and Java-style client files for them."""

    def __init__(self, box, folder: Path) -> None:
        f = box.state.facts()
        self.facts = f
        self.folder = folder
        self.zk = ["--zookeeper", f["KAFKA_ZK_CONNECT"], "--zookeeper-auth",
                   self.write("zk-auth.properties", {
                       "zookeeper.auth.mechanism": "DIGEST-MD5",
                       "zookeeper.auth.username": f["KAFKA_ZK_USER"],
                       "zookeeper.auth.password": f["KAFKA_ZK_PASSWORD"]})]
        self.store_password = box.state.credentials["store_password"]
        self.secrets = [f["KAFKA_SASL_PASSWORD"], f["KAFKA_ZK_PASSWORD"], self.store_password]
        tls = Path(f["KAFKA_SANDBOX_DIR"]) / "tls"
        self.ca_pem = tls / "ca.pem"
        self.sasl = self.jaas_file("sasl.properties", f["KAFKA_SASL_PASSWORD"])
        self.bad_sasl = self.jaas_file("bad-sasl.properties", "not-the-password-42")
        self.ssl = self.write("ssl.properties", {
            "security.protocol": "SSL", "ssl.truststore.type": "PKCS12",
            "ssl.truststore.location": str(tls / "truststore.p12"),
            "ssl.truststore.password": self.store_password,
            "ssl.endpoint.identification.algorithm": "https",
            "ssl.enabled.protocols": "TLSv1.2,TLSv1.3"})
        self.ssl_pem = self.write("ssl-pem.properties", {
            "security.protocol": "SSL", "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_pem)})
        self.bad_store = self.write("bad-store.properties", {
            "security.protocol": "SSL", "ssl.truststore.location": str(tls / "truststore.p12"),
            "ssl.truststore.password": "not-the-store-password"})

    def write(self, name: str, lines: dict[str, str]) -> str:
        path = self.folder / name
        path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
        return str(path)

    def jaas_file(self, name: str, password: str) -> str:
        """A file as operators write it for kafka-topics.sh: the JAAS line continued."""
        path = self.folder / name
        path.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"
                        f"sasl.jaas.config={SCRAM} required \\\n"
                        f'    username="{self.facts["KAFKA_SASL_USER"]}" \\\n'
                        f'    password="{password}";\n')
        return str(path)

    def listener(self, protocol: str) -> list[str]:
        key = "KAFKA_BOOTSTRAP_SASL" if protocol == "SASL" else "KAFKA_BOOTSTRAP_SSL"
        return ["--bootstrap-server", self.facts[key]]


@pytest.fixture(scope="module")
def java(secure_sandbox, tmp_path_factory) -> JavaFiles:
    return JavaFiles(secure_sandbox.box, tmp_path_factory.mktemp("java-client"))


def run(java: JavaFiles, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """ps-console --debug ARGS; no secret of the run may be in its output."""
    started = time.monotonic()
    done = subprocess.run([PS_CONSOLE, "--debug", *args, "--timeout", str(TIMEOUT)],
                          capture_output=True, text=True, timeout=120, cwd=java.folder)
    elapsed = time.monotonic() - started
    for secret in java.secrets:
        assert secret not in done.stdout + done.stderr, f"a secret leaked from {args[0]}"
    return done, elapsed


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """What the command said to the user, without --debug's log lines."""
    return [line for line in done.stderr.splitlines()
            if line.startswith("ps-console:") and " hint: " not in line]


@pytest.mark.parametrize("which", ["sasl", "ssl", "ssl_pem"])
def test_cluster_report_reports_and_bundle_with_a_java_file(java: JavaFiles, which: str):
    cc = ["--command-config", getattr(java, which)]
    listener = java.listener("SASL" if which == "sasl" else "SSL")
    broker_config = Path(java.facts["KAFKA_SANDBOX_DIR"]) / "server-1.properties"
    local = java.folder / f"server-{which}.properties"
    local.write_text(broker_config.read_text()
                     + "confluent.support.metrics.enable=true\n"
                       "confluent.support.metrics.endpoint.secure.enable=false\n"
                       "confluent.support.metrics.endpoint.insecure.enable=false\n")

    done, _ = run(java, "cluster", *listener, *cc, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [b["id"] for b in json.loads(done.stdout)["brokers"]] == [1]
    if which == "ssl":  # ssl.enabled.protocols only tunes Java: dropped, and said so
        assert "hint: " in done.stderr and "ssl.enabled.protocols" in done.stderr

    done, _ = run(java, "report", "--broker-config", str(local), *java.zk, *cc,
                  "--token-dir", str(java.folder / "tokens"), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    sent = {d["destination"]: d["ok"] for d in json.loads(done.stdout)["destinations"]}
    assert sent["topic"], done.stdout

    done, _ = run(java, "reports", *java.zk, *cc, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(r["broker_id"] == 1 and r["ok"] for r in json.loads(done.stdout))

    out = java.folder / f"bundle-{which}.zip"
    done, _ = run(java, "bundle", *listener, *cc, "--file", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    with zipfile.ZipFile(out) as z:
        assert z.namelist()


def test_a_wrong_jaas_password_fails_at_once_with_one_line(java: JavaFiles):
    for command in (["cluster", *java.listener("SASL")], ["reports", *java.zk],
                    ["bundle", *java.zk, "--file", str(java.folder / "never.zip")]):
        done, elapsed = run(java, *command, "--command-config", java.bad_sasl)
        assert done.returncode == 1, (command, done.stderr[-2000:])
        lines = error_lines(done)
        assert len(lines) == 1, (command, done.stderr[-2000:])
        assert "authentication failed" in lines[0]
        assert "check sasl.mechanism and sasl.jaas.config in --command-config" in lines[0]
        assert "not-the-password-42" not in done.stderr
        assert elapsed < 3, f"{command[0]} took {elapsed:.1f} s"
    assert not (java.folder / "never.zip").exists()


def test_a_wrong_truststore_password_fails_before_any_connection(java: JavaFiles):
    done, elapsed = run(java, "cluster", *java.listener("SSL"), "--command-config",
                        java.bad_store)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = error_lines(done)
    assert len(lines) == 1 and "cannot be opened as PKCS12 with ssl.truststore.password" in \
        lines[0], done.stderr[-2000:]
    assert "not-the-store-password" not in done.stderr
    assert elapsed < 3


def test_a_jks_truststore_is_refused_with_a_keytool_line_that_works(java: JavaFiles):
    jks = java.folder / "truststore.jks"
    keytool("-importcert", "-noprompt", "-alias", "sandbox-ca", "-file", str(java.ca_pem),
            "-storetype", "JKS", "-keystore", str(jks), "-storepass", java.store_password)
    cc = java.write("jks.properties", {"security.protocol": "SSL",
                                       "ssl.truststore.location": str(jks),
                                       "ssl.truststore.password": java.store_password})
    done, _ = run(java, "cluster", *java.listener("SSL"), "--command-config", cc)
    assert done.returncode == 2
    [line] = error_lines(done)
    command = shlex.split(re.search(r"`keytool ([^`]*)`", line).group(1))
    assert "-exportcert" in command and "sandbox-ca" in command
    subprocess.run([*KEYTOOL, *command], input=java.store_password + "\n", text=True,
                   capture_output=True, timeout=60, check=True)
    pem = re.search(r"set ssl\.truststore\.location=(\S+) with ssl\.truststore\.type=PEM",
                    line).group(1)
    fixed = java.write("jks-fixed.properties", {"security.protocol": "SSL",
                                                "ssl.truststore.location": pem,
                                                "ssl.truststore.type": "PEM"})
    done, _ = run(java, "cluster", *java.listener("SSL"), "--command-config", fixed, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
