"""SPEC §5 on the real sandbox: no topic name, host name, IP address or secret in any
report's bytes, Basic or Enhanced."""

from __future__ import annotations

import socket
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from engine.reporting.privacy import assert_private
from engine.reporting.report_now import report_now
from tests.support.cluster import location
from tests.support.ps_report_helpers import broker_config_copy, delete_topics, plain_read

pytestmark = pytest.mark.sandbox

SECRETS = {
    "ssl.keystore.location": "/etc/kafka/secrets/kafka1.keystore.jks",
    "ssl.keystore.password": "KeyStorePw-9f8e",
    "ssl.key.password": "KeyPw-77aa",
    "ssl.truststore.location": "/etc/kafka/secrets/kafka1.truststore.jks",
    "ssl.truststore.password": "TrustPw-1b2c",
    "listener.name.sasl_ssl.plain.sasl.jaas.config":
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="admin" password="JaasPw-5d6e" user_admin="JaasPw-5d6e";',
    "sasl.kerberos.service.name": "kafkasvc",
    "delegation.token.secret.key": "TokenSecret-3c4d",
    "password.encoder.secret": "EncoderSecret-8a9b",
    "broker.rack": "rack-eu-west-1a",
    "super.users": "User:admin-principal",
    "replica.selector.class": "com.corp.internal.RackSelector",
    "custom.host.setting": "kafka1.corp.example",
    "custom.ip.setting": "10.20.30.40",
    "custom.plain.hostname": "kafkabox7",
    "confluent.support.proxy": "http://proxyuser:ProxyPw-42@proxy.corp.example:3128",
}


def test_no_private_data_in_basic_or_enhanced_reports(sandbox, tmp_path):
    target = location(zookeeper=sandbox.zk_connect)
    suffix = uuid.uuid4().hex[:8]
    topics = [f"password-s3cr3t-topic-{suffix}", f"acme.payroll.{suffix}",
              f"ssl.keystore.password-{suffix}"]
    admin = AdminClient({"bootstrap.servers": sandbox.bootstrap})
    for future in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
        future.result(timeout=30)
    # A topic-named key in the broker config must go too.
    extra = {**SECRETS, f"log.retention.ms.password-s3cr3t-topic-{suffix}": "5",
             "confluent.support.metrics.topic": ""}
    # This machine's name, unless so short ("vm") that the schema text itself contains it.
    me = [n for n in (socket.gethostname(), socket.getfqdn()) if len(n) >= 4]
    forbidden = [*topics, "127.0.0.1", *me, "kafka1.corp.example",
                 "kafkabox7", "10.20.30.40", "corp", "proxyuser", "rack-eu-west",
                 "admin-principal", "kafkasvc", "/etc/kafka", "/work/",
                 *[v for v in SECRETS.values() if "Pw" in v or "Secret" in v],
                 *[h.split(":")[0] for h in sandbox.bootstrap.split(",")]]
    try:
        for cid, schema in (("anonymous", "basic"), ("c0", "enhanced")):
            (tmp_path / cid).mkdir()
            path = broker_config_copy(sandbox, 1, tmp_path / cid,
                                      {**extra, "confluent.support.customer.id": cid})
            outcome = report_now(str(path), target, dry_run=True, token_dir=tmp_path / "t")
            assert outcome.schema == schema
            assert_private(outcome.value, forbidden)
            record = plain_read(outcome.value, schema)
            if schema == "enhanced":
                config = record["brokerMetrics"]["brokerConfiguration"]
                assert config and config.get("num.io.threads") == "2"  # not all dropped
                assert record["clusterMetrics"]["numberTopics"] >= 3
    finally:
        delete_topics(sandbox.bootstrap, *topics)
