"""A bundle as a report source: the per-broker story `ps-console open` prints, and the
console's offline adapter (no cluster, a real zip on disk)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from cli.main import main
from engine.errors import UsageError
from engine.reading.report import BY_ENHANCED, BY_TOKEN, Report
from tests.support.cp_records import GARBAGE, cp30_basic, cp30_enhanced
from tui.backend import BundleBackend

HOUR = 3600
T0 = 1_480_000_000


def _bundle(path: Path, values: list[bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, value in enumerate(values):
            zf.writestr(f"{path.name}.{n}", value)
    return path


@pytest.fixture
def story_zip(tmp_path: Path) -> Path:
    """Broker 1: Basic then Enhanced (token a), two hours of silence, a restart (token b)
    and a shutdown report; an unattributed Basic report; a garbage entry."""
    return _bundle(tmp_path / "story.zip", [
        cp30_basic(token="a", timestamp=T0),
        cp30_enhanced(broker_id=1, token="a", timestamp=T0 + HOUR),
        cp30_enhanced(broker_id=1, token="b", timestamp=T0 + 4 * HOUR),
        cp30_basic(token="lonely", timestamp=T0 + 4 * HOUR),
        cp30_enhanced(broker_id=1, token="b", timestamp=T0 + 5 * HOUR, state=1),
        GARBAGE,
    ])


def test_open_tells_each_brokers_story(story_zip, capsys):
    assert main(["open", str(story_zip), "--interval-hours", "1"]) == 0
    text = capsys.readouterr().out
    assert "story per broker (gaps: more than the interval of 1 h + grace)" in text
    assert "broker 1: 4 reports, latest entry 4 (Enhanced, ShuttingDown" in text
    assert "tokens: a (2), b (2)" in text
    lines = [line.strip() for line in text.splitlines()]
    events = [line.split("UTC  ", 1)[1] for line in lines if "UTC  " in line]
    assert events == ["schema Basic -> Enhanced (entry 0 -> entry 1)",
                      "restart: new broker token (entry 1 -> entry 2)",
                      "gap: no report for 3h00m (entry 1 -> entry 2)",
                      "shutdown report: the agent stopped (entry 2 -> entry 4)"]
    assert "token lonely: 1 report (no broker named)" in text
    # With the default interval (24 h) three hours of silence are no gap.
    assert main(["open", str(story_zip)]) == 0
    assert "gap:" not in capsys.readouterr().out


@pytest.mark.parametrize("hours", ["0", "-1", "nan", "inf", "soon"])
def test_open_refuses_an_interval_that_is_no_interval(story_zip, capsys, hours):
    with pytest.raises(SystemExit) as stop:
        main(["open", str(story_zip), "--interval-hours", hours])
    assert stop.value.code == 2
    assert "--interval-hours" in capsys.readouterr().err


def test_the_offline_adapter_reads_the_bundle_once_and_entries_again(story_zip):
    backend = BundleBackend(str(story_zip))
    try:
        latest = backend.latest_reports()
        assert [(r.broker_id, r.token, r.position) for r in latest] == [
            (1, "b", "entry 4"), (None, "lonely", "entry 3"), (None, None, "entry 5")]
        opened = backend.open_history(1, HOUR)
        newest_first = opened.rows(0, len(opened))
        history = list(reversed(newest_first))
        assert [(r.position, r.attributed_by) for r in history] == [
            ("entry 0", BY_TOKEN), ("entry 1", BY_ENHANCED), ("entry 2", BY_ENHANCED),
            ("entry 4", BY_ENHANCED)]
        # The same story as `open` tells, row by row: the events of each report.
        assert [[e.kind for e in opened.events_of(r)] for r in history] == [
            [], ["schema-change"], ["restart", "gap"], ["shutdown"]]
        strip = opened.timeline(20)
        assert strip is not None and strip.arrivals == 4
        assert strip.marks_line()[-1] == "S" and "-" in strip.marks_line()
        first = backend.report(history[0])
        assert isinstance(first, Report) and first.fields is not None
        assert first.fields["brokerProcessUUID"] == "a"
        assert (first.broker_id, first.attributed_by) == (1, BY_TOKEN)  # the listing's
        with zipfile.ZipFile(story_zip) as zf:
            assert backend.raw_value(history[0]) == zf.read("story.zip.0")
        assert len(backend.open_history(None, HOUR)) == 6
        # The zip was read once: the listings come from the summaries kept.
        assert backend.opened() is backend.opened()
        with pytest.raises(UsageError, match="needs a cluster"):
            backend.snapshot()
    finally:
        backend.close()


def test_open_escapes_what_the_bundle_says(tmp_path, capsys):
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hostile.zip.0", cp30_basic(token="\x1b]0;owned\x07", timestamp=T0))
        zf.writestr("\x1b[2Jwipe.zip.1", GARBAGE)
    assert main(["open", str(path)]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\x07" not in text
    assert "token \\x1b]0;owned\\x07: 1 report" in text
    assert "\\x1b[2Jwipe.zip.1:" in text
