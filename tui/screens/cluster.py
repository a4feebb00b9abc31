"""Cluster: controller, brokers, the age of each broker's latest report, and warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.model import (
    ClusterSnapshot,
    age_of,
    customer_kind,
    fmt_age,
    fmt_time,
    listeners,
    warnings_for,
)
from tui.widgets.header import ConsoleHeader

if TYPE_CHECKING:
    from tui.app import ConsoleApp

COLUMNS = ("id", "listeners", "rack", "registered since", "report age", "Kafka", "CP",
           "customer id")


class ClusterScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "app.refresh_cluster", "Refresh", id="refresh"),
    ]
    HELP = "The brokers registered in ZooKeeper, updated live from its watches."

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Cluster")
        yield Static("", id="cluster-summary")
        yield Static("", id="cluster-warnings")
        table: DataTable[str | Text] = DataTable(id="brokers", cursor_type="row",
                                                 zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Footer()

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self.show, init=True)

    def show(self, snap: ClusterSnapshot | None = None) -> None:
        snap = self.console.snapshot
        summary = self.query_one("#cluster-summary", Static)
        warn = self.query_one("#cluster-warnings", Static)
        table = self.query_one("#brokers", DataTable)
        if snap is None:
            summary.update("Connecting to the cluster...")
            warn.display = False
            return
        now = self.console.clock()
        controller = "none" if snap.controller_id is None else str(snap.controller_id)
        summary.update(Text.assemble(
            "controller ", (controller, "bold"), f"   brokers {len(snap.brokers)}",
            f"   support topic {snap.topic}"))
        problems = warnings_for(snap, now)
        warn.display = bool(problems)
        warn.update(Text("\n".join(f"! {p}" for p in problems)))
        # Rebuilt whole: a cluster has a handful of brokers and the cursor is kept by row.
        cursor = table.cursor_row
        table.clear()
        for broker in snap.brokers:
            report = snap.latest.get(broker.id)
            age = age_of(report.collected_ms, now) if report else None
            ident = Text(str(broker.id), style="bold" if broker.id == snap.controller_id
                         else "")
            table.add_row(
                ident, listeners(broker), broker.rack or "-",
                fmt_time(broker.registered_at_ms),
                fmt_age(age) if report else Text("missing", style="bold red"),
                (report.kafka_version if report else None) or "-",
                (report.cp_version if report else None) or "-",
                customer_kind(report, snap.customer_ids.get(broker.id)), key=str(broker.id))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
