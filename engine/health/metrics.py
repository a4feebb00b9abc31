"""The health evaluation as Prometheus metrics, through `prometheus_client` (the text and
OpenMetrics exposition formats are the library's, not written here).

`EvaluationCollector` turns whatever evaluation its source returns into metric families
at each scrape; it never evaluates, so a scrape costs the rendering of a cached result.
Metric names start with `ps_console_`; `up` is Prometheus's own, so a registered broker
is `ps_console_broker_up`.

    ps_console_evaluation_timestamp_seconds   when the evaluation ran
    ps_console_evaluation_duration_seconds    how long it took
    ps_console_evaluation_success             1 when the cluster was reached
    ps_console_broker_up{broker}              1 registered, 0 known but not registered
    ps_console_report_age_seconds{broker}     age of the broker's latest report
    ps_console_last_report_timestamp_seconds{broker}
    ps_console_broker_info{broker,kafka_version,cp_version,schema}   always 1
    ps_console_finding{rule,severity,subject} 1 per finding
    ps_console_findings{severity}             how many findings of each severity
    ps_console_partitions                     partitions in the cluster
    ps_console_under_replicated_partitions, ps_console_offline_partitions,
    ps_console_under_min_isr_partitions
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from engine.health.monitor import Evaluation

PREFIX = "ps_console_"


class EvaluationCollector(Collector):
    """A custom collector over the latest evaluation (`source()`, None before the first)."""

    def __init__(self, source: Callable[[], Evaluation | None]) -> None:
        self._source = source

    def describe(self) -> list[Metric]:
        # No fixed description: the registry must not call collect() when registering.
        return []

    def collect(self) -> Iterator[Metric]:
        evaluation = self._source()
        if evaluation is None:
            return
        yield from families(evaluation)


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=labels)


def families(ev: Evaluation) -> Iterator[Metric]:
    """The metric families of one evaluation."""
    stamp = _gauge("evaluation_timestamp_seconds", "When the last health evaluation ran.")
    stamp.add_metric([], ev.evaluated_at)
    yield stamp
    took = _gauge("evaluation_duration_seconds", "How long the last evaluation took.")
    took.add_metric([], ev.duration_s)
    yield took
    success = _gauge("evaluation_success",
                     "1 when the last evaluation reached the cluster, else 0.")
    success.add_metric([], 1.0 if ev.reachable else 0.0)
    yield success
    if not ev.reachable:
        return

    up = _gauge("broker_up", "1 when the broker is registered, 0 when it is known (it "
                "reported, or was registered earlier) but is not.", ["broker"])
    age = _gauge("report_age_seconds", "Seconds since the broker's latest report was "
                 "collected, at the last evaluation.", ["broker"])
    last = _gauge("last_report_timestamp_seconds", "When the broker's latest report was "
                  "collected.", ["broker"])
    info = InfoMetricFamily(PREFIX + "broker", "The versions and schema of the broker's "
                            "latest report.", labels=["broker", "kafka_version",
                                                      "cp_version", "schema"])
    for broker in ev.brokers:
        label = str(broker.id)
        up.add_metric([label], 1.0 if broker.registered else 0.0)
        report = broker.latest
        if report is None:
            continue
        collected = report.collected_ms
        if collected is not None:
            last.add_metric([label], collected / 1000)
            age.add_metric([label], ev.evaluated_at - collected / 1000)
        info.add_metric([label], {"kafka_version": report.kafka_version or "",
                                  "cp_version": report.cp_version or "",
                                  "schema": report.schema_short})
    yield from (up, age, last, info)

    finding = _gauge("finding", "1 for each finding of the health rules.",
                     ["rule", "severity", "subject"])
    counts = _gauge("findings", "How many findings of each severity.", ["severity"])
    seen: set[tuple[str, str, str]] = set()
    for found in ev.findings:
        labels = (found.rule, found.severity, found.subject)
        if labels not in seen:  # two aspects of one rule and subject: one series
            seen.add(labels)
            finding.add_metric(list(labels), 1.0)
    for severity, count in ev.counts.items():
        counts.add_metric([severity], float(count))
    yield from (finding, counts)

    p = ev.partitions
    if p is not None:
        for name, doc, value in (
                ("partitions", "Partitions in the cluster.", p.partitions),
                ("under_replicated_partitions", "Partitions whose ISR is smaller than their "
                 "replica set.", p.under_replicated),
                ("offline_partitions", "Partitions without a leader.", p.offline),
                ("under_min_isr_partitions", "Partitions whose ISR is below their "
                 "min.insync.replicas.", p.under_min_isr)):
            gauge = _gauge(name, doc)
            gauge.add_metric([], float(value))
            yield gauge


def registry_for(source: Callable[[], Evaluation | None]) -> CollectorRegistry:
    """A registry holding only the evaluation collector (no process or GC metrics of
    this Python: the exporter describes the cluster, not itself)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EvaluationCollector(source))
    return registry


def render(evaluation: Evaluation, openmetrics: bool = False) -> bytes:
    """One evaluation in the Prometheus text format, or in OpenMetrics."""
    registry = registry_for(lambda: evaluation)
    if openmetrics:
        from prometheus_client.openmetrics.exposition import generate_latest as om_latest

        text: bytes = om_latest(registry)  # type: ignore[no-untyped-call]
        return text
    from prometheus_client import generate_latest

    return generate_latest(registry)
