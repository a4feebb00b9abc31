"""Naming the sandbox cluster in tests: a location built the way commands build it, and
sessions closed when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from engine.cluster.location import ClusterLocation, ClusterOptions, locate
from engine.cluster.session import ClusterSession
from engine.reading.topic_reader import TopicReader, TopicRecord


def location(zookeeper: str | None = None, bootstrap: str | None = None,
             timeout: float = 10.0, command_config: str | None = None,
             zookeeper_auth: str | None = None) -> ClusterLocation:
    """`locate` for options given as keywords (a test's `--zookeeper ...`)."""
    return locate(ClusterOptions(zookeeper=zookeeper, bootstrap=bootstrap,
                                 command_config=command_config,
                                 zookeeper_auth=zookeeper_auth, timeout=timeout))


@pytest.fixture
def open_session() -> Iterator[Callable[..., ClusterSession]]:
    """A factory of sessions (`open_session(zookeeper=...)`), all closed at teardown."""
    opened: list[ClusterSession] = []

    def make(**options: object) -> ClusterSession:
        session = ClusterSession(location(**options))  # type: ignore[arg-type]
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


def topic_records(bootstrap: str, topic: str, timeout: float = 10.0) -> list[TopicRecord]:
    """Every record of `topic`, read as the engine reads it (one session, one reader)."""
    with ClusterSession(location(bootstrap=bootstrap, timeout=timeout)) as session, \
            TopicReader(session) as reader:
        return list(reader.iter_records(topic))


def registration_owner_of(zookeeper: str, broker_id: int) -> int | None:
    """The ZooKeeper session that owns a broker's registration now, from a session of its own."""
    from engine.cluster.discovery import registration_owner

    with ClusterSession(location(zookeeper=zookeeper)) as session:
        return registration_owner(session, broker_id)


def wait_for_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> None:
    """Wait (bounded) until every broker's metadata has `topic` with a leader for each
    partition: a creation returns once the controller made it, and a client that asks
    another broker right then may be told the topic does not exist."""
    import time

    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + timeout
    for address in bootstrap.split(","):
        admin = AdminClient({"bootstrap.servers": address, "log_level": 0})
        while True:
            info = admin.list_topics(topic, timeout=5).topics.get(topic)
            if info is not None and info.error is None and info.partitions and all(
                    p.leader >= 0 for p in info.partitions.values()):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic} not in the metadata of {address} in time")
            time.sleep(0.1)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog does) and never answers:
    a peer that is there but does not speak, unlike a closed port, which refuses."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
