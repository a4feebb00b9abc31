"""Session fixtures: the real Kafka sandbox (ZooKeeper + 3 brokers, or one KRaft node).

`make test` lets these fixtures start a fresh sandbox and stop it at the end, even when tests
fail. To iterate quickly, start one with `make sandbox-up` and run pytest with
`PS_SANDBOX_REUSE=1` (or `PS_SANDBOX_REUSE=/path/to/state-dir`): the running sandbox is used
and left running. A sandbox that cannot start fails the tests loudly; nothing is skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cluster import open_session, silent_port  # noqa: F401 - fixtures for all
from tools.sandbox import kafka_sandbox


@dataclass
class SandboxFacts:
    """How to reach a running sandbox, and the handle to stop or start its processes."""

    box: kafka_sandbox.Sandbox
    bootstrap: str
    zk_connect: str | None  # None for KRaft
    zk_hosts: str | None  # host:port without the chroot
    broker_ids: list[int]


def _facts(box) -> SandboxFacts:
    facts = box.state.facts()
    zk = facts.get("KAFKA_ZK_CONNECT")
    return SandboxFacts(
        box=box, bootstrap=facts["KAFKA_BOOTSTRAP"], zk_connect=zk,
        zk_hosts=zk.split("/", 1)[0] if zk else None,
        broker_ids=[int(b.name.split("-")[1]) for b in box.state.brokers])


def _reuse_dir(mode: str) -> Path | None:
    suffix = {"kraft": "_KRAFT", "secure": "_SECURE"}.get(mode, "")
    reuse = os.environ.get(f"PS_SANDBOX_REUSE{suffix}")
    if mode == "secure":
        # Only an explicit state folder: "1" would name the shared, unsecured sandbox.
        return Path(reuse) if reuse and reuse != "1" else None
    if not reuse:
        return None
    if reuse == "1":
        return kafka_sandbox.CACHE / ("run-kraft" if mode == "kraft" else "run")
    return Path(reuse)


def _sandbox(mode: str, brokers: int, tmp_name: str):
    reuse = _reuse_dir(mode)
    if reuse is not None:
        box = kafka_sandbox.Sandbox(reuse)
        if not box.is_running():
            pytest.fail(f"PS_SANDBOX_REUSE names {reuse}, but no sandbox runs there")
        yield _facts(box)
        return
    box = kafka_sandbox.Sandbox(kafka_sandbox.CACHE / f"{tmp_name}-{os.getpid()}")
    try:
        box.start(brokers=brokers, mode="zk" if mode == "secure" else mode,
                  secure=mode == "secure")
    except kafka_sandbox.SandboxError as exc:
        pytest.fail(f"the Kafka sandbox did not start: {exc}")
    try:
        yield _facts(box)
    finally:
        box.stop()


@pytest.fixture(scope="session")
def sandbox():
    """ZooKeeper + 3 brokers, chroot /kafka."""
    yield from _sandbox("zk", 3, "test-zk")


@pytest.fixture(scope="session")
def kraft_sandbox():
    """One KRaft node (broker and controller), no ZooKeeper."""
    yield from _sandbox("kraft", 1, "test-kraft")


@pytest.fixture(scope="session")
def secure_sandbox():
    """ZooKeeper (SASL logins required) + 1 broker with PLAINTEXT, SASL_PLAINTEXT
    (SCRAM-SHA-256) and SSL listeners; `box.state.facts()` holds the credentials.
    PS_SANDBOX_REUSE_SECURE=<state dir> reuses one started with `start --secure`."""
    yield from _sandbox("secure", 1, "test-secure")
