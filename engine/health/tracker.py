"""What one evaluation cannot know alone, remembered between evaluations of one process
(a console session, an exporter): since when each finding holds, the brokers registered
earlier, restarts and controller changes seen happen, and which findings were RAISED or
CLEARED by the latest evaluation.

Fed by the evaluations themselves (`observe_cluster`, then `settle`) and, where the
console or the exporter watches the cluster, by the watch's events (`observe_event`,
from the watch's thread: the tracker takes a lock). Memory is bounded: per broker and for
the controller only the newest `MAX_REMEMBERED` times are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from engine.cluster.model import (
    BrokerJoined,
    BrokerLeft,
    BrokerRestarted,
    ClusterEvent,
    ClusterView,
    ControllerChanged,
)
from engine.health.facts import ControllerFacts
from engine.health.finding import Finding, severity_rank
from engine.health.rules import Memory

RAISED: Final = "RAISED"
CLEARED: Final = "CLEARED"
MAX_REMEMBERED: Final = 100


@dataclass(frozen=True, slots=True)
class Transition:
    """A finding that appeared (or got worse: RAISED again with its new severity) or went
    away (CLEARED, with the finding as it last was), at `at` (epoch seconds)."""

    kind: str
    finding: Finding
    at: float


class HealthTracker:
    """See the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registered: dict[int, float] = {}
        self._sessions: dict[int, int | None] = {}
        self._left: set[int] = set()
        self._restarts: dict[int, list[float]] = {}
        self._controller: tuple[int | None, int | None] | None = None
        self._changes: list[tuple[float, int | None, int | None]] = []
        self._active: dict[tuple[str, str, str], Finding] = {}

    # -- what happened to the cluster -------------------------------------------------------

    def observe_cluster(self, view: ClusterView, controller: ControllerFacts,
                        now: float) -> None:
        """Take an evaluation's view of the brokers and the controller into account."""
        with self._lock:
            current = {b.id: b for b in view.brokers}
            for broker_id in set(self._registered) - set(current) - self._left:
                self._left.add(broker_id)
            for broker_id, broker in current.items():
                known = self._sessions.get(broker_id)
                if broker_id in self._left:
                    self._restart(broker_id, now)
                elif broker_id in self._sessions and known is not None \
                        and broker.session_id is not None and known != broker.session_id:
                    at = broker.registered_at_ms / 1000 if broker.registered_at_ms else now
                    self._restart(broker_id, at)
                self._left.discard(broker_id)
                self._registered[broker_id] = now
                self._sessions[broker_id] = broker.session_id
            self._controller_seen(controller.controller_id, controller.epoch, now)

    def observe_event(self, event: ClusterEvent, now: float) -> None:
        """Take a `ClusterWatch` event into account (any thread)."""
        with self._lock:
            if isinstance(event, BrokerJoined):
                broker = event.broker
                if broker.id in self._left:
                    self._restart(broker.id, now)
                self._left.discard(broker.id)
                self._registered[broker.id] = now
                self._sessions[broker.id] = broker.session_id
            elif isinstance(event, BrokerLeft):
                if event.broker_id in self._registered:
                    self._registered[event.broker_id] = now
                    self._left.add(event.broker_id)
            elif isinstance(event, BrokerRestarted):
                self._restart(event.broker.id, now)
                self._registered[event.broker.id] = now
                self._sessions[event.broker.id] = event.broker.session_id
            elif isinstance(event, ControllerChanged):
                epoch = self._controller[1] if self._controller is not None else None
                self._controller_seen(event.controller_id, epoch, now)

    def _restart(self, broker_id: int, at: float) -> None:
        times = self._restarts.setdefault(broker_id, [])
        times.append(at)
        del times[:-MAX_REMEMBERED]

    def _controller_seen(self, controller_id: int | None, epoch: int | None,
                         now: float) -> None:
        before = self._controller
        self._controller = (controller_id, epoch)
        if before is None:
            return
        moved = before[0] != controller_id
        # A new epoch with the same id is a re-election (the controller restarted); an
        # epoch that is not known on one side proves nothing.
        reelected = before[1] is not None and epoch is not None and before[1] != epoch
        if (moved or reelected) and controller_id is not None:
            self._changes.append((now, before[0], controller_id))
            del self._changes[:-MAX_REMEMBERED]

    def memory(self) -> Memory:
        """A snapshot of what the rules may use."""
        with self._lock:
            return Memory(registered=dict(self._registered),
                          restarts={b: tuple(t) for b, t in self._restarts.items()},
                          controller_changes=tuple(self._changes))

    # -- findings ---------------------------------------------------------------------------

    def settle(self, ran: Iterable[str], findings: Sequence[Finding], now: float
               ) -> tuple[list[Finding], list[Transition]]:
        """The findings with `since` set (the rule's own time, else the first evaluation
        that saw them), and the transitions against the previous evaluation. Findings of
        rules that did not run this time are kept as they were: nothing is CLEARED for
        want of facts."""
        ran = set(ran)
        transitions: list[Transition] = []
        settled: list[Finding] = []
        current: dict[tuple[str, str, str], Finding] = {}
        with self._lock:
            for found in findings:
                before = self._active.get(found.key)
                since = found.since
                if before is not None and before.since is not None:
                    since = before.since if since is None else min(since, before.since)
                if since is None:
                    since = now
                done = found.with_since(since)
                current[found.key] = done
                settled.append(done)
                if before is None or severity_rank(done.severity) < severity_rank(
                        before.severity):
                    transitions.append(Transition(RAISED, done, now))
            for key, before in self._active.items():
                if key in current:
                    continue
                if before.rule in ran:
                    transitions.append(Transition(CLEARED, before, now))
                else:
                    current[key] = before
            self._active = current
        return settled, transitions

    def active(self) -> list[Finding]:
        """Every finding held now (also those of rules that did not run last time)."""
        with self._lock:
            return list(self._active.values())
