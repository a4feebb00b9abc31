"""The typed messages workers post to the UI. Workers never touch widgets; handlers do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from tui.model import ClusterSnapshot

if TYPE_CHECKING:
    from engine.cluster.model import ClusterEvent
    from engine.config.settings import SettingsFile
    from engine.health.monitor import Evaluation
    from engine.reading.bundle import BundleFacts, ExportResult
    from engine.reading.history import History
    from engine.reading.report import Report, ReportSummary
    from engine.reading.reports import TailMark
    from engine.reading.timeline import Timeline
    from engine.reporting.report_now import ReportOutcome


class ClusterLoaded(Message):
    """A full look at the cluster (discovery plus the latest report of every broker)."""

    def __init__(self, snapshot: ClusterSnapshot, generation: int,
                 started: float = 0.0) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.generation = generation
        self.started = started  # when the look began (the console's clock, seconds)


class HealthEvaluated(Message):
    """The health rules evaluated once, in the same refresh as the `ClusterLoaded` of
    `generation`; `evaluation` None when the evaluation failed (`problem` says why)."""

    def __init__(self, evaluation: Evaluation | None, generation: int,
                 problem: str | None = None) -> None:
        super().__init__()
        self.evaluation = evaluation
        self.generation = generation
        self.problem = problem


class ClusterChanged(Message):
    """A ZooKeeper watch fired (broker joined, left, restarted; controller; connection)."""

    def __init__(self, event: ClusterEvent) -> None:
        super().__init__()
        self.event = event


class ReportsLoaded(Message):
    """One batch of report rows for the Reports table; `generation` drops stale loads."""

    def __init__(self, rows: list[ReportSummary], generation: int, first: bool,
                 last: bool, total: int | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.generation = generation
        self.first = first
        self.last = last
        self.total = total


class LatestArrived(Message):
    """Reports that reached the topic since `mark` was taken (the Reports screen follows
    the topic); `overflow`: too many to merge, read the latest again."""

    def __init__(self, reports: list[ReportSummary], mark: TailMark, overflow: bool,
                 generation: int) -> None:
        super().__init__()
        self.reports = reports
        self.mark = mark
        self.overflow = overflow
        self.generation = generation


class HistoryOpened(Message):
    """A history is open (its rows come as the table asks for them)."""

    def __init__(self, history: History, generation: int) -> None:
        super().__init__()
        self.history = history
        self.generation = generation


class HistoryChanged(Message):
    """The open history read more: rows, counts or events changed."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class FilterReady(Message):
    """The rows of the open history that match a filter, as a history of their own."""

    def __init__(self, view: History, text: str, generation: int) -> None:
        super().__init__()
        self.view = view
        self.text = text
        self.generation = generation


class TimelineReady(Message):
    """The strip of arrivals and events over the open history's span."""

    def __init__(self, timeline: Timeline | None, generation: int) -> None:
        super().__init__()
        self.timeline = timeline
        self.generation = generation


class BundleFactsLoaded(Message):
    """What the offline bundle says about itself."""

    def __init__(self, facts: BundleFacts) -> None:
        super().__init__()
        self.facts = facts


class RawLoaded(Message):
    """The bytes of one report, read again for the raw view."""

    def __init__(self, row: ReportSummary, value: bytes | None) -> None:
        super().__init__()
        self.row = row
        self.value = value


class ReportFetched(Message):
    """One report with its fields, read again for the detail pane (None: gone)."""

    def __init__(self, row: ReportSummary, report: Report | None) -> None:
        super().__init__()
        self.row = row
        self.report = report


class BundleProgress(Message):
    def __init__(self, done: int, total: int, elapsed: float, size_bytes: int = 0) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.elapsed = elapsed
        self.size_bytes = size_bytes


class BundleWritten(Message):
    def __init__(self, result: ExportResult) -> None:
        super().__init__()
        self.result = result


class DryRunReady(Message):
    def __init__(self, outcome: ReportOutcome, plan: list[tuple[str, str]]) -> None:
        super().__init__()
        self.outcome = outcome
        self.plan = plan


class ReportSent(Message):
    def __init__(self, outcome: ReportOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class SettingsLoaded(Message):
    def __init__(self, path: str, settings: SettingsFile) -> None:
        super().__init__()
        self.path = path
        self.settings = settings


class SettingsSaved(Message):
    def __init__(self, path: str, backup: str | None) -> None:
        super().__init__()
        self.path = path
        self.backup = backup


class ServiceError(Message):
    """An engine call failed; `what` says which action, `message` is one readable line."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__()
        self.what = what
        self.message = message
