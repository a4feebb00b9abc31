"""The files a sandbox run hands to its JVMs: logging configs, zk.cfg, server.properties.

Pure text builders: the sandbox decides ports and folders and writes what these return.
Broker configs are shaped like real ones (process.roles, node.id, listeners, advertised
listeners, the protocol map, inter-broker and controller listener names), because tests run
the agent beside a broker from its file alone.
"""

from __future__ import annotations

from pathlib import Path

from tools.sandbox.state import (
    CHROOT,
    CONTROLLER,
    MTLS,
    PLAINTEXT,
    SASL_PLAINTEXT,
    SASL_SSL,
    SECURE_LISTENERS,
    Proc,
)
from tools.sandbox.tls import TlsFiles

# Kafka 3.x logs through reload4j.
LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.zookeeper=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.controller=INFO
"""

# Kafka 4.x logs through log4j2; a properties file needs no YAML or JSON parser on the
# classpath. Same record shape as LOG4J: `status` reads the last line starting with "[".
LOG4J2 = """\
status = warn
name = ps-console-sandbox
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = WARN
logger.metadata.name = org.apache.kafka.image.loader
logger.metadata.level = WARN
"""

SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


def zk_cfg(data: Path, port: int, tls_port: int = 0, tls: TlsFiles | None = None) -> str:
    """zk.cfg: a standalone ZooKeeper on 127.0.0.1:port. With `tls` (secured runs) it also
    takes SASL logins, refuses every operation without one, and serves TLS on tls_port."""
    text = (f"tickTime=2000\ndataDir={data}\nclientPort={port}\n"
            "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr,mntr,envi,stat\n")
    if tls is None:
        return text
    pw = tls.password
    return text + (
        # Kafka's own ACLs leave most znodes world-readable, so refusing unauthenticated
        # sessions is what makes credentials needed at all.
        "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"
        "authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n"
        "enforce.auth.enabled=true\nenforce.auth.schemes=sasl,x509\n"
        # TLS needs the Netty connection factory; the plaintext port stays for SASL-only
        # clients.
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n"
        f"secureClientPort={tls_port}\nsecureClientPortAddress=127.0.0.1\n"
        f"ssl.keyStore.location={tls.broker_p12}\nssl.keyStore.password={pw}\n"
        "ssl.keyStore.type=PKCS12\n"
        f"ssl.trustStore.location={tls.truststore_p12}\nssl.trustStore.password={pw}\n"
        "ssl.trustStore.type=PKCS12\n"
        # "want": a client certificate is checked and becomes an x509 identity when shown,
        # but the brokers show none. They log in by SASL over TLS, so the znode ACLs Kafka
        # writes keep naming the SASL user alone, as on the plaintext port.
        "ssl.clientAuth=want\n")


def small_machine(data: Path, kraft: bool) -> str:
    """Settings for several brokers sharing two cores (and no tests waiting on defaults)."""
    return (
        f"log.dirs={data}\n"
        "num.partitions=1\n"
        "num.network.threads=2\nnum.io.threads=2\nbackground.threads=2\n"
        "num.recovery.threads.per.data.dir=1\n"
        "log.cleaner.dedupe.buffer.size=16777216\n"
        "offsets.topic.num.partitions=3\n"
        "transaction.state.log.num.partitions=3\n"
        "transaction.state.log.min.isr=1\n"
        "group.initial.rebalance.delay.ms=0\n"
        "auto.create.topics.enable=false\n"
        # A ZooKeeper-mode setting only; KRaft brokers always shut down through the quorum.
        + ("" if kraft else "controlled.shutdown.enable=false\n"))


def listeners(node: Proc, advertised: bool = False) -> str:
    """`PLAINTEXT://127.0.0.1:p,...` from a node's ports (the controller one only where
    a listener list may name it: in `listeners`, never in `advertised.listeners`)."""
    names = [n for n in node.ports if not (advertised and n == CONTROLLER)]
    return ",".join(f"{n}://127.0.0.1:{node.ports[n]}" for n in names)


def protocol_map(node: Proc, kraft: bool = False) -> str:
    """`listener.security.protocol.map` of a node; a KRaft broker-only node names the
    controller listener too, as the one it reaches the quorum on."""
    protocol = {PLAINTEXT: "PLAINTEXT", CONTROLLER: "PLAINTEXT", **SECURE_LISTENERS}
    names = list(node.ports)
    if kraft and CONTROLLER not in names:
        names.append(CONTROLLER)
    return ",".join(f"{n}:{protocol[n]}" for n in names)


def secure_listeners(tls: TlsFiles) -> str:
    """Broker settings of the secured listeners: SCRAM-SHA-256 on SASL_PLAINTEXT,
    SCRAM-SHA-512 on SASL_SSL, server-only TLS on SSL, mutual TLS on MTLS."""
    pw = tls.password
    return (
        "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512\n"
        f"listener.name.{SASL_PLAINTEXT.lower()}.sasl.enabled.mechanisms=SCRAM-SHA-256\n"
        f"listener.name.{SASL_PLAINTEXT.lower()}.scram-sha-256.sasl.jaas.config={SCRAM_LOGIN}\n"
        f"listener.name.{SASL_SSL.lower()}.sasl.enabled.mechanisms=SCRAM-SHA-512\n"
        f"listener.name.{SASL_SSL.lower()}.scram-sha-512.sasl.jaas.config={SCRAM_LOGIN}\n"
        f"ssl.keystore.location={tls.broker_p12}\nssl.keystore.type=PKCS12\n"
        f"ssl.keystore.password={pw}\nssl.key.password={pw}\n"
        "ssl.client.auth=none\n"
        f"listener.name.{MTLS.lower()}.ssl.client.auth=required\n"
        f"listener.name.{MTLS.lower()}.ssl.truststore.location={tls.truststore_p12}\n"
        f"listener.name.{MTLS.lower()}.ssl.truststore.type=PKCS12\n"
        f"listener.name.{MTLS.lower()}.ssl.truststore.password={pw}\n")


def zk_broker(node: Proc, zk_port: int, data: Path, tls: TlsFiles | None = None,
              zk_tls_port: int = 0) -> str:
    """server.properties of a ZooKeeper-mode (3.9) broker. Secured brokers reach ZooKeeper
    over TLS with their SASL login and protect their znodes with ACLs."""
    text = (f"broker.id={node.node_id}\n"
            f"listeners={listeners(node)}\n"
            f"advertised.listeners={listeners(node, advertised=True)}\n")
    if tls is not None:
        pw = tls.password
        text += (f"listener.security.protocol.map={protocol_map(node)}\n"
                 f"inter.broker.listener.name={PLAINTEXT}\n"
                 + secure_listeners(tls) +
                 f"zookeeper.connect=127.0.0.1:{zk_tls_port}{CHROOT}\n"
                 "zookeeper.ssl.client.enable=true\n"
                 "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty\n"
                 f"zookeeper.ssl.truststore.location={tls.truststore_p12}\n"
                 f"zookeeper.ssl.truststore.password={pw}\n"
                 "zookeeper.ssl.truststore.type=PKCS12\n"
                 # The login comes from the Client section of the JAAS file.
                 "zookeeper.set.acl=true\n")
    else:
        text += f"zookeeper.connect=127.0.0.1:{zk_port}{CHROOT}\n"
    return text + (
        "zookeeper.session.timeout.ms=6000\n"
        # One replica for internal topics so that a single stopped broker in a
        # fault test never makes consumer groups unavailable.
        "offsets.topic.replication.factor=1\n"
        "transaction.state.log.replication.factor=1\n"
        + small_machine(data, kraft=False))


def kraft_node(node: Proc, voters: str, replicas: int, data: Path,
               tls: TlsFiles | None = None) -> str:
    """server.properties of a KRaft (4.x) node: combined broker+controller, broker-only or
    controller-only, with a static quorum (`controller.quorum.voters`)."""
    text = (f"process.roles={','.join(node.roles)}\n"
            f"node.id={node.node_id}\n"
            f"controller.quorum.voters={voters}\n"
            f"listeners={listeners(node)}\n")
    if node.is_broker:
        text += f"advertised.listeners={listeners(node, advertised=True)}\n"
    text += f"listener.security.protocol.map={protocol_map(node, kraft=True)}\n"
    if node.is_broker:
        text += f"inter.broker.listener.name={PLAINTEXT}\n"
    text += f"controller.listener.names={CONTROLLER}\n"
    if node.is_broker:
        text += (f"offsets.topic.replication.factor={replicas}\n"
                 f"transaction.state.log.replication.factor={replicas}\n")
        if tls is not None:
            text += secure_listeners(tls)
    return text + small_machine(data, kraft=True)


def jaas(zk_user: str, zk_password: str) -> str:
    """ZooKeeper reads the Server section, the brokers their Client section."""
    return ("Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
            f'  user_{zk_user}="{zk_password}";\n}};\n'
            "Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
            f'  username="{zk_user}" password="{zk_password}";\n}};\n')

