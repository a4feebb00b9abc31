"""The Cluster screen's table: a thousand rows fill at once, the cursor keeps in view as it
moves, a changed cell shows, a column widens for a longer text, Enter selects."""

from __future__ import annotations

import time

import pytest
from textual.app import App, ComposeResult

from tui.widgets.row_table import RowTable

pytestmark = [pytest.mark.anyio]

COLUMNS = [("id", "id"), ("age", "age"), ("name", "name")]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield RowTable(COLUMNS, id="t")

    def on_row_table_selected(self, message: RowTable.Selected) -> None:
        self.selected.append(message.key)


def _rows(n: int):
    return [(str(i), {"id": (str(i), "bold"), "age": (f"{i}s", ""), "name": (f"b{i}", "")})
            for i in range(1, n + 1)]


def _screen_lines(app: App) -> list[str]:
    update = app.screen._compositor.render_update(full=True)
    return ["".join(s.text for s in line) for line in update.strips]


async def test_a_thousand_rows_the_cursor_in_view_and_enter_selects():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(RowTable)
        started = time.perf_counter()
        table.set_rows(_rows(1000))
        await pilot.pause()
        assert time.perf_counter() - started < 1.0
        assert table.row_count == 1000 and table.get_row_at(0) == ["1", "1s", "b1"]
        table.focus()
        await pilot.press(*["down"] * 20)
        assert table.cursor_row == 20
        lines = _screen_lines(app)
        assert lines[0].split() == ["id", "age", "name"]  # the header stays on top
        assert any(line.split()[:1] == ["21"] for line in lines[1:])
        await pilot.press("end")
        assert table.cursor_key == "1000"
        assert _screen_lines(app)[-1].split()[:1] == ["1000"]
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["1000"]
        await pilot.press("home")
        assert table.cursor_row == 0 and _screen_lines(app)[1].split()[0] == "1"


async def test_changed_cells_show_and_a_longer_text_widens_its_column():
    app = TableApp()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(RowTable)
        table.set_rows(_rows(3))
        await pilot.pause()
        table.update_cells("2", {"age": ("59s", "")})
        table.update_cells("3", {"name": ("a-much-longer-name", "")})
        await pilot.pause()
        lines = _screen_lines(app)
        assert lines[2].split() == ["2", "59s", "b2"]
        assert lines[3].split() == ["3", "3s", "a-much-longer-name"]
        # Rebuilt with fewer rows, the cursor keeps its key.
        table.move_cursor(1)
        table.set_rows(_rows(2))
        assert table.cursor_key == "2"
