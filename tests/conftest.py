"""Session fixtures: real Kafka sandboxes of both kinds (tests/support/sandboxes.py).

    sandbox               Kafka 3.9, ZooKeeper + 3 brokers, chroot /kafka
    secure_sandbox        Kafka 3.9, ZooKeeper with SASL logins and TLS + 1 broker with
                          every secured listener
    kraft_sandbox         Kafka 4.x, 3 combined broker+controller KRaft nodes
    secure_kraft_sandbox  the same with every secured listener
    cluster               parametrised over ("zk", "kraft"): `sandbox` or `kraft_sandbox`,
                          for tests that must hold on both kinds
    secure_cluster        parametrised over ("zk", "kraft"): the secured ones

Each yields a `SandboxFacts`. `make test` lets these fixtures start fresh sandboxes; the
tests are grouped by kind and each kind's sandbox is stopped right after its last test, so
that two cores never carry both kinds for long, and everything is stopped at the end even
when tests fail. A fixture of session scope must not depend on these (it would outlive its
sandbox). To iterate quickly, start one with `make sandbox-up` (MODE=kraft, SECURE=1) and
run pytest with PS_SANDBOX_REUSE=1 (ZooKeeper) or PS_SANDBOX_REUSE_KRAFT=1 (KRaft), or a
state folder: PS_SANDBOX_REUSE=..., PS_SANDBOX_REUSE_KRAFT=..., PS_SANDBOX_REUSE_SECURE=...,
PS_SANDBOX_REUSE_SECURE_KRAFT=...; a reused sandbox is left running. A sandbox that cannot
start fails the tests loudly; nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.support.cluster import open_session, silent_port  # noqa: F401 - fixtures for all
from tests.support.sandboxes import PARAM_FIXTURES, SANDBOXES, SandboxFacts, kinds_of, order_by_kind

__all__ = ["SandboxFacts"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests grouped by the sandbox kind they need (after pytest's own reordering), and
    marked `sandbox` (ZooKeeper kinds) or `kraft` (KRaft kinds) for -m."""
    items[:] = order_by_kind(items)
    for item in items:
        kinds = kinds_of(item)
        if any(k.endswith("zk") for k in kinds):
            item.add_marker(pytest.mark.sandbox)
        if any(k.endswith("kraft") for k in kinds):
            item.add_marker(pytest.mark.kraft)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    SANDBOXES.check_needed(item)
    try:
        return (yield)
    finally:
        # Stopped only once this item is set up: a fixture of a wider scope that is
        # parametrised by cluster (a module's topics on the ZooKeeper cluster) is torn down
        # in the setup of the first item with the other kind, and still needs its cluster.
        SANDBOXES.release_unused_before(item, item.session.items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    SANDBOXES.release_all()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How long each sandbox this session started took to be ready."""
    if SANDBOXES.ready_seconds:
        terminalreporter.write_line("sandbox start-to-ready: " + ", ".join(
            f"{kind} {seconds:.1f} s" for kind, seconds in SANDBOXES.ready_seconds.items()))


@pytest.fixture(scope="session")
def sandbox() -> SandboxFacts:
    """Kafka 3.9: ZooKeeper + 3 brokers, chroot /kafka."""
    return SANDBOXES.get("zk")


@pytest.fixture(scope="session")
def kraft_sandbox() -> SandboxFacts:
    """Kafka 4.x: 3 combined broker+controller KRaft nodes (static quorum), no ZooKeeper."""
    return SANDBOXES.get("kraft")


@pytest.fixture(scope="session")
def secure_sandbox() -> SandboxFacts:
    """Kafka 3.9: ZooKeeper (SASL logins required, TLS on a second port) + 1 broker with
    PLAINTEXT, SASL_PLAINTEXT (SCRAM-SHA-256), SSL, SASL_SSL (SCRAM-SHA-512) and MTLS
    (client certificate required) listeners; the broker reaches ZooKeeper over TLS.
    `facts` (and `box.state.facts()`) hold the credentials and the TLS files."""
    return SANDBOXES.get("secure-zk")


@pytest.fixture(scope="session")
def secure_kraft_sandbox() -> SandboxFacts:
    """Kafka 4.x: 3 KRaft nodes with the same secured listeners as `secure_sandbox`."""
    return SANDBOXES.get("secure-kraft")


@pytest.fixture(scope="session", params=sorted(PARAM_FIXTURES["cluster"]))
def cluster(request: pytest.FixtureRequest) -> SandboxFacts:
    """Each kind in turn: `sandbox` (zk) and `kraft_sandbox` (kraft); `mode`, `version`,
    `zk_connect` (None on KRaft) and `broker_configs` say which."""
    return SANDBOXES.get(PARAM_FIXTURES["cluster"][request.param])


@pytest.fixture(scope="session", params=sorted(PARAM_FIXTURES["secure_cluster"]))
def secure_cluster(request: pytest.FixtureRequest) -> SandboxFacts:
    """Each secured kind in turn: `secure_sandbox` (zk) and `secure_kraft_sandbox`."""
    return SANDBOXES.get(PARAM_FIXTURES["secure_cluster"][request.param])
