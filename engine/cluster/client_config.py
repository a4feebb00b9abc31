"""Client properties from `--command-config`, for every Kafka client.

Operators keep a Java `client.properties` for `kafka-topics.sh`; ps-console takes it as it
is. Java's names are translated to librdkafka's (`java_sasl`: the JAAS login; `java_tls`:
trust and key stores, host name checks), librdkafka's own names pass unchanged, and Java
names that only tune the Java client are dropped with a hint naming what to use instead.
Values are trimmed as Kafka's ConfigDef trims them. What cannot be translated is refused
with one line saying what to write instead.

Values never appear in hints, errors or `repr`: many of these keys hold secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.cluster.translation import Draft
from engine.config.properties import read_properties_file

log = logging.getLogger(__name__)

_TUNING = "tunes the Java client only; ps-console sets its own"
_NO_COUNTERPART = "Java-only, no librdkafka counterpart"
_OAUTH_CHECK = "checks tokens on the broker's side; not used by a client"

# Java client names librdkafka does not know (the admin, producer and consumer names of
# kafka-clients 3.9.2 and 4.4.0, each tried on librdkafka 2.16: "No such configuration
# property"), with what to use instead. The translated ones (sasl.jaas.config,
# ssl.truststore.*, ssl.keystore.type, ...) are `java_sasl`'s and `java_tls`'s.
JAVA_ONLY: dict[str, str] = {
    "default.api.timeout.ms": "use --timeout",
    "bootstrap.controllers": "ps-console talks to brokers: give --bootstrap-server",
    "key.serializer": "not used by ps-console",
    "value.serializer": "not used by ps-console",
    "key.deserializer": "not used by ps-console",
    "value.deserializer": "not used by ps-console",
    "ssl.protocol": "not configurable in librdkafka (it negotiates the TLS version)",
    "ssl.enabled.protocols": "not configurable in librdkafka (it negotiates the TLS version)",
    "ssl.trustmanager.algorithm": _NO_COUNTERPART,
    "ssl.keymanager.algorithm": _NO_COUNTERPART,
    "ssl.secure.random.implementation": _NO_COUNTERPART,
    "ssl.engine.factory.class": _NO_COUNTERPART,
    "ssl.provider": _NO_COUNTERPART,
    "security.providers": _NO_COUNTERPART,
    "sasl.login.class": _NO_COUNTERPART,
    "sasl.login.callback.handler.class": "Java-only; for OAUTHBEARER use sasl.oauthbearer.method "
                                         "and sasl.oauthbearer.token.endpoint.url",
    "sasl.client.callback.handler.class": _NO_COUNTERPART,
    "sasl.oauthbearer.jwt.retriever.class": _NO_COUNTERPART,
    "sasl.oauthbearer.jwt.validator.class": _NO_COUNTERPART,
    "sasl.oauthbearer.assertion.template.file": "use librdkafka's sasl.oauthbearer.assertion.*",
    "sasl.kerberos.ticket.renew.jitter": "librdkafka renews with "
                                         "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.ticket.renew.window.factor": "librdkafka renews with "
                                                "sasl.kerberos.min.time.before.relogin",
    **{name: _OAUTH_CHECK for name in (
        "sasl.oauthbearer.allow.unverified.audience", "sasl.oauthbearer.allow.unverified.issuer",
        "sasl.oauthbearer.clock.skew.seconds", "sasl.oauthbearer.expected.audience",
        "sasl.oauthbearer.expected.issuer", "sasl.oauthbearer.jwks.endpoint.refresh.ms",
        "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
        "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", "sasl.oauthbearer.jwks.endpoint.url",
        "sasl.oauthbearer.scope.claim.name")},
    **{name: _TUNING for name in (
        "auto.include.jmx.reporter", "bootstrap.resolve.timeout.ms", "buffer.memory",
        "buffer.memory.allocation.strategy", "compression.gzip.level", "compression.lz4.level",
        "compression.zstd.level", "exclude.internal.topics", "fetch.max.wait.ms",
        "interceptor.classes", "internal.leave.group.on.close",
        "internal.throw.on.fetch.stable.offset.unsupported", "max.block.ms", "max.request.size",
        "metadata.cluster.check.enable", "metadata.max.idle.ms", "metric.reporters",
        "metrics.num.samples", "metrics.recording.level", "metrics.sample.window.ms",
        "partitioner.adaptive.partitioning.enable", "partitioner.availability.timeout.ms",
        "partitioner.class", "partitioner.ignore.keys", "partitioner.rack.aware",
        "receive.buffer.bytes", "send.buffer.bytes", "share.acquire.mode",
        "socket.connection.setup.timeout.max.ms", "transaction.two.phase.commit.enable",
        "sasl.login.connect.timeout.ms", "sasl.login.read.timeout.ms",
        "sasl.login.refresh.buffer.seconds", "sasl.login.refresh.min.period.seconds",
        "sasl.login.refresh.window.factor", "sasl.login.refresh.window.jitter",
        "sasl.login.retry.backoff.max.ms", "sasl.login.retry.backoff.ms",
        "sasl.oauthbearer.header.urlencode")},
}

# Parts of a key that say its value is a secret (passwords, keys, JAAS, tokens).
SECRET_WORDS = ("password", "secret", "jaas", "token", ".pem", "key")


def is_secret(key: str) -> bool:
    """True when the value of client property `key` may hold a secret (a file location
    does not: the file does)."""
    return any(w in key for w in SECRET_WORDS) and not key.endswith(".location")


@dataclass(frozen=True)
class ClientConfig:
    """librdkafka properties ready for confluent-kafka, the hints about what was dropped,
    and for each translated property the file's own name for it (`origin`)."""

    props: dict[str, str]
    hints: tuple[str, ...] = ()
    origin: Mapping[str, str] = field(default_factory=dict)

    def written_as(self, key: str) -> str:
        """The name the file used for librdkafka's `key` (a Java name, or `key` itself)."""
        return self.origin.get(key, key)

    def __repr__(self) -> str:
        shown = {k: "***" if is_secret(k) else v for k, v in self.props.items()}
        return f"ClientConfig(props={shown!r}, hints={len(self.hints)})"


def librdkafka_properties(props: Mapping[str, str], source: str = "command config"
                          ) -> ClientConfig:
    """Translate, drop or pass on each client property (see the module docstring).

    ClientConfigError (exit 2) with one line for what cannot be used; NotFound for a store
    or keytab file that is missing. The message never holds a value.
    """
    # Here, not at the top: every command that names a cluster imports this module, and
    # the translators (keystores, JAAS) are a fifth of the console's own start-up imports.
    from engine.cluster.java_sasl import translate_sasl
    from engine.cluster.java_tls import translate_tls

    draft = Draft(dict(props), source)
    if draft.has("config.providers"):
        raise draft.error("config.providers", "is set: ps-console does not resolve Java "
                                              "config providers (${provider:...}); write the "
                                              "values themselves in the file (readable by "
                                              "its owner only)")
    translate_sasl(draft)
    translate_tls(draft)
    for key, value in draft.given.items():
        if key in draft.used:
            continue
        if key in JAVA_ONLY:
            draft.hint(key, f"is a Java client property, ignored: {JAVA_ONLY[key]}")
        else:
            draft.put(key, value, key)
    for key, java in draft.origin.items():
        log.debug("%s: librdkafka's %s from %s", source, key, java)
    return ClientConfig(props=draft.out, hints=tuple(draft.hints), origin=dict(draft.origin))


def read_client_config(path: str) -> ClientConfig:
    """Read a client properties file and adapt it for librdkafka (see `librdkafka_properties`).

    The file is read with Java `.properties` rules (the same file works with the Java
    tools, which also decode it as ISO-8859-1). Missing or unreadable file: NotFound;
    malformed escape or a setting that cannot be used: UsageError.
    """
    props = read_properties_file(path, "command config")
    return librdkafka_properties(props, source=path)


def load_client_config(path: str) -> dict[str, str]:
    """The librdkafka properties of a client file, without the hints."""
    return read_client_config(path).props
