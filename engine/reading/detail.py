"""A decoded report as people read it: its fields grouped under headings, each value in
words beside its key.

The headings follow what a support engineer looks for: identity (who sent it, when, from
which runtime), broker configuration, JVM, broker statistics, cluster metrics. Under a
heading a key loses the path its heading already says (`brokerMetrics.brokerConfiguration.
num.io.threads` reads `num.io.threads`). Values are worded once here for every view (the
console's detail pane and Report now's preview, `ps-console reports`): times as a UTC
date and an age, `-1` (the collector's "could not observe") as `unknown`, byte counts in
binary units, histograms as `bucket:count` pairs, a missing optional value as `none`.

Fields of another schema, or that this project's schemas do not hold, are kept under
"other fields" with their dotted paths: nothing decoded is hidden.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from engine.reading.report import STATE_NAMES
from engine.text import duration, format_size, printable

UNKNOWN: Final = -1  # the collector writes it for every figure it cannot observe
HISTOGRAM_OVERFLOW: Final = 5  # the last bucket of our histograms counts "5 or more"

IDENTITY: Final = "identity"
BROKER_CONFIGURATION: Final = "broker configuration"
JVM: Final = "JVM"
BROKER_STATISTICS: Final = "broker statistics"
CLUSTER_METRICS: Final = "cluster metrics"
OTHER: Final = "other fields"

# Top-level fields by heading, in the order they are shown.
_IDENTITY_FIELDS = ("timestamp", "brokerId", "clusterId", "kafkaVersion",
                    "confluentPlatformVersion", "collectorState", "brokerProcessUUID")
_JVM_FIELDS = ("jvmStartTimeMs", "jvmUptimeMs")
# Points in time (and their unit in seconds), durations in ms, byte counts, rates.
_TIMES = {"timestamp": 1.0, "jvmStartTimeMs": 0.001}
_DURATIONS_MS = frozenset({"jvmUptimeMs"})
_BYTES = frozenset({"freeMemoryBytes", "maxMemoryBytes", "totalMemoryBytes", "writtenBytes",
                    "readBytes"})
_RATES = frozenset({"bytesInRate", "bytesOutRate"})
# Histograms: how their buckets are named.
_HISTOGRAMS = {"replicationHistogram": "replicas", "minIsrHistogram": "min.insync.replicas",
               "uncleanLeaderElectionHistogram": "unclean election"}
_UNCLEAN_BUCKETS = ("false", "true")
# Longest list shown whole; a longer one shows its first items and a count.
_MAX_LIST_ITEMS = 32


@dataclass(frozen=True, slots=True)
class Section:
    """One heading and its (key, value) rows; `level` 2 is a sub-heading (a ZooKeeper
    server under cluster metrics)."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    level: int = 1


def report_sections(fields: Mapping[str, Any], now: float) -> list[Section]:
    """The decoded record `fields` grouped and worded (see the module docstring); empty
    headings are left out. `now` (Unix seconds) is what ages are measured against."""
    rest = dict(fields)
    identity = Section(IDENTITY)
    for name in _IDENTITY_FIELDS:
        if name in rest:
            identity.rows.append((name, describe(name, rest.pop(name), now)))
    jvm = Section(JVM)
    for name in _JVM_FIELDS:
        if name in rest:
            jvm.rows.append((name, describe(name, rest.pop(name), now)))
    config = Section(BROKER_CONFIGURATION)
    stats = Section(BROKER_STATISTICS)
    cluster = Section(CLUSTER_METRICS)
    zookeepers: list[Section] = []
    other = Section(OTHER)
    metrics = rest.pop("brokerMetrics", None)
    if isinstance(metrics, Mapping):
        metrics = dict(metrics)
        _map_rows(config, metrics.pop("brokerConfiguration", None))
        runtime = metrics.pop("jvmRuntimeEnvironment", None)
        if isinstance(runtime, Mapping):
            jvm.rows.extend([(k, describe(k, v, now)) for k, v in runtime.items()])
        elif runtime is not None:
            other.rows.append(("brokerMetrics.jvmRuntimeEnvironment",
                               describe("", runtime, now)))
        props = metrics.pop("javaSystemProperties", None)
        if isinstance(props, Mapping):
            jvm.rows.extend(sorted((str(k), _text(v)) for k, v in props.items()))
        elif props is not None:
            other.rows.append(("brokerMetrics.javaSystemProperties", describe("", props, now)))
        statistics = metrics.pop("brokerStatistics", None)
        if isinstance(statistics, Mapping):
            stats.rows.extend([(k, describe(k, v, now)) for k, v in statistics.items()])
        elif statistics is not None:
            other.rows.append(("brokerMetrics.brokerStatistics",
                               describe("", statistics, now)))
        other.rows.extend(_flat_rows(metrics, "brokerMetrics.", now))
    elif metrics is not None:
        other.rows.append(("brokerMetrics", describe("", metrics, now)))
    cluster_metrics = rest.pop("clusterMetrics", None)
    if isinstance(cluster_metrics, Mapping):
        for name, value in cluster_metrics.items():
            if name == "zookeeperStats" and isinstance(value, list):
                if not value:
                    cluster.rows.append((name, "none"))
                for n, server in enumerate(value, 1):
                    sub = Section(f"ZooKeeper server {n} of {len(value)}", level=2)
                    _map_rows(sub, server, sort=False)
                    zookeepers.append(sub)
            else:
                cluster.rows.append((name, describe(name, value, now)))
    elif cluster_metrics is not None:
        other.rows.append(("clusterMetrics", describe("", cluster_metrics, now)))
    other.rows.extend(_flat_rows(rest, "", now))
    sections = [identity, config, jvm, stats, cluster]
    out = [s for s in sections if s.rows]
    if zookeepers:
        if not cluster.rows:
            out.append(cluster)
        out += zookeepers
    if other.rows:
        out.append(other)
    # Keys and values are what a report says: never raw control characters on a terminal.
    for section in out:
        section.rows[:] = [(printable(k), printable(v)) for k, v in section.rows]
    return out


def _map_rows(section: Section, value: object, sort: bool = True) -> None:
    if value is None:
        section.rows.append(("(not sent)", "none"))
        return
    if not isinstance(value, Mapping):
        section.rows.append(("(value)", _text(value)))
        return
    items = [(str(k), _text(v)) for k, v in value.items()]
    section.rows.extend(sorted(items) if sort else items)


def _flat_rows(record: Mapping[str, Any], prefix: str, now: float
               ) -> Iterator[tuple[str, str]]:
    for name, value in record.items():
        path = f"{prefix}{name}"
        if isinstance(value, Mapping) and value:
            yield from _flat_rows(value, path + ".", now)
        else:
            yield path, describe(str(name), value, now)


def describe(name: str, value: object, now: float) -> str:
    """One field's value in words, by the field's (last) name: see the module docstring."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in _HISTOGRAMS and isinstance(value, list):
        return histogram(value, name)
    if isinstance(value, int) and value == UNKNOWN and name in _KNOWN_NUMBERS:
        return "unknown"
    if isinstance(value, float) and value == UNKNOWN and name in _RATES:
        return "unknown"
    if name in _TIMES and isinstance(value, int):
        return when(value * _TIMES[name], now)
    if name in _DURATIONS_MS and isinstance(value, int):
        return duration(value / 1000)
    if name == "collectorState" and isinstance(value, int):
        return f"{STATE_NAMES.get(value, 'unknown')} ({value})"
    if name in _BYTES and isinstance(value, int):
        return format_size(value) if value >= 1024 else f"{value} B"
    if name in _RATES and isinstance(value, float | int):
        return f"{format_size(int(value))}/s" if math.isfinite(value) and value >= 0 \
            else str(value)
    if isinstance(value, list):
        return compact_list(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "(empty)"
    return _text(value)


# Numeric fields where -1 means "not observed" (every number the collector measures).
_KNOWN_NUMBERS = frozenset({"jvmStartTimeMs", "jvmUptimeMs", "availableProcessors",
                            "numPartitions", "numberTopics", "numberPartitions",
                            "numberTopicsZk"}) | _BYTES


def _text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def histogram(counts: list[Any], name: str = "") -> str:
    """`0:3 1:0 2:12 3:0 4:0 5+:1`: each bucket and its count (the last bucket of a
    six-bucket histogram counts 5 or more); the unclean-election histogram's two buckets
    are `false` and `true`; all buckets -1 reads `unknown`."""
    if counts and all(c == UNKNOWN for c in counts):
        return "unknown"
    if name == "uncleanLeaderElectionHistogram" and len(counts) == len(_UNCLEAN_BUCKETS):
        labels = list(_UNCLEAN_BUCKETS)
    else:
        labels = [str(i) for i in range(len(counts))]
        if len(counts) == HISTOGRAM_OVERFLOW + 1:
            labels[-1] = f"{HISTOGRAM_OVERFLOW}+"
    return " ".join(f"{label}:{'?' if c == UNKNOWN else c}"
                    for label, c in zip(labels, counts, strict=True)) or "(empty)"


def compact_list(values: list[Any]) -> str:
    """A list on one line, its first items and a count when it is long."""
    if not values:
        return "(empty)"
    shown = ", ".join(_text(v) for v in values[:_MAX_LIST_ITEMS])
    if len(values) > _MAX_LIST_ITEMS:
        shown += f", ... ({len(values)} items)"
    return f"[{shown}]"


def when(seconds: float, now: float) -> str:
    """`2026-09-21 12:53:20 UTC (3h05m ago)`; the number itself when out of range."""
    try:
        stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{seconds:g} (out of range)"
    age = now - seconds
    return f"{stamp} ({duration(age)} ago)" if age >= 0 else \
        f"{stamp} (in {duration(-age)})"
