"""The rules over a sequence of reports: which is newer, whose a report is, each broker's
latest and history, the events between consecutive reports, and when a report is overdue.

Pure: no I/O and no clock (the caller passes `now`), so the CLI, the console in both modes,
`agent --check` and the health rules all apply the same rules to whatever source they read
(the topic, a bundle, a test's list).

- Ordering: a report is newer than another when it was collected later (its own
  `timestamp` field, else Kafka's), then by position. Reading order never decides.
- Attribution: the `broker.id` header, else an Enhanced report's `brokerId` (both decided
  per record by `engine.reading.report.build_report`), else the broker that owns the same
  token in the same sequence: a token belongs to one broker's runtime, so a Basic report
  (which names no broker) whose token an attributed report also carries is that broker's.
  A token two brokers claim belongs to neither. The rest is unattributed: grouped by token,
  and records with no token (undecodable ones) are strays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Generic, NamedTuple, TypeVar

from engine.reading.report import (
    BASIC,
    BY_TOKEN,
    ENHANCED,
    STATE_SHUTTING_DOWN,
    ReportSummary,
)
from engine.text import duration

R = TypeVar("R", bound=ReportSummary)

DEFAULT_INTERVAL_S: Final = 24 * 3600.0
MIN_GRACE_S: Final = 60.0
GRACE_FRACTION: Final = 0.1

# Event kinds (`Event.kind`), also the words the CLI and the console print.
RESTART: Final = "restart"
SCHEMA_CHANGE: Final = "schema-change"
SHUTDOWN: Final = "shutdown"
GAP: Final = "gap"
UNDECODABLE: Final = "undecodable"


# ---------------------------------------------------------------------------- ordering

def order_key(report: ReportSummary) -> tuple[int, int, int]:
    """Sort key of "newer": collected time, then position (partition, offset).

    A report with no known time sorts before every dated one.
    """
    collected = report.collected_ms
    return (collected if collected is not None else -(2**63),
            report.partition if report.partition is not None else -1, report.offset)


def newer(a: ReportSummary, b: ReportSummary) -> bool:
    """True when `a` is newer than `b` under `order_key`."""
    return order_key(a) > order_key(b)


def in_order(reports: Iterable[R]) -> list[R]:
    """The reports oldest first under `order_key`."""
    return sorted(reports, key=order_key)


# ---------------------------------------------------------------------------- attribution

class Subject(NamedTuple):
    """Whom reports are grouped under: a broker, or (unattributed) a broker token."""

    broker_id: int | None
    token: str | None

    def __str__(self) -> str:
        return f"broker {self.broker_id}" if self.broker_id is not None \
            else f"token {self.token}"


def subject_of(report: ReportSummary) -> Subject | None:
    """The report's broker, else its token, else None (a stray)."""
    if report.broker_id is not None:
        return Subject(report.broker_id, None)
    if report.token is not None:
        return Subject(None, report.token)
    return None


def subject_order(subject: Subject) -> tuple[bool, int, str]:
    """Brokers by id, then token groups by token."""
    return (subject.broker_id is None, subject.broker_id or 0, subject.token or "")


class TokenOwners:
    """Which broker each token belongs to, learnt from attributed reports one at a time.

    A token seen with two brokers is contested and belongs to no one (a token is one
    broker's runtime; two owners mean a copied state folder or a forged header).
    """

    def __init__(self) -> None:
        self._owner: dict[str, int | None] = {}

    def learn(self, report: ReportSummary) -> None:
        """Note the owner of the report's token, if the report is attributed."""
        token, broker = report.token, report.broker_id
        if token is None or broker is None or report.attributed_by == BY_TOKEN:
            return
        known = self._owner.get(token, broker)
        self._owner[token] = broker if known == broker else None

    def owner(self, token: str | None) -> int | None:
        """The broker that owns `token`, or None (unknown or contested)."""
        return self._owner.get(token) if token is not None else None

    def attribute(self, report: R) -> R:
        """The report attributed to its token's owner when it names no broker itself."""
        if report.broker_id is not None:
            return report
        owner = self.owner(report.token)
        if owner is None:
            return report
        return dataclasses.replace(report, broker_id=owner, attributed_by=BY_TOKEN)


def token_owners(reports: Iterable[ReportSummary]) -> TokenOwners:
    """The owners of the tokens in `reports`."""
    owners = TokenOwners()
    for report in reports:
        owners.learn(report)
    return owners


def attribute(reports: Sequence[R]) -> list[R]:
    """Every report of `reports`, in the same order, Basic ones attributed by token."""
    owners = token_owners(reports)
    return [owners.attribute(r) for r in reports]


# ---------------------------------------------------------------------------- latest

class Latest(Generic[R]):
    """The newest report of every subject, fed one report at a time (for reads that stop
    early, like the topic's backward scan); `latest_per_subject` feeds a whole sequence.

    Token groups whose token an attributed report owns join that broker at `result()`, so
    the answer does not depend on the order reports are fed in. Strays (no broker, no
    token) are kept too, at most `max_strays`, the first ones fed.
    """

    def __init__(self, max_strays: int | None = None) -> None:
        self._brokers: dict[int, R] = {}
        self._tokens: dict[str, R] = {}
        self._strays: list[R] = []
        self._max_strays = max_strays
        self.owners = TokenOwners()

    def add(self, report: R) -> None:
        """Take one report into account."""
        self.owners.learn(report)
        if report.broker_id is not None:
            _keep_newer(self._brokers, report.broker_id, report)
        elif report.token is not None:
            _keep_newer(self._tokens, report.token, report)
        elif self._max_strays is None or len(self._strays) < self._max_strays:
            self._strays.append(report)

    def brokers(self) -> set[int]:
        """The brokers that have a report so far (their own, or through their token)."""
        found = set(self._brokers)
        found.update(b for t in self._tokens if (b := self.owners.owner(t)) is not None)
        return found

    def of(self, broker_id: int) -> R | None:
        """The newest report of one broker so far."""
        best = self._brokers.get(broker_id)
        for token, report in self._tokens.items():
            if self.owners.owner(token) == broker_id and (best is None or newer(report, best)):
                best = self.owners.attribute(report)
        return best

    def result(self) -> list[R]:
        """Brokers by id, then unattributed token groups by token, then strays by
        position; one report each (strays: every one kept)."""
        brokers = dict(self._brokers)
        tokens: dict[str, R] = {}
        for token, report in self._tokens.items():
            claimed = self.owners.attribute(report)
            if claimed.broker_id is None:
                tokens[token] = report
            else:
                _keep_newer(brokers, claimed.broker_id, claimed)
        strays = sorted(self._strays, key=lambda r: (r.partition or 0, r.offset))
        return ([brokers[b] for b in sorted(brokers)] +
                [tokens[t] for t in sorted(tokens)] + strays)


K = TypeVar("K")


def _keep_newer(best: dict[K, R], key: K, report: R) -> None:
    held = best.get(key)
    if held is None or newer(report, held):
        best[key] = report


def latest_per_subject(reports: Iterable[R], max_strays: int | None = None) -> list[R]:
    """The newest report of every broker and of every unattributed token group, then the
    strays (see `Latest.result`). Reports of the same type come back (a `Report` stays a
    `Report`)."""
    latest: Latest[R] = Latest(max_strays)
    for report in reports:
        latest.add(report)
    return latest.result()


def latest_with(held: Iterable[R], arrived: Sequence[R], max_strays: int | None = None
                ) -> list[R]:
    """The latest of every subject once `arrived` (in topic order) joins `held` (a
    `latest_per_subject` answer): for a view that follows the topic. Strays: the newest
    first, at most `max_strays`."""
    return latest_per_subject([*reversed(arrived), *held], max_strays)


def latest_of(reports: Iterable[R], broker_id: int) -> R | None:
    """The newest report of one broker (attribution by token included)."""
    for report in latest_per_subject(reports, max_strays=0):
        if report.broker_id == broker_id:
            return report
    return None


# ---------------------------------------------------------------------------- history

def histories(reports: Sequence[R]) -> dict[Subject | None, list[R]]:
    """Every subject's reports oldest first (attribution by token applied); strays under
    None, in position order. Subjects come brokers first, then token groups."""
    groups: dict[Subject | None, list[R]] = {}
    for report in attribute(reports):
        groups.setdefault(subject_of(report), []).append(report)
    out: dict[Subject | None, list[R]] = {}
    for subject in sorted((s for s in groups if s is not None), key=subject_order):
        out[subject] = in_order(groups[subject])
    if None in groups:
        out[None] = sorted(groups[None], key=lambda r: (r.partition or 0, r.offset))
    return out


def history(reports: Sequence[R], broker_id: int) -> list[R]:
    """Every report of one broker, oldest first (attribution by token applied)."""
    return in_order(r for r in attribute(reports) if r.broker_id == broker_id)


# ---------------------------------------------------------------------------- events

@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened between two consecutive reports of one subject.

    `before` is None for an event of the first report (a history that starts with a
    shutdown report or an undecodable record). `at_ms` is `after`'s collected time;
    `seconds` is the length of a gap.
    """

    kind: str
    before: ReportSummary | None
    after: ReportSummary
    at_ms: int | None
    seconds: float | None = None

    def describe(self) -> str:
        """One line: what happened, between which positions."""
        where = (f"{self.before.position} -> {self.after.position}"
                 if self.before is not None else self.after.position)
        if self.kind == RESTART:
            what = "restart: new broker token"
        elif self.kind == SCHEMA_CHANGE:
            what = (f"schema {self.before.schema_short if self.before else '?'} -> "
                    f"{self.after.schema_short}")
        elif self.kind == SHUTDOWN:
            what = "shutdown report: the agent stopped"
        elif self.kind == GAP:
            what = f"gap: no report for {duration(self.seconds or 0.0)}"
        else:
            what = f"undecodable record: {self.after.error}"
        return f"{what} ({where})"


def events(reports: Sequence[ReportSummary], interval_s: float = DEFAULT_INTERVAL_S,
           grace_s: float | None = None) -> list[Event]:
    """The events along one subject's history (oldest first, as `history` gives it).

    Between each report and the one before it: `restart` (the token changed), `schema-change`
    (Basic <-> Enhanced), `gap` (collected more than interval + grace after it); on a
    report itself: `shutdown` (collector state ShuttingDown) and `undecodable`. Events of
    one report come in that order.
    """
    limit = overdue_after_s(interval_s, grace_s)
    out: list[Event] = []
    before: ReportSummary | None = None
    # Restarts and schema changes compare decodable reports: an undecodable record between
    # two reports of the same runtime is its own event, not a restart.
    last_good: ReportSummary | None = None
    for report in reports:
        at = report.collected_ms
        if report.ok and last_good is not None:
            if report.token is not None and last_good.token is not None \
                    and report.token != last_good.token:
                out.append(Event(RESTART, last_good, report, at))
            kinds = {last_good.schema_kind, report.schema_kind}
            if kinds == {BASIC, ENHANCED}:
                out.append(Event(SCHEMA_CHANGE, last_good, report, at))
        if before is not None and at is not None and before.collected_ms is not None:
            seconds = (at - before.collected_ms) / 1000
            if seconds > limit:
                out.append(Event(GAP, before, report, at, seconds))
        if report.state == STATE_SHUTTING_DOWN:
            out.append(Event(SHUTDOWN, before, report, at))
        if not report.ok:
            out.append(Event(UNDECODABLE, before, report, at))
        else:
            last_good = report
        before = report
    return out


# ---------------------------------------------------------------------------- overdue

def grace_for(interval_s: float) -> float:
    """The grace after a missed interval: 10 % of it, at least a minute."""
    return max(MIN_GRACE_S, interval_s * GRACE_FRACTION)


def overdue_after_s(interval_s: float, grace_s: float | None = None) -> float:
    """How old a broker's latest report may get: interval + grace."""
    return interval_s + (grace_for(interval_s) if grace_s is None else grace_s)


def age_s(report: ReportSummary, now: float) -> float | None:
    """Seconds since the report was collected (negative if from the future), or None."""
    collected = report.collected_ms
    return None if collected is None else now - collected / 1000


def is_overdue(report: ReportSummary, now: float, interval_s: float = DEFAULT_INTERVAL_S,
               grace_s: float | None = None) -> bool:
    """True when the report is older than interval + grace (the `agent --check` rule).
    A report with no known time is overdue: nothing says it is recent."""
    age = age_s(report, now)
    return age is None or age > overdue_after_s(interval_s, grace_s)


def span_ms(reports: Iterable[ReportSummary]) -> tuple[int, int] | None:
    """The first and last arrival (Kafka time, else collected time) among `reports`, for
    timelines that line up across brokers; None when no report has a time."""
    low = high = None
    for report in reports:  # arrival time, as engine.reading.timeline.arrival_ms says
        ms = report.kafka_ms if report.kafka_ms is not None else report.collected_ms
        if ms is None:
            continue
        low = ms if low is None or ms < low else low
        high = ms if high is None or ms > high else high
    return None if low is None or high is None else (low, high)


def chunks(reports: Sequence[R], size: int) -> Iterator[list[R]]:
    """`reports` in consecutive lists of at most `size` (for handing rows to a UI)."""
    for start in range(0, len(reports), size):
        yield list(reports[start:start + size])
