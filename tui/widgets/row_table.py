"""A table that draws only the rows on screen: the Cluster screen's brokers.

Textual's DataTable measures every cell it is given (a thousand brokers, nine columns: nine
thousand measurements before the first paint) and repaints every visible row whenever one
cell changes. Here a row is plain text with a style per cell, column widths are the
longest text seen (kept as rows change, never measured again), and changing a cell repaints
that line alone, and only when it is on screen. Keys: arrows, page up/down, home/end,
Enter (posts `RowTable.Selected`); a click moves the cursor, a click on it selects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.text import printable

Cell = tuple[str, str]  # text, Rich style ("" for none)

GAP = 2  # blanks between columns
PAD = 1  # blanks before the first column



def _safe(cells: Mapping[str, Cell]) -> dict[str, Cell]:
    """The cells with every control character escaped: they hold what registrations and
    reports say, and a terminal must never receive those raw."""
    return {col: (printable(text), style) for col, (text, style) in cells.items()}

class RowTable(ScrollView, can_focus=True):
    """Rows keyed by a string, cells keyed by column; a header line that stays on top."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    COMPONENT_CLASSES = {"row-table--header", "row-table--cursor", "row-table--odd"}
    DEFAULT_CSS = """
    RowTable { background: $surface; }
    RowTable > .row-table--header { text-style: bold; color: $primary; }
    RowTable > .row-table--cursor { background: $block-cursor-blurred-background; }
    RowTable:focus > .row-table--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; }
    RowTable > .row-table--odd { background: $surface-lighten-1; }
    """

    class Selected(Message):
        """Enter (or a click) on the cursor row."""

        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = list(columns)  # (key, title)
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: dict[str, dict[str, Cell]] = {}
        self._widths = {key: len(title) for key, title in self.columns}
        self.cursor_row = 0
        self._styles: dict[str, Style] = {}

    # -- data --------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[str]:
        """The row keys, top to bottom."""
        return list(self._keys)

    @property
    def cursor_key(self) -> str | None:
        return self._keys[self.cursor_row] if self._keys else None

    def get_row(self, key: str) -> list[str]:
        """The texts of one row, in column order."""
        cells = self._cells[key]
        return [cells.get(col, ("", ""))[0] for col, _ in self.columns]

    def get_row_at(self, index: int) -> list[str]:
        return self.get_row(self._keys[index])

    def set_rows(self, rows: Iterable[tuple[str, Mapping[str, Cell]]]) -> None:
        """Every row anew (the set of rows changed); the cursor stays on its row's key
        when that row is still there."""
        at = self.cursor_key
        self._keys = []
        self._cells = {}
        self._widths = {key: len(title) for key, title in self.columns}
        for key, cells in rows:
            self._keys.append(key)
            self._cells[key] = cells = _safe(cells)
            for col, (text, _) in cells.items():
                if len(text) > self._widths.get(col, 0):
                    self._widths[col] = len(text)
        self._index = {key: i for i, key in enumerate(self._keys)}
        self.cursor_row = self._index.get(at, min(self.cursor_row, max(0, len(self._keys) - 1))) \
            if at is not None else 0
        self._resize()
        self.refresh()

    def update_cells(self, key: str, cells: Mapping[str, Cell]) -> None:
        """Change some cells of one row; only that line is painted again (if shown)."""
        row = self._cells[key]
        wider = False
        for col, cell in _safe(cells).items():
            row[col] = cell
            if len(cell[0]) > self._widths.get(col, 0):
                self._widths[col] = len(cell[0])
                wider = True
        if wider:
            self._resize()
            self.refresh()
        else:
            self._refresh_row(self._index[key])

    # -- geometry ----------------------------------------------------------------------

    def _total_width(self) -> int:
        return PAD + sum(self._widths[c] for c, _ in self.columns) + \
            GAP * (len(self.columns) - 1) + PAD

    def _resize(self) -> None:
        self.virtual_size = Size(self._total_width(), len(self._keys) + 1)

    def _refresh_row(self, index: int) -> None:
        line = index - int(self.scroll_y) + 1
        if 1 <= line < self.size.height:
            self.refresh(Region(0, line, self.size.width, 1))

    # -- painting ----------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = Style.parse(name) if name else Style()
        return style

    def _line(self, cells: Mapping[str, Cell] | None, base: Style) -> list[Segment]:
        segments = [Segment(" " * PAD, base)]
        for i, (col, title) in enumerate(self.columns):
            if i:
                segments.append(Segment(" " * GAP, base))
            text, style = cells.get(col, ("", "")) if cells is not None else (title, "")
            segments.append(Segment(text.ljust(self._widths[col]),
                                    base + self._style(style) if style else base))
        segments.append(Segment(" " * PAD, base))
        return segments

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("row-table--header")
            segments = self._line(None, style)
        else:
            index = int(scroll_y) + y - 1
            if index >= len(self._keys):
                return Strip.blank(width, base)
            if index == self.cursor_row:
                style = base + self.get_component_rich_style("row-table--cursor")
            elif index % 2:
                style = base + self.get_component_rich_style("row-table--odd")
            else:
                style = base
            segments = self._line(self._cells[self._keys[index]], style)
        strip = Strip(segments, self._total_width())
        return strip.crop_extend(int(scroll_x), int(scroll_x) + width, base)

    # -- moving ------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        """Put the cursor on `row` (clamped) and scroll it into view."""
        if not self._keys:
            return
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._keys) - 1))
        shown = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + shown:
            self.scroll_to(y=self.cursor_row - shown + 1, animate=False)
        self._refresh_row(old)
        self._refresh_row(self.cursor_row)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        self.move_cursor(len(self._keys) - 1 if where < 0 else 0)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = int(self.scroll_y) + event.y - 1
        if index >= len(self._keys):
            return
        if index == self.cursor_row:
            self.action_select()
        else:
            self.move_cursor(index)
