"""Client properties from `--command-config` (librdkafka names), for every Kafka client.

Operators often hand over the file they use with the Java tools. librdkafka refuses several
Java-only names outright (client creation fails), so those are dropped here and each drop
comes back as a hint naming what to write instead. Values never appear in hints: many of
these keys hold secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.properties import read_properties_file

# Java client names librdkafka does not know (checked against librdkafka 2.16: client
# creation fails with "No such configuration property" or a Java-specific refusal), with
# what to use instead. Names valid in both (ssl.keystore.location, ssl.keystore.password,
# ssl.key.password, ssl.cipher.suites, sasl.kerberos.service.name, sasl.mechanism,
# security.protocol, ssl.endpoint.identification.algorithm with a non-empty value) pass.
JAVA_ONLY: dict[str, str] = {
    "sasl.jaas.config": "use sasl.username and sasl.password (PLAIN, SCRAM), "
                        "sasl.kerberos.keytab and sasl.kerberos.principal (GSSAPI) or "
                        "sasl.oauthbearer.* (OAUTHBEARER)",
    "ssl.truststore.location": "use ssl.ca.location with the CA certificates as a PEM file "
                               "(export them from the JKS truststore with keytool)",
    "ssl.truststore.password": "not needed: a PEM file in ssl.ca.location has no password",
    "ssl.truststore.type": "not needed: ssl.ca.location takes PEM",
    "ssl.truststore.certificates": "use ssl.ca.pem",
    "ssl.keystore.type": "not needed: librdkafka's ssl.keystore.location is always PKCS#12; "
                         "or use ssl.certificate.location and ssl.key.location (PEM)",
    "ssl.keystore.certificate.chain": "use ssl.certificate.pem",
    "ssl.keystore.key": "use ssl.key.pem",
    "ssl.protocol": "not configurable in librdkafka (it negotiates the TLS version)",
    "ssl.enabled.protocols": "not configurable in librdkafka (it negotiates the TLS version)",
    "ssl.trustmanager.algorithm": "Java-only, no librdkafka equivalent",
    "ssl.keymanager.algorithm": "Java-only, no librdkafka equivalent",
    "ssl.secure.random.implementation": "Java-only, no librdkafka equivalent",
    "ssl.engine.factory.class": "Java-only, no librdkafka equivalent",
    "sasl.login.class": "Java-only, no librdkafka equivalent",
    "sasl.login.callback.handler.class": "Java-only; for OAUTHBEARER use sasl.oauthbearer.method "
                                         "and sasl.oauthbearer.token.endpoint.url",
    "sasl.client.callback.handler.class": "Java-only, no librdkafka equivalent",
    "default.api.timeout.ms": "use --timeout",
    "key.serializer": "not used by ps-console",
    "value.serializer": "not used by ps-console",
    "key.deserializer": "not used by ps-console",
    "value.deserializer": "not used by ps-console",
}


@dataclass(frozen=True)
class ClientConfig:
    """librdkafka properties ready for confluent-kafka, and hints about what was changed."""

    props: dict[str, str]
    hints: tuple[str, ...] = ()


def librdkafka_properties(props: dict[str, str], source: str = "command config"
                          ) -> ClientConfig:
    """Drop or translate Java-only client properties; say why in one hint per key."""
    kept: dict[str, str] = {}
    hints: list[str] = []
    for key, value in props.items():
        if key in JAVA_ONLY:
            hints.append(f"{source}: {key} is a Java client property, ignored: {JAVA_ONLY[key]}")
        elif key == "ssl.endpoint.identification.algorithm" and value.strip() == "":
            # Java disables host name checks with an empty value; librdkafka refuses the
            # empty string and spells it "none".
            kept[key] = "none"
            hints.append(f"{source}: {key} is empty (Java's way to disable host name "
                         "verification); using librdkafka's 'none'")
        else:
            kept[key] = value
    return ClientConfig(props=kept, hints=tuple(hints))


def read_client_config(path: str) -> ClientConfig:
    """Read a client properties file and adapt it for librdkafka (see `librdkafka_properties`).

    The file is read with Java `.properties` rules (the same file works with the Java
    tools, which also decode it as ISO-8859-1). Missing or unreadable file: NotFound;
    malformed escape: UsageError.
    """
    props = read_properties_file(path, "command config")
    return librdkafka_properties(props, source=path)


def load_client_config(path: str) -> dict[str, str]:
    """The librdkafka properties of a client file, without the hints."""
    return read_client_config(path).props
