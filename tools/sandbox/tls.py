"""Throw-away TLS material of a secured sandbox run: a CA, the brokers' (and ZooKeeper's)
certificate, a client certificate, and the stores each kind of client wants.

keytool makes every key pair and signs the certificates, so the brokers get the PKCS12
stores Java reads natively. keytool cannot export a private key, so the client key's PEM
copies come from the client's PKCS12 file through `cryptography` (a test dependency).

Files (all in one folder):
    ca.pem                     the CA certificate (librdkafka's ssl.ca.location, kazoo's ca)
    broker.p12                 broker (and ZooKeeper) key and CA-signed chain
    truststore.p12 / .jks      the CA as a PKCS12 and as a JKS truststore (JKS only to test
                               that a client refuses it with a hint)
    client.p12                 client key and chain (ssl.keystore.location, Java style)
    client.pem                 client certificate chain in PEM (ssl.certificate.location)
    client.key                 client private key, PKCS#8 PEM, unencrypted
    client-encrypted.key       the same key encrypted with the store password
                               (ssl.key.location + ssl.key.password)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tools.sandbox.errors import SandboxError

VALIDITY_DAYS = "30"
SAN = "SAN=IP:127.0.0.1,DNS:localhost"
CLIENT_DN = "CN=ps-console-client,O=ps-console sandbox"


@dataclass(frozen=True)
class TlsFiles:
    """Where a run's TLS material is, and the one password of its stores and keys."""

    folder: Path
    password: str

    @property
    def ca_pem(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def broker_p12(self) -> Path:
        return self.folder / "broker.p12"

    @property
    def truststore_p12(self) -> Path:
        return self.folder / "truststore.p12"

    @property
    def truststore_jks(self) -> Path:
        return self.folder / "truststore.jks"

    @property
    def client_p12(self) -> Path:
        return self.folder / "client.p12"

    @property
    def client_cert_pem(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key_pem(self) -> Path:
        return self.folder / "client.key"

    @property
    def client_key_encrypted_pem(self) -> Path:
        return self.folder / "client-encrypted.key"


# keytool is a JVM start per call: C1 and serial GC make each about a third faster.
KEYTOOL = ["keytool", "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"]
# EC P-256 keys: generated in milliseconds where RSA 2048 takes a second on this machine,
# and every client here (Java, librdkafka, Python's ssl) speaks them.
KEY = ["-keyalg", "EC", "-groupname", "secp256r1"]


def _keytool(*args: str) -> None:
    done = subprocess.run([*KEYTOOL, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SandboxError(f"keytool {args[0]} failed:\n{done.stdout}{done.stderr}")


def _signed_pair(tls: TlsFiles, alias: str, store: Path, dname: str, usage: list[str]) -> None:
    """A key pair in `store` (PKCS12) whose certificate the CA signs: one key entry with
    the chain [certificate, CA].

    keytool signs at generation (-signer) only with a key of the same store, so the store
    starts as a copy of the CA's and loses the CA's entry once the pair is made.
    """
    pw = tls.password
    shutil.copyfile(tls.folder / "ca.p12", store)
    _keytool("-genkeypair", "-alias", alias, *KEY, "-dname", dname,
             "-validity", VALIDITY_DAYS, *usage, "-signer", "ca",
             "-keystore", str(store), "-storepass", pw, "-keypass", pw)
    _keytool("-delete", "-alias", "ca", "-keystore", str(store), "-storepass", pw)


def make_tls(folder: Path, password: str) -> TlsFiles:
    """Generate the run's CA, broker and client material into `folder` (created)."""
    if shutil.which("keytool") is None:
        raise SandboxError("keytool (JDK) is not on PATH: --secure needs it")
    folder.mkdir(parents=True)
    tls = TlsFiles(folder, password)
    pw, ca = password, str(folder / "ca.p12")
    _keytool("-genkeypair", "-alias", "ca", *KEY, "-dname", "CN=ps-console sandbox CA",
             "-ext", "bc:c", "-validity", VALIDITY_DAYS,
             "-storetype", "PKCS12", "-keystore", ca, "-storepass", pw)
    _keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca, "-storepass", pw,
             "-file", str(tls.ca_pem))
    # The rest only needs the CA: four independent keytool jobs, side by side.
    jobs = [
        # Brokers and ZooKeeper share one server certificate for 127.0.0.1.
        lambda: _signed_pair(tls, "broker", tls.broker_p12, "CN=localhost",
                             ["-ext", SAN, "-ext", "KU=digitalSignature,keyAgreement",
                              "-ext", "EKU=serverAuth"]),
        lambda: _client_pair(tls),
        *[lambda path=path, kind=kind: _keytool(
            "-importcert", "-noprompt", "-alias", "ca", "-file", str(tls.ca_pem),
            "-storetype", kind, "-keystore", str(path), "-storepass", pw)
          for path, kind in ((tls.truststore_p12, "PKCS12"), (tls.truststore_jks, "JKS"))],
    ]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    return tls


def _client_pair(tls: TlsFiles) -> None:
    _signed_pair(tls, "client", tls.client_p12, CLIENT_DN,
                 ["-ext", "KU=digitalSignature", "-ext", "EKU=clientAuth"])
    _export_client_pem(tls)


def _export_client_pem(tls: TlsFiles) -> None:
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        NoEncryption,
        PrivateFormat,
        pkcs12,
    )

    key, cert, chain = pkcs12.load_key_and_certificates(
        tls.client_p12.read_bytes(), tls.password.encode())
    if key is None or cert is None:
        raise SandboxError(f"{tls.client_p12} holds no client key and certificate")
    # The client's own certificate first, then the CA: what ssl.certificate.location wants.
    chain_pem = b"".join(c.public_bytes(Encoding.PEM) for c in [cert, *chain])
    _write_private(tls.client_cert_pem, chain_pem)
    _write_private(tls.client_key_pem,
                   key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    _write_private(tls.client_key_encrypted_pem,
                   key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                     BestAvailableEncryption(tls.password.encode())))


def _write_private(path: Path, data: bytes) -> None:
    """Write a key file readable by its owner only, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
