"""Reports: the latest report of each broker, or one broker's history, with a detail pane
(every decoded field under its heading, or the raw bytes) and a `/` filter.

The latest view follows the topic: a cheap read of its end every few seconds merges new
reports in (`engine.reading.rules.latest_with`). A history is an `engine.reading.history`
object: the table (`tui.widgets.virtual_table`) asks it for the rows on screen only, a
worker lets it read in the background (newest rows first, what the table shows before
the rest, then whatever reaches the topic), and the strip above the table shows the
arrivals and events over the source's span. A history of a million reports opens as fast
as one of ten.

Rows are the engine's report summaries; the detail pane has the backend read one report
again by position (a few are remembered).
"""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static

from engine.errors import PsError
from engine.reading import rules
from engine.reading.history import History, Row, Unread
from engine.reading.report import Report, ReportSummary
from engine.reading.rules import Event
from engine.text import format_size, printable
from tui.messages import (
    BundleFactsLoaded,
    FilterReady,
    HistoryChanged,
    HistoryOpened,
    LatestArrived,
    RawLoaded,
    ReportFetched,
    ReportsLoaded,
    ServiceError,
    TimelineReady,
)
from tui.model import DEFAULT_INTERVAL_HOURS, age_of, fmt_age, fmt_time, hex_dump
from tui.widgets.footer import ConsoleFooter
from tui.widgets.header import ConsoleHeader
from tui.widgets.report_detail import report_detail
from tui.widgets.timeline import TimelineStrip, cells_for
from tui.widgets.virtual_table import Cells, Column, VirtualTable

if TYPE_CHECKING:
    from engine.reading.bundle import BundleFacts
    from engine.reading.reports import TailMark
    from tui.app import ConsoleApp

# Reports read again for the detail pane that stay at hand (moving back and forth).
DETAIL_MEMORY = 64
# The latest view looks at the end of the topic this often.
FOLLOW_SECONDS = 5.0
# A history worker tells the screen at most this often that rows changed (at once when they
# are rows the screen waits for), and works out the timeline again at most this often
# while the history is still reading.
CHANGE_EVERY = 0.05
TIMELINE_EVERY = 1.0
# Side by side (table | detail) from this width; below it the detail goes under the table.
SIDE_BY_SIDE = 180
# Short words for the events a row starts with.
EVENT_WORDS = {rules.RESTART: "restart", rules.SHUTDOWN: "shutdown",
               rules.UNDECODABLE: "undecodable"}


def event_words(events: Sequence[Event]) -> str:
    """`restart`, `gap 3d23h`, `Basic->Enhanced`, `shutdown`, `undecodable`, comma-joined."""
    words = []
    for event in events:
        if event.kind == rules.GAP:
            words.append(f"gap {fmt_age(event.seconds)}")
        elif event.kind == rules.SCHEMA_CHANGE:
            before = event.before.schema_short if event.before else "?"
            words.append(f"{before}->{event.after.schema_short}")
        else:
            words.append(EVENT_WORDS.get(event.kind, event.kind))
    return ", ".join(words)


_EVENT_STYLE = {rules.RESTART: "bold yellow", rules.SHUTDOWN: "bold magenta",
                rules.GAP: "red", rules.UNDECODABLE: "bold red",
                rules.SCHEMA_CHANGE: "cyan"}


def _latest_columns() -> list[Column]:
    return [Column("position", 9, 9), Column("broker", 6, 9, justify="right"),
            Column("report time (UTC)", 19, 8), Column("age", 6, 8, justify="right"),
            Column("schema", 11, 7), Column("state", 12, 5), Column("token", 8, 4),
            Column("Kafka", 9, 3), Column("size", 9, 1, justify="right")]


def _history_columns(position_width: int) -> list[Column]:
    # At 80 columns the age, Kafka and size go first: what the story needs stays.
    return [Column("position", max(9, position_width), 9),
            Column("report time (UTC)", 19, 8), Column("age", 6, 3, justify="right"),
            Column("schema", 11, 7), Column("state", 12, 6), Column("token", 8, 5),
            Column("Kafka", 9, 2), Column("size", 9, 1, justify="right"),
            Column("events", 15, 6, flexible=True)]


class ReportsScreen(Screen[None]):
    BINDINGS = [
        # Short words: at 80 columns the footer holds these and the app's keys.
        Binding("r", "refresh", "Refresh", id="refresh", tooltip="Read the reports again"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter the rows by text"),
        Binding("h", "history", "History", id="history",
                tooltip="Every report of the selected broker"),
        Binding("l", "latest", "Latest", id="latest",
                tooltip="The latest report of each broker"),
        Binding("v", "raw", "Raw", id="raw", tooltip="The raw bytes, or the decoded fields"),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter", show=False),
    ]
    AUTO_FOCUS = "#reports"
    HELP = ("The latest report of every broker, following the topic, or every report of "
            "one broker (h), newest first: token, collector state and the events between "
            "consecutive reports (restart, shutdown, schema change, gap, undecodable), with "
            "a strip of arrivals over the topic's span above it. The detail pane groups the "
            "decoded fields; v switches to the raw bytes. Home and End go to the newest and "
            "the oldest report.")
    PALETTE = [
        ("Reports: refresh", "Read the reports again", "refresh"),
        ("Reports: filter", "Filter the rows by text", "filter"),
        ("Reports: history of the selected broker", "Every report of one broker", "history"),
        ("Reports: latest per broker", "Back to the latest report of each broker", "latest"),
        ("Reports: raw view", "Show the value's bytes (hex and base64)", "raw"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.latest: list[ReportSummary] = []
        self._shown_latest: list[ReportSummary] = []
        self._history: History | None = None
        self._view: History | None = None  # the history or its filter
        self._history_of: int | None = None
        self._history_mode = False
        self._mark: TailMark | None = None
        self._generation = 0
        self._cancel = threading.Event()
        self._details: OrderedDict[str, Report | None] = OrderedDict()
        self._loading = False
        self._raw = False
        self._filter = ""
        self._facts: BundleFacts | None = None
        self._timeline_cells = 60
        self._following = False
        # Which row the cursor holds on to when the rows move: the newest ("top"), the
        # oldest ("bottom"), a report (kept under the cursor as rows above it come), or
        # None: a row not read yet, whose row number stays.
        self._anchor: str | ReportSummary | None = "top"

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#reports", VirtualTable)

    @property
    def history(self) -> History | None:
        """The history on screen (filtered or not), None in the latest view."""
        return self._view if self._history_mode else None

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Reports")
        box = Input(placeholder="filter: broker, position, schema, state, version, token, "
                                "error", id="reports-filter")
        box.display = False  # shown by `/`
        yield box
        yield Static("", id="reports-status")
        identity = Static("", id="reports-identity")
        identity.display = False
        yield identity
        strip = TimelineStrip("", id="reports-timeline")
        strip.display = False
        yield strip
        with Container(id="reports-body"):
            yield VirtualTable(_latest_columns(), shown=self._shown, id="reports")
            with VerticalScroll(id="detail"):
                yield Static("", id="detail-body")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        if self.console.backend.offline:
            self.load_facts()
        self.set_interval(FOLLOW_SECONDS, self._follow)
        self.set_interval(1.0, self._tick)
        # The anchor follows the cursor as it moves, not when the table's message about it
        # arrives: rows that change in between would put the cursor back where it was.
        self.watch(self.table, "cursor_row", self._cursor_moved, init=False)
        self.load()

    def on_unmount(self) -> None:
        self._drop_history()

    def on_resize(self) -> None:
        self._arrange()

    def _arrange(self) -> None:
        body = self.query_one("#reports-body")
        body.set_class(self.size.width < SIDE_BY_SIDE, "stacked")
        cells = cells_for(self.size.width - 2)
        if cells != self._timeline_cells:
            self._timeline_cells = cells
            self._wake_history()

    def _tick(self) -> None:
        """Ages move with the clock."""
        self.table.refresh_rows()

    # -- loading -------------------------------------------------------------------------

    def load(self) -> None:
        """Read the current view again from the start (latest, or the history)."""
        self._generation += 1
        self._drop_history()
        self._details.clear()
        self._loading = True
        self._arrange()
        if self._history_mode:
            self.table.set_columns(_history_columns(9))
            self.table.set_source(0, self._history_cells)
            self._anchor = "top"
            self.query_one("#reports-timeline", TimelineStrip).display = True
            interval = self._interval_s(self._history_of)
            self._cancel = threading.Event()
            self.follow_history(self._generation, self._history_of, interval, self._cancel)
        else:
            self.table.set_columns(_latest_columns())
            self.query_one("#reports-timeline", TimelineStrip).display = False
            self.fetch_latest(self._generation)
        self._update_status()

    def _drop_history(self) -> None:
        """Stop the history worker: it closes the history it holds (never the UI thread:
        closing a reader waits for the read in progress)."""
        self._cancel.set()
        history, self._history, self._view = self._history, None, None
        if history is not None:
            history.want(0, 0)  # wakes the worker, which sees `cancel` and closes it

    def _interval_s(self, broker_id: int | None) -> float:
        snap = self.console.snapshot
        hours = snap.intervals_hours.get(broker_id, DEFAULT_INTERVAL_HOURS) \
            if snap is not None and broker_id is not None else DEFAULT_INTERVAL_HOURS
        return hours * 3600

    @work(thread=True, exclusive=True, exit_on_error=False, group="reports")
    def fetch_latest(self, generation: int) -> None:
        backend = self.console.backend
        try:
            _, mark, _ = backend.poll_latest(None)  # before the read: nothing falls between
            rows = backend.latest_reports()
        except PsError as exc:
            self.post_message(ServiceError("reports", str(exc)))
            return
        self.post_message(LatestArrived([], mark, False, generation))
        self.post_message(ReportsLoaded(rows, generation, first=True, last=True))

    def on_reports_loaded(self, message: ReportsLoaded) -> None:
        if message.generation != self._generation or self._history_mode:
            return  # from a load the operator replaced
        message.stop()
        self.latest = list(message.rows)
        self._loading = False
        self._show_latest(keep=False)

    def _show_latest(self, keep: bool) -> None:
        selected = self.selected() if keep else None
        rows = [r for r in self.latest if self._matches(r)]
        self._shown_latest = rows
        cursor = 0
        if selected is not None:
            cursor = next((i for i, r in enumerate(rows) if r.key == selected.key), 0)
        self.table.set_source(len(rows), self._latest_cells, cursor)
        self._update_status()
        self._show_detail(None)

    def _follow(self) -> None:
        """Every few seconds: the reports that reached the topic since the last look."""
        if self._history_mode or self._loading or self._following or self._mark is None:
            return
        if self.console.backend.offline:
            return
        self._following = True
        self.poll_latest(self._generation, self._mark)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reports-follow")
    def poll_latest(self, generation: int, mark: TailMark) -> None:
        try:
            found, now, overflow = self.console.backend.poll_latest(mark)
        except PsError as exc:
            self.post_message(ServiceError("reports-follow", str(exc)))
            return
        self.post_message(LatestArrived(found, now, overflow, generation))

    def on_latest_arrived(self, message: LatestArrived) -> None:
        message.stop()
        self._following = False
        if message.generation != self._generation:
            return
        self._mark = message.mark
        if self._history_mode or not message.reports and not message.overflow:
            return
        if message.overflow:
            self.load()
            return
        self.latest = rules.latest_with(self.latest, message.reports, max_strays=20)
        self._show_latest(keep=True)

    def on_service_error(self, message: ServiceError) -> None:
        if message.what == "reports-follow":
            message.stop()
            self._following = False
            self._update_status(problem=message.message)
            return
        if message.what != "reports":
            return
        message.stop()
        self._loading = False
        self._update_status(problem=message.message)
        if self.console.backend.offline:
            self.console.show_error("Cannot open the bundle", message.message)
        else:
            self.notify(message.message, title="reports", severity="error", timeout=8)

    # -- the history ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def follow_history(self, generation: int, broker_id: int | None, interval_s: float,
                       cancel: threading.Event) -> None:
        """Open the history and let it read until the screen drops it: the table's rows
        first, then the rest, then whatever reaches the topic."""
        try:
            history = self.console.backend.open_history(broker_id, interval_s)
        except PsError as exc:
            self.post_message(ServiceError("reports", str(exc)))
            return
        try:
            self.post_message(HistoryOpened(history, generation))
            last_post = last_timeline = 0.0
            unposted = timeline_due = True
            while not cancel.is_set():
                view = self._view_of(history)
                urgent = view.behind_view
                try:
                    changed = view.work(cancel)
                except PsError as exc:  # a history retries by itself; this is a defect
                    self.post_message(ServiceError("reports", str(exc)))
                    return
                now = time.monotonic()
                unposted = unposted or changed
                timeline_due = timeline_due or changed
                if unposted and (urgent or now - last_post >= CHANGE_EVERY):
                    self.post_message(HistoryChanged(generation))
                    unposted, last_post = False, now
                if timeline_due and (now - last_timeline >= TIMELINE_EVERY or view.idle):
                    cells = self._timeline_cells
                    self.post_message(TimelineReady(view.timeline(cells), generation))
                    timeline_due, last_timeline = False, now
                if not changed and view.idle:
                    if unposted:
                        self.post_message(HistoryChanged(generation))
                        unposted, last_post = False, now
                    progress = view.progress()
                    if progress.done and not progress.following and not timeline_due:
                        return  # held whole (a bundle): nothing will change
                    view.wait(0.5)
        finally:
            history.close()

    def _view_of(self, history: History) -> History:
        """What the worker of `history` drives: the filter shown over it, or itself."""
        view = self._view
        if view is not None and (view is history or getattr(view, "parent", None) is history):
            return view
        return history

    def _wake_history(self) -> None:
        """The strip's width changed: the history worker draws it again, or, when the
        history is held whole and its worker is done, a worker of its own."""
        view = self._view
        if view is None:
            return
        view.want(*self._shown_rows())
        progress = view.progress()
        if progress.done and not progress.following:
            self.draw_timeline(view, self._timeline_cells, self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reports-timeline")
    def draw_timeline(self, view: History, cells: int, generation: int) -> None:
        self.post_message(TimelineReady(view.timeline(cells), generation))

    def _shown_rows(self) -> tuple[int, int]:
        table = self.table
        top = round(table.scroll_y)
        return top, top + table.size.height

    def on_history_opened(self, message: HistoryOpened) -> None:
        message.stop()
        if message.generation != self._generation:
            message.history.want(0, 0)
            return
        self._history = self._view = message.history
        self._loading = False
        if self._filter:
            self.make_filter(self._history, self._filter, self._generation)
        self._refresh_history(initial=True)

    def on_history_changed(self, message: HistoryChanged) -> None:
        message.stop()
        if message.generation == self._generation and self._view is not None:
            self._refresh_history()

    def _refresh_history(self, initial: bool = False) -> None:
        view = self._view
        if view is None:
            return
        progress = view.progress()
        table = self.table
        anchor = self._anchor
        if initial:
            table.set_source(progress.rows, self._history_cells)
        elif anchor == "top" or table.row_count == 0:
            table.set_count(progress.rows, cursor=0 if anchor == "top" else None)
        elif anchor == "bottom":
            table.set_count(progress.rows, cursor=progress.rows - 1)
        elif isinstance(anchor, ReportSummary):
            at = view.find(anchor)
            if at is not None and at != table.cursor_row:
                table.set_count(progress.rows, cursor=at, shift=at - table.cursor_row)
            else:
                table.set_count(progress.rows)
        else:  # on a row not read yet: the cursor stays at its place, and holds the
            table.set_count(progress.rows)  # report that comes there
            self._cursor_moved(table.cursor_row)
        self._fit_position_column()
        self._update_status()
        current = self.selected()
        shown = self.query_one("#detail-body", Static)
        if current is not None and (initial or "reading" in str(shown.visual)):
            self._show_detail(current)

    def _fit_position_column(self) -> None:
        rows = self._view.rows(0, 1) if self._view is not None else []
        if rows and isinstance(rows[0], ReportSummary):
            width = len(rows[0].position)
            columns = self.table.columns
            if columns and columns[0].title == "position" and columns[0].width < width:
                self.table.set_columns(_history_columns(width))

    def on_timeline_ready(self, message: TimelineReady) -> None:
        message.stop()
        if message.generation == self._generation and self._history_mode:
            note = ""
            if self._view is not None and not self._view.progress().exact:
                note = "(still reading)"
            self.query_one("#reports-timeline", TimelineStrip).show(message.timeline, note)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reports-filter")
    def make_filter(self, history: History, text: str, generation: int) -> None:
        """A history's filter examines every row decoded so far: off the UI thread."""
        self.post_message(FilterReady(history.matching(text), text, generation))

    def on_filter_ready(self, message: FilterReady) -> None:
        message.stop()
        if message.generation != self._generation or message.text != self._filter or \
                not self._history_mode:
            return
        self._view = message.view
        self._anchor = "top"
        self.table.set_source(message.view.progress().rows, self._history_cells)
        self._update_status()
        self._wake_history()

    # -- cells ---------------------------------------------------------------------------

    def _common_cells(self, row: ReportSummary) -> tuple[Text, ...]:
        # Text, not markup: versions and tokens come from the topic.
        now = self.console.clock()
        schema = Text(row.schema_short) if row.ok else Text("undecodable", style="bold red")
        state = row.state_name or ("-" if row.ok else "")
        state_style = "magenta" if row.state_name == "ShuttingDown" else ""
        return (Text(fmt_time(row.collected_ms)),
                Text(fmt_age(age_of(row.collected_ms, now))), schema,
                Text(state, style=state_style),
                Text(row.token[:8] if row.token else "-"),
                Text(row.kafka_version or "-"), Text(format_size(row.size)))

    def _latest_cells(self, start: int, stop: int) -> list[Cells | None]:
        out: list[Cells | None] = []
        for row in self._shown_latest[start:stop]:
            broker = "-" if row.broker_id is None else str(row.broker_id)
            out.append((Text(row.position), Text(broker), *self._common_cells(row)))
        return out

    def _history_cells(self, start: int, stop: int) -> list[Cells | None]:
        view = self._view
        if view is None:
            return []
        out: list[Cells | None] = []
        for row in view.rows(start, stop):
            out.append(self._row_cells(view, row))
        return out

    def _row_cells(self, view: History, row: Row) -> Cells | None:
        if isinstance(row, Unread):
            if row.offset is None:
                return None  # an estimate: the index has not reached it
            return (Text(row.position), Text("reading...", style="dim"))
        found = view.events_of(row)
        marks = Text()
        for n, event in enumerate(found):
            if n:
                marks.append(", ")
            marks.append(event_words([event]), style=_EVENT_STYLE.get(event.kind, ""))
        return (Text(row.position), *self._common_cells(row), marks)

    # -- status --------------------------------------------------------------------------

    def _update_status(self, problem: str | None = None) -> None:
        backend = self.console.backend
        if self._history_mode:
            what = self._view.label if self._view is not None else (
                f"history of broker {self._history_of}" if self._history_of is not None
                else "every report")
        else:
            what = "latest report of each broker"
        if backend.offline:
            what += f" in {backend.description}"
        count = self._count_words()
        busy = "  loading..." if self._loading else ""
        text = Text(f"{what}: {count}{busy}")
        if self._history_mode and self._view is not None:
            progress = self._view.progress()
            if progress.problem:
                problem = problem or progress.problem
            elif not progress.exact:
                text.append(f"  indexing {progress.indexed:.0%}", style="yellow")
            elif progress.decoded < 1.0:
                text.append(f"  events so far ({progress.decoded:.0%} read)", style="dim")
        elif not self._history_mode and not backend.offline and not self._loading:
            text.append("  (following the topic)", style="dim")
        if problem:
            text.append(f"  ! {problem} (r to retry)", style="bold red")
        # One line always (its CSS): no layout pass, which would draw the whole screen.
        self.query_one("#reports-status", Static).update(text, layout=False)

    def _count_words(self) -> str:
        if self._history_mode:
            if self._view is None:
                return "opening"
            progress = self._view.progress()
            about = "" if progress.exact else "about "
            base = self._history.progress().rows if self._history is not None else 0
            if self._filter:
                return (f"{progress.rows:,} of {'about ' if not progress.exact else ''}"
                        f"{base:,} rows match {self._filter!r}")
            return f"{about}{progress.rows:,} rows"
        if self._filter:
            return f"{len(self._shown_latest):,} of {len(self.latest):,} rows match " \
                   f"{self._filter!r}"
        return f"{len(self.latest):,} rows"

    @work(thread=True, exclusive=True, exit_on_error=False, group="bundle-facts")
    def load_facts(self) -> None:
        try:
            facts = self.console.backend.bundle_facts()
        except PsError as exc:
            self.post_message(ServiceError("reports", str(exc)))
            return
        if facts is not None:
            self.post_message(BundleFactsLoaded(facts))

    def on_bundle_facts_loaded(self, message: BundleFactsLoaded) -> None:
        message.stop()
        facts = message.facts
        self._facts = facts
        if facts.cluster_id:
            # The header names the bundle's cluster, as it names a live one.
            self.console.cluster_id = facts.cluster_id + (
                " (from its records)" if facts.cluster_from_records else "")
        identity = self.query_one("#reports-identity", Static)
        identity.display = True
        identity.update(Text.assemble(("bundle ", "bold"), (printable(facts.name), "bold"), "  ",
                                      facts.describe()))

    # -- the detail pane -----------------------------------------------------------------

    @on(VirtualTable.Highlighted, "#reports")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        row = self._row_at(event.index)
        self._show_detail(row if isinstance(row, ReportSummary) else None, row)

    def _cursor_moved(self, index: int) -> None:
        """Where the history keeps the cursor when its rows change: at the top, at the
        bottom, on the report under it, or (a row not read yet) at its row number."""
        if self._history_mode:
            count = self.table.row_count
            row = self._row_at(index)
            self._anchor = "top" if index == 0 else \
                "bottom" if index == count - 1 and count > 1 else \
                row if isinstance(row, ReportSummary) else None

    def _shown(self, start: int, stop: int) -> None:
        """The table shows rows [start, stop) now: the history reads them first."""
        if self._history_mode and self._view is not None:
            self._view.want(start, stop)

    def _row_at(self, index: int) -> Row | None:
        if self._history_mode:
            if self._view is None:
                return None
            rows = self._view.rows(index, index + 1)
            return rows[0] if rows else None
        return self._shown_latest[index] if 0 <= index < len(self._shown_latest) else None

    def selected(self) -> ReportSummary | None:
        """The report under the cursor (None: none, or not read yet)."""
        if not self.table.row_count:
            return None
        row = self._row_at(self.table.cursor_row)
        return row if isinstance(row, ReportSummary) else None

    def _detail_width(self) -> int:
        return max(30, self.query_one("#detail").content_size.width)

    def _show_detail(self, row: ReportSummary | None, placeholder: Row | None = None) -> None:
        row = row or self.selected()
        body = self.query_one("#detail-body", Static)
        if row is None:
            if isinstance(placeholder, Unread):
                body.update(Text(f"{placeholder.position}: reading the report..."))
            else:
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
        fields = row.fields if isinstance(row, Report) else None
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
        body.update(self._decoded(row, fields))

    def _decoded(self, row: ReportSummary, fields: dict[str, Any] | None) -> Any:
        head: list[tuple[str, Any]] = [
            ("position", Text(row.position)),
            ("broker", Text("-" if row.broker_id is None else
                            f"{row.broker_id} (by {row.attributed_by})")),
            ("size", Text(f"{format_size(row.size)} ({row.size} bytes)")),
        ]
        if not row.ok:
            head += [("decoded", Text("UNDECODABLE", style="bold red")),
                     ("reason", Text(row.error or "unknown"))]
        else:
            head.append(("schema", Text(row.schema or "?")))
        view = self.history
        if view is not None:
            found = view.events_of(row)
            if found:
                head.append(("events", Text("\n".join(e.describe() for e in found),
                                            style="yellow")))
        return report_detail(fields if row.ok else None, self.console.clock(),
                             self._detail_width(), head)

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
        self._details[message.row.key] = message.report
        while len(self._details) > DETAIL_MEMORY:
            self._details.popitem(last=False)
        current = self.selected()
        if not self._raw and current is not None and current.key == message.row.key:
            self._show_detail(current)

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The key of the view on screen is left out of the footer (80 columns are few).
        if action == "latest":
            return self._history_mode
        if action == "history":  # from every report, to one broker's
            return not self._history_mode or self._history_of is None
        return True

    def action_refresh(self) -> None:
        self.load()

    def action_history(self) -> None:
        row = self.selected()
        self._history_mode = True
        self._history_of = row.broker_id if row is not None else None
        self.load()
        self.refresh_bindings()

    def show_history(self, broker_id: int) -> None:
        """The history of one broker (the Cluster screen's Enter); loaded now, or when the
        screen mounts if it is being made for this."""
        self._history_mode = True
        self._history_of = broker_id
        if self.is_mounted:
            self.load()
            self.refresh_bindings()

    def action_latest(self) -> None:
        self._history_mode = False
        self._history_of = None
        self.load()
        self.refresh_bindings()

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
            self.table.focus()

    def _matches(self, row: ReportSummary) -> bool:
        return not self._filter or self._filter in row.search_text

    @on(Input.Changed, "#reports-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip().lower()
        if not self._history_mode:
            self._show_latest(keep=True)
            return
        if self._history is None:
            return
        if not self._filter:
            self._view = self._history
            self.table.set_source(self._history.progress().rows, self._history_cells)
            self._update_status()
            return
        self.make_filter(self._history, self._filter, self._generation)

    @on(Input.Submitted, "#reports-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.table.focus()
