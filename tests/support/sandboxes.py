"""The test session's sandboxes: one per kind, started when a test first needs it and
stopped right after the last test that needs it.

Kinds: "zk" (Kafka 3.9, ZooKeeper + 3 brokers), "secure-zk" (3.9, 1 broker, ZooKeeper
SASL and TLS, every secured listener), "kraft" (Kafka 4.x, 3 combined KRaft nodes) and
"secure-kraft" (the same, with every secured listener). Two cores do not run two clusters
well, so `order_by_kind` puts the tests of one kind together (zk with the tests that need
no sandbox, then secure-zk, kraft, secure-kraft; pytest's own order is kept within a
group) and `release_unused_before` stops a kind's sandbox once the first test after its
last one is set up (a module's fixtures on that cluster are torn down by then).

A sandbox named by PS_SANDBOX_REUSE* is used as it is and never stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tools.sandbox import kafka_sandbox

KINDS = ("zk", "secure-zk", "kraft", "secure-kraft")
FIXTURE_KIND = {"sandbox": "zk", "secure_sandbox": "secure-zk",
                "kraft_sandbox": "kraft", "secure_kraft_sandbox": "secure-kraft"}
# Parametrised fixtures: their parameter ("zk" or "kraft") picks the kind.
PARAM_FIXTURES = {"cluster": {"zk": "zk", "kraft": "kraft"},
                  "secure_cluster": {"zk": "secure-zk", "kraft": "secure-kraft"}}
SHAPES: dict[str, dict[str, Any]] = {
    "zk": {"mode": "zk", "brokers": 3},
    "secure-zk": {"mode": "zk", "brokers": 1, "secure": True},
    "kraft": {"mode": "kraft", "brokers": 3},
    "secure-kraft": {"mode": "kraft", "brokers": 3, "secure": True},
}
FOLDERS = {"zk": "test-zk", "secure-zk": "test-secure", "kraft": "test-kraft",
           "secure-kraft": "test-secure-kraft"}
REUSE_VARIABLES = {"zk": "PS_SANDBOX_REUSE", "kraft": "PS_SANDBOX_REUSE_KRAFT",
                   "secure-zk": "PS_SANDBOX_REUSE_SECURE",
                   "secure-kraft": "PS_SANDBOX_REUSE_SECURE_KRAFT"}


@dataclass
class SandboxFacts:
    """How to reach a running sandbox, and the handle to stop or start its processes.

    The same shape for both kinds, so that a test can run on either: `zk_connect` and
    `zk_hosts` are None on KRaft, `controllers` is None on ZooKeeper.
    """

    box: kafka_sandbox.Sandbox
    bootstrap: str
    zk_connect: str | None  # with the chroot
    zk_hosts: str | None  # host:port without the chroot
    broker_ids: list[int]
    mode: str = "zk"  # "zk" or "kraft"
    version: str = ""  # Kafka version, e.g. "3.9.2" or "4.4.0"
    broker_configs: dict[int, Path] = field(default_factory=dict)  # id -> server.properties
    controllers: str | None = None  # KRaft: host:port of every controller listener
    kind: str = "zk"  # one of KINDS
    facts: dict[str, str] = field(default_factory=dict)  # every KEY=VALUE fact

    @property
    def secure(self) -> bool:
        return self.kind.startswith("secure-")

    @property
    def kraft(self) -> bool:
        return self.mode == "kraft"

    @property
    def where(self) -> dict[str, str]:
        """How a command names this cluster, as keywords of `tests.support.cluster.location`:
        ZooKeeper when the cluster has it (so discovery goes through it), else the
        bootstrap list."""
        if self.zk_connect is not None:
            return {"zookeeper": self.zk_connect}
        return {"bootstrap": self.bootstrap}

    @property
    def cli(self) -> list[str]:
        """The same on a command line: `--zookeeper ...` or `--bootstrap-server ...`."""
        if self.zk_connect is not None:
            return ["--zookeeper", self.zk_connect]
        return ["--bootstrap-server", self.bootstrap]

    @property
    def kafka_home(self) -> Path:
        """The folder of this cluster's Kafka jars (an agent's --kafka-home)."""
        return kafka_sandbox.lib_dir(self.version)


def facts_of(box: kafka_sandbox.Sandbox, kind: str) -> SandboxFacts:
    assert box.state is not None
    facts = box.state.facts()
    zk = facts.get("KAFKA_ZK_CONNECT")
    return SandboxFacts(
        box=box, bootstrap=facts["KAFKA_BOOTSTRAP"], zk_connect=zk,
        zk_hosts=zk.split("/", 1)[0] if zk else None,
        broker_ids=[b.node_id for b in box.state.brokers],
        mode=box.state.mode, version=box.state.version,
        broker_configs={b.node_id: Path(b.config) for b in box.state.brokers},
        controllers=facts.get("KAFKA_CONTROLLERS"), kind=kind, facts=facts)


def reuse_dir(kind: str) -> Path | None:
    """The state folder PS_SANDBOX_REUSE* names for `kind`, or None to start one."""
    reuse = os.environ.get(REUSE_VARIABLES[kind])
    if not reuse:
        return None
    if reuse == "1":
        if kind.startswith("secure-"):
            return None  # only an explicit folder: "1" would name an unsecured sandbox
        return kafka_sandbox.DEFAULT_STATES[SHAPES[kind]["mode"]]
    return Path(reuse)


def kinds_of(item: pytest.Item) -> set[str]:
    """The sandbox kinds a collected test needs (through any fixture it uses)."""
    names = set(getattr(item, "fixturenames", ()))
    kinds = {FIXTURE_KIND[n] for n in names if n in FIXTURE_KIND}
    params = getattr(getattr(item, "callspec", None), "params", {})
    for fixture, by_param in PARAM_FIXTURES.items():
        if fixture in names and fixture in params:
            kinds.add(by_param[params[fixture]])
    return kinds


# Where a test runs: tests that need no sandbox stay where pytest put them, among the
# ZooKeeper ones (most of the suite); then the secured ZooKeeper tests; then tests marked
# `kraft` that start a private KRaft sandbox of their own (nothing else runs beside it);
# then the KRaft kinds. A test that needs several kinds runs with the latest of them.
RANKS = {"zk": 0, "secure-zk": 1, "kraft": 3, "secure-kraft": 4}
PRIVATE_KRAFT_RANK = 2


def rank(item: pytest.Item) -> int:
    kinds = kinds_of(item)
    if kinds:
        return max(RANKS[k] for k in kinds)
    return PRIVATE_KRAFT_RANK if item.get_closest_marker("kraft") else 0


def order_by_kind(items: list[pytest.Item]) -> list[pytest.Item]:
    """The tests grouped by the kinds they need, pytest's order kept within a group."""
    return sorted(items, key=rank)


class Sandboxes:
    """Started sandboxes by kind, for one test session."""

    def __init__(self) -> None:
        self._running: dict[str, SandboxFacts] = {}
        self._reused: set[str] = set()
        self._released: set[str] = set()
        self._failed: dict[str, str] = {}
        self._last_use: dict[str, int] | None = None
        self._index: dict[str, int] = {}
        # Seconds from start to ready of each sandbox this session started, for the summary.
        self.ready_seconds: dict[str, float] = {}

    def get(self, kind: str) -> SandboxFacts:
        """The running sandbox of `kind`, started on first use; a sandbox that cannot
        start fails every test that needs it, loudly, and is not tried again."""
        if kind in self._running:
            return self._running[kind]
        if kind in self._failed:
            pytest.fail(self._failed[kind])
        if kind in self._released:
            pytest.fail(f"the {kind} sandbox was stopped after what looked like its last "
                        "test: a test that needs it ran out of order")
        reuse = reuse_dir(kind)
        if reuse is not None:
            self._running[kind] = self._reuse(kind, reuse)
            self._reused.add(kind)
            return self._running[kind]
        box = kafka_sandbox.Sandbox(kafka_sandbox.CACHE / f"{FOLDERS[kind]}-{os.getpid()}")
        try:
            box.start(**SHAPES[kind])
        except kafka_sandbox.SandboxError as exc:
            self._failed[kind] = f"the {kind} Kafka sandbox did not start: {exc}"
            pytest.fail(self._failed[kind])
        self.ready_seconds[kind] = box.ready_seconds
        self._running[kind] = facts_of(box, kind)
        return self._running[kind]

    def _reuse(self, kind: str, folder: Path) -> SandboxFacts:
        box = kafka_sandbox.Sandbox(folder)
        variable = REUSE_VARIABLES[kind]
        if not box.is_running() or box.state is None:
            pytest.fail(f"{variable} names {folder}, but no sandbox runs there")
        shape = SHAPES[kind]
        if box.state.mode != shape["mode"] or box.state.secure != shape.get("secure", False):
            pytest.fail(f"{variable} names {folder}, a {box.state.mode}"
                        f"{' secured' if box.state.secure else ''} sandbox; the {kind} "
                        "tests need another kind")
        return facts_of(box, kind)

    def release(self, kind: str) -> None:
        """Stop the sandbox of `kind` if this session started it."""
        facts = self._running.pop(kind, None)
        if facts is None:
            return
        self._released.add(kind)
        if kind not in self._reused:
            facts.box.stop()

    def release_all(self) -> None:
        for kind in list(self._running):
            self.release(kind)

    def check_needed(self, item: pytest.Item) -> None:
        """Fail a test at setup if a sandbox it needs was already released."""
        gone = sorted(k for k in kinds_of(item) if k in self._released)
        if gone:
            pytest.fail(f"the {', '.join(gone)} sandbox was stopped before this test: "
                        "a test that needs it ran out of order")

    def release_unused_before(self, item: pytest.Item, items: Iterable[pytest.Item]) -> None:
        """Once `item` is set up, stop every sandbox that neither it nor a later test
        needs (the last ones stop at the session's end)."""
        if self._last_use is None:
            self._last_use = {}
            for position, each in enumerate(items):
                self._index[each.nodeid] = position
                for kind in kinds_of(each):
                    self._last_use[kind] = position
        index = self._index.get(item.nodeid)
        if index is None:
            return
        for kind in list(self._running):
            if self._last_use.get(kind, -1) < index:
                self.release(kind)


SANDBOXES = Sandboxes()
