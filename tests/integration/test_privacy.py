"""The privacy promise on the real sandbox: no topic name, host name, IP address or secret in any
report's bytes, Basic or Enhanced, on the topic and over HTTP."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from engine.config.properties import load_properties
from engine.reporting.privacy import assert_private
from engine.reporting.receiver import Receiver
from engine.reporting.report_now import report_now
from tests.support.cluster import location, topic_records
from tests.support.privacy_corpus import CONFIG, KEPT, ROUTING_KEYS, TOPIC_STEMS, corpus_strings
from tests.support.ps_report_helpers import (
    broker_config_copy,
    delete_topics,
    plain_read,
    unique_topic,
)

REPO = Path(__file__).resolve().parents[2]


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


def test_no_private_data_in_basic_or_enhanced_reports(cluster, tmp_path):
    target = location(**cluster.where)
    suffix = uuid.uuid4().hex[:8]
    topics = [f"password-s3cr3t-topic-{suffix}", f"acme.payroll.{suffix}",
              f"ssl.keystore.password-{suffix}"]
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
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
                 *[h.split(":")[0] for h in cluster.bootstrap.split(",")]]
    try:
        for cid, schema in (("anonymous", "basic"), ("c0", "enhanced")):
            (tmp_path / cid).mkdir()
            path = broker_config_copy(cluster, 1, tmp_path / cid,
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
        delete_topics(cluster.bootstrap, *topics)


def _machine_names() -> list[str]:
    # This machine's name, unless so short ("vm") that the schema text itself contains it.
    return [n for n in (socket.gethostname(), socket.getfqdn()) if len(n) >= 4]


def _java_properties() -> dict[str, str]:
    """What the JVM the sandbox runs (`java` on PATH) says of itself."""
    done = subprocess.run(["java", "-XshowSettings:properties", "-version"],
                          capture_output=True, text=True, timeout=60)
    found = {}
    for line in done.stderr.splitlines():
        m = re.match(r"^\s+([\w.]+) = (.*)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


@pytest.fixture
def http_receiver():
    with Receiver() as http:
        yield http


@pytest.mark.parametrize(("cid", "schema", "path"), [
    ("c0", "enhanced", "/test"), ("c123456789", "enhanced", "/submit"),
    ("anonymous", "basic", "/anon")])
def test_corpus_never_leaves_on_the_topic_or_over_http(cluster, tmp_path, http_receiver,
                                                       cid, schema, path):
    _corpus_round(cluster, location(**cluster.where), tmp_path, http_receiver,
                  cid, schema, path)


def _corpus_round(cluster, target, tmp_path, http_receiver, cid, schema, path):
    """The corpus in a copy of broker 1's file; one report to the topic and over HTTP."""
    suffix = uuid.uuid4().hex[:8]
    topics = [f"{stem}-{suffix}" for stem in TOPIC_STEMS]
    support = unique_topic("ps-privacy")
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    for future in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
        future.result(timeout=30)
    # The corpus goes into a real broker's file; the keys ps-console itself follows to the
    # cluster, the JVM and the HTTP endpoint keep the file's real (and private) values.
    corpus = {k: v for k, v in CONFIG.items() if k not in ROUTING_KEYS}
    settings = {**corpus, **KEPT, "confluent.support.metrics.enable": "true",
                "confluent.support.customer.id": cid,
                "confluent.support.metrics.topic": support,
                "confluent.support.metrics.endpoint.secure.enable": "false",
                "confluent.support.metrics.endpoint.insecure": http_receiver.url}
    config = broker_config_copy(cluster, 1, tmp_path,
                                {k: v.replace("\n", "\\n") for k, v in settings.items()})
    props = load_properties(config.read_text(encoding="latin-1"))
    assert props["custom.ca.pem"] == CONFIG["custom.ca.pem"]  # the file holds the corpus
    forbidden = [*corpus_strings(corpus), *topics, support, "127.0.0.1", "/work/",
                 str(cluster.box.state.run_id), *_machine_names(),
                 *[h.rsplit(":", 1)[0] for h in cluster.bootstrap.split(",")]]
    if cid != "c0":
        forbidden.append(cid)
    try:
        outcome = report_now(str(config), target, token_dir=tmp_path / "tokens")
        by = {d.destination: d for d in outcome.destinations}
        assert by["topic"].ok and by["http"].ok, outcome.destinations
        assert outcome.schema == schema

        sent = [r.value for r in topic_records(cluster.bootstrap, support)]
        (received,) = http_receiver.received
        assert received.path == path
        assert sent == [outcome.value] and received.body == outcome.value
        for value in (*sent, received.body):
            assert_private(value, forbidden)

        record = plain_read(sent[0], schema)
        if schema == "basic":
            assert outcome.withheld == len(props)
            return
        metrics = record["brokerMetrics"]
        kept = metrics["brokerConfiguration"]
        assert {k: kept.get(k) for k in KEPT} == {
            **KEPT, "unclean.leader.election.enable": "false"}
        assert kept["num.recovery.threads.per.data.dir"] == "1"  # the sandbox's own settings
        assert outcome.withheld == len(props) - len(kept) > len(corpus)
        # The JVM as it describes itself, and the sandbox's two plain -D flags; nothing else.
        java = _java_properties()
        assert metrics["javaSystemProperties"] == {
            **{k: java[k] for k in ("java.version", "java.vendor", "os.name", "os.arch")},
            "java.awt.headless": "true", "java.net.preferIPv4Stack": "true"}
        assert outcome.withheld_jvm >= 3  # -Dsandbox.id, -Dlog4j.configuration, -Dkafka.logs.dir
    finally:
        delete_topics(cluster.bootstrap, *topics, support)


def test_dry_run_tells_how_many_keys_were_withheld(cluster, tmp_path):
    config = broker_config_copy(cluster, 1, tmp_path, {
        **{k: v.replace("\n", "\\n") for k, v in CONFIG.items() if k not in ROUTING_KEYS},
        "confluent.support.metrics.enable": "true", "confluent.support.customer.id": "c0"})
    props = load_properties(config.read_text(encoding="latin-1"))
    cli = [sys.executable, "-c", "from cli.main import main; raise SystemExit(main())",
           "report", "--broker-config", str(config), *cluster.cli,
           "--token-dir", str(tmp_path / "t"), "--dry-run"]
    done = subprocess.run([*cli, "--json"], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    kept = out["fields"]["brokerMetrics"]["brokerConfiguration"]
    withheld = out["withheld"]["configuration_keys"]
    assert withheld == len(props) - len(kept) and withheld > len(CONFIG) - len(ROUTING_KEYS)
    assert out["withheld"]["jvm_properties"] >= 3
    text = subprocess.run(cli, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert text.returncode == 0, text.stderr
    assert f"{withheld} configuration keys and " in text.stdout
    assert "withheld by the privacy filter" in text.stdout
    # Counts, never names: no withheld key is printed anywhere.
    for key in ("pwd", "db.passphrase", "quota.override.kafka7q7.corp-internal.example"):
        assert key not in text.stdout and key not in done.stdout
