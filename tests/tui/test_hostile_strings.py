"""What reports and registrations say reaches the screen escaped: a terminal escape, a bell
or a right-to-left override in a Kafka version, a configuration value, a host name or a
bundle's cluster id is shown as `\\x1b`, `\\x07`, `\\u202e`, never sent to the terminal."""

from __future__ import annotations

import dataclasses

import pytest

from engine.cluster.model import Endpoint
from engine.reading.detail import report_sections
from engine.reporting.records import encode
from tools.console_fake import NOW, FakeBackend, _report, enhanced_record, settle
from tui.app import ConsoleApp
from tui.config import ConsoleConfig
from tui.model import ClusterSnapshot

pytestmark = [pytest.mark.anyio]

SIZE = (160, 50)
TITLE = "\x1b]0;owned\x07"  # sets the terminal's title
CLEAR = "\x1b[2J"  # clears the screen
RLO = "\u202e"  # shows what follows backwards


def _hostile_record() -> dict:
    record = enhanced_record(2, 30)
    record["kafkaVersion"] = "3.9" + TITLE
    record["brokerMetrics"]["brokerConfiguration"]["log.dirs"] = "/data" + CLEAR + RLO
    return record


class HostileBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__()
        value = encode(_hostile_record(), "enhanced")
        self.reports.append(_report(len(self.reports), 2, value, int(NOW) - 29))

    def snapshot(self, known=()) -> ClusterSnapshot:
        snap = super().snapshot(known)
        first = snap.brokers[0]
        snap.brokers[0] = dataclasses.replace(first, endpoints=(
            Endpoint("PLAINTEXT", "PLAINTEXT", "kafka-1" + CLEAR, 9092),))
        return snap


def _raw_controls(svg: str) -> list[str]:
    return [c for c in ("\x1b", "\x07", RLO) if c in svg]


def test_report_sections_escape_keys_and_values():
    rows = [row for s in report_sections(_hostile_record(), NOW) for row in s.rows]
    shown = " ".join(k + " " + v for k, v in rows)
    assert _raw_controls(shown) == []
    assert "3.9\\x1b]0;owned\\x07" in shown and "/data\\x1b[2J\\u202e" in shown


async def test_the_console_never_sends_a_report_s_controls_to_the_terminal(tmp_path):
    config = ConsoleConfig(zookeeper="zk-1:2181/kafka")
    app = ConsoleApp(config, HostileBackend(), clock=lambda: NOW, watch=False)
    app.workdir = tmp_path
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        cluster = app.export_screenshot()
        assert _raw_controls(cluster) == []
        assert "3.9\\x1b]0;owned\\x07" in cluster  # broker 2's Kafka version, escaped
        assert "kafka-1\\x1b[2J" in cluster  # broker 1's listener
        await pilot.press("2")
        await settle(pilot)
        for _ in range(6):  # down to broker 2's latest report, the hostile one
            if "log.dirs" in app.export_screenshot():
                break
            await pilot.press("down")
            await settle(pilot)
        screen = app.export_screenshot()
        assert "log.dirs" in screen
        assert _raw_controls(screen) == []
        assert "\\x1b]0;owned\\x07" in screen and "/data\\x1b[2J\\u202e" in screen
