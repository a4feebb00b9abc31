"""Who leads a KRaft cluster's metadata quorum, and who votes in it.

confluent-kafka has no call for it, so the question goes straight to a broker as a
DescribeQuorum request (API 55, version 1, KIP-836) for the metadata log
`__cluster_metadata` partition 0; brokers forward it to the active controller. The answer
names the leader (-1 when there is none), its epoch, the high watermark and, for each voter
and observer, its log end offset and when it last fetched. A ZooKeeper-mode cluster, a SASL
listener (the login is librdkafka's to do) or a broker that does not know the request make
it `None`: "the cluster does not tell".
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from engine.cluster.kafka_wire import (
    Reader,
    WireError,
    compact_array,
    compact_string,
    exchange,
    speaks_plain_protocol,
)
from engine.errors import ConnectionFailure

API_DESCRIBE_QUORUM = 55
METADATA_TOPIC = "__cluster_metadata"


@dataclass(frozen=True)
class QuorumMember:
    """A voter or observer of the metadata quorum, as the leader sees it."""

    node_id: int
    log_end_offset: int
    last_fetch_ms: int  # -1: unknown (and always for the leader itself)
    last_caught_up_ms: int


@dataclass(frozen=True)
class Quorum:
    """The metadata quorum: leader (None without one), epoch, high watermark, members."""

    leader_id: int | None
    leader_epoch: int
    high_watermark: int
    voters: tuple[QuorumMember, ...]
    observers: tuple[QuorumMember, ...]

    def lag(self, member: QuorumMember) -> int:
        """How many records of the metadata log `member` is behind the high watermark."""
        return max(0, self.high_watermark - member.log_end_offset)


def describe_quorum_request() -> bytes:
    """The body of DescribeQuorum v1 for partition 0 of the metadata log."""
    partition = struct.pack(">i", 0) + b"\x00"
    topic = compact_string(METADATA_TOPIC) + compact_array([partition]) + b"\x00"
    return compact_array([topic]) + b"\x00"


def _members(reader: Reader) -> tuple[QuorumMember, ...]:
    found = []
    for _ in range(reader.array_count()):
        member = QuorumMember(reader.int32(), reader.int64(), reader.int64(), reader.int64())
        reader.skip_tags()
        found.append(member)
    return tuple(found)


def parse_describe_quorum_v1(body: bytes) -> Quorum:
    """The quorum in a DescribeQuorum v1 answer body; WireError when it holds none, or
    ConnectionFailure with the error the cluster gave."""
    reader = Reader(body)
    error = reader.int16()
    if error != 0:
        raise ConnectionFailure(f"DescribeQuorum refused with error code {error}")
    quorum: Quorum | None = None
    for _ in range(reader.array_count()):
        name = reader.compact_string()
        for _ in range(reader.array_count()):
            index, part_error = reader.int32(), reader.int16()
            leader, epoch, high = reader.int32(), reader.int32(), reader.int64()
            voters, observers = _members(reader), _members(reader)
            reader.skip_tags()
            if name == METADATA_TOPIC and index == 0:
                if part_error != 0:
                    raise ConnectionFailure(
                        f"DescribeQuorum: the metadata log answered error code {part_error}")
                quorum = Quorum(leader if leader >= 0 else None, epoch, high, voters,
                                observers)
        reader.skip_tags()
    if quorum is None:
        raise WireError("DescribeQuorum answer without the metadata log")
    return quorum


def describe_quorum(host: str, port: int, client_props: Mapping[str, str] | None = None,
                    timeout: float = 5.0) -> Quorum | None:
    """The metadata quorum as one broker's controller tells it; None when this cluster or
    listener does not tell (see the module docstring). ConnectionFailure when the broker
    cannot be reached within `timeout`."""
    props = dict(client_props or {})
    if not speaks_plain_protocol(props):
        return None
    from engine.cluster.kafka_version import fetch_api_versions

    versions = fetch_api_versions(host, port, props, timeout).get(API_DESCRIBE_QUORUM)
    if versions is None or versions[1] < 1:
        return None  # ZooKeeper mode (or a KRaft line before KIP-836)
    body = exchange(host, port, API_DESCRIBE_QUORUM, 1, describe_quorum_request(), props,
                    timeout, flexible=True)
    return parse_describe_quorum_v1(body)
