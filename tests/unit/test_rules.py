"""The rules over reports (engine/reading/rules.py): pure data in, answers out; properties
checked over many orders and shapes of input with hypothesis."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.reading import rules
from engine.reading.report import (
    BY_ENHANCED,
    BY_HEADER,
    BY_TOKEN,
    ReportSummary,
)
from engine.reading.report_log import ReportLog

BASIC = "SupportKafkaMetricsBasic"
ENHANCED = "SupportKafkaMetricsEnhanced"
DAY = 86_400


def rep(offset: int, t: int | None, broker: int | None = None, token: str | None = "a",
        state: int | None = 2, schema: str | None = BASIC, error: str | None = None,
        partition: int | None = 0, by: str | None = None) -> ReportSummary:
    if broker is not None and by is None:
        by = BY_HEADER
    return ReportSummary(partition=partition, offset=offset, time_s=t, broker_id=broker,
                         attributed_by=by, token=token if error is None else None,
                         state=state if error is None else None,
                         schema=schema if error is None else None, error=error,
                         kafka_ms=None if t is None else t * 1000 + 5)


# ------------------------------------------------------------------------------ ordering

def test_newer_is_collected_time_then_position_never_reading_order():
    early_written_late = rep(9, 100)  # a spooled report resent after an outage
    late = rep(3, 200)
    assert rules.newer(late, early_written_late)
    assert rules.in_order([late, early_written_late]) == [early_written_late, late]
    same_time = [rep(5, 100, partition=1), rep(7, 100, partition=0), rep(6, 100, partition=0)]
    assert [r.offset for r in rules.in_order(same_time)] == [6, 7, 5]
    undated = rep(1, None, error="truncated", partition=None)  # a bundle's undecodable entry
    assert rules.in_order([rep(0, 1, partition=None), undated])[0] is undated


def test_the_time_of_an_undecodable_record_is_kafkas():
    bad = ReportSummary(partition=0, offset=2, kafka_ms=5_000, error="truncated",
                        broker_id=1, attributed_by=BY_HEADER)
    assert bad.collected_ms == 5_000
    assert rules.newer(bad, rep(1, 4, broker=1))


# ------------------------------------------------------------------------------ attribution

def test_a_basic_report_belongs_to_the_broker_that_owns_its_token():
    basic = rep(0, 10, token="t1")  # CP's Basic report: no header, no brokerId
    enhanced = rep(1, 20, broker=4, token="t1", schema=ENHANCED, by=BY_ENHANCED)
    other = rep(2, 30, token="t2")
    stray = rep(3, None, error="bad magic")
    done = rules.attribute([basic, enhanced, other, stray])
    assert (done[0].broker_id, done[0].attributed_by) == (4, BY_TOKEN)
    assert done[1] is enhanced and done[2] is other and done[3] is stray
    assert rules.subject_of(done[2]) == rules.Subject(None, "t2")
    assert rules.subject_of(stray) is None


def test_a_token_claimed_by_two_brokers_belongs_to_neither():
    claims = [rep(0, 1, broker=1, token="copied"), rep(1, 2, broker=2, token="copied"),
              rep(2, 3, token="copied")]
    assert rules.attribute(claims)[2].broker_id is None
    owners = rules.token_owners(claims)
    assert owners.owner("copied") is None
    # Attribution by token never teaches an owner: only what a record says itself does.
    owners = rules.TokenOwners()
    owners.learn(rep(0, 1, broker=7, token="x", by=BY_TOKEN))
    assert owners.owner("x") is None


# ------------------------------------------------------------------------------ latest

def test_latest_orders_brokers_then_token_groups_then_strays():
    reports = [rep(0, 5, broker=2, token="b"), rep(1, 9, token="z"), rep(2, 7, broker=1),
               rep(3, None, error="x"), rep(4, 6, broker=2, token="b"), rep(5, 8, token="y"),
               rep(6, 1, broker=2, token="b")]
    latest = rules.latest_per_subject(reports)
    assert [(r.broker_id, r.token, r.offset) for r in latest] == [
        (1, "a", 2), (2, "b", 4), (None, "y", 5), (None, "z", 1), (None, None, 3)]
    assert rules.latest_of(reports, 2) == reports[4]
    assert rules.latest_of(reports, 9) is None
    assert rules.latest_per_subject(reports, max_strays=0)[-1].token == "z"


def test_latest_returns_reports_of_the_type_fed():
    log = ReportLog([rep(0, 1, broker=1), rep(1, 2, broker=1)])
    (only,) = rules.latest_per_subject(log)
    assert only.offset == 1 and type(only) is ReportSummary


# Small worlds: a few brokers, tokens and times, so that collisions (same time, same
# token, stated and unstated reports of one token) are common.
@st.composite
def worlds(draw) -> list[ReportSummary]:
    count = draw(st.integers(0, 25))
    out = []
    for offset in range(count):
        kind = draw(st.sampled_from(["header", "enhanced", "basic", "undecodable"]))
        t = draw(st.one_of(st.none(), st.integers(0, 6)))
        token = draw(st.sampled_from(["t1", "t2", "t3", None]))
        broker = draw(st.integers(1, 3))
        partition = draw(st.integers(0, 1))
        if kind == "header":
            out.append(rep(offset, t, broker=broker, token=token, partition=partition))
        elif kind == "enhanced":
            out.append(rep(offset, t, broker=broker, token=token, schema=ENHANCED,
                           by=BY_ENHANCED, partition=partition))
        elif kind == "basic":
            out.append(rep(offset, t, token=token, partition=partition))
        else:
            header = draw(st.booleans())
            out.append(rep(offset, t, broker=broker if header else None, error="bad",
                           partition=partition))
    return out


@settings(max_examples=300, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_latest_is_the_newest_of_each_history_whatever_the_input_order(world, rnd):
    shuffled = list(world)
    rnd.shuffle(shuffled)
    latest = rules.latest_per_subject(shuffled)
    groups = rules.histories(world)
    expected = {s: h[-1] for s, h in groups.items() if s is not None}
    got = {rules.subject_of(r): r for r in latest if rules.subject_of(r) is not None}
    assert got == expected
    for subject, history in groups.items():
        if subject is not None:
            assert history[-1] == max(history, key=rules.order_key)
            assert history == sorted(history, key=rules.order_key)
    # Strays are every report that names neither broker nor token, in position order.
    assert [r for r in latest if rules.subject_of(r) is None] == groups.get(None, [])
    # Fed one at a time (the topic's backward scan) or whole: the same answer.
    one_by_one: rules.Latest[ReportSummary] = rules.Latest()
    for report in reversed(shuffled):
        one_by_one.add(report)
    assert one_by_one.result() == latest
    assert one_by_one.brokers() == {s.broker_id for s in expected if s.broker_id is not None}
    for broker in (1, 2, 3):
        history = rules.history(world, broker)
        assert rules.latest_of(shuffled, broker) == (history[-1] if history else None)
        assert one_by_one.of(broker) == (history[-1] if history else None)


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_attribution_never_moves_a_report_that_names_its_broker(world):
    for before, after in zip(world, rules.attribute(world), strict=True):
        if before.broker_id is not None:
            assert after is before
        elif after.broker_id is not None:
            assert after.attributed_by == BY_TOKEN and after.token == before.token
            assert dataclasses.replace(after, broker_id=None, attributed_by=None) == before


# ------------------------------------------------------------------------------ events

def test_each_event_between_consecutive_reports_with_positions_and_time():
    interval = float(DAY)
    grace = rules.grace_for(interval)  # 8640 s
    t0 = 1_790_000_000
    history = [
        rep(0, t0, broker=1, token="a"),
        rep(1, t0 + DAY, broker=1, token="a"),                       # on time
        rep(2, t0 + 2 * DAY + int(grace), broker=1, token="a"),      # exactly the limit
        rep(3, t0 + 3 * DAY + int(grace) + 1, broker=1, token="b"),  # restart
        rep(4, t0 + 3 * DAY + int(grace) + 2, broker=1, token="b", schema=ENHANCED),
        rep(5, t0 + 4 * DAY, broker=1, token="b", state=1, schema=ENHANCED),  # shutdown
        rep(6, t0 + 6 * DAY, broker=1, error="truncated"),           # gap, undecodable
        rep(7, t0 + 6 * DAY + 60, broker=1, token="b", schema=ENHANCED),
    ]
    found = rules.events(history, interval)
    assert [(e.kind, e.before.offset if e.before else None, e.after.offset)
            for e in found] == [
        (rules.RESTART, 2, 3), (rules.SCHEMA_CHANGE, 3, 4), (rules.SHUTDOWN, 4, 5),
        (rules.GAP, 5, 6), (rules.UNDECODABLE, 5, 6)]
    gap = found[3]
    assert gap.seconds == 2 * DAY
    assert all(e.at_ms == e.after.collected_ms for e in found)
    assert "0@3 -> 0@4" in found[1].describe() and "Basic -> Enhanced" in found[1].describe()
    assert "gap: no report for 2d00h" in gap.describe()
    # The undecodable record between two reports of token b is no restart, and the
    # report after it compares with the last good one (same token, same schema).
    assert not [e for e in found if e.after.offset == 7]


def test_a_gap_is_longer_than_interval_plus_grace():
    limit = int(rules.overdue_after_s(3600))
    at_limit = [rep(0, 0, broker=1), rep(1, limit, broker=1)]
    past_limit = [rep(0, 0, broker=1), rep(1, limit + 1, broker=1)]
    assert rules.events(at_limit, 3600) == []
    assert [e.kind for e in rules.events(past_limit, 3600)] == [rules.GAP]


def test_a_history_that_starts_with_a_shutdown_or_undecodable_record():
    found = rules.events([rep(0, 1, broker=1, state=1), rep(1, 2, broker=1, error="x")])
    assert [(e.kind, e.before) for e in found][0] == (rules.SHUTDOWN, None)
    assert found[1].kind == rules.UNDECODABLE and found[1].before.offset == 0


def test_no_events_in_a_steady_history():
    steady = [rep(n, 1_790_000_000 + n * 3600, broker=1) for n in range(48)]
    assert rules.events(steady, interval_s=3600) == []


# ------------------------------------------------------------------------------ overdue

def test_grace_is_ten_percent_of_the_interval_and_at_least_a_minute():
    assert rules.grace_for(300) == 60
    assert rules.grace_for(DAY) == DAY * 0.1
    assert rules.overdue_after_s(DAY) == 95_040
    assert rules.overdue_after_s(600, grace_s=5) == 605


def test_overdue_is_older_than_interval_plus_grace():
    report = rep(0, 1_000_000, broker=1)
    limit = rules.overdue_after_s(3600)  # 3960 s
    assert not rules.is_overdue(report, 1_000_000 + limit, 3600)
    assert rules.is_overdue(report, 1_000_000 + limit + 0.5, 3600)
    assert rules.age_s(report, 1_000_010) == 10
    undated = rep(1, None, error="bad", partition=None)
    assert rules.age_s(undated, 0) is None and rules.is_overdue(undated, 0)
