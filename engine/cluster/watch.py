"""Follow a ZooKeeper-mode cluster live: brokers joining, leaving and restarting, controller
changes, and the watch's own connection, as `ClusterEvent`s."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.cluster.location import ClusterLocation
from engine.cluster.model import (
    Broker,
    BrokerJoined,
    BrokerLeft,
    BrokerRestarted,
    ClusterEvent,
    ConnectionChanged,
    ControllerChanged,
)
from engine.cluster.znodes import (
    Deadline,
    broker_ids,
    cluster_missing,
    parse_controller,
    read_brokers,
    zk_errors,
)
from engine.cluster.zookeeper import open_kazoo, stop_kazoo
from engine.errors import ConnectionFailure, PsError, UsageError

if TYPE_CHECKING:
    from kazoo.client import KazooClient

log = logging.getLogger(__name__)

_STOP = object()


class ClusterWatch:
    """Follow a ZooKeeper-mode cluster and post `ClusterEvent`s to `on_event`.

    kazoo runs watch callbacks on a single thread that must never block, so the callbacks
    here only enqueue; one worker thread of this class reads ZooKeeper (async calls with a
    deadline), diffs against what it knew, and calls `on_event` - always from that worker
    thread, never concurrently. `start()` reads the initial state (no events for it; see
    `brokers` and `controller_id`); after a ZooKeeper outage kazoo reconnects by itself and
    the watch re-diffs the broker set when connected again.
    """

    def __init__(self, location: ClusterLocation,
                 on_event: Callable[[ClusterEvent], object]) -> None:
        if location.zookeeper is None:
            raise UsageError("watching a cluster needs --zookeeper")
        self._location = location
        self._on_event = on_event
        self._queue: queue.Queue[object] = queue.Queue()
        self._zk: KazooClient | None = None
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()
        self._brokers: dict[int, Broker] = {}
        self._controller: int | None = None
        self._state = "connected"

    @property
    def brokers(self) -> dict[int, Broker]:
        """The live brokers as the watch knows them (a copy)."""
        return dict(self._brokers)

    @property
    def controller_id(self) -> int | None:
        """The controller as the watch knows it."""
        return self._controller

    def start(self) -> None:
        """Connect, read the current brokers and controller, and begin watching.

        Raises ConnectionFailure / NotFound like `discover`.
        """

        zk_connect = self._location.zookeeper
        assert zk_connect is not None
        # The watch outlives every command's session: it owns a ZooKeeper client of its own.
        self._zk = open_kazoo(zk_connect, self._location.timeout, self._location.zk_auth,
                              self._location.zk_tls)
        try:
            ids, self._controller = self._read_ids_and_controller(self._zk)
            deadline = Deadline(self._location.timeout)
            self._brokers = {b.id: b for b in read_brokers(self._zk, ids, deadline)}
            self._worker = threading.Thread(target=self._run, name="cluster-watch",
                                            daemon=True)
            self._worker.start()
            self._zk.add_listener(self._on_state)
            # Both fire once at once with the current value; the worker finds no change.
            self._zk.ChildrenWatch("/brokers/ids", self._on_children)
            self._zk.DataWatch("/controller", self._on_controller)
        except (PsError, *zk_errors()) as exc:  # type: ignore[misc]  # a tuple made at run time
            self.stop()
            if isinstance(exc, PsError):
                raise
            raise ConnectionFailure(f"ZooKeeper at {self._location.zookeeper}: "
                                    f"{type(exc).__name__}") from None

    def _read_ids_and_controller(self, zk: KazooClient) -> tuple[list[int], int | None]:
        """Both reads in flight together, bounded by the target's timeout."""
        from kazoo.exceptions import NoNodeError

        deadline = Deadline(self._location.timeout)
        ids_async = zk.get_children_async("/brokers/ids")
        controller_async = zk.get_async("/controller")
        try:
            ids = broker_ids(ids_async.get(timeout=deadline.left()))
        except NoNodeError:
            raise cluster_missing(self._location.zookeeper_text) from None
        try:
            controller = parse_controller(controller_async.get(timeout=deadline.left())[0])
        except NoNodeError:
            controller = None
        return ids, controller

    def stop(self) -> None:
        """Stop watching and close the session (bounded waits)."""
        self._stopping.set()
        self._queue.put(_STOP)
        if self._zk is not None:
            stop_kazoo(self._zk)
            self._zk = None
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(self._location.timeout + 5)
            self._worker = None

    # kazoo-thread callbacks: enqueue only.

    def _on_state(self, state: object) -> None:
        # kazoo's KazooState is a str enum ("CONNECTED"); the events carry plain words.
        self._queue.put(("state", str(getattr(state, "value", state)).rsplit(".", 1)[-1]
                         .lower()))

    def _on_children(self, children: list[str]) -> bool:
        self._queue.put(("brokers", broker_ids(children)))
        return not self._stopping.is_set()

    def _on_controller(self, data: bytes | None, _stat: Any, _event: Any = None) -> bool:
        self._queue.put(("controller", parse_controller(data)))
        return not self._stopping.is_set()

    # worker thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, tuple)
            kind: str = item[0]
            value: Any = item[1]
            try:
                if kind == "state":
                    self._state_changed(value)
                elif kind == "brokers":
                    self._brokers_changed(value)
                elif kind == "controller":
                    self._controller_changed(value)
            except (PsError, *zk_errors()) as exc:  # type: ignore[misc]
                # The connection dropped mid-read; the CONNECTED state re-diffs later.
                log.info("cluster watch: %s (%s)", kind, exc)
            except Exception:  # noqa: BLE001 - a watch must survive a bad callback
                log.exception("cluster watch: handling %s failed", kind)

    def _post(self, event: ClusterEvent) -> None:
        if self._stopping.is_set():
            return  # nothing after stop(), not even the "lost" of our own close
        try:
            self._on_event(event)
        except Exception:  # noqa: BLE001 - the listener's bug must not stop the watch
            log.exception("cluster watch listener failed on %s", event)

    def _state_changed(self, state: str) -> None:
        previous, self._state = self._state, state
        if state == previous:
            return
        self._post(ConnectionChanged(state))
        zk = self._zk
        if state == "connected" and zk is not None:
            # Events during the outage were missed: compare the whole set again.
            ids, controller = self._read_ids_and_controller(zk)
            self._brokers_changed(ids)
            self._controller_changed(controller)

    def _brokers_changed(self, ids: list[int]) -> None:
        zk = self._zk
        if zk is None or self._stopping.is_set():
            return
        # Read every registration, not only new ids: a restart faster than the watch shows
        # the same id set with a new owner session.
        current = {b.id: b for b in read_brokers(zk, ids, Deadline(self._location.timeout))}
        for broker_id in sorted(set(self._brokers) - set(current)):
            del self._brokers[broker_id]
            self._post(BrokerLeft(broker_id))
        for broker_id, broker in sorted(current.items()):
            known = self._brokers.get(broker_id)
            self._brokers[broker_id] = broker
            if known is None:
                self._post(BrokerJoined(broker))
            elif known.session_id != broker.session_id:
                self._post(BrokerRestarted(broker))

    def _controller_changed(self, controller_id: int | None) -> None:
        if controller_id != self._controller:
            self._controller = controller_id
            self._post(ControllerChanged(controller_id))
