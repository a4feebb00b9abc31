"""What the health rules are told: thresholds, the window, severities, silenced rules and
the keys config-drift compares.

A plain typed object: the console parses its `[health]` table into one
(`tui.config`), the CLI builds one from that table and its flags, tests write one. Every
value is checked when the object is made; a bad one is a ValidationError naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from engine.errors import ValidationError
from engine.health.finding import RULE_IDS, SEVERITIES
from engine.reading.rules import DEFAULT_INTERVAL_S

DEFAULT_WINDOW_S: Final = 24 * 3600.0
YEAR_MS: Final = 31_536_000_000  # the retention the agent gives the support topic (a year)
# Beyond a hundred years a number of seconds is a typo (and the clock arithmetic stays
# far inside a float's exact range).
MAX_SECONDS: Final = 100 * 365 * 86400.0

# Broker settings that should be the same on every broker of a cluster: a difference is a
# half-done change (a rolling upgrade or reconfiguration), and some of them decide what a
# partition survives. Only keys the privacy filter lets into Enhanced reports can be
# compared at all.
DEFAULT_DRIFT_KEYS: Final[tuple[str, ...]] = (
    "inter.broker.protocol.version",
    "log.message.format.version",
    "min.insync.replicas",
    "default.replication.factor",
    "num.partitions",
    "unclean.leader.election.enable",
    "auto.create.topics.enable",
    "delete.topic.enable",
    "auto.leader.rebalance.enable",
    "log.retention.hours",
    "log.retention.ms",
    "log.retention.bytes",
    "log.segment.bytes",
    "log.cleanup.policy",
    "log.message.timestamp.type",
    "message.max.bytes",
    "replica.fetch.max.bytes",
    "replica.lag.time.max.ms",
    "compression.type",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
)


def _seconds(name: str, value: float, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or not low < value <= MAX_SECONDS:
        raise ValidationError(f"health: {name} must be a number of seconds above {low:g} "
                              f"and at most {MAX_SECONDS:g}, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class HealthConfig:
    """See the module docstring. Times are in seconds.

    - `window_s`: how far back broker-restarted and controller changes look (24 h).
    - `default_interval_s`: the report interval of a broker whose own is not known (24 h);
      `intervals_s` gives it per broker (from its server.properties).
    - `grace_s`: slack after a missed interval; None is the agent --check rule (10 % of the
      interval, at least 60 s).
    - `down_intervals`: broker-down counts a broker that reported within this many of its
      intervals (2).
    - `severities`: rule id -> severity, replacing every severity of that rule.
    - `silenced`: rule ids not evaluated at all.
    - `drift_keys`: the broker settings config-drift compares.
    - `support_min_replicas`, `support_min_retention_ms`: what support-topic expects
      (min(3, brokers) replicas, a year).
    - `max_described_topics`: at most this many topics' configs are asked per evaluation
      (for min.insync.replicas); the rest are counted as not checked.
    """

    window_s: float = DEFAULT_WINDOW_S
    default_interval_s: float = DEFAULT_INTERVAL_S
    intervals_s: Mapping[int, float] = field(default_factory=dict)
    grace_s: float | None = None
    down_intervals: float = 2.0
    severities: Mapping[str, str] = field(default_factory=dict)
    silenced: frozenset[str] = frozenset()
    drift_keys: tuple[str, ...] = DEFAULT_DRIFT_KEYS
    support_min_replicas: int = 3
    support_min_retention_ms: int = YEAR_MS
    max_described_topics: int = 1000

    def __post_init__(self) -> None:
        _seconds("window", self.window_s)
        _seconds("the report interval", self.default_interval_s)
        for broker, interval in self.intervals_s.items():
            _seconds(f"the report interval of broker {broker}", interval)
        if self.grace_s is not None and self.grace_s != 0:
            _seconds("grace", self.grace_s)
        if isinstance(self.down_intervals, bool) or not isinstance(
                self.down_intervals, int | float) or not 0 < self.down_intervals <= 1000:
            raise ValidationError("health: broker_down_intervals must be a number above 0 "
                                  f"and at most 1000, not {self.down_intervals!r}")
        for rule_id, severity in self.severities.items():
            _known_rule(rule_id, "severity")
            if severity not in SEVERITIES:
                raise ValidationError(f"health: severity of {rule_id} must be one of "
                                      f"{', '.join(SEVERITIES)}, not {severity!r}")
        for rule_id in self.silenced:
            _known_rule(rule_id, "silence")
        for key in self.drift_keys:
            if not isinstance(key, str) or not key or len(key) > 255:
                raise ValidationError(f"health: drift_keys holds {key!r}, not a key name")
        for name in ("support_min_replicas", "max_described_topics"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
                raise ValidationError(f"health: {name} must be a whole number from 1 to "
                                      f"100000, not {value!r}")
        value = self.support_min_retention_ms
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError("health: the support topic's minimum retention must be "
                                  f"a positive number of milliseconds, not {value!r}")

    def interval_for(self, broker_id: int) -> float:
        """The report interval of one broker, in seconds."""
        return self.intervals_s.get(broker_id, self.default_interval_s)

    @property
    def longest_interval_s(self) -> float:
        """The longest interval of any broker (the report read reaches back by it)."""
        return max([self.default_interval_s, *self.intervals_s.values()])

    def severity(self, rule_id: str, default: str) -> str:
        """The severity a finding of `rule_id` gets: the configured one, else `default`."""
        return self.severities.get(rule_id, default)

    def enabled(self, rule_id: str) -> bool:
        """False for a silenced rule."""
        return rule_id not in self.silenced

    @property
    def rules(self) -> tuple[str, ...]:
        """The ids of the rules that are evaluated, in the table's order."""
        return tuple(r for r in RULE_IDS if r not in self.silenced)

    def with_intervals(self, intervals_s: Mapping[int, float]) -> HealthConfig:
        """The same config with these per-broker intervals added (they win)."""
        return replace(self, intervals_s={**self.intervals_s, **intervals_s})


def _known_rule(rule_id: object, where: str) -> None:
    if rule_id not in RULE_IDS:
        raise ValidationError(f"health: {where} names {rule_id!r}, not a rule (rules: "
                              f"{', '.join(RULE_IDS)})")


def broker_intervals(paths: tuple[str, ...] | list[str], strict: bool = True
                     ) -> dict[int, float]:
    """The report interval of each broker whose server.properties is given, in seconds.

    Strict (the CLI) fails closed: a file that cannot be read, names no broker, or holds an
    invalid interval is a PsError naming it (the user gave that file). Not strict (the
    console, whose Settings screen reports a bad file), such a file is skipped: its broker
    gets the default interval.
    """
    from engine.config.settings import REPORT_INTERVAL_HOURS, load_settings
    from engine.errors import PsError

    found: dict[int, float] = {}
    for path in paths:
        try:
            settings = load_settings(path)
            broker_id = settings.broker.require_broker()
            setting = settings.effective[REPORT_INTERVAL_HOURS]
            hours = setting.value
            if setting.problem is not None or not isinstance(hours, int):
                raise ValidationError(f"{path}: {REPORT_INTERVAL_HOURS}: {setting.problem}")
            if broker_id in found:
                raise ValidationError(f"{path}: broker {broker_id} is given twice")
        except PsError:
            if strict:
                raise
            continue
        found[broker_id] = float(hours) * 3600.0
    return found
