"""The story of each broker in a sequence of reports, as lines of text: its reports, tokens
and collector states, and the events between consecutive reports (restart, schema change,
shutdown, gap, undecodable). `ps-console open` prints it; it reads the same whatever the
source, because it is only the rules of `engine.reading.rules` put into words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from engine.reading.report import ReportSummary
from engine.reading.rules import DEFAULT_INTERVAL_S, Subject, events, histories, span_ms
from engine.reading.timeline import LEGEND, arrival_ms, build_timeline

# A story lists this many events per subject, the newest; the rest are counted.
MAX_EVENTS = 50
TOKEN_CHARS = 8
# Cells of each subject's timeline strip.
TIMELINE_CELLS = 60


def short_token(token: str | None) -> str:
    """The first characters of a broker token (enough to tell runtimes apart)."""
    return "-" if token is None else token[:TOKEN_CHARS]


def when(ms: int | None) -> str:
    """A collected time as `YYYY-MM-DD HH:MM:SS UTC`, `-` when unknown."""
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms (out of range)"


def _latest_words(report: ReportSummary) -> str:
    parts = [report.schema_short]
    if report.state_name is not None:
        parts.append(report.state_name)
    return f"latest {report.position} ({', '.join(parts)}, {when(report.collected_ms)})"


def subject_lines(subject: Subject, reports: Sequence[ReportSummary],
                  interval_s: float = DEFAULT_INTERVAL_S,
                  span: tuple[int, int] | None = None, unicode: bool = True) -> list[str]:
    """The story of one subject whose reports are in order (oldest first); with `span`
    (ms) its timeline strip over it (`unicode` False: in ASCII)."""
    count = len(reports)
    head = f"    {subject}: {count} report{'s' if count != 1 else ''}"
    if subject.broker_id is None:
        head += " (no broker named)"
    lines = [f"{head}, {_latest_words(reports[-1])}"]
    tokens = Counter(r.token for r in reports if r.token is not None)
    if tokens and subject.broker_id is not None:
        lines.append("      tokens: " + ", ".join(f"{short_token(t)} ({n})"
                                                  for t, n in tokens.items()))
    found = events(reports, interval_s)
    if span is not None:
        arrivals = [ms for r in reports if (ms := arrival_ms(r)) is not None]
        strip = build_timeline(arrivals, found, span[0], span[1], TIMELINE_CELLS)
        bars = strip.arrivals_line() if unicode else strip.ascii_arrivals_line()
        lines.append(f"      arrivals |{bars}|")
        lines.append(f"      events   |{strip.marks_line()}|")
    if len(found) > MAX_EVENTS:
        lines.append(f"      ... {len(found) - MAX_EVENTS} earlier events")
    for event in found[-MAX_EVENTS:]:
        lines.append(f"      {when(event.at_ms)}  {event.describe()}")
    return lines


def _cell_words(seconds: float) -> str:
    from engine.text import duration

    return duration(seconds) if seconds >= 1 else f"{seconds:.2g}s"


def story_lines(reports: Sequence[ReportSummary],
                interval_s: float = DEFAULT_INTERVAL_S, unicode: bool = True) -> list[str]:
    """Every subject's story (brokers, then token groups), each with a timeline strip
    over the whole source's span so that they line up, then a count of strays."""
    groups = histories(reports)
    span = span_ms(reports)
    lines = ["  story per broker (gaps: more than the interval of "
             f"{interval_s / 3600:g} h + grace):"]
    if span is not None:
        cell = (span[1] - span[0]) / 1000 / TIMELINE_CELLS
        lines.append(f"    timelines from {when(span[0])} to {when(span[1])}, "
                     f"{TIMELINE_CELLS} cells of {_cell_words(cell)}; {LEGEND}")
    for subject, history in groups.items():
        if subject is not None:
            lines += subject_lines(subject, history, interval_s, span, unicode)
    strays = groups.get(None, [])
    if strays:
        lines.append(f"    {len(strays)} record(s) name neither a broker nor a token "
                     "(undecodable, or of another schema)")
    return lines
