"""Agents send the receiver's bearer token from a setting of their own (`--http-token-file`
of `ps-console report` and `ps-console agent`), over HTTPS only, and never print it.
Real sandbox, a real token-protected HTTPS `Receiver` and a plain HTTP one."""

from __future__ import annotations

import json
import re

import pytest
import trustme

from engine.reporting.receiver import Receiver
from engine.reporting.records import decode
from engine.reporting.report_now import report_now
from tests.support.agent_helpers import run_cli
from tests.support.ps_report_helpers import broker_config_copy, delete_topics, unique_topic

TOKEN = "agent-token-0123456789-abcdefghij"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    d = tmp_path_factory.mktemp("token-tls")
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(d / "server.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    (d / "token").write_text(TOKEN + "\n")
    return {"server": str(d / "server.pem"), "ca": str(d / "ca.pem"),
            "token": str(d / "token")}


@pytest.fixture
def endpoints(tls, tmp_path):
    with Receiver(tls=(tls["server"], tls["server"]), token=TOKEN,
                  store_dir=str(tmp_path / "stored")) as https, Receiver() as http:
        yield https, http


@pytest.fixture
def topic(cluster):
    name = unique_topic("ps-token")
    yield name
    delete_topics(cluster.bootstrap, name)


def _config(cluster, tmp_path, topic, https, http):
    return broker_config_copy(cluster, 1, tmp_path, {
        "confluent.support.customer.id": "c0",
        "confluent.support.metrics.topic": topic,
        "confluent.support.metrics.endpoint.secure": https.url,
        "confluent.support.metrics.endpoint.insecure": http.url,
    })


def test_report_now_sends_the_token_over_https(cluster, tmp_path, endpoints, tls, topic):
    https, http = endpoints
    path = _config(cluster, tmp_path, topic, https, http)
    outcome = report_now(str(path), None, token_dir=tmp_path / "t", http_verify=tls["ca"],
                         http_token=TOKEN)
    by = {d.destination: d for d in outcome.destinations}
    assert by["https"].ok, outcome.destinations
    (got,) = https.received
    assert got.body == outcome.value and decode(got.body).ok
    assert http.received == []


def test_report_and_agent_read_the_token_file(cluster, tmp_path, endpoints, tls, topic):
    https, http = endpoints
    path = _config(cluster, tmp_path, topic, https, http)
    done = run_cli("report", "--broker-config", str(path), "--token-dir", str(tmp_path / "t"),
                   "--http-ca-file", tls["ca"], "--http-token-file", tls["token"], "--json",
                   timeout=120)
    assert done.returncode == 0, done.stderr
    states = {d["destination"]: d["ok"] for d in json.loads(done.stdout)["destinations"]}
    assert states["https"] is True
    assert TOKEN not in done.stdout + done.stderr

    # Without the token the receiver refuses; the report falls back to plain HTTP.
    refused = run_cli("report", "--broker-config", str(path), "--token-dir",
                      str(tmp_path / "t"), "--http-ca-file", tls["ca"], "--json", timeout=120)
    by = {d["destination"]: d for d in json.loads(refused.stdout)["destinations"]}
    assert not by["https"]["ok"] and "HTTP 401" in by["https"]["detail"]
    assert by["http"]["ok"]

    once = run_cli("agent", "--once", "--broker-config", str(path), "--state-dir",
                   str(tmp_path / "state"), "--http-ca-file", tls["ca"],
                   "--http-token-file", tls["token"], timeout=120)
    assert once.returncode == 0, once.stderr
    line = re.search(r"report broker=1 .*", once.stderr).group(0)
    assert "https=ok" in line and "http=skipped" in line, line
    assert TOKEN not in once.stdout + once.stderr
    assert https.count == 2 and len(list((tmp_path / "stored").iterdir())) == 2
