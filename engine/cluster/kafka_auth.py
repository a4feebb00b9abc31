"""Fail fast when a secured Kafka listener rejects the client's credentials or TLS trust.

librdkafka treats a failed SASL login or TLS handshake like a network error: it reconnects
forever and a metadata call only ends at its timeout with "Broker transport failure". The
real cause only reaches the application through `error_cb`. `check_kafka_auth` opens one
short-lived AdminClient, asks for metadata in short slices and turns the first
authentication or TLS error (including a broker's TLS alert about the client certificate,
which TLS 1.3 delivers after the handshake) into an `AuthenticationFailure` with one
readable line.
`ClusterSession.kafka_config` calls it once per session for every non-PLAINTEXT protocol.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from engine.cluster.client_config import is_secret
from engine.errors import AuthenticationFailure, ConnectionFailure

_LOG = logging.getLogger("engine.librdkafka")

# A slice short enough to notice an error_cb report soon after it arrives.
_SLICE = 0.25


# TLS alerts a broker sends about the client's certificate (RFC 8446 6.2: bad, unsupported,
# revoked, expired, unknown certificate, unknown CA, certificate required). Under TLS 1.3
# they arrive after the handshake, so librdkafka reports a transport error, not an SSL one;
# retrying cannot help all the same.
_CLIENT_CERT_ALERT = re.compile(r"SSL alert number (42|43|44|45|46|48|116)\b")
_CLIENT_CERT_KEYS = ("ssl.certificate.location", "ssl.certificate.pem", "ssl.keystore.location")


def _hint(kind: str, origin: Mapping[str, str], conf: Mapping[str, object]) -> str:
    """What to check, in the names the --command-config file used (a Java file's
    sasl.jaas.config holds the credentials that librdkafka calls sasl.username/password)."""
    def names(*keys: str) -> str:
        written = list(dict.fromkeys(origin.get(k, k) for k in keys))
        return ", ".join(written[:-1]) + " and " + written[-1] if written[1:] else written[0]

    if kind == "sasl":
        credentials = names("sasl.mechanism", "sasl.username", "sasl.password")
        return f"check {credentials} in --command-config"
    if kind == "client-cert":
        given = [k for k in _CLIENT_CERT_KEYS if conf.get(k)]
        if not given:
            return ("the brokers want a client certificate: set ssl.keystore.location (or "
                    "ssl.certificate.location and ssl.key.location) in --command-config")
        return (f"check {names(given[0])} in --command-config (the client certificate and "
                "its CA chain, which the brokers must trust)")
    ca = next((k for k in ("ssl.ca.location", "ssl.ca.pem") if k in origin), "ssl.ca.location")
    return (f"check {names(ca)} in --command-config (the CA that signed the brokers' "
            "certificates)")


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def secret_values(props: Mapping[str, object]) -> list[str]:
    """The values of client properties that hold secrets (passwords, keys, JAAS, tokens)."""
    return [str(v) for k, v in props.items() if isinstance(v, str) and v and is_secret(k)]


def _fatal_codes() -> dict[int, str]:
    from confluent_kafka import KafkaError

    return {KafkaError._AUTHENTICATION: "sasl",
            KafkaError.SASL_AUTHENTICATION_FAILED: "sasl",
            KafkaError._SSL: "ssl"}


def check_kafka_auth(conf: Mapping[str, object], timeout: float,
                     origin: Mapping[str, str] | None = None) -> None:
    """Connect with `conf` until metadata arrives (return), an authentication or TLS error
    is reported (AuthenticationFailure), or `timeout` passes (ConnectionFailure).

    `origin` maps librdkafka names to the names the user's file used (ClientConfig.origin),
    so that the hint names what to check in that file. A configuration librdkafka refuses
    is left for the caller's own client to report.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    where = f"Kafka at {conf.get('bootstrap.servers', '?')}"
    secrets = secret_values(conf)
    seen: list[Any] = []
    probe: dict[str, Any] = dict(conf)
    probe["error_cb"] = seen.append
    if _LOG.isEnabledFor(logging.DEBUG):
        probe["logger"] = _LOG
    else:
        probe["log_level"] = 0
    try:
        admin = AdminClient(probe)
    except (KafkaException, ValueError, TypeError):
        return
    fatal = _fatal_codes()
    deadline = time.monotonic() + timeout
    last = "no answer"
    # Bounded by the deadline: every pass waits at most one slice.
    while True:
        remaining = deadline - time.monotonic()
        try:
            admin.list_topics(timeout=max(min(_SLICE, remaining), 0.05))
            return
        except KafkaException as exc:
            first: Any = exc.args[0] if exc.args else None
            last = first.str() if hasattr(first, "str") else str(exc)
        admin.poll(0)  # serves error_cb on this thread
        for err in seen:
            kind = fatal.get(err.code())
            if kind is None and err.code() == KafkaError._TRANSPORT and \
                    _CLIENT_CERT_ALERT.search(err.str()):
                kind = "client-cert"
            if kind is not None:
                reason = mask(err.str().splitlines()[0], secrets)
                _LOG.debug("authentication failure: %s", reason)
                raise AuthenticationFailure(f"{where}: authentication failed: {reason} "
                                            f"({_hint(kind, origin or {}, conf)})")
        if seen:
            last = seen[-1].str()
        seen.clear()
        if remaining <= 0:
            raise ConnectionFailure(f"{where} did not answer within {timeout:g} s "
                                    f"({mask(last.splitlines()[0], secrets)})")
