"""A corpus of private data a broker's configuration and JVM may hold, for the privacy tests.

Every entry is something a support report must never carry: secrets under names no
denylist guesses, hosts, addresses and topic names inside key names and values, inline PEM,
credentials in URLs, JVM flags naming the host or the deployment. Each value, and each part
of it that could leak on its own, is distinctive, so finding it in a report's bytes means
that it leaked; `MARKERS` lists those parts.
"""

from __future__ import annotations

# Topic names of the cluster; the integration test creates them (with a suffix).
TOPIC_STEMS = ("payroll-events-eu", "acmecorp77.invoices")

PEM = ("-----BEGIN CERTIFICATE-----\nMIIBpemValQ7corpusAAAA\nMIIBpemValQ7corpusBBBB\n"
       "-----END CERTIFICATE-----")
PEM_KEY = ("-----BEGIN PRIVATE KEY-----\nMIIEvPemKeyQ7corpusCCCC\n"
           "-----END PRIVATE KEY-----")

CONFIG: dict[str, str] = {
    # Secret-shaped values under unusual keys.
    "pwd": "PwdValQ7-7f3a91",
    "db.passphrase": "PassphraseValQ7-c41d",
    "monitoring.apikey": "ApiKeyValQ7-9b2e77",
    "s3.accesskey": "AKIAQ7CORPUSEXAMPLE",
    "confluent.license": "eyJhbGciOiJSUzI1NiJ9.LicenseValQ7-d00d.c2lnbmF0dXJlUTc",
    "sasl.jaas.config": ("org.apache.kafka.common.security.scram.ScramLoginModule required "
                         'username="jaasuserQ7" password="JaasValQ7-5e6f";'),
    "listener.name.sasl_ssl.plain.sasl.jaas.config":
        ("org.apache.kafka.common.security.plain.PlainLoginModule required "
         'username="admin" password="JaasValQ7-a1b2" user_admin="JaasValQ7-a1b2";'),
    "ssl.keystore.password": "KeystoreValQ7-1b2c",
    "password.encoder.secret": "EncoderValQ7-8a9b",
    "sasl.oauthbearer.client.credentials.client.secret": "OauthSecretValQ7-3c3c",
    "delegation.token.secret.key": "TokenValQ7-4d4d",
    # Private data inside key names.
    "quota.override.kafka7q7.corp-internal.example": "1048576",
    "log.retention.ms.10.44.55.66": "86400000",
    "payroll-events-eu.retention.ms": "3600000",
    "listener.name.internal-q7.ssl.client.auth": "required",
    "listener.name.internal-q7.ssl.keystore.location": "/srv/kafka-prodq7/internal.jks",
    # Hosts and addresses in values of unusual keys, and in Kafka keys of free text.
    "metrics.collector": "kafka7q7.corp-internal.example",
    "backup.peer": "10.44.55.67",
    "backup.peer6": "fd12:3456:789a::17",
    "broker.rack": "rackQ7-eu-west-1a",
    "zookeeper.connect": "zk9q7.corp-internal.example:2181/kafka-prodq7",
    "advertised.listeners": "SASL_SSL://kafka7q7.corp-internal.example:9093",
    "log.dirs": "/srv/kafka-prodq7/data",
    "super.users": "User:CN=adminQ7,O=AcmeCorp77",
    "controller.quorum.voters": "1@ctlq7.corp-internal.example:9094",
    "replica.selector.class": "com.acmecorp77.kafka.RackSelector",
    # Private data disguised under Kafka keys of a type: none parses or is legal.
    "num.io.threads": "10.44.55.68",
    "background.threads": "kafka7q7",
    "compression.type": "kafka7q7host",
    "log.cleanup.policy": "delete,payroll-events-eu",
    "auto.create.topics.enable": "yes-kafka7q7",
    "log.cleaner.min.cleanable.ratio": "NaN",
    "log.cleaner.io.max.bytes.per.second": "0x1p3",
    "principal.builder.class": "com.acmecorp77.security.PrincipalBuilderQ7",
    "alter.config.policy.class.name": "kafka.acmecorp77.PolicyQ7",
    "create.topic.policy.class.name": "org.apache.kafka.payroll.PolicyQ7",
    # Topic names in values.
    "transaction.state.log.topic": "payroll-events-eu",
    "metric.reporters.topic": "acmecorp77.invoices",
    # Inline PEM.
    "ssl.truststore.certificates": PEM,
    "ssl.keystore.key": PEM_KEY,
    "custom.ca.pem": PEM,
    # Credentials in URLs.
    "sasl.oauthbearer.token.endpoint.url":
        "https://oauthuserq7:UrlPwQ7-3c3c@idpq7.corp-internal.example/token",
    "confluent.support.proxy": "http://proxyuserq7:ProxyPwQ7-4d4d@proxyq7.corp-internal.example:3128",
    "schema.registry.url": "https://sruserq7:SrPwQ7-5e5e@srq7.corp-internal.example",
}

# Plain Kafka settings that must survive the filter, so it cannot pass by dropping all.
KEPT: dict[str, str] = {
    "num.network.threads": "3",
    "log.retention.hours": "168",
    "log.segment.bytes": "1073741824",
    "unclean.leader.election.enable": "False",
    "log.message.timestamp.type": "LogAppendTime",
    "group.consumer.migration.policy": "bidirectional",
    "log.cleaner.io.buffer.load.factor": "0.9",
    "inter.broker.protocol.version": "3.9-IV0",
    "ssl.engine.factory.class": "org.apache.kafka.common.security.ssl.DefaultSslEngineFactory",
}
# The keys of CONFIG that ps-console itself reads from a broker's file to find its cluster,
# its JVM or its HTTP route: a test that reports through the real sandbox keeps the file's
# own values of these (its real addresses, which must not leak either).
ROUTING_KEYS = ("zookeeper.connect", "controller.quorum.voters", "confluent.support.proxy")

# What the collector would see of a broker JVM: its command line and its runtime.
JVM_ARGS = [
    "/usr/lib/jvm/java-17/bin/java", "-Xmx1g",
    "-Dkafka.logs.dir=/srv/kafka-prodq7/logs",
    "-Djava.rmi.server.hostname=kafka7q7.corp-internal.example",
    "-Dcom.sun.management.jmxremote.port=19977",
    "-Ddeployment.name=acmecorp77-payments-prodq7",
    "-Djava.security.auth.login.config=/etc/kafka-prodq7/jaas.conf",
    "-Dzookeeper.sasl.clientconfig=ZkClientAcmeQ7",
    "-Dhttps.proxyHost=10.44.55.69",
    "-Djava.awt.headless=kafka7q7",
    "-Dfile.encoding=acmecorp77-enc",
    "-Djava.vendor=AcmeCorp77 JDK",
    "-Djava.net.preferIPv4Stack=true",
    "-Dfile.encoding=UTF-8",
    "kafka.Kafka", "/etc/kafka-prodq7/server.properties",
]
JVM_RUNTIME = {"java.version": "17.0.15", "java.vendor": "AcmeCorp77 Internal JDK build",
               "os.name": "Linux", "os.arch": "amd64"}

# Parts of the corpus that must not appear anywhere in a report, whatever surrounds them.
MARKERS = [
    "ValQ7", "kafka7q7", "prodq7", "AcmeCorp77", "corp-internal", "payroll", "10.44.55",
    "fd12:3456", "BEGIN CERT", "PRIVATE KEY", "MIIBpem", "MIIEvPem", "AKIAQ7", "eyJhbGci",
    "19977", "jaasuserQ7", "adminQ7", "rackQ7", "proxyuserq7", "/srv/", "/etc/",
    "jaas.conf", "invoices", "PolicyQ7", "PrincipalBuilderQ7", "ZkClientAcmeQ7", "PwQ7",
]
# Values that tell nothing by themselves (the key beside them is the private part).
_HARMLESS = {"true", "false", "UTF-8", "required", "NaN"}


def _telling(value: str) -> bool:
    return len(value) >= 4 and not value.isdigit() and value not in _HARMLESS


def corpus_strings(config: dict[str, str] = CONFIG) -> list[str]:
    """Every telling value, every key Kafka does not define, every -D value and every
    marker of the corpus: none may appear in a report."""
    from engine.reporting.privacy import kafka_definitions

    defined = kafka_definitions().keys
    out = [v for v in config.values() if _telling(v)]
    out += [k for k in config if k not in defined]
    out += [a.split("=", 1)[1] for a in JVM_ARGS if a.startswith("-D")]
    out += [JVM_RUNTIME["java.vendor"]]
    return sorted({s for s in out if _telling(s)} | set(MARKERS))


def properties_text(settings: dict[str, str]) -> str:
    """`settings` as .properties lines (newlines escaped as Java's Properties reads them)."""
    return "".join(f"{k}={v.replace(chr(10), chr(92) + 'n')}\n" for k, v in settings.items())
