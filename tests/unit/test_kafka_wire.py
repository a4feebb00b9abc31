"""The raw Kafka protocol pieces: DescribeQuorum answers as brokers write them, and garbage
that must end in one error, never a crash or a hang."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cluster.kafka_wire import Reader, WireError, compact_array, compact_string, uvarint
from engine.cluster.quorum import (
    METADATA_TOPIC,
    describe_quorum_request,
    parse_describe_quorum_v1,
)
from engine.errors import ConnectionFailure


def _member(node: int, leo: int, fetch: int = -1, caught_up: int = -1) -> bytes:
    return struct.pack(">iqqq", node, leo, fetch, caught_up) + b"\x00"


def _answer(leader: int = 2, voters=(1, 2, 3), observers=(4,), topic=METADATA_TOPIC,
            error: int = 0, partition_error: int = 0, tags: bytes = b"\x00") -> bytes:
    partition = (struct.pack(">ihiiq", 0, partition_error, leader, 7, 120)
                 + compact_array([_member(v, 120 - v) for v in voters])
                 + compact_array([_member(o, 100) for o in observers]) + tags)
    body = compact_string(topic) + compact_array([partition]) + b"\x00"
    return struct.pack(">h", error) + compact_array([body]) + b"\x00"


def test_a_quorum_answer_is_read_with_its_members_and_lags():
    quorum = parse_describe_quorum_v1(_answer())
    assert (quorum.leader_id, quorum.leader_epoch, quorum.high_watermark) == (2, 7, 120)
    assert [m.node_id for m in quorum.voters] == [1, 2, 3]
    assert [quorum.lag(m) for m in quorum.voters] == [1, 2, 3]
    assert [m.node_id for m in quorum.observers] == [4]


def test_tagged_fields_are_skipped_and_no_leader_is_none():
    # Tag 0 (HighWatermarkUpdateTimeMs) with an 8-byte value, as 3.9+ brokers add it.
    quorum = parse_describe_quorum_v1(_answer(leader=-1, tags=b"\x01\x00\x08" + b"\x00" * 8))
    assert quorum.leader_id is None


@pytest.mark.parametrize("answer, message", [
    (_answer(error=29), "error code 29"),
    (_answer(partition_error=6), "error code 6"),
    (_answer(topic="other"), "without the metadata log"),
    (_answer()[:-5], "truncated"),
])
def test_refusals_and_odd_answers_are_one_error(answer, message):
    with pytest.raises(ConnectionFailure, match=message):
        parse_describe_quorum_v1(answer)


@given(st.binary(max_size=400))
def test_garbage_is_a_wire_error_or_a_quorum(data):
    try:
        parse_describe_quorum_v1(data)
    except ConnectionFailure:
        pass


def test_the_request_names_partition_0_of_the_metadata_log():
    reader = Reader(describe_quorum_request())
    assert reader.array_count() == 1
    assert reader.compact_string() == METADATA_TOPIC
    assert reader.array_count() == 1 and reader.int32() == 0


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300, 2**21, 2**31 - 1])
def test_uvarints_round_trip(n):
    assert Reader(uvarint(n)).uvarint() == n


def test_a_huge_array_count_is_refused_before_any_allocation():
    with pytest.raises(WireError):
        Reader(uvarint(2**31)).array_count()
