"""Mutual TLS from a Java client.properties, against a real TLS server that demands a client
certificate (until the sandbox has a mutual-TLS listener: issue 17, point 6).

The server trusts only the root CA; the client certificate is signed by an intermediate CA,
so a handshake only succeeds when the client sends its whole chain. Each keystore form a
Java file can name (PKCS12, a PEM keystore with an encrypted key, inline PEM) is translated
and then used by librdkafka (what every Kafka client of ps-console does) and by the raw
Kafka-protocol exchange (the version probe and the KRaft quorum question).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from engine.cluster.client_config import read_client_config
from engine.cluster.kafka_version import API_APIVERSIONS
from engine.cluster.kafka_wire import exchange
from engine.errors import ConnectionFailure
from tests.support.stores import Stores, make_stores

PS_CONSOLE = str(Path(sys.executable).with_name("ps-console"))

pytestmark = pytest.mark.timeout(120)


class MutualTlsServer:
    """Accepts TLS connections on 127.0.0.1, requires a client certificate that chains to
    the root CA, records the client's common name and closes (it speaks no Kafka)."""

    def __init__(self, stores: Stores) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(stores.server_cert_pem, stores.server_key_pem)
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.load_verify_locations(stores.ca_pem)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.clients: list[str] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except TimeoutError:
                continue
            raw.settimeout(2)
            try:
                with self.ctx.wrap_socket(raw, server_side=True) as tls:
                    subject = dict(x[0] for x in tls.getpeercert()["subject"])
                    self.clients.append(subject["commonName"])
                    tls.recv(4)
            except (ssl.SSLError, OSError):
                self.refused += 1
            finally:
                raw.close()

    def wait_for_client(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.clients:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> Stores:
    return make_stores(tmp_path_factory.mktemp("mtls-stores"))


@pytest.fixture
def server(stores):
    srv = MutualTlsServer(stores)
    yield srv
    srv.close()


def _one_line(path: Path) -> str:
    return " \\\n  ".join(path.read_text().splitlines())


def _client_file(stores: Stores, folder: Path, form: str) -> str:
    """A Java-style client.properties with the truststore and keystore in `form`."""
    trust = {"ssl.truststore.location": str(stores.trust_p12),
             "ssl.truststore.password": stores.password("trust")}
    if form == "no keystore":
        keys = {}
    elif form == "pkcs12":
        keys = {"ssl.keystore.location": str(stores.client_p12),
                "ssl.keystore.password": stores.password("keystore"),
                "ssl.key.password": stores.password("keystore")}
    elif form == "pem keystore":
        trust = {"ssl.truststore.type": "PEM", "ssl.truststore.location": str(stores.ca_pem)}
        keys = {"ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(stores.client_encrypted_pem),
                "ssl.key.password": stores.password("key")}
    elif form == "inline pem":
        keys = {"ssl.keystore.type": "PEM",
                "ssl.keystore.certificate.chain": _one_line(stores.client_cert_pem),
                "ssl.keystore.key": _one_line(stores.client_key_pem)}
    else:  # the client certificate without its intermediate: the server must refuse it
        leaf = folder / "leaf-only.pem"
        leaf.write_text(stores.client_key_pem.read_text()
                        + stores.client_cert_pem.read_text().split("-----END CERTIFICATE-----")[0]
                        + "-----END CERTIFICATE-----\n")
        keys = {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(leaf)}
    path = folder / "client.properties"
    lines = {"security.protocol": "SSL", **trust, **keys}
    path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    return str(path)


FORMS = ["pkcs12", "pem keystore", "inline pem"]


@pytest.mark.parametrize("form", FORMS)
def test_librdkafka_presents_the_keystores_certificate_chain(stores, server, tmp_path, form):
    props = read_client_config(_client_file(stores, tmp_path, form)).props
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{server.port}", "log_level": 0,
                         "socket.timeout.ms": 2000, **props})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=1)  # the server speaks no Kafka: the handshake is the test
    assert server.wait_for_client(), f"no handshake succeeded ({server.refused} refused)"
    assert server.clients[0] == "test client"


@pytest.mark.parametrize("form", FORMS)
def test_the_raw_protocol_exchange_presents_it_too(stores, server, tmp_path, form):
    props = read_client_config(_client_file(stores, tmp_path, form)).props
    with pytest.raises(ConnectionFailure):
        exchange("127.0.0.1", server.port, API_APIVERSIONS, 0, b"", props, timeout=5)
    assert server.wait_for_client(), f"no handshake succeeded ({server.refused} refused)"
    assert server.clients == ["test client"]


def test_without_the_intermediate_the_server_refuses(stores, server, tmp_path):
    """What makes the tests above mean something: the chain is needed."""
    props = read_client_config(_client_file(stores, tmp_path, "leaf only")).props
    with pytest.raises(ConnectionFailure):
        exchange("127.0.0.1", server.port, API_APIVERSIONS, 0, b"", props, timeout=5)
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{server.port}", "log_level": 0,
                         **props})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=2)
    assert not server.wait_for_client(timeout=1.0) and server.refused >= 2


@pytest.mark.parametrize("form,expected", [
    ("no keystore", ("tlsv13 alert certificate required", "the brokers want a client "
                     "certificate: set ssl.keystore.location (or ssl.certificate.location "
                     "and ssl.key.location) in --command-config")),
    ("leaf only", ("alert unknown ca", "check ssl.keystore.location in --command-config "
                   "(the client certificate and its CA chain, which the brokers must "
                   "trust)")),
])
def test_a_refused_client_certificate_ends_the_command_at_once(stores, server, tmp_path,
                                                               form, expected):
    """Under TLS 1.3 the refusal comes after the handshake (librdkafka calls it a transport
    error); it must still be one line within a second or two, not the whole timeout."""
    path = _client_file(stores, tmp_path, form)
    started = time.monotonic()
    done = subprocess.run([PS_CONSOLE, "cluster", "--bootstrap-server",
                           f"127.0.0.1:{server.port}", "--command-config", path,
                           "--timeout", "10"], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "authentication failed" in line and all(e in line for e in expected), line
    assert elapsed < 3, f"took {elapsed:.1f} s"
    for secret in stores.passwords.values():
        assert secret not in done.stderr
