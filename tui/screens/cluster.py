"""Cluster: controller, brokers (registered, and DOWN ones the console saw leave), the state
and age of each broker's latest report, and the warning lines.

The table (`tui.widgets.row_table`, which paints only the rows on screen) is filled once
per change of the broker set and updated cell by cell after that: a look at the cluster
rewrites only the cells that changed, and the clock's tick only the age and state cells
whose text moved (a thousand brokers cost a handful of cell updates a second, not a
rebuild).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from engine.text import printable
from tui.cluster_view import (
    AGENT_STOPPED,
    CRITICAL,
    DOWN,
    NO_REPORT,
    OK,
    OVERDUE,
    BrokerRow,
    WarningLine,
    customer_id,
)
from tui.model import ClusterSnapshot, age_of, fmt_age, fmt_time, listeners
from tui.widgets.footer import ConsoleFooter
from tui.widgets.header import ConsoleHeader
from tui.widgets.row_table import Cell, RowTable

if TYPE_CHECKING:
    from tui.app import ConsoleApp

# (key, title): the values an operator looks for first stay on the left, where an 80-column
# terminal shows them; the long listener list goes last.
COLUMNS = (("id", "id"), ("state", "state"), ("age", "report age"), ("kafka", "Kafka"),
           ("cp", "CP"), ("customer", "customer id"), ("rack", "rack"),
           ("registered", "registered since (UTC)"), ("listeners", "listeners"))
# The cells that move with the clock alone.
TICKING = ("state", "age")

_STATE_STYLE = {DOWN: "bold red", AGENT_STOPPED: "bold yellow", OVERDUE: "bold yellow",
                NO_REPORT: "bold yellow", OK: "green"}


def _clock_time(seconds: float, now: float) -> str:
    """`HH:MM:SS` UTC within the last day, else the date and minute."""
    when = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return when.strftime("%H:%M:%S" if now - seconds < 86_400 else "%Y-%m-%d %H:%M")


def ticking_cells(row: BrokerRow, now: float) -> dict[str, Cell]:
    """The cells that move with the clock alone: state (a DOWN row says since when) and
    age."""
    state = row.state
    if state == DOWN:
        shown = f"DOWN since {_clock_time(row.down_since, now)}" \
            if row.down_since is not None else "DOWN"
    else:
        shown = state
    report = row.report
    if report is None:
        age: Cell = ("-" if state == DOWN else "missing", "" if state == DOWN else "bold red")
    else:
        age = (fmt_age(age_of(report.collected_ms, now)), "")
    return {"state": (shown, _STATE_STYLE[state]), "age": age}


def row_cells(row: BrokerRow, now: float, controller: int | None) -> dict[str, Cell]:
    """The row's cells as text and style, keyed by column."""
    state = row.state
    report = row.report
    broker = row.broker
    return {
        "id": (str(row.broker_id), "bold" if row.broker_id == controller else ""),
        **ticking_cells(row, now),
        "kafka": ((report.kafka_version if report else None) or "-", ""),
        "cp": ((report.cp_version if report else None) or "-", ""),
        "customer": (customer_id(row), ""),
        "rack": ((broker.rack if broker else None) or "-", ""),
        "registered": (fmt_time(broker.registered_at_ms) if broker else "-",
                       "dim" if state == DOWN else ""),
        "listeners": (listeners(broker) if broker else "-", "dim" if state == DOWN else ""),
    }


def warning_text(warnings: list[WarningLine]) -> Text:
    """The warning lines, critical ones in red."""
    out = Text()
    for i, warning in enumerate(warnings):
        if i:
            out.append("\n")
        style = "bold red" if warning.severity == CRITICAL else ""
        out.append(f"! {printable(warning.line())}", style=style)  # versions are reports' words
    return out


class BrokerTable(RowTable):
    """The brokers; Enter opens the selected broker's history in Reports."""

    BINDINGS = [Binding("enter", "select", "History", id="broker_history")]


class ClusterScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "app.refresh_cluster", "Refresh", id="refresh"),
    ]
    AUTO_FOCUS = "#brokers"
    HELP = ("The brokers registered in the cluster, updated live from ZooKeeper's watches "
            "(in KRaft, read again every few seconds). A broker that leaves stays as a DOWN "
            "row until it registers again. Enter opens a broker's history in Reports.")

    def __init__(self) -> None:
        super().__init__()
        # What the table shows: the broker ids in order, and each row's cells.
        self._ids: list[int] = []
        self._cells: dict[int, dict[str, Cell]] = {}

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Cluster")
        yield Static("", id="cluster-summary")
        yield Static("", id="cluster-warnings")
        yield BrokerTable(COLUMNS, id="brokers")
        yield ConsoleFooter()

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self.show, init=True)
        # The health rules' findings come after the snapshot of the same refresh: the
        # warning lines and the rows' states follow them.
        self.watch(self.app, "health", self.show, init=False)
        self.watch(self.app, "now", self.tick, init=False)

    def show(self, _snap: ClusterSnapshot | None = None) -> None:
        """A new look at the cluster: summary, warnings, and every cell that changed."""
        snap = self.console.snapshot
        summary = self.query_one("#cluster-summary", Static)
        if snap is None:
            summary.update("Connecting to the cluster...")
            self.query_one("#cluster-warnings", Static).display = False
            return
        rows, warnings = self.console.cluster_view()
        down = sum(1 for r in rows if not r.registered)
        controller = "none" if snap.controller_id is None else str(snap.controller_id)
        summary.update(Text.assemble(
            "controller ", (controller, "bold"), f"   brokers {len(snap.brokers)}",
            (f"   DOWN {down}", "bold red") if down else "",
            f"   support topic {snap.topic}"))
        self._show_warnings(warnings)
        self._fill(rows, snap.controller_id, columns=None)

    def tick(self, _now: float = 0.0) -> None:
        """The clock moved: only the ticking cells, and the warnings (ages in them)."""
        if self.console.snapshot is None:
            return
        rows, warnings = self.console.cluster_view()
        self._show_warnings(warnings)
        self._fill(rows, self.console.snapshot.controller_id, columns=TICKING)

    def _show_warnings(self, warnings: list[WarningLine]) -> None:
        warn = self.query_one("#cluster-warnings", Static)
        warn.display = bool(warnings)
        warn.update(warning_text(warnings))

    def _fill(self, rows: list[BrokerRow], controller: int | None,
              columns: tuple[str, ...] | None) -> None:
        table = self.query_one("#brokers", BrokerTable)
        now = self.console.now
        ids = [r.broker_id for r in rows]
        if ids != self._ids:
            self._rebuild(table, rows, now, controller)
            return
        for row in rows:
            cells = ticking_cells(row, now) if columns == TICKING else \
                row_cells(row, now, controller)
            shown = self._cells[row.broker_id]
            changed = {key: cell for key, cell in cells.items() if shown[key] != cell}
            if changed:
                table.update_cells(str(row.broker_id), changed)
                shown.update(changed)

    def _rebuild(self, table: BrokerTable, rows: list[BrokerRow], now: float,
                 controller: int | None) -> None:
        """The broker set changed: fill the table anew (the cursor stays on its broker)."""
        self._cells = {r.broker_id: row_cells(r, now, controller) for r in rows}
        table.set_rows((str(i), cells) for i, cells in self._cells.items())
        self._ids = [r.broker_id for r in rows]

    @on(RowTable.Selected, "#brokers")
    def _selected(self, event: RowTable.Selected) -> None:
        self.console.show_history(int(event.key))
