"""The exporter's pieces that need no cluster: an evaluation rendered as metrics (read back
by prometheus_client's own parsers), and the webhook sender against a real local HTTP
server (retries, backoff, a bounded queue that drops the oldest)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families

from engine.errors import UsageError
from engine.health import finding as f
from engine.health.metrics import render
from engine.health.monitor import BrokerHealth, Evaluation, PartitionCounts
from engine.health.webhook import WebhookSender, check_url
from engine.reading.report import ReportSummary

NOW = 1_800_000_000.0


def evaluation(reachable: bool = True) -> Evaluation:
    latest = ReportSummary(partition=0, offset=7, time_s=int(NOW - 90), broker_id=1,
                           schema="SupportKafkaMetricsEnhanced", kafka_version="3.9.2",
                           cp_version="7.9.0")
    findings = (
        f.Finding(rule=f.BROKER_DOWN, severity=f.CRITICAL, subject="broker 2",
                  message="broker 2 is not registered", hint="h"),
        f.Finding(rule=f.SUPPORT_TOPIC, severity=f.WARNING, subject='topic we"ird\\name',
                  message="m", hint="h"))
    return Evaluation(where="zk z:1/kafka", topic="t", evaluated_at=NOW, duration_s=0.25,
                      reachable=reachable, cluster_id="c1",
                      rules=f.RULE_IDS if reachable else (),
                      findings=findings if reachable else (),
                      brokers=(BrokerHealth(1, True, 86400.0, latest),
                               BrokerHealth(2, False, 86400.0, None)) if reachable else (),
                      partitions=PartitionCounts(4, 40, 3, 1, 2) if reachable else None)


def samples(text: str, parse=text_string_to_metric_families) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in parse(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


@pytest.mark.parametrize("openmetrics", [False, True])
def test_an_evaluation_as_metrics_both_formats(openmetrics: bool):
    text = render(evaluation(), openmetrics=openmetrics).decode()
    got = samples(text, om_parse if openmetrics else text_string_to_metric_families)
    assert got["ps_console_evaluation_success"] == [({}, 1.0)]
    assert got["ps_console_broker_up"] == [({"broker": "1"}, 1.0), ({"broker": "2"}, 0.0)]
    assert got["ps_console_report_age_seconds"] == [({"broker": "1"}, 90.0)]
    assert got["ps_console_last_report_timestamp_seconds"] == [({"broker": "1"}, NOW - 90)]
    assert got["ps_console_broker_info"] == [({"broker": "1", "kafka_version": "3.9.2",
                                               "cp_version": "7.9.0", "schema": "Enhanced"},
                                              1.0)]
    assert got["ps_console_finding"] == [
        ({"rule": "broker-down", "severity": "critical", "subject": "broker 2"}, 1.0),
        ({"rule": "support-topic", "severity": "warning", "subject": 'topic we"ird\\name'},
         1.0)]
    assert dict((s["severity"], v) for s, v in got["ps_console_findings"]) == {
        "critical": 1.0, "warning": 1.0, "info": 0.0}
    assert got["ps_console_under_replicated_partitions"] == [({}, 3.0)]
    assert got["ps_console_offline_partitions"] == [({}, 1.0)]
    assert got["ps_console_under_min_isr_partitions"] == [({}, 2.0)]
    assert text.endswith("# EOF\n") == openmetrics


def test_an_unreachable_cluster_is_only_the_evaluation_metrics():
    got = samples(render(evaluation(reachable=False)).decode())
    assert got["ps_console_evaluation_success"] == [({}, 0.0)]
    assert "ps_console_broker_up" not in got and "ps_console_finding" not in got


class Receiver:
    """A local HTTP server that answers with the statuses it is given, in turn (then 200),
    and keeps every body it received."""

    def __init__(self, statuses: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.bodies: list[dict] = []
        self.statuses = list(statuses or [])
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.hits += 1
                time.sleep(delay_s)
                status = outer.statuses.pop(0) if outer.statuses else 200
                if status == 200:
                    outer.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([503, 500])
    yield r
    r.close()


def test_webhook_retries_with_backoff_and_delivers_in_order(receiver: Receiver):
    sender = WebhookSender(receiver.url, first_backoff_s=0.05)
    sender.start()
    try:
        sender.send({"event": "RAISED", "finding": {"rule": "broker-down"}})
        sender.send({"event": "CLEARED", "finding": {"rule": "broker-down"}})
        receiver.wait(2)
    finally:
        sender.close(timeout_s=5)
    assert [b["event"] for b in receiver.bodies] == ["RAISED", "CLEARED"]
    assert receiver.hits == 4 and sender.sent == 2 and sender.failed == 0


def test_webhook_gives_up_after_its_attempts_and_a_full_queue_drops_the_oldest(caplog):
    slow = Receiver([500] * 10, delay_s=0.0)
    try:
        sender = WebhookSender(slow.url, queue_size=2, attempts=2, first_backoff_s=0.01)
        for n in range(5):  # not started: the queue fills
            sender.send({"event": "RAISED", "finding": {"rule": f"r{n}"}})
        assert sender.pending == 2 and sender.dropped == 3
        assert "dropped the oldest" in caplog.text
        sender.start()
        deadline = time.monotonic() + 10
        while sender.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        sender.close(timeout_s=2)
        assert sender.failed == 2 and slow.hits == 4  # two events, two attempts each
        assert "not delivered" in caplog.text
    finally:
        slow.close()


def test_webhook_close_is_bounded_when_the_receiver_never_answers(silent_port: int):
    sender = WebhookSender(f"http://127.0.0.1:{silent_port}/", attempts=3, timeout_s=0.5,
                           first_backoff_s=0.1)
    sender.start()
    sender.send({"event": "RAISED", "finding": {}})
    started = time.monotonic()
    sender.close(timeout_s=1.0)
    assert time.monotonic() - started < 4.0


def test_webhook_url_is_checked():
    with pytest.raises(UsageError):
        check_url("ftp://x/")
    with pytest.raises(UsageError):
        check_url("http://")
    assert check_url("https://hooks.example/x") == "https://hooks.example/x"
