"""The report model: what `build_report` takes from a record, and `ReportLog` holding
summaries compactly (pure data, no cluster)."""

from __future__ import annotations

import tracemalloc
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.reading.report import (
    BY_ENHANCED,
    BY_HEADER,
    Report,
    ReportSummary,
    build_report,
)
from engine.reading.report_log import ReportLog
from engine.reporting.records import encode
from tests.support.cp_records import GARBAGE, cp30_basic, cp30_enhanced

TOKEN = "11111111-1111-4111-8111-111111111111"


def _basic(ts: int = 1_790_000_000, state: int = 2, token: str = TOKEN) -> bytes:
    return encode({"timestamp": ts, "kafkaVersion": "3.9.2",
                   "confluentPlatformVersion": "7.9.0", "collectorState": state,
                   "brokerProcessUUID": token, "clusterId": "clu"}, "basic")


def test_a_basic_record_with_our_headers():
    rid = str(uuid.uuid4())
    value = _basic()
    report = build_report(value, partition=0, offset=7, kafka_ms=1_790_000_001_000,
                          headers={"broker.id": b"3", "report.id": rid.encode()})
    assert isinstance(report, Report) and report.ok
    assert (report.broker_id, report.attributed_by) == (3, BY_HEADER)
    assert (report.token, report.state, report.state_name) == (TOKEN, 2, "Running")
    assert (report.kafka_version, report.cp_version, report.cluster_id) == \
        ("3.9.2", "7.9.0", "clu")
    assert report.collected_ms == 1_790_000_000_000  # its own field, not Kafka's time
    assert (report.position, report.size, report.report_id) == ("0@7", len(value), rid)
    assert report.schema_kind == "basic" and report.schema_short == "Basic"
    assert report.fields is not None and report.fields["timestamp"] == 1_790_000_000
    assert report.value == value
    summary = report.summary()
    assert type(summary) is ReportSummary and not hasattr(summary, "fields")
    assert summary == ReportSummary(**{k: getattr(report, k) for k in (
        "partition", "offset", "entry", "kafka_ms", "time_s", "broker_id", "attributed_by",
        "token", "state", "schema", "kafka_version", "cp_version", "cluster_id", "size",
        "error", "report_id")})


def test_enhanced_names_its_broker_and_the_header_wins():
    value = cp30_enhanced(broker_id=5, token=TOKEN)
    alone = build_report(value, partition=None, offset=0, entry="b.zip.0")
    assert (alone.broker_id, alone.attributed_by) == (5, BY_ENHANCED)
    assert alone.cluster_id == "NA" and alone.position == "entry 0" and alone.in_bundle
    headed = build_report(value, partition=0, offset=0, headers={"broker.id": b"6"})
    assert (headed.broker_id, headed.attributed_by) == (6, BY_HEADER)


def test_headers_that_name_no_broker_are_ignored():
    value = cp30_basic(token=TOKEN)
    for header in (b"-1", b"2147483648", b"1e3", b" ", b"\xff", b"9" * 300, b"true"):
        report = build_report(value, partition=0, offset=0, headers={"broker.id": header})
        assert report.broker_id is None and report.attributed_by is None, header


def test_undecodable_and_foreign_records_keep_what_is_true():
    bad = build_report(GARBAGE, partition=0, offset=4, kafka_ms=1_000)
    assert not bad.ok and bad.error and bad.schema_short == "undecodable"
    assert bad.token is None and bad.time_s is None and bad.collected_ms == 1_000
    assert bad.size == len(GARBAGE) and bad.fields is None
    null = build_report(None, partition=0, offset=5)
    assert not null.ok and null.size == 0 and null.collected_ms is None
    # A state outside 0..2 is not a state the summary can name; the fields keep it.
    odd = build_report(_basic(state=7), partition=0, offset=6)
    assert odd.state is None and odd.state_name is None and odd.fields["collectorState"] == 7


def test_bundle_positions_are_unique_keys_even_when_names_repeat():
    a = build_report(GARBAGE, partition=None, offset=0, entry="x.zip.1")
    b = build_report(GARBAGE, partition=None, offset=1, entry="y.zip.1")
    c = build_report(GARBAGE, partition=None, offset=2, entry="notes.txt")
    d = build_report(GARBAGE, partition=None, offset=3, entry="z." + "9" * 5000)
    assert a.position == b.position == "entry 1" and a.key != b.key
    assert c.position == "notes.txt"
    assert d.position.startswith("z.999")  # thousands of digits are a name, not a number


_text = st.one_of(st.none(), st.text(max_size=12))
summaries = st.builds(
    ReportSummary,
    partition=st.one_of(st.none(), st.integers(0, 2**31 - 1)),
    offset=st.integers(0, 2**62),
    entry=_text,
    kafka_ms=st.one_of(st.none(), st.integers(-(2**63) + 1, 2**63 - 1)),
    time_s=st.one_of(st.none(), st.integers(-(2**63) + 1, 2**63 - 1)),
    broker_id=st.one_of(st.none(), st.integers(0, 2**31 - 1)),
    attributed_by=st.sampled_from([None, "header", "enhanced", "token"]),
    token=st.one_of(st.none(), st.sampled_from([TOKEN, "t2"]), st.text(max_size=40)),
    state=st.sampled_from([None, 0, 1, 2]),
    schema=st.sampled_from([None, "SupportKafkaMetricsBasic", "SupportKafkaMetricsEnhanced",
                            "Payment"]),
    kafka_version=_text, cp_version=_text, cluster_id=_text,
    size=st.integers(0, 2**40),
    error=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    report_id=st.one_of(st.none(), st.uuids().map(str), st.text(max_size=40),
                        st.uuids().map(lambda u: str(u).upper())),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(summaries, max_size=30))
def test_a_log_gives_back_what_was_appended(items):
    log = ReportLog(items)
    assert len(log) == len(items)
    assert list(log) == items
    assert [log[i] for i in range(-len(items), 0)] == items
    assert log[1:4] == items[1:4]


def test_a_log_refuses_out_of_range_indexes():
    log = ReportLog([ReportSummary(partition=0, offset=0)])
    for index in (1, -2):
        try:
            log[index]
        except IndexError:
            continue
        raise AssertionError(f"index {index} gave a row")


def test_a_log_drops_fields_and_bytes():
    report = build_report(_basic(), partition=0, offset=1, headers={"broker.id": b"1"})
    (back,) = ReportLog([report])
    assert back == report.summary()


def test_a_hundred_thousand_summaries_take_little_memory():
    """The console holds a broker's history: a million summaries must fit well under
    300 MB with the rest of the console. Measured here on 100,000 of our reports (each
    with its own report id, offset and times): at most 100 bytes each."""
    template = build_report(_basic(), partition=0, offset=0, kafka_ms=1_790_000_000_000,
                            headers={"broker.id": b"1"}).summary()
    rows = 100_000
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        log = ReportLog()
        for n in range(rows):
            log.append(ReportSummary(
                partition=0, offset=n, kafka_ms=1_790_000_000_000 + n * 1000,
                time_s=1_790_000_000 + n, broker_id=1, attributed_by="header",
                token=template.token, state=2, schema=template.schema,
                kafka_version="3.9.2", cp_version="7.9.0", cluster_id="clu",
                size=template.size, report_id=str(uuid.uuid4())))
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    held = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert held / rows <= 100, f"{held / rows:.0f} bytes per summary"
    assert log.nbytes / rows <= 100
    assert log[rows - 1].offset == rows - 1
