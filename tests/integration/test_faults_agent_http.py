"""The HTTP fallback rules (HTTPS first, HTTP only when it fails) through a running
`ps-console agent` (shared sandbox; nothing here stops a broker): a real HTTPS `Receiver` (private CA, given with
--http-ca-file) answering 500 or too slowly, then failing the TLS handshake, and a plain
HTTP one. The submitter's own tests (test_submit_http.py) check the rules call by call;
this checks that the agent's schedule goes through them, and that "secure only" never
sends a report in clear text."""

from __future__ import annotations

import re

import pytest
import trustme

from engine.reporting.receiver import Receiver
from engine.reporting.records import decode
from tests.support.agent_helpers import AgentProcess, broker_config_copy, run_cli, set_property
from tests.support.ps_report_helpers import delete_topics, unique_topic

INSECURE_ENABLE = "confluent.support.metrics.endpoint.insecure.enable"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(cert chain, key, CA) files for 127.0.0.1 from a throw-away CA."""
    ca = trustme.CA()
    d = tmp_path_factory.mktemp("agent-tls")
    cert = ca.issue_cert("127.0.0.1")
    chain, key, ca_file = d / "chain.pem", d / "key.pem", d / "ca.pem"
    chain.write_bytes(b"".join(p.bytes() for p in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return str(chain), str(key), str(ca_file)


def _lines(agent: AgentProcess) -> list[str]:
    return agent.report_lines()


def test_agent_falls_back_on_500_and_timeout_and_never_sends_clear_text_when_secure_only(
        cluster, tmp_path, tls):
    topic = unique_topic("ps-agent-http")
    with Receiver(tls=tls[:2], status=500) as https, Receiver() as http:
        config = broker_config_copy(cluster, 2, tmp_path, {
            "confluent.support.metrics.topic": topic,
            "confluent.support.customer.id": "c0",
            "confluent.support.metrics.endpoint.secure": https.url,
            "confluent.support.metrics.endpoint.insecure": http.url})
        agent = AgentProcess(config, tmp_path / "state", interval=1,
                             extra=["--http-ca-file", tls[2]], kafka_home=cluster.kafka_home)
        try:
            # HTTPS answers 500: every report goes on to HTTP, the same bytes.
            agent.wait_log(lambda t: len(re.findall(r"https=failed\(HTTP 500.* http=ok", t))
                           >= 2, 60, "two reports after HTTPS 500")
            assert all(r.path == "/test" for r in https.received + http.received)
            assert {r.body for r in http.received} <= {r.body for r in https.received}
            assert all(decode(r.body).ok for r in http.received)

            # HTTPS too slow (the HTTP timeout is 2 s): HTTP gets the report.
            https.delay = 4
            mark = len(_lines(agent))
            agent.wait_log(lambda t: any("https=failed(timed out" in line and "http=ok" in line
                                         for line in _lines(agent)[mark:]),
                           60, "a report after an HTTPS timeout")
            https.delay = 0

            # Secure only: HTTPS still failing, and nothing reaches the HTTP server.
            set_property(config, INSECURE_ENABLE, "false")
            agent.wait_log(lambda t: "re-read" in t, 15, "the settings re-read")
            mark = len(_lines(agent))
            agent.wait_log(lambda t: len([line for line in _lines(agent)[mark:]
                                          if "https=failed(HTTP 500" in line
                                          and "http=skipped" in line]) >= 1,
                           60, "a secure-only report")
            in_clear = len(http.received)
            mark = len(_lines(agent))
            agent.wait_log(lambda t: len(_lines(agent)) >= mark + 2, 30, "two more reports")
            assert len(http.received) == in_clear
            assert all("http=skipped" in line for line in _lines(agent)[mark:])
            code, _ = agent.terminate()
            assert code == 0, agent.log
            assert len(http.received) == in_clear  # not even the shutdown report
            assert "Traceback" not in agent.log
        finally:
            agent.stop()

        # Without the private CA the handshake fails: secure only still sends nothing in
        # clear text, and the report is refused, not crashed on.
        https.status = 200
        before_https = len(https.received)
        once = run_cli("agent", "--once", "--broker-config", str(config),
                       "--state-dir", str(tmp_path / "state-2"), timeout=90)
        assert once.returncode == 0, once.stderr
        line = re.search(r"report broker=2 .*", once.stderr).group(0)
        assert "https=failed(" in line and "CERTIFICATE_VERIFY_FAILED" in line, line
        assert "http=skipped" in line
        assert len(http.received) == in_clear
        assert len(https.received) == before_https  # no request after a failed handshake
    delete_topics(cluster.bootstrap, topic)
