"""The broker token (`brokerProcessUUID`): one value per runtime of a broker, the same
whoever sends the report.

CP's agent ran inside the broker and drew a random UUID when the broker started. Here the
agent, `ps-console report` from any state folder and the console's Report now are separate
processes, possibly on separate hosts; they agree on the token without sharing a file
because each derives it from what identifies the broker's runtime (`derive`):

- ZooKeeper mode: the registration znode's owner session, creation zxid and creation time
  (`engine.cluster.registration`), which every reader of the cluster sees alike and a
  restart changes; keyed by the cluster: its id and when its `/cluster/id` was made.
- KRaft, on the broker's host: the broker's JVM (boot id, pid, start time from /proc),
  keyed by the boot id and the cluster id (`engine.reporting.runtime` explains the choice).

The token is an HMAC-SHA256 of those facts, cut to 128 bits in the shape of a UUID4. It
reveals none of its inputs. The key holds facts no report carries (`/cluster/id`'s creation
zxid and time; the host's random boot id), so a reader who knows a report's cluster id and
broker id would have to guess those together with the session id, zxid and millisecond of
the registration: far too many combinations to try. Another cluster, another broker or
another runtime gives another token.

`TokenCache` keeps the last runtime each broker was seen in, for the one moment a sender
cannot read the registration (a ZooKeeper outage): the same JVM still running proves the
same runtime (`engine.reporting.runtime.identify`). Senders never agree through it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.files import atomic_write

log = logging.getLogger(__name__)

STATE_FILE = "broker-tokens.json"
_LABEL = b"ps-console broker token v1"
_CACHE_VERSION = 2
# A cache of a few brokers is a few hundred bytes; anything far larger is not ours.
_MAX_CACHE_BYTES = 1024 * 1024


def _canonical(parts: Sequence[str | int]) -> bytes:
    """An unambiguous byte string of `parts` (strings and integers only)."""
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, str | int):
            raise TypeError(f"token input of type {type(part).__name__}")
    return json.dumps(list(parts), separators=(",", ":"), ensure_ascii=True).encode("ascii")


def derive(key_facts: Sequence[str | int], runtime_facts: Sequence[str | int]) -> str:
    """The token of one broker runtime: an HMAC-SHA256 of `runtime_facts` under a key made
    from `key_facts`, as a UUID-shaped string (version 4 and variant bits set)."""
    key = hashlib.sha256(_LABEL + b"\0key\0" + _canonical(key_facts)).digest()
    digest = hmac.new(key, _LABEL + b"\0runtime\0" + _canonical(runtime_facts),
                      hashlib.sha256).digest()
    raw = bytearray(digest[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4: readers that check the shape accept it
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def zookeeper_token(cluster_id: str | None, cluster_facts: Sequence[int], broker_id: int,
                    registration_facts: Sequence[int]) -> str:
    """The token of the runtime registered in ZooKeeper with `registration_facts`
    (ephemeralOwner, czxid, ctime of `/brokers/ids/<id>`)."""
    return derive(("zookeeper", cluster_id or "", *cluster_facts),
                  (int(broker_id), *registration_facts))


@dataclass(frozen=True)
class JvmIdentity:
    """One process on one boot of one host: no other process ever has all three."""

    boot_id: str
    pid: int
    start_ms: int

    def as_list(self) -> list[str | int]:
        return [self.boot_id, self.pid, self.start_ms]


def jvm_token(cluster_id: str | None, broker_id: int, jvm: JvmIdentity) -> str:
    """The token of the runtime that is this broker JVM (KRaft, on the broker's host)."""
    return derive(("jvm", cluster_id or "", jvm.boot_id), (int(broker_id), jvm.pid,
                                                          jvm.start_ms))


@dataclass(frozen=True)
class CachedRuntime:
    """A runtime as last seen: its token, and the broker's JVM then, if it was visible."""

    token: str
    jvm: JvmIdentity | None


class TokenCache:
    """The last runtime of each broker this sender saw, in `folder`/broker-tokens.json.

    Keys name the cluster as this sender reaches it plus the broker id (the cluster id
    cannot be read when the cache is needed). Written atomically, only when an entry
    changes; a folder that cannot take it costs the outage fallback, never a report.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / STATE_FILE

    def _load(self) -> dict[str, object]:
        try:
            if self.path.stat().st_size > _MAX_CACHE_BYTES:
                return {}
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(raw, dict) or raw.get("version") != _CACHE_VERSION:
            return {}  # missing, damaged, or the old file of minted tokens: start afresh
        runtimes = raw.get("runtimes")
        return runtimes if isinstance(runtimes, dict) else {}

    def get(self, key: str) -> CachedRuntime | None:
        """The runtime last seen under `key`, None when none was (or the file is bad)."""
        entry = self._load().get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            return None
        jvm = entry.get("jvm")
        identity = None
        if (isinstance(jvm, list) and len(jvm) == 3 and isinstance(jvm[0], str)
                and all(isinstance(v, int) and not isinstance(v, bool) for v in jvm[1:])):
            identity = JvmIdentity(jvm[0], jvm[1], jvm[2])
        return CachedRuntime(str(entry["token"]), identity)

    def put(self, key: str, runtime: CachedRuntime) -> None:
        """Remember `runtime` under `key` (nothing is written when it is already known)."""
        if self.get(key) == runtime:
            return
        runtimes = dict(self._load())
        runtimes[key] = {"token": runtime.token,
                         "jvm": runtime.jvm.as_list() if runtime.jvm else None}
        data = json.dumps({"version": _CACHE_VERSION, "runtimes": runtimes},
                          sort_keys=True).encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, data, mode=0o600)
        except OSError as exc:
            log.warning("broker tokens: cannot keep them in %s (%s)", self.path.parent,
                        exc.strerror or exc)
