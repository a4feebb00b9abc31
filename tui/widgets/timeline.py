"""The strip above a history: report arrivals over the source's span and the events in it
(`engine.reading.timeline`), in colour, with the span's ends and a legend."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.widgets import Static

from engine.reading.timeline import LEGEND, NO_REPORT, NOT_READ, Timeline

LABEL = 10  # "arrivals  " / "events    "
_MARK_STYLES = {"X": "bold red", "S": "bold magenta", "R": "bold yellow", "~": "bold cyan",
                "-": "red"}


def cells_for(width: int) -> int:
    """How many cells a strip of `width` columns holds."""
    return max(10, width - LABEL)


def _stamp(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def timeline_text(timeline: Timeline, width: int, note: str = "") -> Text:
    """Three lines: arrivals, events, the span's ends with the legend between them."""
    out = Text()
    out.append("arrivals".ljust(LABEL), style="bold")
    for ch in timeline.arrivals_line():
        if ch == NOT_READ:
            out.append("░", style="dim")
        elif ch == NO_REPORT:
            out.append(ch, style="dim")
        else:
            out.append(ch, style="green")
    out.append("\n")
    out.append("events".ljust(LABEL), style="bold")
    for ch in timeline.marks_line():
        out.append(ch, style=_MARK_STYLES.get(ch, ""))
    out.append("\n")
    left, right = _stamp(timeline.start_ms), _stamp(timeline.end_ms) + " UTC"
    room = len(timeline.cells) - len(left) - len(right)
    middle = LEGEND if room >= len(LEGEND) + 2 else note if room >= len(note) + 2 else ""
    if note and room >= len(LEGEND) + len(note) + 4:
        middle = f"{note}  {LEGEND}"
    out.append(" " * LABEL)
    out.append(left, style="dim")
    pad = max(1, room - len(middle))
    out.append(" " * (pad // 2) + middle + " " * (pad - pad // 2), style="dim")
    out.append(right, style="dim")
    return out


class TimelineStrip(Static):
    """Shows a `Timeline`; `show(None)` leaves it empty."""

    DEFAULT_CSS = """
    TimelineStrip { height: 3; padding: 0 1; }
    """

    def show(self, timeline: Timeline | None, note: str = "") -> None:
        # Three lines always (the strip's CSS): no layout pass, which would draw the
        # whole screen again.
        if timeline is None:
            self.update(Text("arrivals".ljust(LABEL) + "(no report yet)", style="dim"),
                        layout=False)
            return
        self.update(timeline_text(timeline, self.size.width, note), layout=False)
