"""A decoded report in words (engine/reading/detail.py) and on the console's grid
(tui/widgets/report_detail.py): headings, values beside keys, nothing decoded hidden."""

from __future__ import annotations

import io

from rich.console import Console

from engine.reading.detail import (
    BROKER_CONFIGURATION,
    BROKER_STATISTICS,
    CLUSTER_METRICS,
    IDENTITY,
    JVM,
    OTHER,
    compact_list,
    describe,
    histogram,
    report_sections,
)
from tools.console_fake import NOW, enhanced_record
from tui.widgets.report_detail import fold_key, report_detail


def _rows(sections) -> dict[str, dict[str, str]]:
    return {s.title: dict(s.rows) for s in sections}


def test_an_enhanced_report_is_grouped_under_its_headings():
    sections = report_sections(enhanced_record(1, 600), NOW)
    titles = [s.title for s in sections]
    assert titles == [IDENTITY, BROKER_CONFIGURATION, JVM, BROKER_STATISTICS,
                      CLUSTER_METRICS, "ZooKeeper server 1 of 1"]
    rows = _rows(sections)
    assert rows[IDENTITY]["timestamp"] == "2026-09-21 14:03:20 UTC (10m00s ago)"
    assert rows[IDENTITY]["collectorState"] == "Running (2)"
    assert rows[IDENTITY]["confluentPlatformVersion"] == "7.9.0"
    # Keys under a heading lose the path the heading says, and keep their own dots.
    assert rows[BROKER_CONFIGURATION]["transaction.state.log.replication.factor"] == "3"
    assert list(rows[BROKER_CONFIGURATION]) == sorted(rows[BROKER_CONFIGURATION])
    assert rows[JVM]["jvmUptimeMs"] == "3d00h"
    assert rows[JVM]["freeMemoryBytes"] == "unknown"  # -1: not observed
    assert rows[JVM]["maxMemoryBytes"] == "1.0 GiB"
    assert rows[JVM]["java.version"] == "17.0.15"
    assert rows[BROKER_STATISTICS]["bytesInRate"] == "12.0 KiB/s"
    assert rows[BROKER_STATISTICS]["bytesOutRate"] == "unknown"
    assert rows[CLUSTER_METRICS]["replicationHistogram"] == "0:0 1:2 2:0 3:17 4:0 5+:0"
    assert rows[CLUSTER_METRICS]["uncleanLeaderElectionHistogram"] == "false:19 true:0"
    assert rows["ZooKeeper server 1 of 1"]["Mode"] == "leader"
    assert OTHER not in rows


def test_every_decoded_field_is_shown_somewhere():
    record = enhanced_record(2, 60)
    record["brokerMetrics"]["somethingNew"] = {"depth": [1, 2]}
    record["futureField"] = None
    sections = report_sections(record, NOW)
    other = _rows(sections)[OTHER]
    assert other["brokerMetrics.somethingNew.depth"] == "[1, 2]"
    assert other["futureField"] == "none"
    # A record of another schema: every field, under "other fields".
    assert _rows(report_sections({"amount": 42, "currency": "EUR"}, NOW)) == {
        OTHER: {"amount": "42", "currency": "EUR"}}


def test_values_in_words():
    assert histogram([-1] * 6, "minIsrHistogram") == "unknown"
    assert histogram([3, -1], "x") == "0:3 1:?"
    assert compact_list(list(range(40))).endswith(", ... (40 items)]")
    assert compact_list([]) == "(empty)"
    assert describe("jvmStartTimeMs", -1, NOW) == "unknown"
    assert describe("collectorState", 7, NOW) == "unknown (7)"
    assert describe("timestamp", int(NOW) + 120, NOW).endswith("(in 2m00s)")
    assert describe("timestamp", 10**20, NOW).endswith("(out of range)")
    assert describe("x", None, NOW) == "none" and describe("x", True, NOW) == "true"
    assert describe("readBytes", 812, NOW) == "812 B"


def test_basic_reports_have_identity_only():
    record = {"timestamp": int(NOW), "kafkaVersion": "3.9.2",
              "confluentPlatformVersion": None, "collectorState": 1,
              "brokerProcessUUID": "t", "clusterId": "c"}
    (identity,) = report_sections(record, NOW)
    assert dict(identity.rows)["confluentPlatformVersion"] == "none"
    assert dict(identity.rows)["collectorState"] == "ShuttingDown (1)"


def test_long_keys_fold_after_a_dot_and_values_sit_beside_them():
    key = "confluent.support.metrics.report.interval.hours"
    folded = fold_key(key, 24).plain.split("\n")
    assert folded == ["confluent.support.", "  metrics.report.", "  interval.hours"]
    assert "".join(line.strip() for line in folded) == key
    assert fold_key("short", 24).plain == "short"
    assert all(len(line) <= 10 for line in fold_key("averyveryverylongpart.x", 10).plain
               .split("\n"))
    for width in (80, 120):
        out = io.StringIO()
        console = Console(width=width, file=out, color_system=None)
        console.print(report_detail(enhanced_record(1, 600), NOW, width))
        lines = out.getvalue().splitlines()
        assert all(len(line) <= width for line in lines)
        line = next(x for x in lines if x.lstrip().startswith("num.io.threads"))
        assert line.split()[-1] == "8", line  # the value on the key's own line
