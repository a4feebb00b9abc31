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
from textual.widgets import Footer, Select, Static

from engine.errors import PsError
from tui.messages import DryRunReady, ReportSent, ServiceError
from tui.model import fmt_time
from tui.screens.confirm import ConfirmDialog
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


class ReportNowScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+t", "send_report", "Send...", id="send_report"),
        Binding("ctrl+r", "dry_run", "Dry run again", id="dry_run"),
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
        yield Footer()

    def on_mount(self) -> None:
        self.action_dry_run()

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
        sending = [destination for destination, _ in self.plan]
        body = outcome_table(self.dry, self.console.clock(), fields=False, plan=self.plan)

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_busy(True, "sending...")
                self.run_report(self.path, False)

        self.app.push_screen(ConfirmDialog(
            f"Send a report for broker {self.dry.broker_id} to "
            f"{', '.join(sending) or 'no destination'}?", body, "Send"), answered)

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
        self.query_one("#report-detail", Static).update(outcome_table(
            self.dry, self.console.clock(), fields=True, plan=self.plan,
            title="Dry run: nothing was sent", width=self._width()))

    def on_report_sent(self, message: ReportSent) -> None:
        message.stop()
        self.sent = message.outcome
        now = self.console.clock()
        tried = [d for d in self.sent.destinations if not d.skipped]
        ok = [d for d in tried if d.ok]
        failed = len(tried) - len(ok)
        status = f"SENT: {len(ok)} of {len(tried)} destination(s) accepted the report"
        if failed:
            status += f", {failed} FAILED"
        self._set_busy(False, status + ". ctrl+r collects a new dry run.")
        # Both panes now describe the report that left, not the dry run before it.
        self.query_one("#report-result", Static).update(outcome_table(
            self.sent, now, fields=False,
            title=f"Sent {fmt_time(int(now * 1000))} UTC: result per destination"))
        self.query_one("#report-detail", Static).update(outcome_table(
            self.sent, now, fields=True, destinations=False,
            title="The report that was sent", width=self._width()))

    def on_service_error(self, message: ServiceError) -> None:
        if message.what != "report-now":
            return
        message.stop()
        self._set_busy(False, "")
        self.query_one("#report-status", Static).update(Text(message.message,
                                                             style="bold red"))
