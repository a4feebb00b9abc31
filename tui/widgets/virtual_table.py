"""A table of any number of rows that only ever makes the rows on screen (Textual's line
API): the screen gives a row count and a function for the cells of rows [i, j); the
table asks for the lines it draws, nothing else, so a million rows cost what twenty do.

Rows the source has not read yet come back as None and show as a placeholder; the table
tells the source which rows it shows (`shown`, called at once: a message would wait
behind the frame that the scroll itself causes, and the source would start reading only
after it), so that it reads those first, and redraws when told the rows changed.

Columns have a natural width and a priority: when the table is narrower than their sum,
the least important are left out whole, never cut short; the last column takes what is
left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
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
ShownFunction = Callable[[int, int], None]

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

    def __init__(self, columns: Sequence[Column] = (), *, shown: ShownFunction | None = None,
                 id: str | None = None) -> None:
        """`shown(start, stop)` is called whenever rows [start, stop) become the ones on
        screen."""
        super().__init__(id=id)
        self._columns: list[Column] = list(columns)
        self._count = 0
        self._rows: RowsFunction = lambda start, stop: []
        self._on_shown = shown
        self._lines: dict[int, Cells | None] = {}
        self._shown: tuple[int, int] = (0, 0)
        self._fitted: tuple[int, list[tuple[int, int]]] | None = None
        self._paint: _Paint | None = None

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
        self._scroll(max(0, self.cursor_row - self._body_height() // 2))
        self.refresh_rows()
        self._post_highlight()

    def set_count(self, count: int, cursor: int | None = None, shift: int = 0) -> None:
        """The source holds `count` rows now; the cursor moves to `cursor` (when given)
        and the view by `shift` rows, so that the row under the cursor stays in place."""
        self._count = max(0, count)
        self._update_size()
        if shift:
            self._scroll(max(0, round(self.scroll_y) + shift))
        if cursor is not None:
            self.cursor_row = self._clamp(cursor)
        else:
            self.cursor_row = self._clamp(self.cursor_row)
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """The rows' cells may have changed: ask for them again when drawing."""
        self._lines.clear()
        self.refresh()
        self._tell_shown()

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

    def _scroll(self, top: int) -> None:
        # Forced: Textual shows the scroll bar, and allows a scroll, only after the next
        # layout; a key pressed as a million rows arrive (End) would scroll nowhere.
        self.scroll_to(y=top, animate=False, immediate=True, force=True)

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
            self._tell_shown()
        # The styles are worked out once a frame: each look at the widget's style walks
        # its ancestors, and that, line by line, was a fifth of drawing the table.
        self._paint = _Paint(self)
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        paint = self._paint or _Paint(self)
        width = self.scrollable_content_region.width
        if y == 0:
            titles = [Text(column.title) for column in self._columns]
            return self._strip(titles, paint.header, width, paint)
        row = round(self.scroll_y) + y - 1
        if row >= self._count:
            return Strip.blank(width, paint.base)
        cells = self._lines.get(row)
        if cells is None:
            if row not in self._lines:
                found = self._rows(row, row + 1)
                cells = found[0] if found else None
                self._lines[row] = cells
        style = paint.row_style(row % 2 == 1, row == self.cursor_row)
        if cells is None:
            return self._strip([Text("...", style=paint.placeholder)], style, width, paint,
                               placeholder=True)
        return self._strip(cells, style, width, paint)

    def _strip(self, cells: Sequence[Text], style: Style, width: int, paint: _Paint,
               placeholder: bool = False) -> Strip:
        # Runs of text in one style, merged: a line of eight columns is a few segments,
        # not forty (every segment is styled and filtered again on its way out).
        runs: list[tuple[str, Style]] = []
        layout = self._layout()
        last = len(layout) - 1
        for n, (index, col_width) in enumerate(layout):
            if placeholder:
                cell = cells[0] if n == 0 and cells else None
            else:
                cell = cells[index] if index < len(cells) else None
            parts = self._cell_parts(cell, col_width, style, paint) if cell is not None else []
            used = sum(cell_len(text) for text, _ in parts)
            pad = " " * (col_width - used)
            if self._columns[index].justify == "right":
                parts.insert(0, (pad, style))
            else:
                parts.append((pad, style))
            if n < last:
                parts.append((" " * GAP, style))
            for text, part_style in parts:
                if runs and runs[-1][1] == part_style:
                    runs[-1] = (runs[-1][0] + text, part_style)
                elif text:
                    runs.append((text, part_style))
        strip = Strip([Segment(text, part_style) for text, part_style in runs])
        return strip if strip.cell_length == width else strip.crop_extend(0, width, style)

    def _cell_parts(self, cell: Text, col_width: int, style: Style,
                    paint: _Paint) -> list[tuple[str, Style]]:
        """A cell's text in `col_width` columns at most, as (text, style) parts."""
        plain = cell.plain
        unsafe = UNSAFE.search(plain) is not None
        if not unsafe and not cell.spans and cell.cell_len <= col_width:
            return [(plain, paint.combined(style, cell.style))]  # most cells: as they are
        text = Text(printable(plain), style=cell.style) if unsafe else cell.copy()
        text.truncate(col_width, overflow="ellipsis", pad=False)  # data never reaches it raw
        own = paint.combined(style, cell.style)  # (rich leaves it out of a text without spans)
        return [(segment.text, own + segment.style if segment.style else own)
                for segment in text.render(paint.console, end="")]

    # -- keys and mouse ------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        top, stop = self._visible_range()
        if new < top:
            self._scroll(new)
        elif new >= stop:
            self._scroll(new - self._body_height() + 1)
        self.refresh()
        if old != new:
            self._post_highlight()

    def _post_highlight(self) -> None:
        if self._count:
            self.post_message(self.Highlighted(self, self.cursor_row))

    def _tell_shown(self) -> None:
        shown = self._visible_range()
        self._shown = shown
        if self._on_shown is not None:
            self._on_shown(*shown)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._tell_shown()

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


class _Paint:
    """The styles of one frame of a table, each worked out once."""

    __slots__ = ("_combined", "_rows", "base", "console", "cursor", "header", "odd",
                 "placeholder")

    def __init__(self, table: VirtualTable) -> None:
        self.console = table.app.console
        self.base = table.rich_style
        self.header = table.get_component_rich_style("virtual-table--header")
        self.odd = table.get_component_rich_style("virtual-table--odd")
        self.cursor = table.get_component_rich_style("virtual-table--cursor")
        self.placeholder = table.get_component_rich_style("virtual-table--placeholder")
        self._rows: dict[tuple[bool, bool], Style] = {}
        self._combined: dict[tuple[Style, str | Style], Style] = {}

    def row_style(self, odd: bool, cursor: bool) -> Style:
        """The style of a row: the table's, striped, under the cursor."""
        found = self._rows.get((odd, cursor))
        if found is None:
            found = self.base
            if odd:
                found = found + self.odd
            if cursor:
                found = found + self.cursor
            self._rows[(odd, cursor)] = found
        return found

    def combined(self, style: Style, cell_style: str | Style) -> Style:
        """A cell's own style over its row's."""
        if not cell_style:
            return style
        key = (style, cell_style)
        found = self._combined.get(key)
        if found is None:
            found = style + self.console.get_style(cell_style)
            self._combined[key] = found
        return found
