"""What a health rule says: the rules by id, the severities, and one finding.

The rule ids are part of the interface (the CLI's JSON, the exporter's labels, the
`[health]` table of the console's config, webhooks); `RULES` lists them in the order the
issue's table gives them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

CRITICAL: Final = "critical"
WARNING: Final = "warning"
INFO: Final = "info"
SEVERITIES: Final = (CRITICAL, WARNING, INFO)
_RANK: Final = {CRITICAL: 0, WARNING: 1, INFO: 2}

BROKER_DOWN: Final = "broker-down"
REPORT_MISSING: Final = "report-missing"
REPORT_STALE: Final = "report-stale"
AGENT_STOPPED: Final = "agent-stopped"
BROKER_RESTARTED: Final = "broker-restarted"
VERSION_DRIFT: Final = "version-drift"
CONFIG_DRIFT: Final = "config-drift"
UNDER_REPLICATED: Final = "under-replicated-partitions"
OFFLINE: Final = "offline-partitions"
UNDER_MIN_ISR: Final = "under-min-isr"
CONTROLLER: Final = "controller"
SUPPORT_TOPIC: Final = "support-topic"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id, its default severity, when it raises, and what to do."""

    id: str
    severity: str
    raises_when: str
    hint: str


RULES: Final[tuple[Rule, ...]] = (
    Rule(BROKER_DOWN, CRITICAL,
         "a broker that reported within the last two intervals, or was registered earlier "
         "in this session, is not registered",
         "check the broker's process and its server.log on its host; a broker removed on "
         "purpose clears after two report intervals (or when this session ends)"),
    Rule(REPORT_MISSING, WARNING,
         "a registered broker has no report in the topic",
         "run `ps-console agent` beside this broker, or check confluent.support.metrics."
         "enable and confluent.support.metrics.topic in its server.properties"),
    Rule(REPORT_STALE, WARNING,
         "a broker's latest report is older than its interval + grace (the agent --check "
         "rule)",
         "check the agent beside this broker: `ps-console agent --check --broker-config "
         "FILE` and its journal"),
    Rule(AGENT_STOPPED, WARNING,
         "a broker's latest report is a shutdown report while the broker is registered",
         "start the agent again beside this broker (systemctl start ps-console-agent)"),
    Rule(BROKER_RESTARTED, INFO,
         "a broker restarted within the window (default 24 h): a new token in its reports, a "
         "new ZooKeeper registration after a report, or seen by this session; count and when",
         "look for the cause in the broker's server.log around that time (crash, OOM, "
         "deploy); repeated restarts need attention"),
    Rule(VERSION_DRIFT, WARNING,
         "brokers report different Kafka or CP versions",
         "finish the rolling upgrade: every broker on the same Kafka (and CP) version"),
    Rule(CONFIG_DRIFT, WARNING,
         "Enhanced reports of different brokers disagree on a key that should be "
         "cluster-wide",
         "make these keys the same in every broker's server.properties, or take a key out "
         "of [health] drift_keys when the difference is meant"),
    Rule(UNDER_REPLICATED, WARNING,
         "a partition's ISR is smaller than its replica set (critical when a partition has "
         "ISR 1)",
         "find the replicas missing from the ISR (kafka-topics.sh --describe "
         "--under-replicated-partitions): are those brokers up and keeping up?"),
    Rule(OFFLINE, CRITICAL,
         "a partition has no leader",
         "bring back the brokers that hold these partitions' replicas; an unclean leader "
         "election loses data and is the last resort"),
    Rule(UNDER_MIN_ISR, CRITICAL,
         "a partition's ISR is below its min.insync.replicas",
         "producers with acks=all fail on these partitions: restore the missing replicas, "
         "or check min.insync.replicas against the replication factor"),
    Rule(CONTROLLER, CRITICAL,
         "no active controller, or (KRaft) the quorum has no leader (critical); controller "
         "changes in the window (info)",
         "check ZooKeeper, or that a majority of the KRaft controllers is up; frequent "
         "changes point at session expiries or long pauses on the controller"),
    Rule(SUPPORT_TOPIC, WARNING,
         "the support topic is missing, has replication factor < min(3, brokers), more "
         "than one partition, or retention under a year",
         "the topic wants 1 partition, replication factor min(3, brokers) and retention.ms="
         "31536000000 (kafka-configs.sh --alter --entity-type topics)"),
)
RULE_IDS: Final[tuple[str, ...]] = tuple(r.id for r in RULES)
_BY_ID: Final = {r.id: r for r in RULES}


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError for an unknown id."""
    return _BY_ID[rule_id]


def severity_rank(severity: str) -> int:
    """0 for critical, 1 warning, 2 info (sorting: the worst first)."""
    return _RANK.get(severity, len(_RANK))


def at_least_warning(severity: str) -> bool:
    """True for critical and warning: what makes `ps-console health` exit 1."""
    return severity_rank(severity) <= _RANK[WARNING]


def iso_seconds(seconds: float | None) -> str | None:
    """Epoch seconds as `2026-11-26T14:57:42Z`, None stays None."""
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One thing a rule found, about one subject (`broker 3`, `cluster`, `topic <name>`).

    `since` (epoch seconds) is when it began where the facts tell (a report's time, an
    election), else when this process first saw it; None until a tracker settled it.
    `message` is one line; `details` are more lines for a screen or the JSON (which
    brokers hold which value, the topics concerned). `aspect` tells apart two findings of
    one rule about one subject (the controller rule's "missing" and "changed"); with
    `rule` and `subject` it is the finding's identity across evaluations.

    Topic names may appear in a message (the operator's own screen and `health` output);
    findings never go into a support report.
    """

    rule: str
    severity: str
    subject: str
    message: str
    hint: str
    since: float | None = None
    details: tuple[str, ...] = ()
    aspect: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """The finding's identity across evaluations: rule, subject, aspect."""
        return (self.rule, self.subject, self.aspect)

    def with_since(self, since: float | None) -> Finding:
        """The same finding, `since` set."""
        return replace(self, since=since)

    def line(self) -> str:
        """`CRITICAL broker-down  broker 3 is not registered (...)`: the text output's
        line (every message names its subject)."""
        return f"{self.severity.upper():<8} {self.rule:<27} {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The finding as the JSON output and the webhook show it."""
        return {"rule": self.rule, "severity": self.severity, "subject": self.subject,
                "since": iso_seconds(self.since), "message": self.message,
                "hint": self.hint, "details": list(self.details)}


def sort_key(finding: Finding) -> tuple[int, int, str, str]:
    """Worst first, then in the rules' table order, then by subject."""
    return (severity_rank(finding.severity), RULE_IDS.index(finding.rule)
            if finding.rule in _BY_ID else len(RULE_IDS), _subject_order(finding.subject),
            finding.aspect)


def _subject_order(subject: str) -> str:
    # `broker 10` after `broker 9`: pad the number.
    head, _, number = subject.partition(" ")
    return f"{head} {int(number):012d}" if head == "broker" and number.isdigit() \
        else subject
