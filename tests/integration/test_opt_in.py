"""Opt-in and refused settings against the real sandbox and real local HTTP receivers
(issue 18, 1): only `confluent.support.metrics.enable=true` reports; an interval CP refused
stops the agent (exit 2) and `report` (exit 2); an invalid topic or HTTP setting stops that
destination. What `settings show` says is checked against what really arrives.
Nothing here stops a broker: safe on the shared sandbox."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from engine.reporting.receiver import Receiver
from tests.support.agent_helpers import AgentProcess, run_cli, set_property
from tests.support.cluster import topic_records
from tests.support.ps_report_helpers import broker_config_copy, delete_topics, unique_topic

pytestmark = pytest.mark.sandbox

ENABLE = "confluent.support.metrics.enable"
INTERVAL = "confluent.support.metrics.report.interval.hours"


@pytest.fixture
def receiver():
    with Receiver() as http:
        yield http


@pytest.fixture
def topic(sandbox):
    name = unique_topic("ps-opt-in")
    yield name
    delete_topics(sandbox.bootstrap, name)


def _config(sandbox, tmp_path: Path, topic: str, http: Receiver,
            settings: dict[str, str | None]) -> Path:
    """Broker 1's file with the test's topic, HTTP to `http` only, then `settings` (None:
    the key is left out of the file)."""
    return broker_config_copy(sandbox, 1, tmp_path, {
        "confluent.support.metrics.topic": topic,
        "confluent.support.metrics.endpoint.secure.enable": "false",
        "confluent.support.metrics.endpoint.insecure": http.url, **settings})


def _topic_exists(bootstrap: str, topic: str) -> bool:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return topic in md.topics


def _show(path: Path) -> dict:
    done = run_cli("settings", "show", "--broker-config", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["reporting"]


@pytest.mark.parametrize(("enable", "why"), [
    (None, "is not in the file"),
    ("false ", "'false ' (it has a trailing blank) is not 'true'"),
    ("true ", "'true ' (it has a trailing blank) is not 'true'"),
    ("no", "'no' is not 'true'"),
    ("0", "'0' is not 'true'"),
    ("off", "'off' is not 'true'"),
    ("ture", "'ture' is not 'true'"),
])
def test_anything_but_true_sends_nothing_anywhere(sandbox, tmp_path, receiver, topic,
                                                  enable, why):
    path = _config(sandbox, tmp_path, topic, receiver, {ENABLE: enable})
    done = run_cli("report", "--broker-config", str(path), "--token-dir", str(tmp_path / "t"))
    assert receiver.received == []
    assert not _topic_exists(sandbox.bootstrap, topic)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("broker 1: Proactive Support is disabled: ")
    assert why in done.stdout and "nothing is collected or sent" in done.stdout

    shown = _show(path)
    assert shown["state"] == "disabled" and why in shown["reason"]
    text = run_cli("settings", "show", "--broker-config", str(path)).stdout.splitlines()[0]
    assert text.startswith(f"reporting: disabled: {ENABLE}") and why in text


@pytest.mark.parametrize("interval", ["0", "-1", "1.5", "abc", "12 ", "0x10",
                                      "9223372036854775808"])
def test_an_interval_cp_refused_stops_report_and_agent_with_exit_2(sandbox, tmp_path,
                                                                   receiver, topic, interval):
    path = _config(sandbox, tmp_path, topic, receiver, {INTERVAL: interval})
    for command in (["report", "--broker-config", str(path), "--token-dir",
                     str(tmp_path / "t")],
                    ["agent", "--broker-config", str(path), "--interval-seconds", "1",
                     "--state-dir", str(tmp_path / "state")]):
        started = time.monotonic()
        done = run_cli(*command, timeout=30)
        assert receiver.received == [], command
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert f"{INTERVAL}={interval!r}" in lines[0]
        assert "whole number of hours from 1 to" in lines[0]
        assert time.monotonic() - started < 20  # at start-up, not after a wait
        assert receiver.received == []
        assert not _topic_exists(sandbox.bootstrap, topic)
    shown = _show(path)
    assert shown["state"] == "refused" and INTERVAL in shown["reason"]


def test_the_agent_watches_a_disabled_file_and_follows_it(sandbox, tmp_path, receiver, topic):
    """Off with `false `: nothing, one clear line. Switched on: a report at once. An
    invalid interval while running: it stops, says so once, keeps watching. Fixed: it
    reports again. All without a restart."""
    path = _config(sandbox, tmp_path, topic, receiver, {ENABLE: "false "})
    agent = AgentProcess(path, tmp_path / "state", interval=1)
    try:
        agent.wait_log(lambda t: "reporting disabled" in t, 30, "the disabled line")
        time.sleep(4)  # four intervals
        assert agent.log.count("trailing blank") >= 1 and agent.report_lines() == []
        assert agent.log.count("reporting disabled") == 1, agent.log
        assert receiver.received == [] and not _topic_exists(sandbox.bootstrap, topic)

        set_property(path, ENABLE, "TRUE")
        agent.wait_log(lambda t: "topic=ok(" in t, 30, "a report once switched on")
        assert receiver.received

        set_property(path, INTERVAL, "12 ")
        agent.wait_log(lambda t: "not reporting (CP's agent would not run with it)" in t, 15,
                       "the stop on an invalid interval")
        time.sleep(1.5)  # a report in flight when the file changed may still land
        made, got = len(agent.report_lines()), len(receiver.received)
        in_topic = len(topic_records(sandbox.bootstrap, topic))
        time.sleep(4)
        assert len(agent.report_lines()) == made and len(receiver.received) == got
        assert len(topic_records(sandbox.bootstrap, topic)) == in_topic
        assert agent.log.count("not reporting (CP's agent would not run with it)") == 1
        assert agent.proc.poll() is None  # it keeps watching

        set_property(path, INTERVAL, "24")
        agent.wait_log(lambda t: len(agent.report_lines()) > made, 30, "a report once fixed")
        code, took = agent.terminate()
        assert code == 0 and took < 10, agent.log
        assert "Traceback" not in agent.log
    finally:
        agent.stop()


def test_an_invalid_http_flag_stops_http_and_settings_show_says_so(sandbox, tmp_path,
                                                                   receiver, topic):
    path = _config(sandbox, tmp_path, topic, receiver, {
        "confluent.support.metrics.endpoint.insecure.enable": "flase"})
    done = run_cli("report", "--broker-config", str(path), "--token-dir", str(tmp_path / "t"),
                   "--json")
    assert receiver.received == []  # not one byte in clear text
    assert len(topic_records(sandbox.bootstrap, topic)) == 1
    assert done.returncode == 0, done.stderr
    states = {d["destination"]: (d["ok"], d["skipped"]) for d in
              json.loads(done.stdout)["destinations"]}
    assert states == {"topic": (True, False), "https": (False, True), "http": (False, True)}

    # What settings show says is what happened, and never "using the default".
    text = run_cli("settings", "show", "--broker-config", str(path)).stdout
    assert "using the default" not in text and "default used" not in text
    assert "default" not in text.split("insecure.enable", 1)[1].splitlines()[0]
    shown = _show(path)
    assert shown["state"] == "enabled"
    assert shown["destinations"]["topic"]["sent"]
    for dest in ("https", "http"):
        assert not shown["destinations"][dest]["sent"]
        assert "which stops HTTPS and HTTP" in shown["destinations"][dest]["reason"]


def test_an_invalid_topic_sends_to_no_topic_at_all(sandbox, tmp_path, receiver):
    default_had = _topic_exists(sandbox.bootstrap, "__confluent.support.metrics")
    path = _config(sandbox, tmp_path, "a b", receiver, {})
    done = run_cli("report", "--broker-config", str(path), "--token-dir", str(tmp_path / "t"),
                   "--json")
    # Not the default topic in its place.
    assert _topic_exists(sandbox.bootstrap, "__confluent.support.metrics") == default_had
    assert done.returncode == 0, done.stderr
    topic = next(d for d in json.loads(done.stdout)["destinations"]
                 if d["destination"] == "topic")
    assert topic["skipped"] and "legal Kafka topic" in topic["detail"]
    assert len(receiver.received) == 1  # HTTP is not a topic: it still goes
    shown = _show(path)
    assert not shown["destinations"]["topic"]["sent"]
    assert "'a b'" in shown["destinations"]["topic"]["reason"]
