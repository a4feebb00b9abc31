"""Real key and trust stores for the client-config tests, made the way operators make them.

A root CA and an intermediate CA (`cryptography`) sign a client certificate and a server
certificate for 127.0.0.1. The Java stores come from the JDK's keytool (a JKS and a PKCS12
truststore, a JCEKS one, a JKS keystore converted from the PKCS12 one); the PEM files and
the client's PKCS12 keystore come from `cryptography`, as `openssl pkcs12 -export` would
make them. Every store has its own password, so a test can tell which one leaked.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEYTOOL = ["keytool", "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"]


def keytool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if shutil.which("keytool") is None:
        raise RuntimeError("keytool (a JDK) is not on PATH: these tests need it")
    done = subprocess.run([*KEYTOOL, *args], capture_output=True, text=True, timeout=60,
                          input=stdin if stdin is not None else "")
    if done.returncode != 0:
        raise RuntimeError(f"keytool {args[0]} failed: {done.stdout}{done.stderr}")
    return done


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
          issuer_key: ec.EllipticCurvePrivateKey, ca: bool,
          usage: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject))
               .issuer_name(issuer.subject if issuer is not None else _name(subject))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                 x509.DNSName("localhost")]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


@dataclass
class Stores:
    """Paths of every store and the password of each (see the module docstring)."""

    folder: Path
    passwords: dict[str, str]
    ca_pem: Path                    # the root CA
    chain_pem: Path                 # intermediate + root
    trust_p12: Path                 # keytool, PKCS12, root CA (alias "root-ca")
    trust_jks: Path                 # keytool, JKS, root CA (alias "root-ca")
    trust_two_jks: Path             # keytool, JKS, root and intermediate
    trust_jceks: Path               # keytool, JCEKS, root CA
    client_p12: Path                # cryptography: client key, client cert, intermediate
    client_jks: Path                # keytool -importkeystore from client_p12
    client_combined_pem: Path       # key (PKCS#8) + client cert + intermediate
    client_encrypted_pem: Path      # the same with the key encrypted (key password)
    client_cert_pem: Path           # client cert + intermediate
    client_key_pem: Path            # the key alone, unencrypted
    other_key_pem: Path             # another key, matching no certificate here
    server_cert_pem: Path           # server cert (127.0.0.1) + intermediate
    server_key_pem: Path

    def password(self, name: str) -> str:
        return self.passwords[name]


def make_stores(folder: Path) -> Stores:
    folder.mkdir(parents=True, exist_ok=True)
    pw = {name: f"{name}-{secrets.token_urlsafe(10)}"
          for name in ("trust", "keystore", "key", "jks")}
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert("test root CA", root_key, None, root_key, ca=True)
    mid_key = ec.generate_private_key(ec.SECP256R1())
    mid = _cert("test intermediate CA", mid_key, root, root_key, ca=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _cert("test client", client_key, mid, mid_key, ca=False,
                   usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert("127.0.0.1", server_key, mid, mid_key, ca=False,
                   usage=ExtendedKeyUsageOID.SERVER_AUTH)
    other_key = ec.generate_private_key(ec.SECP256R1())

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
        enc = BestAvailableEncryption(password.encode()) if password else NoEncryption()
        return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, enc)

    s = Stores(
        folder=folder, passwords=pw,
        ca_pem=write("ca.pem", _pem(root)),
        chain_pem=write("chain.pem", _pem(mid, root)),
        trust_p12=folder / "truststore.p12", trust_jks=folder / "truststore.jks",
        trust_two_jks=folder / "truststore-two.jks", trust_jceks=folder / "truststore.jceks",
        client_p12=write("client.p12", pkcs12.serialize_key_and_certificates(
            b"client", client_key, client, [mid], BestAvailableEncryption(
                pw["keystore"].encode()))),
        client_jks=folder / "client.jks",
        client_combined_pem=write("client-combined.pem", key_pem(client_key)
                                  + _pem(client, mid)),
        client_encrypted_pem=write("client-encrypted.pem", key_pem(client_key, pw["key"])
                                   + _pem(client, mid)),
        client_cert_pem=write("client-cert.pem", _pem(client, mid)),
        client_key_pem=write("client.key", key_pem(client_key)),
        other_key_pem=write("other.key", key_pem(other_key)),
        server_cert_pem=write("server.pem", _pem(server, mid)),
        server_key_pem=write("server.key", key_pem(server_key)),
    )
    mid_file = write("intermediate.pem", _pem(mid))

    def trust(store: Path, kind: str, *certs: tuple[str, Path]) -> None:
        for alias, cert in certs:
            keytool("-importcert", "-noprompt", "-alias", alias, "-file", str(cert),
                    "-storetype", kind, "-keystore", str(store), "-storepass", pw["trust"])

    jobs = [
        lambda: trust(s.trust_p12, "PKCS12", ("root-ca", s.ca_pem)),
        lambda: trust(s.trust_jks, "JKS", ("root-ca", s.ca_pem)),
        lambda: trust(s.trust_jceks, "JCEKS", ("root-ca", s.ca_pem)),
        lambda: trust(s.trust_two_jks, "JKS", ("root-ca", s.ca_pem),
                      ("intermediate-ca", mid_file)),
        lambda: keytool("-importkeystore", "-noprompt", "-srckeystore", str(s.client_p12),
                        "-srcstoretype", "PKCS12", "-srcstorepass", pw["keystore"],
                        "-destkeystore", str(s.client_jks), "-deststoretype", "JKS",
                        "-deststorepass", pw["jks"], "-destkeypass", pw["jks"]),
    ]
    # keytool is a JVM start per call: independent stores side by side.
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    return s
