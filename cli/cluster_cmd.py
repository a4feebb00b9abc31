"""`ps-console cluster`: the cluster id, controller, brokers and topic counts."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cli.options import (
    Subparsers,
    add_cluster_options,
    add_json_option,
    cluster_options,
    print_hints,
    print_json,
)
from engine.cluster.location import locate

if TYPE_CHECKING:
    from engine.cluster.model import Broker, ClusterView


def register(subparsers: Subparsers) -> None:
    """Add the `cluster` subcommand."""
    parser = subparsers.add_parser(
        "cluster", help="describe the cluster: id, controller, brokers, topics",
        description="Describe a Kafka cluster from ZooKeeper (--zookeeper) or, for clusters "
                    "without ZooKeeper, from the brokers (--bootstrap-server).")
    add_cluster_options(parser, topic=False)
    add_json_option(parser)
    parser.set_defaults(handler=run)


def iso_utc(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC (`2026-11-26T14:57:42.123Z`), None stays None."""
    if ms is None:
        return None
    stamp = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def broker_json(broker: Broker) -> dict[str, Any]:
    """One broker as the `--json` output shows it."""
    return {
        "id": broker.id,
        "endpoints": [{"listener": e.listener, "protocol": e.protocol, "host": e.host,
                       "port": e.port} for e in broker.endpoints],
        "rack": broker.rack,
        "registeredAt": iso_utc(broker.registered_at_ms),
        "jmxPort": broker.jmx_port,
        "session": (f"0x{broker.session_id:x}" if broker.session_id is not None else None),
        "registrationVersion": broker.raw_version,
    }


def view_json(view: ClusterView) -> dict[str, Any]:
    """The view as the `--json` output shows it."""
    # Counts only, like the table: per-topic replication factors would grow with the
    # topic count and list topic names, which this command does not describe.
    return {
        "clusterId": view.cluster_id,
        "controller": view.controller_id,
        "brokers": [broker_json(b) for b in view.brokers],
        "topics": view.topics,
        "partitions": view.partitions,
        "source": view.source,
        "quorum": None if view.quorum is None else {
            "leader": view.quorum.leader_id, "epoch": view.quorum.leader_epoch,
            "highWatermark": view.quorum.high_watermark,
            "voters": [{"id": m.node_id, "lag": view.quorum.lag(m)} for m in view.quorum.voters],
            "observers": [{"id": m.node_id, "lag": view.quorum.lag(m)}
                          for m in view.quorum.observers]},
    }


def _table(view: ClusterView, where: str) -> str:
    def text(value: object) -> str:
        return "-" if value is None else str(value)

    lines = [
        f"Cluster     {text(view.cluster_id)}  ({where}, via {view.source})",
        f"Controller  {text(view.controller_id)}",
        f"Topics      {text(view.topics)}   Partitions {text(view.partitions)}",
    ]
    if view.quorum is not None:
        q = view.quorum
        voters = ", ".join(f"{m.node_id}" + (f" (lag {q.lag(m)})" if q.lag(m) else "")
                           for m in q.voters)
        lines.append(f"Quorum      leader {text(q.leader_id)}, epoch {q.leader_epoch}, "
                     f"voters {voters or '-'}")
    lines.append("")
    header = ("ID", "ENDPOINTS", "RACK", "REGISTERED (UTC)", "JMX", "SESSION")
    rows = [header]
    for b in view.brokers:
        marker = "*" if b.id == view.controller_id else ""
        rows.append((
            f"{b.id}{marker}",
            " ".join(str(e) for e in b.endpoints) or "-",
            text(b.rack),
            text(iso_utc(b.registered_at_ms)),
            text(b.jmx_port),
            f"0x{b.session_id:x}" if b.session_id is not None else "-",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    if not view.brokers:
        lines.append("(no live brokers)")
    elif view.controller_id is not None:
        lines.append("* controller")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Describe the cluster; exit 1 when it cannot be reached, 2 on a bad connect string."""
    # Imported here: every subcommand's module loads to build the parser (the console's
    # start too), and discovery brings kazoo's side of the engine with it.
    from engine.cluster.discovery import discover
    from engine.cluster.session import ClusterSession

    location = locate(cluster_options(args))
    print_hints(location)
    with ClusterSession(location) as session:
        view = discover(session)
    if args.json:
        print_json(view_json(view))
    else:
        print(_table(view, location.address))
    return 0
