"""`ps-console exporter` against a real cluster of each kind: /metrics scraped and read by
prometheus_client's own parsers (Prometheus text and OpenMetrics), a webhook received by
a real local HTTP server (RAISED, then CLEARED), a clean exit on SIGTERM."""

from __future__ import annotations

import http.server
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cluster import closed_port
from tests.support.health import YEAR_MS, cli_where, create_topic, delete_topic
from tests.support.ps_report_helpers import unique_topic

PS = str(Path(sys.executable).with_name("ps-console"))


class Hook:
    """The webhook's receiver: keeps every event posted to it."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.events.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, kind: str, rule: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event["event"] == kind and event["finding"]["rule"] == rule:
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no {kind} {rule} within {timeout} s: {self.events}")


def _samples(text: str, parse=text_string_to_metric_families) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in parse(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def _scrape(url: str, openmetrics: bool = False, timeout: float = 60.0) -> tuple[str, float]:
    """The first scrape that holds an evaluation (bounded), and how long it took."""
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"} if openmetrics else {}
    deadline = time.monotonic() + timeout
    while True:
        try:
            started = time.perf_counter()
            answer = httpx.get(url, headers=headers, timeout=5)
            took = time.perf_counter() - started
            if "ps_console_evaluation_success" in answer.text:
                return answer.text, took
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the exporter never served an evaluation"
        time.sleep(0.2)


def test_exporter_metrics_webhook_and_sigterm(cluster, tmp_path):
    topic = unique_topic("ps-health-export")
    hook = Hook()
    port = closed_port()
    proc = subprocess.Popen(
        [PS, "exporter", *cli_where(cluster), "--topic", topic, "--listen",
         f"127.0.0.1:{port}", "--interval", "1", "--webhook", hook.url,
         "--config", str(tmp_path / "none.toml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        text, took = _scrape(url)
        got = _samples(text)
        assert got["ps_console_evaluation_success"] == [({}, 1.0)]
        assert sorted(labels["broker"] for labels, value in got["ps_console_broker_up"]
                      if value == 1.0) == [str(b) for b in cluster.broker_ids]
        assert ({"rule": "support-topic", "severity": "warning", "subject": f"topic {topic}"},
                1.0) in got["ps_console_finding"]
        assert got["ps_console_offline_partitions"] == [({}, 0.0)]
        assert took < 1.0  # from the cache; the benchmark measures it properly
        om_text, _ = _scrape(url, openmetrics=True)
        assert om_text.endswith("# EOF\n")
        assert "ps_console_finding" in _samples(om_text, om_parse)

        raised = hook.wait_for("RAISED", "support-topic")
        assert raised["finding"]["subject"] == f"topic {topic}" and raised["cluster"]
        create_topic(cluster.bootstrap, topic, config={"retention.ms": YEAR_MS})
        cleared = hook.wait_for("CLEARED", "support-topic")
        assert hook.events.index(raised) < hook.events.index(cleared)
        assert len([e for e in hook.events if e["finding"]["rule"] == "support-topic"]) == 2

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        hook.server.shutdown()
        delete_topic(cluster.bootstrap, topic)


def test_exporter_usage_errors(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PS, "exporter", "--bootstrap-server", "127.0.0.1:1", *args],
                              capture_output=True, text=True, timeout=60)

    assert run("--listen", "nowhere").returncode == 2
    assert run("--listen", "127.0.0.1:9", "--interval", "0").returncode == 2
    bad_hook = run("--listen", "127.0.0.1:9", "--webhook", "ftp://x/")
    assert bad_hook.returncode == 2 and "--webhook" in bad_hook.stderr
    with_socket = __import__("socket").socket()
    with_socket.bind(("127.0.0.1", 0))
    with_socket.listen(1)
    try:
        taken = run("--listen", f"127.0.0.1:{with_socket.getsockname()[1]}",
                    "--config", str(tmp_path / "none.toml"))
        assert taken.returncode == 2 and "cannot listen" in taken.stderr, taken.stderr
    finally:
        with_socket.close()
