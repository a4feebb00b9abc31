"""The health rules: pure functions from what one evaluation read (`HealthFacts`), the
config and what this process remembers (`Memory`) to findings.

No I/O and no clock: `facts.now` is the time. Each rule has the id of its entry in
`engine.health.finding.RULES`; `evaluate` runs those the config does not silence and whose
facts were read, and says which ones it ran. Report rules use `engine.reading.rules`
(latest, attribution, events, the overdue rule of `agent --check`) and add nothing of
their own to what "latest" or "overdue" means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.health import finding as f
from engine.health.config import HealthConfig
from engine.health.facts import HealthFacts, PartitionState
from engine.health.finding import Finding
from engine.reading import rules as report_rules
from engine.reading.report import ENHANCED, STATE_SHUTTING_DOWN, Report, ReportSummary

# Messages name at most this many topics or brokers; details list the rest (bounded too).
NAMED = 5
MAX_DETAILS = 50
# Restarts seen several ways (a new registration, a new token, the watch) within this
# long of each other are one restart.
SAME_RESTART_S = 900.0
NOT_SET = "(not set)"


@dataclass(frozen=True)
class Memory:
    """What this process saw before this evaluation (see `engine.health.tracker`).

    `registered`: broker id -> when it was last seen registered. `restarts`: broker id ->
    times a restart was observed (a new registration session, or the broker leaving and
    coming back). `controller_changes`: (time, old controller, new controller) for each
    change observed.
    """

    registered: Mapping[int, float] = field(default_factory=dict)
    restarts: Mapping[int, tuple[float, ...]] = field(default_factory=dict)
    controller_changes: tuple[tuple[float, int | None, int | None], ...] = ()


def _finding(rule_id: str, config: HealthConfig, subject: str, message: str,
             severity: str | None = None, since: float | None = None,
             details: Sequence[str] = (), aspect: str = "") -> Finding:
    rule = f.rule(rule_id)
    if len(details) > MAX_DETAILS:
        details = [*details[:MAX_DETAILS], f"... and {len(details) - MAX_DETAILS} more"]
    return Finding(rule=rule_id, severity=config.severity(rule_id, severity or rule.severity),
                   subject=subject, message=message, hint=rule.hint, since=since,
                   details=tuple(details), aspect=aspect)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "at an unknown time"
    if seconds < 0:
        return "in the future"
    s = int(seconds)
    if s < 120:
        return f"{s} s ago"
    if s < 7200:
        return f"{s // 60} min ago"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60:02d} min ago"
    return f"{s // 86400} d {s % 86400 // 3600} h ago"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


def _brokers(ids: Iterable[int]) -> str:
    ordered = sorted(ids)
    word = "broker" if len(ordered) == 1 else "brokers"
    return f"{word} {', '.join(str(i) for i in ordered)}"


def _named(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMED])
    return shown + (f" and {len(names) - NAMED} more" if len(names) > NAMED else "")


def _latest(facts: HealthFacts, broker_id: int) -> Report | None:
    return facts.reports.latest.get(broker_id) if facts.reports is not None else None


def _collected_s(report: ReportSummary) -> float | None:
    ms = report.collected_ms
    return None if ms is None else ms / 1000


# ---------------------------------------------------------------------------- brokers

def broker_down(facts: HealthFacts, config: HealthConfig, memory: Memory) -> list[Finding]:
    """Not registered, but reported within `down_intervals` intervals or was registered
    earlier in this process."""
    out = []
    registered = facts.registered
    latest = facts.reports.latest if facts.reports is not None else {}
    candidates = (set(latest) | set(memory.registered)) - registered
    for broker in sorted(candidates):
        report = latest.get(broker)
        seen = memory.registered.get(broker)
        reported = _collected_s(report) if report is not None else None
        limit = config.down_intervals * config.interval_for(broker)
        recent = reported is not None and facts.now - reported <= limit
        if not recent and seen is None:
            continue
        why = []
        if seen is not None:
            why.append(f"registered {_ago(facts.now - seen)}")
        if reported is not None:
            why.append(f"last report {_ago(facts.now - reported)}")
        out.append(_finding(f.BROKER_DOWN, config, f"broker {broker}",
                            f"broker {broker} is not registered ({'; '.join(why)})"))
    return out


def report_missing(facts: HealthFacts, config: HealthConfig, memory: Memory
                   ) -> list[Finding]:
    """A registered broker with no report in the topic."""
    out = []
    for broker in sorted(facts.registered):
        if _latest(facts, broker) is not None:
            continue
        message = (f"broker {broker} is registered, but the support topic {facts.topic} "
                   "does not exist" if facts.topic_missing
                   else f"broker {broker} is registered but has no report in {facts.topic}")
        if facts.reports is not None and not facts.reports.complete:
            message += " (the topic's older records were not read)"
        out.append(_finding(f.REPORT_MISSING, config, f"broker {broker}", message))
    return out


def report_stale(facts: HealthFacts, config: HealthConfig, memory: Memory) -> list[Finding]:
    """A registered broker whose latest report is older than interval + grace (a shutdown
    report is agent-stopped's, not this rule's)."""
    out = []
    for broker in sorted(facts.registered):
        report = _latest(facts, broker)
        if report is None or report.state == STATE_SHUTTING_DOWN:
            continue
        interval = config.interval_for(broker)
        if not report_rules.is_overdue(report, facts.now, interval, config.grace_s):
            continue
        limit = report_rules.overdue_after_s(interval, config.grace_s)
        collected = _collected_s(report)
        out.append(_finding(
            f.REPORT_STALE, config, f"broker {broker}",
            f"broker {broker}'s latest report ({report.position}) is from "
            f"{_ago(None if collected is None else facts.now - collected)}, more than its "
            f"interval of {_hours(interval)} + {int(limit - interval)} s grace",
            since=None if collected is None else collected + limit))
    return out


def agent_stopped(facts: HealthFacts, config: HealthConfig, memory: Memory
                  ) -> list[Finding]:
    """A registered broker whose latest report is a shutdown report."""
    out = []
    for broker in sorted(facts.registered):
        report = _latest(facts, broker)
        if report is None or report.state != STATE_SHUTTING_DOWN:
            continue
        collected = _collected_s(report)
        out.append(_finding(
            f.AGENT_STOPPED, config, f"broker {broker}",
            f"broker {broker} is registered, but its agent sent a shutdown report "
            f"{_ago(None if collected is None else facts.now - collected)} and nothing "
            "since", since=collected))
    return out


def _restart_times(facts: HealthFacts, memory: Memory, config: HealthConfig
                   ) -> dict[int, list[tuple[float, str]]]:
    """Per broker, the restarts within the window: (time, how it was seen)."""
    start = facts.now - config.window_s
    found: dict[int, list[tuple[float, str]]] = {}
    recent = facts.reports.recent if facts.reports is not None else ()
    histories = report_rules.histories(list(recent))
    earliest: dict[int, float] = {}
    for subject, history in histories.items():
        if subject is None or subject.broker_id is None:
            continue
        broker = subject.broker_id
        dated = [t for r in history if (t := _collected_s(r)) is not None]
        if dated:
            earliest[broker] = min(dated)
        for event in report_rules.events(history, config.interval_for(broker),
                                         config.grace_s):
            if event.kind == report_rules.RESTART and event.at_ms is not None \
                    and event.at_ms / 1000 >= start:
                found.setdefault(broker, []).append((event.at_ms / 1000, "a new broker token"))
    for node in facts.view.brokers:
        at = node.registered_at_ms
        # A registration within the window after a report of the same broker: it ran
        # before, so this registration is a restart (ZooKeeper tells the time).
        if at is not None and at / 1000 >= start and node.id in earliest \
                and earliest[node.id] < at / 1000:
            found.setdefault(node.id, []).append((at / 1000, "a new registration"))
    for watched, times in memory.restarts.items():
        for when in times:
            if when >= start:
                found.setdefault(watched, []).append((when, "seen by this session"))
    return found


def _merge(times: list[tuple[float, str]]) -> list[tuple[float, str]]:
    merged: list[tuple[float, str]] = []
    for at, how in sorted(times):
        if merged and at - merged[-1][0] <= SAME_RESTART_S:
            continue
        merged.append((at, how))
    return merged


def broker_restarted(facts: HealthFacts, config: HealthConfig, memory: Memory
                     ) -> list[Finding]:
    """Restarts within the window: a new token in the reports, a new ZooKeeper
    registration after a report, or one this process watched; count and when."""
    out = []
    for broker, times in sorted(_restart_times(facts, memory, config).items()):
        merged = _merge(times)
        last, how = merged[-1]
        count = len(merged)
        out.append(_finding(
            f.BROKER_RESTARTED, config, f"broker {broker}",
            f"broker {broker} restarted {count} time{'s' if count != 1 else ''} in the last "
            f"{_hours(config.window_s)}, last {_ago(facts.now - last)} ({how})",
            since=merged[0][0],
            details=[f"{f.iso_seconds(at)} ({seen})" for at, seen in merged]))
    return out


# ---------------------------------------------------------------------------- drift

def _registered_latest(facts: HealthFacts) -> dict[int, Report]:
    return {b: r for b in sorted(facts.registered)
            if (r := _latest(facts, b)) is not None and r.ok and r.schema_kind != "other"}


def _who_holds(values: Mapping[int, str]) -> list[str]:
    by_value: dict[str, list[int]] = {}
    for broker, value in values.items():
        by_value.setdefault(value, []).append(broker)
    ordered = sorted(by_value.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [f"{value} ({_brokers(brokers)})" for value, brokers in ordered]


def version_drift(facts: HealthFacts, config: HealthConfig, memory: Memory
                  ) -> list[Finding]:
    """The registered brokers' latest reports name different Kafka or CP versions."""
    latest = _registered_latest(facts)
    # An agent that could not tell the broker's version says "unknown": that is no version
    # to differ from. A missing CP version is one: Apache Kafka without CP.
    kafka = {b: r.kafka_version for b, r in latest.items()
             if r.kafka_version and r.kafka_version.lower() != "unknown"}
    cp = {b: r.cp_version or "none" for b, r in latest.items()}
    parts, details = [], []
    if len(set(kafka.values())) > 1:
        held = _who_holds(kafka)
        parts.append("Kafka " + "; ".join(held))
        details += [f"Kafka {h}" for h in held]
    if len(set(cp.values())) > 1:
        held = _who_holds(cp)
        parts.append("CP " + "; ".join(held))
        details += [f"CP {h}" for h in held]
    if not parts:
        return []
    return [_finding(f.VERSION_DRIFT, config, "cluster",
                     "brokers run different versions: " + " | ".join(parts),
                     details=details)]


def _configuration(report: Report) -> Mapping[str, object] | None:
    metrics = (report.fields or {}).get("brokerMetrics")
    config = metrics.get("brokerConfiguration") if isinstance(metrics, dict) else None
    return config if isinstance(config, dict) else None


def config_drift(facts: HealthFacts, config: HealthConfig, memory: Memory) -> list[Finding]:
    """Enhanced reports of registered brokers disagree on a key of `drift_keys` (a key a
    broker's file does not set counts as its own value, `(not set)`)."""
    configs = {b: c for b, r in _registered_latest(facts).items()
               if r.schema_kind == ENHANCED and (c := _configuration(r)) is not None}
    if len(configs) < 2:
        return []
    differing, details = [], []
    for key in config.drift_keys:
        values = {b: str(c[key]) if key in c else NOT_SET for b, c in configs.items()}
        if len(set(values.values())) > 1:
            differing.append(key)
            details.append(f"{key}: " + "; ".join(_who_holds(values)))
    if not differing:
        return []
    count = len(differing)
    return [_finding(f.CONFIG_DRIFT, config, "cluster",
                     f"{count} key{'s' if count != 1 else ''} differ between the brokers' "
                     f"Enhanced reports: {_named(differing)}", details=details)]


# ---------------------------------------------------------------------------- partitions

def _by_topic(states: Iterable[PartitionState]) -> dict[str, list[PartitionState]]:
    out: dict[str, list[PartitionState]] = {}
    for s in states:
        out.setdefault(s.topic, []).append(s)
    return out


def _partition_details(groups: Mapping[str, list[PartitionState]],
                       extra: Callable[[PartitionState], str]) -> list[str]:
    return [f"{topic}: partition{'s' if len(parts) > 1 else ''} "
            + ", ".join(f"{p.partition} ({extra(p)})" for p in parts[:NAMED])
            + (f" and {len(parts) - NAMED} more" if len(parts) > NAMED else "")
            for topic, parts in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def _isr_text(p: PartitionState) -> str:
    return f"isr {list(p.isr)} of {list(p.replicas)}"


def under_replicated(facts: HealthFacts, config: HealthConfig, memory: Memory
                     ) -> list[Finding]:
    """Partitions with a leader and fewer in-sync replicas than replicas; critical when
    one is down to a single in-sync replica."""
    assert facts.partitions is not None
    states = [p for p in facts.partitions.unhealthy if p.under_replicated]
    if not states:
        return []
    groups = _by_topic(states)
    alone = sum(1 for p in states if len(p.isr) <= 1)
    names = sorted(groups, key=lambda t: (-len(groups[t]), t))
    message = (f"{len(states)} partition{'s' if len(states) != 1 else ''} of "
               f"{len(groups)} topic{'s' if len(groups) != 1 else ''} under-replicated: "
               f"{_named(names)}")
    if alone:
        message += f"; {alone} with a single in-sync replica"
    return [_finding(f.UNDER_REPLICATED, config, "cluster", message,
                     severity=f.CRITICAL if alone else None,
                     details=_partition_details(groups, _isr_text))]


def offline_partitions(facts: HealthFacts, config: HealthConfig, memory: Memory
                       ) -> list[Finding]:
    """Partitions without a leader."""
    assert facts.partitions is not None
    states = [p for p in facts.partitions.unhealthy if p.offline]
    if not states:
        return []
    groups = _by_topic(states)
    names = sorted(groups, key=lambda t: (-len(groups[t]), t))
    return [_finding(f.OFFLINE, config, "cluster",
                     f"{len(states)} partition{'s' if len(states) != 1 else ''} of "
                     f"{len(groups)} topic{'s' if len(groups) != 1 else ''} have no leader: "
                     f"{_named(names)}",
                     details=_partition_details(groups, lambda p: f"replicas {list(p.replicas)}"))]


def under_min_isr(facts: HealthFacts, config: HealthConfig, memory: Memory
                  ) -> list[Finding]:
    """Partitions with a leader and fewer in-sync replicas than `min.insync.replicas`."""
    assert facts.partitions is not None
    parts = facts.partitions
    states = [p for p in parts.checked
              if not p.offline and len(p.isr) < parts.min_isr.get(p.topic, 0)]
    if not states:
        return []
    groups = _by_topic(states)
    names = sorted(groups, key=lambda t: (-len(groups[t]), t))
    message = (f"{len(states)} partition{'s' if len(states) != 1 else ''} of "
               f"{len(groups)} topic{'s' if len(groups) != 1 else ''} below "
               f"min.insync.replicas: {_named(names)}")
    return [_finding(f.UNDER_MIN_ISR, config, "cluster", message,
                     details=_partition_details(
                         groups, lambda p: f"isr {len(p.isr)} < {parts.min_isr[p.topic]}"))]


# ---------------------------------------------------------------------------- controller

def controller(facts: HealthFacts, config: HealthConfig, memory: Memory) -> list[Finding]:
    """No active controller (critical); controller changes within the window (info)."""
    out = []
    c = facts.controller
    if c.controller_id is None:
        if c.kraft and c.quorum is not None:
            text = "the KRaft metadata quorum has no leader"
        elif c.kraft:
            text = "no active controller is known to the brokers"
        else:
            text = "no active controller: /controller is not registered in ZooKeeper"
        out.append(_finding(f.CONTROLLER, config, "cluster", text, aspect="missing"))
    start = facts.now - config.window_s
    changes: list[tuple[float, str]] = []
    for at, before, after in memory.controller_changes:
        if at >= start:
            changes.append((at, f"{_node(before)} -> {_node(after)} (seen by this session)"))
    if c.elected_ms is not None and c.epoch is not None and c.epoch > 1 \
            and c.elected_ms / 1000 >= start:
        # ZooKeeper: the znode was made by an election that was not the cluster's first.
        changes.append((c.elected_ms / 1000,
                        f"broker {c.controller_id} elected (controller epoch {c.epoch})"))
    merged = _merge(changes)
    if merged:
        count = len(merged)
        last, how = merged[-1]
        out.append(_finding(
            f.CONTROLLER, config, "cluster",
            f"the controller changed {count} time{'s' if count != 1 else ''} in the last "
            f"{_hours(config.window_s)}, last {_ago(facts.now - last)}: {how}",
            severity=f.INFO, since=merged[0][0], aspect="changed",
            details=[f"{f.iso_seconds(at)} {how}" for at, how in merged]))
    return out


def _node(node: int | None) -> str:
    return "none" if node is None else str(node)


# ---------------------------------------------------------------------------- support topic

def support_topic(facts: HealthFacts, config: HealthConfig, memory: Memory
                  ) -> list[Finding]:
    """The support topic is missing, or not as the agent creates it."""
    assert facts.support is not None
    s = facts.support
    subject = f"topic {s.name}"
    if not s.exists:
        return [_finding(f.SUPPORT_TOPIC, config, subject,
                         f"the support topic {s.name} does not exist (an agent creates it "
                         "with its first report)")]
    problems = []
    wanted = min(config.support_min_replicas, max(1, len(facts.registered)))
    if s.replication_factor is not None and s.replication_factor < wanted:
        problems.append(f"replication factor {s.replication_factor} < {wanted}")
    if s.partitions > 1:
        problems.append(f"{s.partitions} partitions, not 1")
    if s.retention_ms is not None and s.retention_ms != -1 and \
            s.retention_ms < config.support_min_retention_ms:
        problems.append(f"retention.ms={s.retention_ms} keeps less than "
                        f"{config.support_min_retention_ms / 86_400_000:g} days")
    if not problems:
        return []
    return [_finding(f.SUPPORT_TOPIC, config, subject,
                     f"the support topic {s.name}: {'; '.join(problems)}",
                     details=problems)]


# ---------------------------------------------------------------------------- all

RuleFunction = Callable[[HealthFacts, HealthConfig, Memory], list[Finding]]

# What each rule needs read: "reports", "partitions", "support" (the cluster view is
# always there, or nothing is evaluated).
_TABLE: dict[str, tuple[RuleFunction, tuple[str, ...]]] = {
    f.BROKER_DOWN: (broker_down, ()),
    f.REPORT_MISSING: (report_missing, ("reports",)),
    f.REPORT_STALE: (report_stale, ("reports",)),
    f.AGENT_STOPPED: (agent_stopped, ("reports",)),
    f.BROKER_RESTARTED: (broker_restarted, ()),
    f.VERSION_DRIFT: (version_drift, ("reports",)),
    f.CONFIG_DRIFT: (config_drift, ("reports",)),
    f.UNDER_REPLICATED: (under_replicated, ("partitions",)),
    f.OFFLINE: (offline_partitions, ("partitions",)),
    f.UNDER_MIN_ISR: (under_min_isr, ("min_isr",)),
    f.CONTROLLER: (controller, ()),
    f.SUPPORT_TOPIC: (support_topic, ("support",)),
}
assert tuple(_TABLE) == f.RULE_IDS


def _available(facts: HealthFacts, need: str) -> bool:
    if need == "reports":
        return facts.reports is not None or facts.topic_missing
    if need == "partitions":
        return facts.partitions is not None
    if need == "min_isr":
        return facts.partitions is not None and facts.partitions.problem is None
    return facts.support is not None


def evaluate(facts: HealthFacts, config: HealthConfig, memory: Memory | None = None
             ) -> tuple[tuple[str, ...], list[Finding]]:
    """Every rule the config does not silence and whose facts were read: the ids that
    ran, and their findings sorted worst first."""
    memory = memory or Memory()
    ran: list[str] = []
    found: list[Finding] = []
    for rule_id, (function, needs) in _TABLE.items():
        if not config.enabled(rule_id) or not all(_available(facts, n) for n in needs):
            continue
        ran.append(rule_id)
        found.extend(function(facts, config, memory))
    found.sort(key=f.sort_key)
    return tuple(ran), found
