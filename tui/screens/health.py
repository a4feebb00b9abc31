"""Health: the findings of the health rules (`engine.health`), worst first, each with its
rule, subject, how long it has held and its one-line message; under the table, the
selected finding's message in full, what to do (the hint) and its details.

The app evaluates the rules in the refresh worker (`ConsoleApp.load_cluster`, after the
Cluster view) and keeps the latest `Evaluation` in its `health` reactive; this screen only
shows it. The table is filled anew when the findings change and only the "since" cells
move with the clock. Offline there is no cluster to judge: one line says so.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from engine.health.finding import CRITICAL, INFO, SEVERITIES, WARNING, Finding
from tui.model import fmt_age
from tui.widgets.footer import ConsoleFooter
from tui.widgets.header import ConsoleHeader
from tui.widgets.row_table import Cell, RowTable

if TYPE_CHECKING:
    from engine.health.monitor import Evaluation
    from tui.app import ConsoleApp

COLUMNS = (("severity", "severity"), ("rule", "rule"), ("subject", "subject"),
           ("since", "since"), ("message", "message"))
SEVERITY_STYLE = {CRITICAL: "bold red", WARNING: "bold yellow", INFO: "cyan"}


def since_text(finding: Finding, now: float) -> str:
    """How long the finding has held: `3h05m`, `-` when not known."""
    if finding.since is None:
        return "-"
    return fmt_age(max(0.0, now - finding.since))


def finding_key(finding: Finding) -> str:
    """A row key that stays with the finding across evaluations (the cursor follows it)."""
    return "\x1f".join(finding.key)


def finding_cells(finding: Finding, now: float) -> dict[str, Cell]:
    return {"severity": (finding.severity, SEVERITY_STYLE.get(finding.severity, "")),
            "rule": (finding.rule, ""), "subject": (finding.subject, ""),
            "since": (since_text(finding, now), ""), "message": (finding.message, "")}


def summary_text(evaluation: Evaluation | None, problem: str | None) -> Text:
    """The line above the table: when the rules ran, how many, what they found."""
    if evaluation is None:
        return Text(f"health rules not evaluated: {problem}" if problem
                    else "Evaluating the health rules...")
    at = dt.datetime.fromtimestamp(evaluation.evaluated_at, dt.UTC).strftime("%H:%M:%S")
    counts = evaluation.counts
    found = Text("  ").join(
        Text(f"{counts[s]} {s}{'s' if s == WARNING and counts[s] != 1 else ''}",
             style=SEVERITY_STYLE[s] if counts[s] else "dim")
        for s in SEVERITIES)
    out = Text.assemble(f"{len(evaluation.rules)} rules at {at} UTC ",
                        (f"({evaluation.duration_s:.1f} s)", "dim"), "   ", found)
    if not evaluation.findings:
        out.append("   nothing to do", style="green")
    if problem:
        out.append(f"\nlatest evaluation failed: {problem}", style="bold red")
    for line in evaluation.problems:
        out.append(f"\nnot read: {line}", style="yellow")
    return out


def detail_text(finding: Finding | None, now: float) -> Text:
    """The selected finding in full: message, since when, what to do, details."""
    if finding is None:
        return Text("")
    out = Text()
    out.append(f"{finding.severity.upper()} ", style=SEVERITY_STYLE.get(finding.severity, ""))
    out.append(f"{finding.rule}  {finding.subject}", style="bold")
    if finding.since is not None:
        at = dt.datetime.fromtimestamp(finding.since, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        out.append(f"  since {at} UTC ({since_text(finding, now)} ago)", style="dim")
    out.append(f"\n{finding.message}\n")
    out.append("what to do: ", style="bold")
    out.append(finding.hint)
    for line in finding.details:
        out.append(f"\n  {line}")
    return out


class FindingTable(RowTable):
    """The findings; a cursor move tells the screen to show the finding under it."""

    class Moved(Message):
        pass

    def move_cursor(self, row: int) -> None:
        before = self.cursor_row
        super().move_cursor(row)
        if self.cursor_row != before:
            self.post_message(self.Moved())


class HealthScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "app.refresh_cluster", "Refresh", id="refresh"),
    ]
    AUTO_FOCUS = "#findings"
    HELP = ("The findings of the health rules (the same as `ps-console health`, with the "
            "[health] settings of the config file), worst first, evaluated with every "
            "refresh of the Cluster screen. The selected finding's hint and details are "
            "under the table.")

    def __init__(self) -> None:
        super().__init__()
        self._findings: dict[str, Finding] = {}
        self._shown: dict[str, str] = {}  # row key -> the "since" text on screen

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Health")
        yield Static("", id="health-summary")
        yield FindingTable(COLUMNS, id="findings")
        with VerticalScroll(id="finding-pane"):
            yield Static("", id="finding-detail")
        yield ConsoleFooter()

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def on_mount(self) -> None:
        if self.console.backend.offline:
            self.query_one("#health-summary", Static).update(Text(
                f"No health findings offline: the rules judge a live cluster (brokers, "
                f"partitions, the topic's settings); {self.console.backend.description} "
                "holds reports only (see Reports)."))
            self.query_one("#findings").display = False
            self.query_one("#finding-pane").display = False
            return
        self.watch(self.app, "health", self.show, init=True)
        self.watch(self.app, "health_problem", self.show, init=False)
        self.watch(self.app, "now", self.tick, init=False)

    def show(self, _value: object = None) -> None:
        """A new evaluation (or a failed one): the summary and every row."""
        evaluation = self.console.health
        self.query_one("#health-summary", Static).update(
            summary_text(evaluation, self.console.health_problem))
        findings = evaluation.findings if evaluation is not None else ()
        self._findings = {finding_key(f): f for f in findings}
        now = self.console.now
        table = self.query_one("#findings", FindingTable)
        rows = [(key, finding_cells(f, now)) for key, f in self._findings.items()]
        table.set_rows(rows)
        self._shown = {key: cells["since"][0] for key, cells in rows}
        self._show_detail()

    def tick(self, _now: float = 0.0) -> None:
        """The clock moved: the "since" cells whose text changed, and the pane."""
        now = self.console.now
        table = self.query_one("#findings", FindingTable)
        for key, finding in self._findings.items():
            text = since_text(finding, now)
            if self._shown.get(key) != text:
                table.update_cells(key, {"since": (text, "")})
                self._shown[key] = text
        self._show_detail()

    def selected(self) -> Finding | None:
        """The finding under the cursor."""
        key = self.query_one("#findings", FindingTable).cursor_key
        return self._findings.get(key) if key is not None else None

    def _show_detail(self) -> None:
        pane = self.query_one("#finding-pane")
        finding = self.selected()
        pane.display = finding is not None
        self.query_one("#finding-detail", Static).update(
            detail_text(finding, self.console.now))

    def on_finding_table_moved(self, _message: FindingTable.Moved) -> None:
        self._show_detail()
