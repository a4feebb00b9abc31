"""The example bundle in the console, as `ps-console open examples/support-metrics-example.zip`
shows it: the Reports screen, offline, with every broker of the example cluster and the
damaged entry flagged."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from engine.reading.bundle import open_bundle
from tests.support.console import SIZE, status_of, table_rows, wait_for
from tui.app import ConsoleApp
from tui.backend import BundleBackend
from tui.config import load_config
from tui.widgets.virtual_table import VirtualTable

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-metrics-example.zip"

pytestmark = pytest.mark.anyio


def example_facts() -> tuple[set[int], str]:
    """The brokers the example's Enhanced reports name, and the table key of the entry its
    comment says is damaged."""
    opened = open_bundle(str(EXAMPLE))
    brokers = {e.broker_id for e in opened.entries if e.attributed_by == "enhanced"}
    comment = json.loads(zipfile.ZipFile(EXAMPLE).comment)
    (damaged,) = comment["example"]["damaged_on_purpose"]
    (entry,) = [e for e in opened.entries if e.entry == damaged["entry"]]
    return brokers, entry.key


def rendered(widget: Static) -> str:
    """The text a Static shows (its content may be a rich Table)."""
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def test_example_bundle_shows_every_broker_and_the_damaged_entry():
    brokers, damaged_key = example_facts()
    assert brokers == {1, 2, 3}
    cfg = load_config(None)
    app = ConsoleApp(cfg, BundleBackend(str(EXAMPLE), cfg.topic))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        table = screen.query_one("#reports", VirtualTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        keys = [r.key for r in screen.latest]
        rows = dict(zip(keys, table_rows(table), strict=True))
        assert app.conn_state == "offline"
        # The latest report of each broker, its Basic reports attributed by their token,
        # and the damaged entry: nothing else.
        assert sorted(r[1] for r in rows.values()) == ["-", "1", "2", "3"]
        assert rows[damaged_key][1] == "-"
        assert rows[damaged_key][4] == "undecodable"
        assert "support-metrics-example.zip" in status_of(screen)
        # The header names the bundle's cluster; the identity line says what the archive
        # comment says.
        comment = json.loads(zipfile.ZipFile(EXAMPLE).comment)
        await wait_for(pilot, lambda: app.cluster_id == comment["cluster_id"])
        identity = rendered(screen.query_one("#reports-identity"))
        assert f"topic {comment['topic']}" in identity and "complete" in identity
        assert "by ps-console" in identity

        table.move_cursor(keys.index(damaged_key))
        await pilot.pause()
        assert "UNDECODABLE" in rendered(screen.query_one("#detail-body"))

        await pilot.press("h")  # every report of the bundle, newest first
        await wait_for(pilot, lambda: "every report" in status_of(screen) and
                       "loading" not in status_of(screen))
        assert table.row_count == len(open_bundle(str(EXAMPLE)).entries)
        # An Enhanced report's detail: its fields under their headings.
        first_enhanced = next(i for i, r in enumerate(table_rows(table)) if "Enhanced" in r)
        table.move_cursor(first_enhanced)
        await wait_for(pilot, lambda: "broker configuration" in
                       rendered(screen.query_one("#detail-body")))
        text = rendered(screen.query_one("#detail-body"))
        assert "cluster metrics" in text and "replicationHistogram" in text
