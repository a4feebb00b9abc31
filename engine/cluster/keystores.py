"""Java key and trust stores: what a file is, what it holds, and how librdkafka or Python's
`ssl` can use it.

Java clients name a truststore (CA certificates) and a keystore (the client's key and
certificate chain) by file, in one of three formats: JKS (Java's own; magic 0xFEEDFEED),
PKCS12 (DER) or PEM (Kafka 2.7+). librdkafka reads PEM; this module reads PKCS12 with
`cryptography` (librdkafka takes no trusted certificates from PKCS12, and its OpenSSL 3
refuses the RC2-40 keystores older keytools wrote) and says which keytool command makes a
JKS file usable, since keytool is on every host that ran a Java client.

Reads are bounded (`MAX_STORE_BYTES`); no message holds a password or a file's content.
"""

from __future__ import annotations

import os
import re
import shlex
import ssl
import struct
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from engine.errors import NotFound, UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from cryptography.hazmat.primitives.serialization.pkcs12 import PKCS12KeyAndCertificates
    from cryptography.x509 import Certificate

# A store holds a few certificates; a CA bundle a few hundred (~250 KiB for Mozilla's).
MAX_STORE_BYTES = 4 << 20

StoreKind = Literal["PEM", "PKCS12", "JKS", "JCEKS", "unknown"]

JKS_MAGIC = b"\xfe\xed\xfe\xed"
JCEKS_MAGIC = b"\xce\xce\xce\xce"


class StoreError(UsageError):
    """A key or trust store that cannot be used as configured (exit 2)."""


def read_store(path: str, what: str) -> bytes:
    """The bytes of the store file `path` (`what` names the setting in messages).

    NotFound when it is missing or unreadable; StoreError above MAX_STORE_BYTES.
    """
    from engine.files import TooLarge, read_bounded

    try:
        return read_bounded(path, MAX_STORE_BYTES)
    except FileNotFoundError:
        raise NotFound(f"{what}: {path} does not exist") from None
    except OSError as exc:
        raise NotFound(f"{what}: cannot read {path}: {exc.strerror}") from None
    except TooLarge:
        raise StoreError(f"{what}: {path} is larger than {MAX_STORE_BYTES >> 20} MiB; "
                         "a key or trust store is a few KiB") from None


def store_kind(data: bytes) -> StoreKind:
    """The format of a store file, from its content (as Java's keystore compat mode does)."""
    if data.startswith(JKS_MAGIC):
        return "JKS"
    if data.startswith(JCEKS_MAGIC):
        return "JCEKS"
    if b"-----BEGIN " in data:
        return "PEM"
    if data.startswith(b"\x30"):  # a DER SEQUENCE: PKCS12 is the only DER store
        return "PKCS12"
    return "unknown"


# -- PKCS12 ------------------------------------------------------------------------------------

def _load_pkcs12(data: bytes, password: str | None, what: str, path: str,
                 password_key: str) -> PKCS12KeyAndCertificates:
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        return pkcs12.load_pkcs12(data, password.encode() if password is not None else None)
    except ValueError:
        if password is None:
            raise StoreError(f"{what}: {path} is PKCS12 and needs {password_key}") from None
        raise StoreError(f"{what}: {path} cannot be opened as PKCS12 with {password_key} "
                         "(wrong password, or a damaged file)") from None


def _pem(cert: Certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode("ascii")


def pkcs12_trusted_pem(data: bytes, password: str | None, path: str,
                       what: str = "ssl.truststore.location",
                       password_key: str = "ssl.truststore.password") -> str:
    """The certificates of a PKCS12 truststore, as one PEM text (librdkafka's ssl.ca.pem).

    StoreError when the password does not open it, when it holds a private key (a keystore
    named as truststore) or no certificate at all.
    """
    store = _load_pkcs12(data, password, what, path, password_key)
    if store.key is not None:
        raise StoreError(f"{what}: {path} holds a private key: a truststore holds only CA "
                         "certificates (is it the keystore?)")
    certs = [c.certificate for c in store.additional_certs]
    if store.cert is not None:
        certs.insert(0, store.cert.certificate)
    if not certs:
        raise StoreError(f"{what}: {path} holds no certificate")
    return "".join(_pem(c) for c in certs)


def pkcs12_key_and_chain(data: bytes, password: str | None, path: str,
                         what: str = "ssl.keystore.location",
                         password_key: str = "ssl.keystore.password") -> tuple[str, str]:
    """The private key (unencrypted PKCS#8 PEM) and its certificate chain (PEM, own
    certificate first) of a PKCS12 keystore: librdkafka's ssl.key.pem and
    ssl.certificate.pem. StoreError when the password does not open it or it holds no key
    pair."""
    store = _load_pkcs12(data, password, what, path, password_key)
    if store.key is None:
        raise StoreError(f"{what}: {path} holds no private key (is it the truststore?)")
    if store.cert is None:
        raise StoreError(f"{what}: {path} holds no certificate for its private key")
    chain = [store.cert.certificate, *(c.certificate for c in store.additional_certs)]
    return _unencrypted_pem(store.key).decode("ascii"), "".join(_pem(c) for c in chain)


# -- PEM ---------------------------------------------------------------------------------------

_KEY_BLOCK = re.compile(r"-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.*?"
                        r"-----END \1-----", re.DOTALL)


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def normalize_pem(text: str) -> str:
    """PEM blocks with their lines restored. Java's inline PEM settings
    (`ssl.keystore.key`, `ssl.truststore.certificates`, ...) are often written on one
    logical line (a properties continuation joins the lines with their breaks removed);
    Kafka accepts that, OpenSSL needs the header and each 64-character line on its own.
    Text outside the blocks is dropped; a block with headers (traditional encrypted keys)
    is kept as it was."""
    blocks = []
    for match in _PEM_BLOCK.finditer(text):
        label, body = match.group(1), match.group(2)
        if ":" in body:
            blocks.append(match.group() + "\n")
            continue
        data = "".join(body.split())
        lines = [data[i:i + 64] for i in range(0, len(data), 64)]
        blocks.append("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])
                      + "\n")
    return "".join(blocks)


def pem_certificates(data: bytes, path: str, what: str) -> list[Certificate]:
    """Every certificate of a PEM text, in order; StoreError when there is none or one is
    damaged."""
    from cryptography import x509

    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise StoreError(f"{what}: {path} holds no PEM certificate")
    try:
        with warnings.catch_warnings():
            # Real CA bundles still hold a few certificates cryptography frowns upon (a
            # serial of zero); OpenSSL takes them, and a warning is no line for the user.
            warnings.simplefilter("ignore")
            return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise StoreError(f"{what}: {path} holds a damaged PEM certificate") from None


def pem_private_key(data: bytes, password: str | None, path: str, what: str,
                    password_key: str = "ssl.key.password") -> PrivateKeyTypes:
    """The one private key of a PEM text (PKCS#8, or OpenSSL's traditional RSA and EC
    forms), decrypted with `password` when it is encrypted. StoreError when there is no
    key or more than one, the password is missing or wrong, or the key is damaged."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = data.decode("ascii", "replace")
    blocks = list(_KEY_BLOCK.finditer(text))
    if not blocks:
        raise StoreError(f"{what}: {path} holds no PEM private key")
    if len(blocks) > 1:
        raise StoreError(f"{what}: {path} holds more than one private key")
    block = blocks[0].group()
    encrypted = block.startswith("-----BEGIN ENCRYPTED") or "Proc-Type: 4,ENCRYPTED" in block
    if encrypted and password is None:
        raise StoreError(f"{what}: the private key in {path} is encrypted and needs "
                         f"{password_key}")
    secret = password.encode() if encrypted and password is not None else None
    try:
        return load_pem_private_key(block.encode("ascii", "replace"), secret)
    except (ValueError, TypeError):
        if encrypted:
            raise StoreError(f"{what}: {password_key} does not decrypt the private key in "
                             f"{path}") from None
        raise StoreError(f"{what}: {path} holds a damaged PEM private key") from None
    except UnsupportedAlgorithm:
        raise StoreError(f"{what}: the private key in {path} uses an algorithm that cannot "
                         "be read here") from None


def check_key_matches(key: PrivateKeyTypes, certs: list[Certificate], path: str,
                      what: str) -> None:
    """StoreError unless the first certificate is the key's own (the chain's order Java
    and OpenSSL both want: own certificate first, then its issuers)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    mine = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if mine != certs[0].public_key().public_bytes(Encoding.DER,
                                                  PublicFormat.SubjectPublicKeyInfo):
        raise StoreError(f"{what}: the first certificate in {path} is not the private key's "
                         "own (put the client certificate first, then its CA chain)")


# -- JKS ---------------------------------------------------------------------------------------

def jks_aliases(data: bytes) -> list[tuple[str, bool]]:
    """(alias, is_trusted_certificate) of every entry of a JKS file; [] when the file is
    not a JKS store this reader understands. Reads only the entry headers and skips the
    (password-protected) keys; bounded by the data."""
    try:
        magic, version, count = struct.unpack_from(">4sII", data, 0)
        if magic != JKS_MAGIC or version not in (1, 2) or count > 10_000:
            return []
        pos = 12
        out: list[tuple[str, bool]] = []

        def u16() -> int:
            nonlocal pos
            (n,) = struct.unpack_from(">H", data, pos)
            pos += 2
            return int(n)

        def u32() -> int:
            nonlocal pos
            (n,) = struct.unpack_from(">I", data, pos)
            pos += 4
            return int(n)

        def skip(n: int) -> None:
            nonlocal pos
            if pos + n > len(data):
                raise ValueError("truncated")
            pos += n

        def certificate() -> None:
            if version == 2:
                skip(u16())  # certificate type, "X.509"
            skip(u32())

        for _ in range(count):
            tag = u32()
            n = u16()
            alias = data[pos:pos + n].decode("utf-8", "replace")
            skip(n)
            skip(8)  # creation time
            if tag == 1:  # private key entry: protected key, then its chain
                skip(u32())
                for _ in range(u32()):
                    certificate()
            elif tag == 2:
                certificate()
            else:
                return []
            out.append((alias, tag == 2))
        return out
    except (struct.error, ValueError):
        return []


def _beside(path: str, suffix: str) -> str:
    p = Path(path)
    target = p.with_suffix(suffix) if p.suffix else p.with_name(p.name + suffix)
    if target == p:
        target = p.with_name(p.stem + "-converted" + suffix)
    return str(target)


def keytool_advice(path: str, kind: StoreKind, data: bytes, role: str,
                   prefix: str = "ssl") -> str:
    """What to run so that librdkafka (or Python's ssl) can use the JKS or JCEKS store
    `path` ("truststore" or "keystore"), as one sentence: keytool prompts for the passwords
    itself, so none is on the command line. A truststore of one certificate is exported as
    PEM; anything else is converted to PKCS12 (which keeps every entry). `prefix` is the
    settings' prefix: "ssl" (Kafka clients) or "zookeeper.ssl" (ZooKeeper over TLS)."""
    q = shlex.quote
    trusted = [alias for alias, is_cert in jks_aliases(data) if is_cert]
    if role == "truststore" and kind == "JKS" and len(trusted) == 1:
        pem = _beside(path, ".pem")
        return (f"export its CA certificate as PEM with `keytool -exportcert -rfc -keystore "
                f"{q(path)} -storetype JKS -alias {q(trusted[0])} -file {q(pem)}` and set "
                f"{prefix}.truststore.location={pem} with {prefix}.truststore.type=PEM")
    p12 = _beside(path, ".p12")
    return (f"convert it with `keytool -importkeystore -srckeystore {q(path)} -srcstoretype "
            f"{kind} -destkeystore {q(p12)} -deststoretype PKCS12` and set "
            f"{prefix}.{role}.location={p12} with {prefix}.{role}.type=PKCS12")


# -- Python's ssl (the raw Kafka-protocol exchanges of kafka_wire) -----------------------------

def _unencrypted_pem(key: PrivateKeyTypes) -> bytes:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


@contextmanager
def private_file(data: bytes) -> Iterator[str]:
    """A path that reads as `data` for as long as the context lasts: a memory file on Linux
    (the key never reaches a disk), else a 0600 temporary file removed at once after."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("ps-console-tls", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, name = tempfile.mkstemp(prefix="ps-console-tls-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield name
    finally:
        os.unlink(name)


def load_client_certificate(ctx: ssl.SSLContext, props: Mapping[str, str]) -> None:
    """Give `ctx` the client certificate and key that librdkafka-named `props` describe:
    ssl.certificate.location / ssl.key.location (PEM files), ssl.certificate.pem /
    ssl.key.pem (PEM text) or ssl.keystore.location (PKCS12); nothing when none is set."""
    password = props.get("ssl.key.password") or None
    if props.get("ssl.certificate.location"):
        ctx.load_cert_chain(props["ssl.certificate.location"],
                            props.get("ssl.key.location") or None, password)
    elif props.get("ssl.certificate.pem") and props.get("ssl.key.pem"):
        data = (props["ssl.key.pem"].strip() + "\n" + props["ssl.certificate.pem"].strip()
                + "\n").encode("ascii", "replace")
        with private_file(data) as path:
            ctx.load_cert_chain(path, None, password)
    elif props.get("ssl.keystore.location"):
        where = props["ssl.keystore.location"]
        key, chain = pkcs12_key_and_chain(read_store(where, "ssl.keystore.location"),
                                          props.get("ssl.keystore.password"), where)
        with private_file((key + chain).encode("ascii")) as path:
            ctx.load_cert_chain(path)
