"""Report now (`t`): what would leave the cluster (the dry run: every field and the byte
size), then, after a confirmation, the report sent and the result per destination."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Select, Static

from engine.errors import PsError
from tui.messages import DryRunReady, ReportSent, ServiceError
from tui.model import fmt_age, fmt_time
from tui.screens.confirm import ConfirmDialog
from tui.widgets.footer import ConsoleFooter
from tui.widgets.header import ConsoleHeader
from tui.widgets.report_detail import report_detail

if TYPE_CHECKING:
    from tui.app import ConsoleApp


def outcome_table(outcome: Any, now: float, fields: bool,
                  plan: list[tuple[str, str]] | None = None, destinations: bool = True,
                  title: str | None = None, width: int = 100) -> Table:
    """A report as rows: the plan (dry run) or each destination's result (sent), the
    size, and with `fields` every field of the record, grouped as the Reports detail
    shows them (`tui.widgets.report_detail`), in `width` columns."""
    head: list[tuple[str, RenderableType]] = [("broker", str(outcome.broker_id))]
    for warning in outcome.warnings:
        head.append(("warning", Text(warning, style="yellow")))
    if not outcome.enabled:
        head.append(("state", "Proactive Support is disabled for this broker"))
    for destination, where in plan or ():
        head.append((destination, Text.assemble(("would send", "cyan"), "  ", where)))
    for dest in [] if plan is not None or not destinations else outcome.destinations:
        if dest.skipped:
            mark = Text("skipped", style="dim")
        else:
            mark = Text("ok", style="bold green") if dest.ok else Text("FAILED", style="bold red")
        head.append((dest.destination, Text.assemble(mark, "  ", dest.detail)))
    if outcome.value is not None:
        head.append(("size", f"{len(outcome.value)} bytes ({outcome.schema})"))
    record = outcome.record if fields and outcome.record else None
    return report_detail(record, now, width, head, title)


# How the confirmation names each destination of a plan.
_DESTINATION_NAMES = {"topic": "the topic", "https": "HTTPS", "http": "HTTP"}


def destinations_phrase(plan: list[tuple[str, str]]) -> str:
    """`the topic, HTTPS and HTTP`: the destinations of a plan, as a sentence reads them."""
    names = [_DESTINATION_NAMES.get(d, d) for d, _ in plan]
    if len(names) <= 1:
        return names[0] if names else "no destination"
    return ", ".join(names[:-1]) + " and " + names[-1]


def sent_status(outcome: Any) -> str:
    """One line for a sent report: how many of the listed destinations took it, which
    failed and which were skipped (every destination listed is counted)."""
    listed = outcome.destinations
    ok = [d.destination for d in listed if not d.skipped and d.ok]
    failed = [d.destination for d in listed if not d.skipped and not d.ok]
    skipped = [d.destination for d in listed if d.skipped]
    noun = "destination" if len(listed) == 1 else "destinations"
    line = f"SENT: {len(ok)} of {len(listed)} {noun} accepted the report"
    if ok:
        line += f" ({', '.join(ok)})"
    if failed:
        line += f", {len(failed)} FAILED ({', '.join(failed)})"
    if skipped:
        line += f", {len(skipped)} skipped ({', '.join(skipped)})"
    return line


class ReportNowScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+t", "send_report", "Send...", id="send_report"),
        Binding("ctrl+r", "dry_run", "Dry run", id="dry_run"),
        Binding("escape", "app.pop_screen", "Back", id="back"),
    ]
    HELP = ("Collects a report for one broker without sending it and shows every field "
            "and the size. ctrl+t asks for a confirmation, then sends it to the topic and "
            "the HTTPS/HTTP endpoints its server.properties enables.")
    PALETTE = [("Report now: send", "Send the report after a confirmation", "send_report"),
               ("Report now: dry run", "Collect the report again", "dry_run")]

    def __init__(self, paths: tuple[str, ...]) -> None:
        super().__init__()
        self.paths = paths
        self.path = paths[0]
        self.dry: Any = None
        self.plan: list[tuple[str, str]] = []
        self.sent: Any = None
        self._sent_at = 0.0
        self._rendered: tuple[object, ...] | None = None
        self._busy = False

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Report now")
        if len(self.paths) > 1:
            yield Select([(p, p) for p in self.paths], value=self.path, allow_blank=False,
                         id="report-file")
        yield Static(Text(f"broker config {self.path}"), id="report-path")
        yield Static("", id="report-status")
        with VerticalScroll(id="report-body"):
            yield Static("", id="report-result")
            yield Static("", id="report-detail")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.action_dry_run()
        self.watch(self.app, "now", self._render_outcome, init=False)

    def _width(self) -> int:
        """The width the report's fields are laid out in (the body less its padding)."""
        return max(40, self.query_one("#report-body").content_size.width)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send_report":
            if self.console.read_only:
                return False
            return None if self._busy or self.dry is None else True
        return True

    @on(Select.Changed, "#report-file")
    def _file_chosen(self, event: Select.Changed) -> None:
        self.path = str(event.value)
        self.query_one("#report-path", Static).update(Text(f"broker config {self.path}"))
        self.action_dry_run()

    def _set_busy(self, busy: bool, status: str) -> None:
        self._busy = busy
        self.query_one("#report-status", Static).update(status)
        self.refresh_bindings()

    def action_dry_run(self) -> None:
        self.dry = None
        self.sent = None
        self.query_one("#report-result", Static).update("")
        self._set_busy(True, "collecting the report (dry run, nothing is sent)...")
        self.run_report(self.path, True)

    def action_send_report(self) -> None:
        if self.dry is None or self.console.read_only:
            return
        body = outcome_table(self.dry, self.console.clock(), fields=False, plan=self.plan)

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_busy(True, "sending...")
                self.run_report(self.path, False)

        self.app.push_screen(ConfirmDialog(
            f"Send broker {self.dry.broker_id}'s report now, to "
            f"{destinations_phrase(self.plan)}?", body, "Send"), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report-now")
    def run_report(self, path: str, dry_run: bool) -> None:
        try:
            outcome = self.console.backend.report_now(path, dry_run)
            plan = self.console.backend.send_plan(path) if dry_run else []
        except PsError as exc:
            self.post_message(ServiceError("report-now", str(exc)))
            return
        self.post_message(DryRunReady(outcome, plan) if dry_run else ReportSent(outcome))

    def on_dry_run_ready(self, message: DryRunReady) -> None:
        message.stop()
        self.dry = message.outcome
        self.plan = message.plan
        self._set_busy(False, "dry run: this is what would be sent. ctrl+t to send it.")
        self.query_one("#report-result", Static).update("")
        self._render_outcome()

    def on_report_sent(self, message: ReportSent) -> None:
        message.stop()
        self.sent = message.outcome
        self._sent_at = self.console.clock()
        self._set_busy(False, sent_status(self.sent) + ". ctrl+r collects a new dry run.")
        self._render_outcome()

    def _render_outcome(self, _now: float = 0.0) -> None:
        """The dry run or the sent report, ages against the app's clock (it ticks)."""
        now = self.console.now or self.console.clock()
        shown = self.sent if self.sent is not None else self.dry
        if shown is None:
            return
        # The ages in the fields move once a second at first, then once a minute: redraw
        # only when the words change.
        stamp = (shown.record or {}).get("timestamp")
        key = (id(shown), fmt_age(now - stamp) if isinstance(stamp, int) else None)
        if _now and key == self._rendered:
            return
        self._rendered = key
        if self.sent is not None:
            # Both panes now describe the report that left, not the dry run before it.
            self.query_one("#report-result", Static).update(outcome_table(
                self.sent, now, fields=False,
                title=f"Sent {fmt_time(int(self._sent_at * 1000))} UTC: result per "
                      "destination"))
            self.query_one("#report-detail", Static).update(outcome_table(
                self.sent, now, fields=True, destinations=False,
                title="The report that was sent", width=self._width()))
        elif self.dry is not None:
            self.query_one("#report-detail", Static).update(outcome_table(
                self.dry, now, fields=True, plan=self.plan,
                title="Dry run: nothing was sent", width=self._width()))

    def on_service_error(self, message: ServiceError) -> None:
        if message.what != "report-now":
            return
        message.stop()
        self._set_busy(False, "")
        self.query_one("#report-status", Static).update(Text(message.message,
                                                             style="bold red"))
