"""The [health] table of the console's config file (tui/config.py) and HealthConfig's
checks: every bad value is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import UsageError, ValidationError
from engine.health.config import DEFAULT_DRIFT_KEYS, HealthConfig, broker_intervals
from tui.config import health_config, load_health_config


def test_defaults_without_a_table_or_a_file(tmp_path: Path):
    assert health_config(None) == HealthConfig()
    assert load_health_config(tmp_path / "none.toml") == HealthConfig()


def test_every_key_of_the_table(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text("""
[health]
window_hours = 12
report_interval_hours = 6
grace_seconds = 0
broker_down_intervals = 3
silence = ["broker-restarted"]
drift_keys = ["min.insync.replicas"]
support_min_replicas = 2
support_min_retention_days = 30
max_described_topics = 50

[health.severity]
version-drift = "critical"
""")
    config = load_health_config(path)
    assert config == HealthConfig(window_s=12 * 3600, default_interval_s=6 * 3600, grace_s=0,
                                  down_intervals=3, silenced=frozenset({"broker-restarted"}),
                                  drift_keys=("min.insync.replicas",), support_min_replicas=2,
                                  support_min_retention_ms=30 * 86_400_000,
                                  max_described_topics=50,
                                  severities={"version-drift": "critical"})
    assert config.rules[0] == "broker-down" and "broker-restarted" not in config.rules
    assert HealthConfig().drift_keys == DEFAULT_DRIFT_KEYS


@pytest.mark.parametrize("body, words", [
    ("windows = 3", "unknown setting 'windows'"),
    ("window_hours = 'x'", "window_hours: expected a number"),
    ("window_hours = -1", "window"),
    ("silence = ['no-such-rule']", "'no-such-rule', not a rule"),
    ("silence = 'broker-down'", "silence: expected a list"),
    ("severity = { 'broker-down' = 'fatal' }", "must be one of critical, warning, info"),
    ("support_min_replicas = 2.5", "expected a whole number"),
    ("max_described_topics = 0", "max_described_topics must be a whole number"),
])
def test_bad_values_are_usage_errors_naming_the_key(tmp_path: Path, body: str, words: str):
    path = tmp_path / "config.toml"
    path.write_text(f"[health]\n{body}\n")
    with pytest.raises(UsageError) as caught:
        load_health_config(path)
    assert words in str(caught.value) and str(path) in str(caught.value)


def test_intervals_from_broker_files_fail_closed(tmp_path: Path):
    good = tmp_path / "s1.properties"
    good.write_text("broker.id=1\nzookeeper.connect=z:1\n"
                    "confluent.support.metrics.report.interval.hours=6\n")
    other = tmp_path / "s2.properties"
    other.write_text("broker.id=2\nzookeeper.connect=z:1\n")
    assert broker_intervals([str(good), str(other)]) == {1: 6 * 3600.0, 2: 24 * 3600.0}
    bad = tmp_path / "s3.properties"
    bad.write_text("broker.id=3\nzookeeper.connect=z:1\n"
                   "confluent.support.metrics.report.interval.hours=0\n")
    with pytest.raises(ValidationError, match="s3.properties"):
        broker_intervals([str(bad)])
    with pytest.raises(ValidationError, match="given twice"):
        broker_intervals([str(good), str(good)])
    assert HealthConfig().with_intervals({1: 60.0}).interval_for(1) == 60.0


def test_show_config_names_the_health_settings(tmp_path: Path):
    from tui.config import load_config

    path = tmp_path / "config.toml"
    path.write_text("[health]\nwindow_hours = 12\nsilence = ['controller']\n")
    rows = {name: (value, source) for name, value, source in load_config(path=path, env={})
            .describe()}
    assert rows["health"] == ("window_s=43200.0; silenced=controller", "config file")
    plain = tmp_path / "plain.toml"
    plain.write_text("")
    assert {n: v for n, v, _ in load_config(path=plain, env={}).describe()}["health"] == \
        "(defaults)"
