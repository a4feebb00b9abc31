"""ZooKeeper over TLS: Kafka's `zookeeper.ssl.*` settings, as kazoo's TLS options.

A ZooKeeper-mode broker that reaches ZooKeeper over TLS says so in its `server.properties`
(Kafka 3.x names; the same keys are accepted in a `--zookeeper-auth FILE`):

    zookeeper.ssl.client.enable=true
    zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty
    zookeeper.ssl.truststore.location=/etc/kafka/zk-truststore.p12   # PKCS12 or PEM
    zookeeper.ssl.truststore.password=...
    zookeeper.ssl.keystore.location=/etc/kafka/zk-client.p12         # optional: mutual TLS
    zookeeper.ssl.keystore.password=...

kazoo takes file paths (`ca`, `certfile`, `keyfile`, `keyfile_password`, `use_ssl`,
`verify_certs`, `check_hostname`) and reopens them on every reconnect. A PEM store is handed
over as its own path; a PKCS12 store is opened here (the same code as `--command-config`'s
stores, engine.cluster.keystores) and its certificates and key given to kazoo through
memory files that live as long as the ZooKeeper client. A JKS store gets the keytool command
that makes it usable. As in ZooKeeper, a PEM keystore's key is decrypted with the keystore
password (ZooKeeper has no separate key password).

Rules, as Kafka's broker applies them: TLS only when `zookeeper.ssl.client.enable` is true
(the other keys are then read; without it they are ignored); host name verification unless
`zookeeper.ssl.endpoint.identification.algorithm` is explicitly empty; no truststore means
the system's CAs. What cannot be honoured here is refused rather than weakened: a socket
class other than ZooKeeper's Netty one (the only one that speaks TLS) and revocation checks
(`zookeeper.ssl.crl.enable`, `zookeeper.ssl.ocsp.enable`). `zookeeper.ssl.protocol`,
`.enabled.protocols` and `.cipher.suites` are accepted; Python's ssl negotiates TLS 1.2 or
newer with its own cipher list.

Nothing here prints a password or a key.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from engine.cluster.connect import HostPort, format_host_port
from engine.cluster.keystores import (
    StoreError,
    check_key_matches,
    keytool_advice,
    pem_certificates,
    pem_private_key,
    pkcs12_key_and_chain,
    pkcs12_trusted_pem,
    private_file,
    read_store,
    store_kind,
)
from engine.errors import AuthenticationFailure, ConnectionFailure, UsageError

ENABLE_KEY = "zookeeper.ssl.client.enable"
SOCKET_KEY = "zookeeper.clientCnxnSocket"
NETTY_SOCKET = "org.apache.zookeeper.ClientCnxnSocketNetty"
ENDPOINT_KEY = "zookeeper.ssl.endpoint.identification.algorithm"
TRUSTSTORE = "zookeeper.ssl.truststore"
KEYSTORE = "zookeeper.ssl.keystore"
REVOCATION_KEYS = ("zookeeper.ssl.crl.enable", "zookeeper.ssl.ocsp.enable")
# Accepted, not applied (see the module docstring).
NEGOTIATED_KEYS = ("zookeeper.ssl.protocol", "zookeeper.ssl.enabled.protocols",
                   "zookeeper.ssl.cipher.suites")
KEYS = (ENABLE_KEY, SOCKET_KEY, ENDPOINT_KEY, *REVOCATION_KEYS, *NEGOTIATED_KEYS,
        *(f"{store}.{part}" for store in (TRUSTSTORE, KEYSTORE)
          for part in ("location", "password", "type")))
STORE_TYPES = ("JKS", "PKCS12", "PEM")

# How long the handshake check waits for the server to object to the client certificate
# (TLS 1.3 sends that alert after the handshake); a server that accepts it says nothing.
_ALERT_WAIT = 0.3


def _boolean(props: Mapping[str, str], key: str, source: str) -> bool:
    """Kafka's BOOLEAN config type: true or false in any case, trimmed; absent is false."""
    raw = props.get(key)
    if raw is None or raw.strip() == "":
        return False
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise UsageError(f"{source}: {key} must be true or false, not {raw.strip()!r}")
    return value == "true"


@dataclass(frozen=True)
class ZkTls:
    """How to speak TLS to ZooKeeper. Paths are the user's files; `*_pem` fields hold what
    a PKCS12 store held, in memory (never in repr)."""

    source: str  # the file the settings came from, for messages
    ca: str | None = None  # a PEM truststore's path
    ca_pem: str | None = field(default=None, repr=False)  # a PKCS12 truststore's certificates
    certfile: str | None = None  # a PEM keystore's path (key and chain in one file)
    key_and_chain_pem: str | None = field(default=None, repr=False)  # a PKCS12 keystore's
    keyfile_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True

    @property
    def client_certificate(self) -> bool:
        """True when a client certificate is configured (mutual TLS)."""
        return bool(self.certfile or self.key_and_chain_pem)

    @contextmanager
    def kazoo_options(self) -> Iterator[dict[str, Any]]:
        """kazoo's TLS keyword arguments, valid while the context lasts (the memory files
        that hold a PKCS12 store's content are closed at its end)."""
        with ExitStack() as stack:
            ca = self.ca
            if self.ca_pem is not None:
                ca = stack.enter_context(private_file(self.ca_pem.encode("ascii")))
            certfile = keyfile = self.certfile
            if self.key_and_chain_pem is not None:
                certfile = keyfile = stack.enter_context(
                    private_file(self.key_and_chain_pem.encode("ascii")))
            yield {"use_ssl": True, "ca": ca, "certfile": certfile, "keyfile": keyfile,
                   "keyfile_password": self.keyfile_password, "verify_certs": True,
                   "check_hostname": self.check_hostname}


def zk_tls_from_properties(props: Mapping[str, str], source: str) -> ZkTls | None:
    """The ZooKeeper TLS settings of a broker's server.properties or a --zookeeper-auth
    file (`source` names it in messages); None when `zookeeper.ssl.client.enable` is not
    true. UsageError / StoreError (exit 2) for what cannot be used, NotFound for a store
    file that is missing."""
    if not _boolean(props, ENABLE_KEY, source):
        return None
    cnxn = props.get(SOCKET_KEY, "").strip()
    if cnxn and cnxn != NETTY_SOCKET:
        raise UsageError(f"{source}: {SOCKET_KEY}={cnxn} cannot speak TLS, but {ENABLE_KEY} "
                         f"is true: use {NETTY_SOCKET}")
    for key in REVOCATION_KEYS:
        if _boolean(props, key, source):
            raise UsageError(f"{source}: {key}=true: certificate revocation cannot be "
                             "checked here; ZooKeeper over TLS is refused rather than "
                             "reached without that check")
    endpoint = props.get(ENDPOINT_KEY)
    if endpoint is not None and endpoint.strip().lower() not in ("", "https"):
        raise UsageError(f"{source}: {ENDPOINT_KEY} must be HTTPS (check ZooKeeper's host "
                         "name) or empty (do not)")
    check_hostname = endpoint is None or endpoint.strip() != ""
    try:
        ca, ca_pem = _truststore(props, source)
        certfile, key_and_chain, password = _keystore(props, source)
    except StoreError as exc:
        raise StoreError(f"{source}: {exc}") from None
    return ZkTls(source=source, ca=ca, ca_pem=ca_pem, certfile=certfile,
                 key_and_chain_pem=key_and_chain, keyfile_password=password,
                 check_hostname=check_hostname)


def _store(props: Mapping[str, str], store: str, role: str
           ) -> tuple[str, bytes, str, str | None] | None:
    """(path, content, format, password) of a configured store, None when not configured."""
    location = props.get(f"{store}.location", "").strip()
    password = props.get(f"{store}.password")
    if not location:
        return None
    data = read_store(location, f"{store}.location")
    kind = store_kind(data)
    declared = props.get(f"{store}.type", "").strip().upper()
    if declared and declared not in STORE_TYPES:
        raise StoreError(f"{store}.type is {declared}; use PKCS12 or PEM")
    if kind in ("JKS", "JCEKS"):
        raise StoreError(f"{store}.location names {location}, a {kind} store, which cannot "
                         "be read here: " + keytool_advice(location, kind, data, role,
                                                           prefix="zookeeper.ssl"))
    if kind == "unknown":
        raise StoreError(f"{store}.location names {location}, which is neither PEM, PKCS12 "
                         "nor JKS")
    # ZooKeeper reads JKS and PKCS12 under either type, PEM only as PEM (or untyped).
    if declared and (declared == "PEM") != (kind == "PEM"):
        raise StoreError(f"{store}.type is {declared} but {location} is {kind}: set "
                         f"{store}.type={kind}")
    return location, data, kind, password


def _truststore(props: Mapping[str, str], source: str) -> tuple[str | None, str | None]:
    found = _store(props, TRUSTSTORE, "truststore")
    if found is None:
        return None, None  # the system's CAs, as Java's default truststore
    location, data, kind, password = found
    if kind == "PEM":
        pem_certificates(data, location, f"{TRUSTSTORE}.location")
        return location, None
    return None, pkcs12_trusted_pem(data, password, location, f"{TRUSTSTORE}.location",
                                    f"{TRUSTSTORE}.password")


def _keystore(props: Mapping[str, str], source: str
              ) -> tuple[str | None, str | None, str | None]:
    found = _store(props, KEYSTORE, "keystore")
    if found is None:
        return None, None, None
    location, data, kind, password = found
    what = f"{KEYSTORE}.location"
    if kind == "PEM":
        # ZooKeeper decrypts a PEM key with the keystore password.
        key = pem_private_key(data, password or None, location, what, f"{KEYSTORE}.password")
        check_key_matches(key, pem_certificates(data, location, what), location, what)
        return location, None, password or None
    key_pem, chain_pem = pkcs12_key_and_chain(data, password, location, what,
                                              f"{KEYSTORE}.password")
    return None, key_pem + chain_pem, None


def _context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """The TLS context kazoo builds from the same options (kazoo.handlers.utils)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    ctx.check_hostname = bool(options.get("check_hostname"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    if options.get("ca"):
        ctx.load_verify_locations(options["ca"])
    if options.get("certfile") and options.get("keyfile"):
        ctx.load_cert_chain(options["certfile"], options["keyfile"],
                            options.get("keyfile_password"))
    return ctx


def check_zk_tls(hosts: tuple[HostPort, ...], tls: ZkTls, options: Mapping[str, Any],
                 timeout: float) -> None:
    """Shake hands with the first ZooKeeper server that answers, as kazoo will: kazoo
    treats a failed handshake as a lost connection and retries until its timeout, so a CA
    that does not fit, a refused client certificate or a plaintext port would otherwise
    cost the whole wait. AuthenticationFailure / ConnectionFailure with one line; nothing
    when no server answers (kazoo reports that)."""
    ctx = _context(options)
    for host, port in hosts:
        where = f"ZooKeeper at {format_host_port(host, port)}"
        try:
            raw = socket.create_connection((host, port), timeout=min(timeout, 2.0))
        except OSError:
            continue
        try:
            with ctx.wrap_socket(raw, server_hostname=host) as conn:
                conn.settimeout(_ALERT_WAIT)
                try:
                    conn.recv(1)
                except TimeoutError:
                    return  # the server waits for our first request: accepted
            raise ConnectionFailure(f"{where} closed the TLS connection at once (does it "
                                    "take TLS clients on that port?)")
        except ssl.SSLCertVerificationError as exc:
            raise AuthenticationFailure(
                f"{where}: TLS: {exc.verify_message or 'certificate verify failed'} (check "
                f"{TRUSTSTORE}.location in {tls.source}: the CA that signed ZooKeeper's "
                "certificate)") from None
        except ssl.SSLError as exc:
            reason = exc.reason or type(exc).__name__
            if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE") or "EOF" in str(exc):
                raise ConnectionFailure(f"{where} does not speak TLS on that port "
                                        f"({ENABLE_KEY} is true in {tls.source})") from None
            if tls.client_certificate:
                hint = (f"check {KEYSTORE}.location in {tls.source}: ZooKeeper must trust "
                        "the client certificate")
            else:
                hint = f"ZooKeeper may want a client certificate: set {KEYSTORE}.location"
            raise AuthenticationFailure(f"{where}: TLS refused: {reason} ({hint})") from None
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise ConnectionFailure(f"{where}: TLS handshake failed: "
                                    f"{type(exc).__name__}") from None
        finally:
            raw.close()
