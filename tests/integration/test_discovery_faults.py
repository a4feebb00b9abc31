"""ClusterWatch against a private sandbox whose brokers and ZooKeeper this file stops and
starts. Run it WITHOUT PS_SANDBOX_REUSE: it must never touch the shared sandbox."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator

import pytest
from kazoo.client import KazooClient

from engine.cluster.discovery import live_broker_ids, registration_owner
from engine.cluster.location import ClusterLocation
from engine.cluster.model import (
    BrokerJoined,
    BrokerLeft,
    BrokerRestarted,
    ClusterEvent,
    ConnectionChanged,
    ControllerChanged,
)
from engine.cluster.session import ClusterSession
from engine.cluster.watch import ClusterWatch
from tests.support.cluster import location

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module", autouse=True)
def _private_sandbox_only():
    if os.environ.get("PS_SANDBOX_REUSE"):
        pytest.fail("test_discovery_faults stops brokers: run it without PS_SANDBOX_REUSE")


class Recorder:
    """Collects events from the watch's worker thread; waits for one with a deadline."""

    def __init__(self) -> None:
        self.events: queue.Queue[ClusterEvent] = queue.Queue()
        self.seen: list[ClusterEvent] = []

    def __call__(self, event: ClusterEvent) -> None:
        self.events.put(event)

    def wait_for(self, match: Callable[[ClusterEvent], bool], timeout: float = 60
                 ) -> ClusterEvent:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(event)
            if match(event):
                return event
        raise AssertionError(f"no matching event within {timeout} s; saw {self.seen}")


@pytest.fixture
def watched(sandbox) -> Iterator[tuple[ClusterWatch, Recorder, ClusterLocation]]:
    target = location(zookeeper=sandbox.zk_connect, timeout=10)
    recorder = Recorder()
    watch = ClusterWatch(target, recorder)
    watch.start()
    try:
        yield watch, recorder, target
    finally:
        watch.stop()


def test_controller_stopped_leaves_controller_moves_and_it_returns_with_a_new_session(
        sandbox, watched):
    watch, recorder, target = watched
    assert sorted(watch.brokers) == sorted(sandbox.broker_ids)
    controller = watch.controller_id
    assert controller in sandbox.broker_ids
    old_session = watch.brokers[controller].session_id

    sandbox.box.stop_broker(controller)
    recorder.wait_for(lambda e: e == BrokerLeft(controller))
    moved = recorder.wait_for(lambda e: isinstance(e, ControllerChanged)
                              and e.controller_id not in (None, controller))
    assert moved.controller_id in sandbox.broker_ids

    sandbox.box.start_broker(controller)
    joined = recorder.wait_for(lambda e: isinstance(e, BrokerJoined)
                               and e.broker.id == controller)
    assert joined.broker.session_id not in (None, old_session)
    with ClusterSession(target) as session:
        assert registration_owner(session, controller) == joined.broker.session_id
    assert sorted(watch.brokers) == sorted(sandbox.broker_ids)
    # Nobody else came or went.
    others = [e for e in recorder.seen
              if isinstance(e, BrokerLeft | BrokerJoined | BrokerRestarted)]
    assert others == [BrokerLeft(controller), joined]


def test_a_restart_faster_than_the_watch_is_reported_as_restarted(sandbox, watched):
    """A synthetic broker znode replaced atomically by another session: the id set never
    changes, only the owner session does (what a quick broker restart looks like)."""
    watch, recorder, _ = watched
    path = "/brokers/ids/77"
    reg = json.dumps({"version": 5, "host": None, "port": -1, "jmx_port": -1,
                      "timestamp": str(int(time.time() * 1000)),
                      "endpoints": ["SSL://127.0.0.1:1"],
                      "listener_security_protocol_map": {"SSL": "SSL"}, "features": {}})
    first, second = (KazooClient(hosts=sandbox.zk_connect, timeout=10) for _ in range(2))
    for client in (first, second):
        client.start(timeout=10)
    try:
        first.create(path, reg.encode(), ephemeral=True)
        joined = recorder.wait_for(lambda e: isinstance(e, BrokerJoined) and e.broker.id == 77)
        assert joined.broker.session_id == first.client_id[0]
        txn = second.transaction()
        txn.delete(path)
        txn.create(path, reg.encode(), ephemeral=True)
        assert all(r is True or isinstance(r, str) for r in txn.commit())
        about_77 = recorder.wait_for(
            lambda e: e == BrokerLeft(77) or getattr(getattr(e, "broker", None), "id", 0) == 77)
        assert isinstance(about_77, BrokerRestarted), recorder.seen
        assert about_77.broker.session_id == second.client_id[0]
    finally:
        second.stop()
        second.close()
        first.stop()
        first.close()
    recorder.wait_for(lambda e: e == BrokerLeft(77))
    assert 77 not in watch.brokers


# A process that exits while its ZooKeeper is gone, with a watch callback of kazoo's still
# waiting (kazoo's own exit hook would join that callback's thread forever).
LEFT_RUNNING = textwrap.dedent("""
    import sys, time
    from kazoo.protocol.states import Callback
    from engine.cluster.connect import parse_zk_connect
    from engine.cluster.zookeeper import start_kazoo

    client = start_kazoo(parse_zk_connect(sys.argv[1]), 5)
    print("connected", flush=True)
    sys.stdin.readline()  # ZooKeeper is down now
    client.handler.dispatch_callback(Callback("watch", client.retry, (client.get, "/")))
    time.sleep(1.0)
    print("leaving", flush=True)
""")


def test_zookeeper_outage_is_reported_and_the_watch_recovers_by_itself(sandbox, watched):
    watch, recorder, target = watched
    child = subprocess.Popen([sys.executable, "-c", LEFT_RUNNING, sandbox.zk_connect],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "connected"
        sandbox.box.stop_zookeeper()
        try:
            recorder.wait_for(lambda e: e == ConnectionChanged("suspended"), timeout=30)
            out, _ = child.communicate("go\n", timeout=30)
            assert (child.returncode, out.strip()) == (0, "leaving")
        finally:
            sandbox.box.start_zookeeper()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    recorder.wait_for(lambda e: e == ConnectionChanged("connected"), timeout=60)
    # After the outage the watch still follows changes, with no restart of it.
    victim = max(b for b in sandbox.broker_ids if b != watch.controller_id)
    deadline = time.monotonic() + 60
    while sorted(_live(target)) != sorted(sandbox.broker_ids):
        assert time.monotonic() < deadline, "brokers did not re-register after the outage"
        time.sleep(0.5)
    sandbox.box.stop_broker(victim)
    recorder.wait_for(lambda e: e == BrokerLeft(victim))
    sandbox.box.start_broker(victim)
    recorder.wait_for(lambda e: isinstance(e, BrokerJoined) and e.broker.id == victim)
    assert sorted(watch.brokers) == sorted(sandbox.broker_ids)


def _live(target: ClusterLocation) -> list[int]:
    with ClusterSession(target) as session:
        return live_broker_ids(session)
