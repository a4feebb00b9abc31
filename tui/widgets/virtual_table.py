"""A table of any number of rows that only ever makes the rows on screen (Textual's line
API): the screen gives a row count and a function for the cells of rows [i, j); the
table asks for the lines it draws, nothing else, so a million rows cost what twenty do.

Rows the source has not read yet come back as None and show as a placeholder; the table
says which rows it shows (`Viewport`) so that the source reads those first, and redraws
when told the rows changed. Columns have a natural width and a priority: when the table is
narrower than their sum, the least important are left out whole, never cut short; the
last column takes what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.text import UNSAFE, printable

Cells = Sequence[Text]
RowsFunction = Callable[[int, int], Sequence[Cells | None]]

GAP = 1  # spaces between columns


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its title, natural width, how much it matters (higher stays longer when
    the table is narrow) and alignment. A `flexible` column takes the width left over."""

    title: str
    width: int
    priority: int = 0
    justify: str = "left"
    flexible: bool = False


class VirtualTable(ScrollView, can_focus=True):
    """See the module docstring. `cursor_row` is the highlighted row."""

    DEFAULT_CSS = """
    VirtualTable { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    VirtualTable > .virtual-table--header { text-style: bold; background: $panel; }
    VirtualTable > .virtual-table--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; text-style: bold; }
    VirtualTable:blur > .virtual-table--cursor { background: $block-cursor-blurred-background;
        text-style: none; }
    VirtualTable > .virtual-table--odd { background: $surface-lighten-1 20%; }
    VirtualTable > .virtual-table--placeholder { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"virtual-table--header", "virtual-table--cursor",
                         "virtual-table--odd", "virtual-table--placeholder"}
    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First row", show=False),
        Binding("end", "last", "Last row", show=False),
    ]

    cursor_row: reactive[int] = reactive(0)

    class Highlighted(Message):
        """The cursor moved to row `index`."""

        def __init__(self, table: VirtualTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Viewport(Message):
        """Rows [start, end) are on screen."""

        def __init__(self, table: VirtualTable, start: int, end: int) -> None:
            super().__init__()
            self.table = table
            self.start = start
            self.end = end

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, columns: Sequence[Column] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._columns: list[Column] = list(columns)
        self._count = 0
        self._rows: RowsFunction = lambda start, stop: []
        self._lines: dict[int, Cells | None] = {}
        self._shown: tuple[int, int] = (0, 0)
        self._fitted: tuple[int, list[tuple[int, int]]] | None = None

    # -- what the screen sets ------------------------------------------------------------

    @property
    def columns(self) -> list[Column]:
        """The table's columns (some may not fit on screen)."""
        return list(self._columns)

    @property
    def row_count(self) -> int:
        """How many rows the table has."""
        return self._count

    def set_columns(self, columns: Sequence[Column]) -> None:
        """New columns (a different listing); redraws."""
        self._columns = list(columns)
        self._fitted = None
        self.refresh_rows()

    def set_source(self, count: int, rows: RowsFunction, cursor: int = 0) -> None:
        """New rows: `count` of them, cells from `rows(start, stop)`; the cursor goes to
        `cursor` and the view scrolls to it."""
        self._rows = rows
        self._count = max(0, count)
        self._update_size()
        self.cursor_row = self._clamp(cursor)
        self.scroll_to(y=max(0, self.cursor_row - self._body_height() // 2), animate=False,
                       immediate=True)
        self.refresh_rows()
        self._post_highlight()

    def set_count(self, count: int, cursor: int | None = None, shift: int = 0) -> None:
        """The source holds `count` rows now; the cursor moves to `cursor` (when given)
        and the view by `shift` rows, so that the row under the cursor stays in place."""
        self._count = max(0, count)
        self._update_size()
        if shift:
            self.scroll_to(y=max(0, round(self.scroll_y) + shift), animate=False,
                           immediate=True)
        if cursor is not None:
            self.cursor_row = self._clamp(cursor)
        else:
            self.cursor_row = self._clamp(self.cursor_row)
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """The rows' cells may have changed: ask for them again when drawing."""
        self._lines.clear()
        self.refresh()
        self._post_viewport()

    def cells_at(self, index: int) -> Cells | None:
        """The cells of one row (None: not read yet), as the table would show them."""
        if not 0 <= index < self._count:
            return None
        found = self._rows(index, index + 1)
        return found[0] if found else None

    def move_cursor(self, row: int) -> None:
        """Move the cursor to `row` and scroll it into view."""
        self.cursor_row = self._clamp(row)

    # -- geometry ------------------------------------------------------------------------

    def _clamp(self, row: int) -> int:
        return max(0, min(row, self._count - 1)) if self._count else 0

    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _update_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self._count + 1)

    def on_resize(self, event: events.Resize) -> None:
        self._fitted = None
        self._update_size()
        self.refresh_rows()

    def _visible_range(self) -> tuple[int, int]:
        top = round(self.scroll_y)
        return top, min(self._count, top + self._body_height())

    def _layout(self) -> list[tuple[int, int]]:
        """(column index, width) of the columns that fit, in order."""
        width = self.scrollable_content_region.width
        if self._fitted is not None and self._fitted[0] == width:
            return self._fitted[1]
        chosen = list(range(len(self._columns)))

        def needed(indexes: list[int]) -> int:
            return sum(self._columns[i].width for i in indexes) + GAP * max(0, len(indexes) - 1)

        while len(chosen) > 1 and needed(chosen) > width:
            drop = min(chosen, key=lambda i: (self._columns[i].priority, -i))
            chosen.remove(drop)
        widths = [(i, self._columns[i].width) for i in chosen]
        spare = width - needed(chosen)
        flexible = [n for n, (i, _) in enumerate(widths) if self._columns[i].flexible]
        if spare > 0 and flexible:
            i, w = widths[flexible[-1]]
            widths[flexible[-1]] = (i, w + spare)
        elif widths and needed(chosen) > width:  # one column wider than the table
            i, _ = widths[0]
            widths[0] = (i, width)
        self._fitted = (width, widths)
        return widths

    # -- drawing -------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # Ask the source for every row on screen at once, not line by line.
        top, stop = self._visible_range()
        missing = [r for r in range(top, stop) if r not in self._lines]
        if missing:
            first, last = missing[0], missing[-1] + 1
            for offset, cells in enumerate(self._rows(first, last)):
                self._lines[first + offset] = cells
            if len(self._lines) > 4 * self._body_height() + 64:
                self._lines = {r: c for r, c in self._lines.items() if top <= r < stop}
        if (top, stop) != self._shown:
            self._post_viewport()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            style = self.get_component_rich_style("virtual-table--header")
            titles = [Text(column.title) for column in self._columns]
            return self._strip(titles, style, width)
        row = round(self.scroll_y) + y - 1
        if row >= self._count:
            return Strip.blank(width, self.rich_style)
        cells = self._lines.get(row)
        if cells is None:
            if row not in self._lines:
                found = self._rows(row, row + 1)
                cells = found[0] if found else None
                self._lines[row] = cells
        base = self.rich_style
        if row % 2:
            base = base + self.get_component_rich_style("virtual-table--odd")
        if row == self.cursor_row:
            base = base + self.get_component_rich_style("virtual-table--cursor")
        if cells is None:
            muted = self.get_component_rich_style("virtual-table--placeholder")
            return self._strip([Text("...", style=muted)], base, width, placeholder=True)
        return self._strip(cells, base, width)

    def _strip(self, cells: Sequence[Text], style: Style, width: int,
               placeholder: bool = False) -> Strip:
        segments: list[Segment] = []
        console = self.app.console
        layout = self._layout()
        for n, (index, col_width) in enumerate(layout):
            if placeholder:
                cell = cells[0] if n == 0 and cells else Text("")
            else:
                cell = cells[index] if index < len(cells) else Text("")
            text = cell.copy() if not UNSAFE.search(cell.plain) else \
                Text(printable(cell.plain), style=cell.style)  # data never reaches it raw
            text.truncate(col_width, overflow="ellipsis", pad=False)
            pad = Segment(" " * (col_width - text.cell_len), style)
            body = Segment.apply_style(text.render(console, end=""), style)
            if self._columns[index].justify == "right":
                segments.append(pad)
                segments.extend(body)
            else:
                segments.extend(body)
                segments.append(pad)
            if n < len(layout) - 1:
                segments.append(Segment(" " * GAP, style))
        return Strip(segments).crop_extend(0, width, style)

    # -- keys and mouse ------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        top, stop = self._visible_range()
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= stop:
            self.scroll_to(y=new - self._body_height() + 1, animate=False, immediate=True)
        self.refresh()
        if old != new:
            self._post_highlight()

    def _post_highlight(self) -> None:
        if self._count:
            self.post_message(self.Highlighted(self, self.cursor_row))

    def _post_viewport(self) -> None:
        shown = self._visible_range()
        self._shown = shown
        self.post_message(self.Viewport(self, *shown))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._post_viewport()

    def action_cursor_up(self) -> None:
        self.cursor_row = self._clamp(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.cursor_row = self._clamp(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.cursor_row = self._clamp(self.cursor_row - self._body_height())

    def action_page_down(self) -> None:
        self.cursor_row = self._clamp(self.cursor_row + self._body_height())

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = self._clamp(self._count - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = round(self.scroll_y) + offset.y - 1
        if row < self._count:
            self.cursor_row = row
            self.focus()

