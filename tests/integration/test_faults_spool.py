"""The agent's spool against hostile files and a full disk (shared sandbox; no broker is
stopped): a file the agent did not write never blocks the reports, and a report that cannot
be stored is still sent."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.reporting.spool import CORRUPT_SUFFIX, MAGIC, SUFFIX
from tests.support.agent_helpers import agent_config, run_cli
from tests.support.cluster import topic_records
from tests.support.files import fill, tmpfs
from tests.support.ps_report_helpers import delete_topics, unique_topic


@pytest.fixture
def topic(cluster) -> Iterator[str]:
    name = unique_topic("ps-spool")
    yield name
    delete_topics(cluster.bootstrap, name)


def _spool_folder(state: Path, broker_id: int) -> Path:
    folder = state / "spool" / f"broker-{broker_id}"
    folder.mkdir(parents=True)
    return folder


def _hostile(folder: Path, seq: int, meta: bytes) -> Path:
    body = MAGIC + struct.pack(">I", len(meta)) + meta + struct.pack(">I", 4) + b"Obj\x01"
    path = folder / f"{seq:012d}{SUFFIX}"
    path.write_bytes(body + struct.pack(">I", zlib.crc32(body)))
    return path


def test_hostile_spool_files_are_moved_aside_and_the_report_still_goes(cluster, topic,
                                                                       tmp_path):
    config = agent_config(cluster, 1, tmp_path, topic, None)
    state = tmp_path / "state"
    folder = _spool_folder(state, 1)
    deep = _hostile(folder, 1, b"[" * 50_000 + b"]" * 50_000)
    huge = _hostile(folder, 2, b'{"topic":"t","broker_id":1e400,"report_id":"r",'
                               b'"created_ms":1}')
    for _ in range(2):  # on main both made every round fail: nothing ever reached the topic
        done = run_cli("agent", "--broker-config", str(config), "--once",
                       "--state-dir", str(state))
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    assert "topic=ok(" in done.stderr, done.stderr
    assert len(topic_records(cluster.bootstrap, topic)) == 2
    names = sorted(p.name for p in folder.iterdir())
    assert names == [deep.name + CORRUPT_SUFFIX, huge.name + CORRUPT_SUFFIX]


@pytest.fixture
def full_disk(tmp_path) -> Iterator[Path]:
    yield from tmpfs(tmp_path / "full", "size=64k")


def test_a_full_disk_does_not_silence_the_agent(cluster, topic, tmp_path, full_disk):
    config = agent_config(cluster, 1, tmp_path, topic, None)
    state = full_disk / "state"
    state.mkdir()
    fill(full_disk)
    done = run_cli("agent", "--broker-config", str(config), "--once",
                   "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot store the report (No space left on device); sending it directly" in (
        done.stderr), done.stderr
    assert "topic=ok(" in done.stderr
    (record,) = topic_records(cluster.bootstrap, topic)
    assert record.headers["broker.id"] == b"1"
