"""The broker token (`brokerProcessUUID`): one random UUID4 per runtime of a broker.

A broker restart is visible from outside its JVM: its ephemeral `/brokers/ids/<id>` znode
is re-created by a new ZooKeeper session, so the znode's `ephemeralOwner` changes. The
token therefore follows that session id: same session, same token; new session, new
token (`engine.discovery.broker_session` reads the session). The mapping is kept in a small JSON file in a state folder, written atomically, so
an agent that restarts while its broker keeps running keeps reporting the same token.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from pathlib import Path

STATE_FILE = "broker-tokens.json"


class TokenKeeper:
    """Issues broker tokens and remembers them across agent restarts in `state_dir`."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.path = Path(state_dir) / STATE_FILE
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # Missing or damaged state only costs one extra token, never a crash.
            return {}
        return raw if isinstance(raw, dict) else {}

    def _save(self, state: dict[str, dict[str, object]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".broker-tokens-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(state, out, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def token(self, broker_id: int, session_id: int | None) -> str:
        """The token for this broker runtime, identified by its registration session.

        `session_id` None means the registration cannot be seen right now (the broker is
        down or ZooKeeper is unreachable): the last token is kept, as nothing proves a
        restart; a token is only minted then if none exists yet.
        """
        key = str(broker_id)
        with self._lock:
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
