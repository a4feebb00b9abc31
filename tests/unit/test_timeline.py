"""The timeline strip (engine/reading/timeline.py), the search text a filter matches and
its column-level fast path (ReportLog.matching), and following the latest reports."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.reading import rules
from engine.reading.report import ReportSummary
from engine.reading.report_log import ReportLog
from engine.reading.timeline import LEGEND, build_timeline, count_arrivals

HOUR_MS = 3_600_000


def rep(offset: int, hours: int, token: str = "a", state: int = 2, broker: int = 1,
        error: str | None = None) -> ReportSummary:
    return ReportSummary(partition=0, offset=offset, time_s=hours * 3600,
                         kafka_ms=hours * HOUR_MS, broker_id=broker, attributed_by="header",
                         token=None if error else token, state=None if error else state,
                         schema=None if error else "SupportKafkaMetricsBasic", error=error)


def test_the_strip_shows_arrivals_gaps_restarts_and_shutdowns():
    reports = [rep(0, 0), rep(1, 1), rep(2, 2, state=1), rep(3, 3, token="b"),
               rep(4, 9, token="b"), rep(5, 10, error="bad magic")]
    found = rules.events(reports, interval_s=3600)
    strip = build_timeline([r.kafka_ms for r in reports], found, 0, 10 * HOUR_MS, 10)
    assert strip.arrivals == 6 and strip.cell_seconds == 3600
    # An hour a cell; the last cell holds two (the end of the span falls in it).
    assert strip.arrivals_line() == "▄▄▄▄·····█"
    assert strip.marks_line() == "  SR-----X"  # the silent hours end to end
    assert "R restart" in LEGEND


def test_counts_clamp_into_the_span_and_unread_stretches_show():
    assert count_arrivals([-5, 0, 5, 10, 99], 0, 10, 2) == [2, 3]
    strip = build_timeline([], [], 0, 100, 4, unread=[(0, 50)])
    assert [c.known for c in strip.cells] == [False, False, True, True]
    assert strip.arrivals_line() == "  ··"
    assert strip.ascii_arrivals_line() == "??  "
    assert build_timeline([5], [], 5, 5, 3).arrivals == 1  # a span of one instant


_text = st.one_of(st.none(), st.sampled_from(["a", "B", "3.9.2", "x@1", "tok 5"]))
rows = st.builds(
    ReportSummary, partition=st.one_of(st.none(), st.integers(0, 3)),
    offset=st.integers(0, 500), entry=st.one_of(st.none(), st.sampled_from(["b.zip.12", "n"])),
    broker_id=st.one_of(st.none(), st.integers(0, 12)),
    token=_text, state=st.sampled_from([None, 1, 2]),
    schema=st.sampled_from([None, "SupportKafkaMetricsBasic", "Other"]),
    kafka_version=_text, cp_version=_text, error=st.one_of(st.none(), st.just("Truncated")))


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, max_size=25), st.sampled_from(["", "0@1", "@", "1 ", " basic", "b",
                                                       "entry 1", "tok", "3.9", "- b",
                                                       "runn", "undecodable"]))
def test_the_fast_filter_matches_what_the_search_text_says(items, text):
    log = ReportLog(items)
    assert log.matching(text) == [i for i, r in enumerate(items) if text in r.search_text]
    assert log.matching(text, 2, 5) == [i for i in range(2, min(5, len(items)))
                                        if text in items[i].search_text]


def test_following_the_topic_merges_new_reports_into_the_latest():
    held = rules.latest_per_subject([rep(0, 1), rep(1, 1, broker=2)])
    arrived = [rep(2, 2), rep(3, 3, broker=3), rep(4, 0, broker=2)]  # 4: an old resend
    merged = rules.latest_with(held, arrived, max_strays=20)
    assert [(r.broker_id, r.offset) for r in merged] == [(1, 2), (2, 1), (3, 3)]
    assert rules.span_ms(arrived) == (0, 3 * HOUR_MS)
    assert rules.span_ms([ReportSummary(partition=0, offset=0)]) is None
