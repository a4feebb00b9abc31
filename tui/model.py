"""What the screens show, as plain data: the cluster snapshot and how values read (times,
ages, bytes; a report's fields are worded by `engine.reading.detail`). The Cluster screen's
rows and warnings are `tui.cluster_view`'s.

Nothing here does I/O or imports Textual. Reports are the engine's
(`engine.reading.report`), and the rules over them (newer, overdue) are the engine's
(`engine.reading.rules`); this module only words them for the screens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.reading.report import Report
from engine.text import duration

if TYPE_CHECKING:
    from engine.cluster.model import Broker

DEFAULT_INTERVAL_HOURS = 24.0



@dataclass
class ClusterSnapshot:
    """Discovery plus the latest report of each broker, taken in one worker run."""

    cluster_id: str | None
    controller_id: int | None
    brokers: list[Broker]
    # Each broker's latest report, with its fields (the customer id column reads them).
    latest: dict[int, Report] = field(default_factory=dict)
    intervals_hours: dict[int, float] = field(default_factory=dict)
    # The customer id in each broker's server.properties, where the console was given it.
    customer_ids: dict[int, str] = field(default_factory=dict)
    support_replicas: int | None = None
    topic: str = ""
    reports_problem: str | None = None  # the topic could not be read; brokers still shown


def fmt_time(ms: int | None) -> str:
    """`YYYY-MM-DD HH:MM:SS` (UTC), `-` when unknown, the number when out of range."""
    if ms is None:
        return "-"
    try:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def fmt_age(seconds: float | None) -> str:
    """A compact age: 42s, 7m, 3h05m, 2d04h (`engine.text.duration`, minutes whole)."""
    if seconds is None:
        return "-"
    if seconds < 0:
        return "in the future"
    return duration(seconds, exact=False)


def age_of(ms: int | None, now: float) -> float | None:
    return None if ms is None else now - ms / 1000


def listeners(broker: Broker) -> str:
    """`NAME://host:port, ...`; a listener read from the AdminClient (KRaft) shows its
    security protocol, which is all the metadata tells."""
    return ", ".join(str(e) for e in broker.endpoints)





def hex_dump(value: bytes, limit: int = 4096) -> str:
    """A classic hex dump of the first `limit` bytes (the rest is summarised)."""
    lines = []
    for off in range(0, min(len(value), limit), 16):
        chunk = value[off:off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  {text}")
    if len(value) > limit:
        lines.append(f"... {len(value) - limit} more bytes")
    return "\n".join(lines)
