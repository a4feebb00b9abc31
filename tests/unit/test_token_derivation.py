"""engine.reporting.tokens: the broker token as a function of the broker's runtime."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.reporting.tokens import (
    STATE_FILE,
    CachedRuntime,
    JvmIdentity,
    TokenCache,
    derive,
    jvm_token,
    zookeeper_token,
)

CLUSTER = "AxLlMTXlQYGaQNmxRhMk3A"
CLUSTER_FACTS = (0x1A, 1_760_000_000_123)  # /cluster/id: czxid, ctime
SESSION = 0x1000_0123_4567_0004
REGISTRATION = (SESSION, 0x2B, 1_760_000_100_456)  # ephemeralOwner, czxid, ctime


def test_a_token_is_uuid4_shaped_and_the_same_for_the_same_runtime() -> None:
    token = zookeeper_token(CLUSTER, CLUSTER_FACTS, 1, REGISTRATION)
    assert str(uuid.UUID(token, version=4)) == token
    assert zookeeper_token(CLUSTER, CLUSTER_FACTS, 1, REGISTRATION) == token


def test_another_runtime_broker_or_cluster_gives_another_token() -> None:
    base = zookeeper_token(CLUSTER, CLUSTER_FACTS, 1, REGISTRATION)
    restarted = (SESSION + 1, 0x2F, REGISTRATION[2] + 9000)
    others = {
        "restart": zookeeper_token(CLUSTER, CLUSTER_FACTS, 1, restarted),
        "same session, new znode": zookeeper_token(CLUSTER, CLUSTER_FACTS, 1,
                                                   (SESSION, 0x2F, REGISTRATION[2])),
        "broker 2": zookeeper_token(CLUSTER, CLUSTER_FACTS, 2, REGISTRATION),
        "another cluster id": zookeeper_token("BxLlMTXlQYGaQNmxRhMk3A", CLUSTER_FACTS, 1,
                                              REGISTRATION),
        "another cluster made elsewhen": zookeeper_token(CLUSTER, (0x1A, CLUSTER_FACTS[1] + 1),
                                                         1, REGISTRATION),
        "no cluster id": zookeeper_token(None, CLUSTER_FACTS, 1, REGISTRATION),
    }
    assert base not in others.values()
    assert len(set(others.values())) == len(others)


def test_jvm_tokens_follow_the_process_and_the_cluster() -> None:
    jvm = JvmIdentity("0d9ba9f4-8c2d-4a57-9bd7-61a3f6b2c1e0", 4242, 1_760_000_000_000)
    token = jvm_token(CLUSTER, 1, jvm)
    assert jvm_token(CLUSTER, 1, jvm) == token
    assert jvm_token(CLUSTER, 1, JvmIdentity(jvm.boot_id, 4243, jvm.start_ms)) != token
    assert jvm_token(CLUSTER, 1, JvmIdentity(jvm.boot_id, 4242, jvm.start_ms + 10)) != token
    assert jvm_token(CLUSTER, 1, JvmIdentity("another boot", 4242, jvm.start_ms)) != token
    assert jvm_token("other-cluster", 1, jvm) != token
    assert jvm_token(CLUSTER, 2, jvm) != token
    # A ZooKeeper-mode token of the same numbers is another token: the kinds never meet.
    assert derive(("zookeeper", CLUSTER, jvm.boot_id), (1, 4242, jvm.start_ms)) != token


def test_key_and_runtime_facts_are_not_interchangeable() -> None:
    assert derive(("a", 1), (2,)) != derive(("a",), (1, 2))
    assert derive(("1",), (2,)) != derive((1,), (2,))
    with pytest.raises(TypeError):
        derive((True,), (1,))


@given(st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1), st.integers(0, 2**45))
def test_the_token_shows_none_of_its_inputs(session: int, zxid: int, ctime: int) -> None:
    token = zookeeper_token(CLUSTER, CLUSTER_FACTS, 1, (session, zxid, ctime))
    bare = token.replace("-", "")
    for number in (session, zxid, ctime):
        if number > 0xFFFFFF:  # short numbers occur in any hex string by chance
            assert f"{number:x}" not in bare and str(number) not in bare
    assert CLUSTER not in token


def test_the_cache_keeps_runtimes_and_survives_bad_files(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "state")
    assert cache.get("zk a#1") is None  # no folder yet
    jvm = JvmIdentity("boot", 7, 1000)
    cache.put("zk a#1", CachedRuntime("t1", jvm))
    cache.put("zk b#1", CachedRuntime("t2", None))
    again = TokenCache(tmp_path / "state")
    assert again.get("zk a#1") == CachedRuntime("t1", jvm)
    assert again.get("zk b#1") == CachedRuntime("t2", None)
    path = tmp_path / "state" / STATE_FILE
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # Unchanged: not written again.
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    cache.put("zk a#1", CachedRuntime("t1", jvm))
    assert path.stat().st_mtime_ns == before - 10**9
    # The old file of minted tokens, garbage, or a huge file: nothing is known.
    for content in ('{"1": {"session": 5, "token": "x"}}', "not json", "[]",
                    '{"version": 2, "runtimes": {"zk a#1": {"token": 5}}}'):
        path.write_text(content)
        assert TokenCache(path.parent).get("zk a#1") is None
    path.write_bytes(b" " * (2 * 1024 * 1024))
    assert TokenCache(path.parent).get("zk a#1") is None


def test_a_cache_that_cannot_be_written_costs_a_warning(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    TokenCache(blocker / "state").put("k", CachedRuntime("t", None))  # no folder possible
    assert "cannot keep them" in caplog.text  # and nothing raised
