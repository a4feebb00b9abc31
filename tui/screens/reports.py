"""Reports: the latest report of each broker, or one broker's history, with a detail pane
(every decoded field, or the raw bytes) and a `/` filter.

Rows are the engine's report summaries (`engine.reading.report`), in the order the rules
give them. The latest reports come with their fields; a history row does not, and the
detail pane has the backend read that one report again (a few are remembered).

A history can hold 100,000 records: the worker hands them over in batches, the table grows
batch by batch, and a filter rebuilds the table in chunks that yield to the event loop, so
keys keep working while it fills.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, cast

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from engine.errors import PsError
from engine.reading.report import Report, ReportSummary
from engine.text import format_size
from tui.messages import RawLoaded, ReportFetched, ReportsLoaded, ServiceError
from tui.model import (
    age_of,
    describe_value,
    flatten,
    fmt_age,
    fmt_time,
    hex_dump,
)
from tui.widgets.footer import ConsoleFooter
from tui.widgets.header import ConsoleHeader

if TYPE_CHECKING:
    from tui.app import ConsoleApp

COLUMNS = ("position", "broker", "report time (UTC)", "age", "schema", "Kafka", "size")
# Rows added to the table per turn of the event loop when a filter rebuilds it.
FILL_CHUNK = 1_000
# Reports read again for the detail pane that stay at hand (moving back and forth).
DETAIL_MEMORY = 64


def _search_text(row: ReportSummary) -> str:
    parts = [row.position, str(row.broker_id if row.broker_id is not None else "-"),
             row.schema_short, row.kafka_version or "", row.cp_version or "",
             row.token or "", row.error or ""]
    return " ".join(parts).lower()


def _fields_of(row: ReportSummary) -> dict[str, Any] | None:
    """The decoded fields the row carries, None when it carries none."""
    return row.fields if isinstance(row, Report) else None


class ReportsScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("h", "history", "History of broker", id="history"),
        Binding("l", "latest", "Latest per broker", id="latest"),
        Binding("v", "raw", "Raw/decoded", id="raw"),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter", show=False),
    ]
    AUTO_FOCUS = "#reports"
    HELP = ("The latest report of every broker, or every report of one broker (h). The "
            "detail pane shows every decoded field; v switches to the raw bytes.")
    PALETTE = [
        ("Reports: refresh", "Read the reports again", "refresh"),
        ("Reports: filter", "Filter the rows by text", "filter"),
        ("Reports: history of the selected broker", "Every report of one broker", "history"),
        ("Reports: latest per broker", "Back to the latest report of each broker", "latest"),
        ("Reports: raw view", "Show the value's bytes (hex and base64)", "raw"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ReportSummary] = []
        self._by_key: dict[str, ReportSummary] = {}
        self._details: OrderedDict[str, Report | None] = OrderedDict()
        self._generation = 0
        self._cancel = threading.Event()
        self._history_of: int | None = None
        self._history = False
        self._loading = False
        self._raw = False
        self._filter = ""

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Reports")
        box = Input(placeholder="filter: broker, position, schema, version, token, error",
                    id="reports-filter")
        box.display = False  # shown by `/`
        yield box
        yield Static("", id="reports-status")
        with Horizontal(id="reports-body"):
            table: DataTable[str | Text] = DataTable(id="reports", cursor_type="row",
                                                     zebra_stripes=True)
            table.add_columns(*COLUMNS)
            yield table
            with VerticalScroll(id="detail"):
                yield Static("", id="detail-body")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.load()

    # -- loading -------------------------------------------------------------------------

    def load(self) -> None:
        self._cancel.set()  # a history still streaming stops at its next batch
        self._cancel = threading.Event()
        self._generation += 1
        self._loading = True
        self._update_status()
        self.fetch(self._generation, self._history, self._history_of, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reports")
    def fetch(self, generation: int, history: bool, broker_id: int | None,
              cancel: threading.Event) -> None:
        backend = self.console.backend
        try:
            if not history:
                rows = backend.latest_reports()
                self.post_message(ReportsLoaded(rows, generation, first=True, last=True))
                return
            first = True
            for batch in backend.history(broker_id, cancel):
                if cancel.is_set():
                    return
                self.post_message(ReportsLoaded(batch, generation, first=first, last=False))
                first = False
            self.post_message(ReportsLoaded([], generation, first=first, last=True))
        except PsError as exc:
            self.post_message(ServiceError("reports", str(exc)))

    def on_reports_loaded(self, message: ReportsLoaded) -> None:
        if message.generation != self._generation:
            return  # from a load the operator replaced
        message.stop()
        table = self.query_one("#reports", DataTable)
        if message.first:
            self.rows = []
            self._by_key = {}
            self._details.clear()
            table.clear()
        self.rows.extend(message.rows)
        for row in message.rows:
            self._by_key[row.key] = row
        self._add_rows([r for r in message.rows if self._matches(r)])
        if message.last:
            self._loading = False
        self._update_status()
        if message.first and table.row_count:
            self._show_detail(self.rows[0] if not self._filter else None)

    def on_service_error(self, message: ServiceError) -> None:
        if message.what != "reports":
            return
        message.stop()
        self._loading = False
        status = self.query_one("#reports-status", Static)
        status.update(Text(f"! {message.message} (r to retry)", style="bold red"))
        if self.console.backend.offline:
            self.console.show_error("Cannot open the bundle", message.message)
        else:
            self.notify(message.message, title="reports", severity="error", timeout=8)

    # -- the table -----------------------------------------------------------------------

    def _cells(self, row: ReportSummary) -> tuple[Text, ...]:
        # Text, not str: a version string from the topic is data, never markup (and the
        # table skips parsing markup for every cell of a 100,000-row history).
        now = self.console.clock()
        schema = Text(row.schema_short) if row.ok else Text("undecodable", style="bold red")
        return (Text(row.position), Text("-" if row.broker_id is None else str(row.broker_id)),
                Text(fmt_time(row.collected_ms)),
                Text(fmt_age(age_of(row.collected_ms, now))), schema,
                Text(row.kafka_version or "-"), Text(format_size(row.size)))

    def _add_rows(self, rows: list[ReportSummary]) -> None:
        table = self.query_one("#reports", DataTable)
        for row in rows:
            table.add_row(*self._cells(row), key=row.key)

    def _matches(self, row: ReportSummary) -> bool:
        return not self._filter or self._filter in _search_text(row)

    @work(exclusive=True, group="fill")
    async def refill(self) -> None:
        """Rebuild the table for a new filter, a chunk per turn of the event loop."""
        table = self.query_one("#reports", DataTable)
        table.clear()
        matching = [r for r in self.rows if self._matches(r)]
        for start in range(0, len(matching), FILL_CHUNK):
            self._add_rows(matching[start:start + FILL_CHUNK])
            await asyncio.sleep(0)
        self._update_status()

    def _update_status(self) -> None:
        what = (f"history of broker {self._history_of}" if self._history and
                self._history_of is not None else "every report" if self._history
                else "latest report of each broker")
        if self.console.backend.offline:
            what += f" in {self.console.backend.description}"
        shown = self.query_one("#reports", DataTable).row_count
        count = f"{len(self.rows):,} rows" if not self._filter else \
            f"{shown:,} of {len(self.rows):,} rows match {self._filter!r}"
        loading = "  loading..." if self._loading else ""
        self.query_one("#reports-status", Static).update(Text(f"{what}: {count}{loading}"))

    # -- the detail pane -----------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#reports")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is not None and key in self._by_key:
            self._show_detail(self._by_key[key])

    def selected(self) -> ReportSummary | None:
        table = self.query_one("#reports", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return self._by_key.get(key) if key is not None else None

    def _show_detail(self, row: ReportSummary | None) -> None:
        row = row or self.selected()
        body = self.query_one("#detail-body", Static)
        if row is None:
            body.update("")
            return
        if self._raw:
            value = row.value if isinstance(row, Report) else None
            if value is None:
                body.update(Text(f"{row.position}: reading the raw value..."))
                self.fetch_raw(row)
            else:
                body.update(self._raw_text(row, value))
            return
        fields = _fields_of(row)
        if fields is None and row.ok:
            if row.key not in self._details:
                body.update(Text(f"{row.position}: reading the report..."))
                self.fetch_detail(row)
                return
            fetched = self._details[row.key]
            if fetched is None:
                body.update(Text(f"{row.position}: the record is no longer there"))
                return
            fields = fetched.fields
        body.update(self._decoded_table(row, fields))

    def _decoded_table(self, row: ReportSummary, fields: dict[str, Any] | None) -> Table:
        now = self.console.clock()
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        table.add_row("position", row.position)
        table.add_row("broker", "-" if row.broker_id is None else str(row.broker_id))
        table.add_row("size", f"{row.size} bytes")
        if not row.ok:
            table.add_row("decoded", Text("UNDECODABLE", style="bold red"))
            table.add_row("reason", row.error or "unknown")
            return table
        table.add_row("schema", row.schema or "?")
        for path, value in flatten(fields or {}):
            table.add_row(path, describe_value(path, value, now))
        return table

    def _raw_text(self, row: ReportSummary, value: bytes | None) -> Text:
        if value is None:
            return Text(f"{row.position}: the value is empty or no longer there")
        encoded = base64.b64encode(value).decode("ascii")
        return Text(f"{row.position}: {len(value)} bytes\n\nhex\n{hex_dump(value)}\n\n"
                    f"base64\n{encoded}")

    @work(thread=True, exclusive=True, exit_on_error=False, group="raw")
    def fetch_raw(self, row: ReportSummary) -> None:
        try:
            value = self.console.backend.raw_value(row)
        except (PsError, OSError, KeyError) as exc:
            self.post_message(ServiceError("reports", f"raw value of {row.position}: {exc}"))
            return
        self.post_message(RawLoaded(row, value))

    def on_raw_loaded(self, message: RawLoaded) -> None:
        message.stop()
        current = self.selected()
        if self._raw and current is not None and current.key == message.row.key:
            self.query_one("#detail-body", Static).update(
                self._raw_text(message.row, message.value))

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail")
    def fetch_detail(self, row: ReportSummary) -> None:
        try:
            report = self.console.backend.report(row)
        except (PsError, OSError) as exc:
            self.post_message(ServiceError("reports", f"report {row.position}: {exc}"))
            return
        self.post_message(ReportFetched(row, report))

    def on_report_fetched(self, message: ReportFetched) -> None:
        message.stop()
        if self._by_key.get(message.row.key) is not message.row:
            return  # from a listing the operator replaced
        self._details[message.row.key] = message.report
        while len(self._details) > DETAIL_MEMORY:
            self._details.popitem(last=False)
        current = self.selected()
        if not self._raw and current is not None and current.key == message.row.key:
            self._show_detail(current)

    # -- actions -------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.load()

    def action_history(self) -> None:
        row = self.selected()
        self._history = True
        self._history_of = row.broker_id if row is not None else None
        self.load()

    def show_history(self, broker_id: int) -> None:
        """The history of one broker (the Cluster screen's Enter); loaded now, or when the
        screen mounts if it is being made for this."""
        self._history = True
        self._history_of = broker_id
        if self.is_mounted:
            self.load()

    def action_latest(self) -> None:
        self._history = False
        self._history_of = None
        self.load()

    def action_raw(self) -> None:
        self._raw = not self._raw
        self._show_detail(None)

    def action_filter(self) -> None:
        box = self.query_one("#reports-filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#reports-filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one("#reports", DataTable).focus()

    @on(Input.Changed, "#reports-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip().lower()
        self.refill()

    @on(Input.Submitted, "#reports-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one("#reports", DataTable).focus()
