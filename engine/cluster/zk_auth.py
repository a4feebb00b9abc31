"""ZooKeeper credentials (`--zookeeper-auth FILE` or a console profile), for kazoo.

Secured Kafka clusters in ZooKeeper mode protect ZooKeeper in one of two ways: SASL logins
(DIGEST-MD5, the same JAAS `Client` user the brokers use, often with the server refusing
every unauthenticated request) or digest ACLs (`user:password` added to the session). The
file is a small properties file so that the password never sits on a command line:

    zookeeper.auth.mechanism=DIGEST-MD5     # or digest
    zookeeper.auth.username=kafka
    zookeeper.auth.password=...

The same file takes Kafka's ZooKeeper TLS settings (`zookeeper.ssl.client.enable`, the
key and trust stores, `zookeeper.clientCnxnSocket`; see engine.cluster.zk_tls), with or
without a login: a client certificate that ZooKeeper accepts is an identity of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.config.properties import read_properties_file
from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.cluster.zk_tls import ZkTls

MECHANISM_KEY = "zookeeper.auth.mechanism"
USERNAME_KEY = "zookeeper.auth.username"
PASSWORD_KEY = "zookeeper.auth.password"

# Spellings accepted for each mechanism, mapped to the canonical name.
MECHANISMS = {"digest": "digest", "digest-md5": "DIGEST-MD5", "sasl": "DIGEST-MD5"}

FILE_HELP = (f"ZooKeeper credentials: a properties file with {MECHANISM_KEY}=DIGEST-MD5 "
             f"(SASL login) or digest (digest ACLs), {USERNAME_KEY} and {PASSWORD_KEY}; "
             "and/or Kafka's zookeeper.ssl.* settings for ZooKeeper over TLS")


@dataclass(frozen=True)
class ZkAuth:
    """One ZooKeeper login. The password is kept out of repr() so it cannot leak through
    logs or tracebacks that print the target."""

    mechanism: str
    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        canonical = MECHANISMS.get(self.mechanism.strip().lower())
        if canonical is None:
            raise UsageError(f"{MECHANISM_KEY} must be DIGEST-MD5 or digest, "
                             f"not {self.mechanism!r}")
        object.__setattr__(self, "mechanism", canonical)
        if not self.username:
            raise UsageError(f"{USERNAME_KEY} is empty")
        if ":" in self.username and canonical == "digest":
            raise UsageError(f"{USERNAME_KEY} cannot contain ':' for digest authentication")

    def kazoo_options(self) -> dict[str, Any]:
        """Keyword arguments for KazooClient."""
        if self.mechanism == "digest":
            return {"auth_data": [("digest", f"{self.username}:{self.password}")]}
        # kazoo mutates sasl_options (adds the service name): hand it a fresh dict.
        return {"sasl_options": {"mechanism": "DIGEST-MD5", "username": self.username,
                                 "password": self.password}}

    def describe(self) -> str:
        """`DIGEST-MD5 as kafka`: for messages; never the password."""
        return f"{self.mechanism} as {self.username}"


def zk_auth_from_mapping(values: dict[str, str], source: str) -> ZkAuth:
    """Build a ZkAuth from already-read keys (a properties file or a config profile)."""
    missing = [k for k in (USERNAME_KEY, PASSWORD_KEY) if k not in values]
    if missing:
        raise UsageError(f"{source}: {', '.join(missing)} missing")
    try:
        return ZkAuth(mechanism=values.get(MECHANISM_KEY, "DIGEST-MD5"),
                      username=values[USERNAME_KEY], password=values[PASSWORD_KEY])
    except UsageError as exc:
        raise UsageError(f"{source}: {exc}") from None


@dataclass(frozen=True)
class ZookeeperFile:
    """What a `--zookeeper-auth FILE` holds: a login, TLS settings, or both.

    `tls_given` is True when the file has any TLS key, even `zookeeper.ssl.client.enable=
    false`: the file then decides about TLS, not the broker's server.properties.
    """

    auth: ZkAuth | None
    tls: ZkTls | None
    tls_given: bool


def read_zookeeper_file(path: str) -> ZookeeperFile:
    """Read `--zookeeper-auth FILE` (Java properties rules). NotFound / UsageError."""
    # Here, not at the top: the TLS side (ssl, keystores) is for the commands given a file.
    from engine.cluster.zk_tls import KEYS as TLS_KEYS
    from engine.cluster.zk_tls import zk_tls_from_properties

    props = read_properties_file(path, "ZooKeeper auth file")
    source = f"ZooKeeper auth file {path}"
    login_keys = (MECHANISM_KEY, USERNAME_KEY, PASSWORD_KEY)
    unknown = sorted(k for k in props if k not in login_keys and k not in TLS_KEYS)
    if unknown:
        raise UsageError(f"{source}: unknown key(s) {', '.join(unknown)} (expected "
                         f"{MECHANISM_KEY}, {USERNAME_KEY}, {PASSWORD_KEY} or Kafka's "
                         "zookeeper.ssl.* settings)")
    tls_given = any(k in TLS_KEYS for k in props)
    login_given = any(k in login_keys for k in props)
    if not login_given and not tls_given:
        raise UsageError(f"{source}: {USERNAME_KEY}, {PASSWORD_KEY} missing")
    auth = zk_auth_from_mapping(props, source) if login_given else None
    return ZookeeperFile(auth=auth, tls=zk_tls_from_properties(props, source),
                         tls_given=tls_given)


def read_zk_auth(path: str) -> ZkAuth:
    """The login of `--zookeeper-auth FILE`; UsageError when it has none. NotFound."""
    found = read_zookeeper_file(path)
    if found.auth is None:
        raise UsageError(f"ZooKeeper auth file {path}: {USERNAME_KEY}, {PASSWORD_KEY} missing")
    return found.auth
