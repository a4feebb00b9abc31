"""The health rules that need no broker stopped, on both cluster kinds: crafted reports
(another version, differing Enhanced configuration, an old report, a shutdown report, a
broker without any) and support topics made wrong, each watched to RAISE and to CLEAR;
`ps-console health` itself (formats, exit codes)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from engine.health import finding as f
from engine.health.monitor import HealthMonitor
from tests.support.health import (
    YEAR_MS,
    basic,
    cli_where,
    create_topic,
    delete_topic,
    enhanced,
    poll,
    produce,
    where,
)
from tests.support.ps_report_helpers import unique_topic

PS = str(Path(sys.executable).with_name("ps-console"))
DAY = 86_400.0


def _kinds(evaluation, rule_id):
    return {x.subject for x in evaluation.findings if x.rule == rule_id}


def test_report_rules_raise_and_clear_on_crafted_reports(cluster, tmp_path):
    topic = unique_topic("ps-health")
    create_topic(cluster.bootstrap, topic, config={"retention.ms": YEAR_MS})
    try:
        monitor = HealthMonitor(where(cluster), topic)
        first = monitor.evaluate()
        assert first.reachable and first.rules == f.RULE_IDS, first.problems
        assert _kinds(first, f.REPORT_MISSING) == {"broker 1", "broker 2", "broker 3"}
        assert not _kinds(first, f.SUPPORT_TOPIC)

        now = time.time()
        cfg = {"min.insync.replicas": "2", "log.retention.hours": "168"}
        produce(cluster.bootstrap, topic, [
            (1, basic(now - 3 * DAY, "b1-old"), now - 3 * DAY),
            (2, enhanced(now - 60, 2, "b2", cfg, state=1), now - 60)])
        second = monitor.evaluate()
        assert _kinds(second, f.REPORT_MISSING) == {"broker 3"}
        assert _kinds(second, f.REPORT_STALE) == {"broker 1"}
        assert _kinds(second, f.AGENT_STOPPED) == {"broker 2"}
        assert {(x.rule, x.subject) for x in second.cleared} == {
            (f.REPORT_MISSING, "broker 1"), (f.REPORT_MISSING, "broker 2")}
        stale = next(x for x in second.findings if x.rule == f.REPORT_STALE)
        assert "3 d" in stale.message and stale.since < now - DAY

        produce(cluster.bootstrap, topic, [
            (3, enhanced(now - 30, 3, "b3", {**cfg, "min.insync.replicas": "1"},
                         kafka="3.8.1"), now - 30)])
        third = monitor.evaluate()
        assert not _kinds(third, f.REPORT_MISSING)
        drift = next(x for x in third.findings if x.rule == f.VERSION_DRIFT)
        assert "3.8.1 (broker 3)" in drift.message and "3.9.2 (brokers 1, 2)" in drift.message
        config = next(x for x in third.findings if x.rule == f.CONFIG_DRIFT)
        assert config.details == ("min.insync.replicas: 1 (broker 3); 2 (broker 2)",)
        # (On a sandbox started a minute ago, a crafted report older than a broker's
        # registration also reads as a restart: broker-restarted may be raised too.)
        assert {x.rule for x in third.raised} - {f.BROKER_RESTARTED} == {
            f.VERSION_DRIFT, f.CONFIG_DRIFT}

        # The one-shot command sees the same from a fresh read, and exits 1.
        done = subprocess.run([PS, "health", *cli_where(cluster), "--topic", topic,
                               "--format", "json", "--config", str(tmp_path / "none.toml")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        shown = json.loads(done.stdout)
        assert shown["rules"] == list(f.RULE_IDS) and shown["cluster"]
        assert {(x["rule"], x["subject"]) for x in shown["findings"]} >= {
            (f.REPORT_STALE, "broker 1"), (f.AGENT_STOPPED, "broker 2"),
            (f.VERSION_DRIFT, "cluster"), (f.CONFIG_DRIFT, "cluster")}

        # Every agent reports again, alike: everything clears.
        later = time.time()
        produce(cluster.bootstrap, topic, [
            (b, enhanced(later, b, f"b{b}-new", cfg), later) for b in (1, 2, 3)])
        fourth = monitor.evaluate()
        gone = {x.rule for x in fourth.cleared}
        assert gone == {f.REPORT_STALE, f.AGENT_STOPPED, f.VERSION_DRIFT, f.CONFIG_DRIFT}
        report_rules = {f.REPORT_MISSING, f.REPORT_STALE, f.AGENT_STOPPED, f.VERSION_DRIFT,
                        f.CONFIG_DRIFT, f.SUPPORT_TOPIC}
        assert not {x.rule for x in fourth.findings} & report_rules
        # b1's token changed within the window? Its old report is three days old: no.
        assert "broker 1" not in _kinds(fourth, f.BROKER_RESTARTED)
        # The shared sandbox's own partitions are other tests' business (one of them may
        # have just restarted a broker): the [health] table silences those rules here.
        config = tmp_path / "config.toml"
        config.write_text('[health]\nsilence = ["under-replicated-partitions", '
                          '"offline-partitions", "under-min-isr", "broker-down"]\n')
        ok = subprocess.run([PS, "health", *cli_where(cluster), "--topic", topic,
                             "--config", str(config), "--format", "text"],
                            capture_output=True, text=True, timeout=120)
        lines = ok.stdout.splitlines()
        assert all(line.split()[0] in ("INFO", "OK") for line in lines), ok.stdout
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert not any(f.UNDER_REPLICATED in line for line in lines)
    finally:
        delete_topic(cluster.bootstrap, topic)


def test_support_topic_raises_and_clears(cluster):
    topic = unique_topic("ps-health-topic")
    monitor = HealthMonitor(where(cluster), topic)
    missing = monitor.evaluate()
    assert _kinds(missing, f.SUPPORT_TOPIC) == {f"topic {topic}"}
    assert "does not exist" in next(x.message for x in missing.findings
                                    if x.rule == f.SUPPORT_TOPIC)
    create_topic(cluster.bootstrap, topic, replication=1, partitions=2,
                 config={"retention.ms": str(7 * 86_400_000)})
    try:
        wrong, _ = poll(monitor, lambda e: any(
            x.rule == f.SUPPORT_TOPIC and len(x.details) == 3 for x in e.findings), 30)
        found = next(x for x in wrong.findings if x.rule == f.SUPPORT_TOPIC)
        assert found.details == ("replication factor 1 < 3", "2 partitions, not 1",
                                 "retention.ms=604800000 keeps less than 365 days")
        delete_topic(cluster.bootstrap, topic)
        create_topic(cluster.bootstrap, topic, replication=3, config={"retention.ms": YEAR_MS})
        _, seen = poll(monitor, lambda e: not _kinds(e, f.SUPPORT_TOPIC), 30)
        assert any(f"topic {topic}" in {x.subject for x in e.cleared} for e in seen)
    finally:
        delete_topic(cluster.bootstrap, topic)


def test_health_command_usage_and_unreachable(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PS, "health", *args], capture_output=True, text=True,
                              timeout=60)

    bad_format = run("--bootstrap-server", "127.0.0.1:1", "--format", "xml")
    assert bad_format.returncode == 2
    # A missing file and a file with an invalid interval are usage errors (exit 2, as
    # everywhere in ps-console): nothing is evaluated on a misread setting.
    no_file = run("--bootstrap-server", "127.0.0.1:1", "--broker-config",
                  str(tmp_path / "nope.properties"))
    assert no_file.returncode == 2 and "nope.properties" in no_file.stderr
    bad_interval = tmp_path / "server.properties"
    bad_interval.write_text("broker.id=1\nzookeeper.connect=z:1\n"
                            "confluent.support.metrics.report.interval.hours=soon\n")
    wrong = run("--bootstrap-server", "127.0.0.1:1", "--broker-config", str(bad_interval))
    assert wrong.returncode == 2 and "report.interval.hours" in wrong.stderr
    config = tmp_path / "config.toml"
    config.write_text("[health]\nsilence = ['no-such']\n")
    bad_config = run("--bootstrap-server", "127.0.0.1:1", "--config", str(config))
    assert bad_config.returncode == 2 and "no-such" in bad_config.stderr
    assert "Traceback" not in bad_config.stderr
    from tests.support.cluster import closed_port

    down = run("--bootstrap-server", f"127.0.0.1:{closed_port()}", "--timeout", "3",
               "--config", str(tmp_path / "none.toml"))
    assert down.returncode == 1 and "refused" in down.stderr, down.stderr
    assert len(down.stderr.strip().splitlines()) == 1


def _hourly(now: float, days: int, silent_h: dict[int, int]) -> list[tuple[int, bytes, float]]:
    """Hourly reports of brokers 1-3 over `days` up to `now`; broker b none for the last
    silent_h[b] hours."""
    return [(b, basic(now - h * 3600 - b, f"tok-{b}"), now - h * 3600 - b)
            for h in range(days * 24, 0, -1) for b in (1, 2, 3) if h > silent_h.get(b, 0)]


def test_reports_are_read_back_only_as_far_as_the_window_needs(cluster):
    """A month of hourly reports: a fresh evaluation reads about the horizon's worth (the
    24 h window + one interval and its grace: ~50 h of reports), the next one only what was
    appended meanwhile."""
    topic = unique_topic("ps-health-window")
    create_topic(cluster.bootstrap, topic, config={"retention.ms": "-1"})
    try:
        now = time.time()
        items = _hourly(now, 30, {})
        produce(cluster.bootstrap, topic, items)
        monitor = HealthMonitor(where(cluster), topic)
        first = monitor.evaluate()
        assert first.reachable and not _kinds(first, f.REPORT_STALE)
        horizon_h = 24 + 24 + 2.4
        assert 3 * horizon_h <= first.reports_read < 3 * horizon_h * 1.6, first.reports_read
        produce(cluster.bootstrap, topic, [(b, basic(now, f"tok-{b}"), now) for b in (1, 2, 3)])
        assert monitor.evaluate().reports_read == 3
    finally:
        delete_topic(cluster.bootstrap, topic)


def test_a_silent_broker_is_looked_for_further_back_not_in_the_whole_topic(cluster):
    topic = unique_topic("ps-health-silent")
    create_topic(cluster.bootstrap, topic, config={"retention.ms": "-1"})
    try:
        now = time.time()
        items = _hourly(now, 60, {3: 5 * 24})
        produce(cluster.bootstrap, topic, items)
        monitor = HealthMonitor(where(cluster), topic)
        first = monitor.evaluate()
        assert _kinds(first, f.REPORT_STALE) == {"broker 3"}
        assert "5 d" in next(x.message for x in first.findings if x.rule == f.REPORT_STALE)
        assert 2 * 5 * 24 <= first.reports_read < len(items) * 0.4, first.reports_read
        produce(cluster.bootstrap, topic, [(b, basic(now, f"tok-{b}"), now) for b in (1, 2, 3)])
        second = monitor.evaluate()
        assert second.reports_read == 3
        assert {x.subject for x in second.cleared if x.rule == f.REPORT_STALE} == {"broker 3"}
    finally:
        delete_topic(cluster.bootstrap, topic)
