"""The broker token (`brokerProcessUUID`): one random UUID4 per runtime of a broker.

A broker restart is visible from outside its JVM: its ephemeral `/brokers/ids/<id>` znode
is re-created by a new ZooKeeper session, so the znode's `ephemeralOwner` changes. The
token therefore follows that session id: same session, same token; new session, new
token (`engine.cluster.discovery.broker_session` reads the session). The mapping is kept in a
small JSON file in a state folder, written atomically, so an agent that restarts while its
broker keeps running keeps reporting the same token.

The agent and a one-shot `ps-console report` may share the folder. Each decision (load,
maybe mint, save) is made under an advisory `flock` on a lock file beside the JSON, or two
processes seeing a new session at once would each mint a token, and the second would look
like a broker restart. The lock is a courtesy, not a precondition: when it cannot be had
(no lock file possible, or another process holds it longer than `lock_wait_s`) the keeper
goes on without it: the worst case stays one extra token, never a hang.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.files import atomic_write

try:
    import fcntl
except ImportError:  # not POSIX: only the in-process lock remains
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

STATE_FILE = "broker-tokens.json"
LOCK_FILE = "broker-tokens.lock"
# Holders keep the lock for one small read and one fsync'd write; waiting longer than this
# means a stuck process, and an agent must never hang behind it.
DEFAULT_LOCK_WAIT_S = 5.0
_POLL_S = 0.02


class TokenKeeper:
    """Issues broker tokens and remembers them across agent restarts in `state_dir`."""

    def __init__(self, state_dir: str | os.PathLike[str],
                 lock_wait_s: float = DEFAULT_LOCK_WAIT_S) -> None:
        self.path = Path(state_dir) / STATE_FILE
        self.lock_path = Path(state_dir) / LOCK_FILE
        self.lock_wait_s = lock_wait_s
        # flock excludes other open file descriptions, not other threads sharing ours;
        # this lock also keeps this process's threads from queueing on the file lock.
        self._lock = threading.Lock()

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        """Hold the folder's lock file for the duration, or go on without it (see module)."""
        if fcntl is None:
            yield
            return
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            # Never deleted: removing a lock file lets two processes lock different files.
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("broker tokens: no lock file %s (%s); going on unlocked",
                        self.lock_path, exc)
            yield
            return
        try:
            deadline = time.monotonic() + self.lock_wait_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        log.warning("broker tokens: %s still locked by another process "
                                    "after %.1f s; going on unlocked", self.lock_path,
                                    self.lock_wait_s)
                        break
                    time.sleep(_POLL_S)
                except OSError as exc:  # e.g. a file system without flock
                    log.warning("broker tokens: cannot lock %s (%s); going on unlocked",
                                self.lock_path, exc)
                    break
            yield
        finally:
            os.close(fd)  # also releases the lock, if held

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # Missing or damaged state only costs one extra token, never a crash.
            return {}
        return raw if isinstance(raw, dict) else {}

    def _save(self, state: dict[str, dict[str, object]]) -> None:
        """Keep the tokens for the next start; a folder that cannot take them (a full disk,
        no permission) costs a new token after a restart of the agent, never the report."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(state, sort_keys=True).encode("utf-8"),
                         mode=0o600)
        except OSError as exc:
            log.warning("broker tokens: cannot keep them in %s (%s)", self.path.parent,
                        exc.strerror or exc)

    def token(self, broker_id: int, session_id: int | None) -> str:
        """The token for this broker runtime, identified by its registration session.

        `session_id` None means the registration cannot be seen right now (the broker is
        down or ZooKeeper is unreachable): the last token is kept, as nothing proves a
        restart; a token is only minted then if none exists yet.
        """
        key = str(broker_id)
        with self._lock, self._process_lock():
            state = self._load()
            entry = state.get(key)
            if isinstance(entry, dict) and isinstance(entry.get("token"), str):
                known = entry.get("session")
                if session_id is None or known == session_id:
                    return str(entry["token"])
                if known is None:
                    # First sight of the session after a token minted blind: adopt it.
                    state[key] = {"session": session_id, "token": entry["token"]}
                    self._save(state)
                    return str(entry["token"])
            token = str(uuid.uuid4())
            state[key] = {"session": session_id, "token": token}
            self._save(state)
            return token
