"""Keys remapped by binding id from the config file, and the command palette: every action
is there, and in read-only mode none of those that write. Real sandbox (shared is fine:
nothing here writes to the cluster)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from tests.support.console import SIZE, sandbox_app, wait_for
from tui.app import WRITE_ACTIONS, ConsoleApp
from tui.screens.cluster import ClusterScreen
from tui.screens.export import ExportDialog
from tui.screens.help import HelpScreen
from tui.screens.report_now import ReportNowScreen
from tui.screens.reports import ReportsScreen
from tui.screens.settings import SettingsScreen

pytestmark = pytest.mark.anyio

# Bindings that only move back or close something: no palette entry needed.
# "quit_anyway": ctrl+q, the palette's Quit runs "quit" already.
NAVIGATION = {"app.pop_screen", "back", "clear_filter", "quit_anyway"}


def _palette_actions(app: ConsoleApp) -> set[str]:
    """The actions the command palette offers on the current screen (ours, not Textual's
    own theme/quit/screenshot entries)."""
    actions = set()
    for command in app.get_system_commands(app.screen):
        if isinstance(command.callback, partial) and command.callback.args:
            actions.add(str(command.callback.args[0]))
    return actions


def _binding_actions(bindings) -> set[str]:
    return {b.action for b in bindings} - NAVIGATION


def _broker_config(cluster, tmp_path: Path) -> str:
    path = tmp_path / "server.properties"
    path.write_text(Path(cluster.box.state.brokers[0].config).read_text("latin-1"), "latin-1")
    return str(path)


async def test_keys_remapped_by_binding_id(cluster, report_topic, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[keys]\nexport = "x"\nhelp = "f1"\n')
    monkeypatch.setenv("PS_CONSOLE_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    app = sandbox_app(cluster, report_topic)
    assert app.config.keys == {"export": "x", "help": "f1"}
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen))
        await pilot.press("e")  # no longer the export key
        await pilot.press("question_mark")
        await pilot.pause(0.5)
        assert not isinstance(app.screen, (ExportDialog, HelpScreen))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = {binding_id: key for key, _, binding_id in app.screen._keys}
        assert keys["export"] == "x"
        await pilot.press("escape")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))


async def test_palette_lists_every_action_of_every_screen(cluster, report_topic, tmp_path):
    app = sandbox_app(cluster, report_topic,
                      broker_configs=(_broker_config(cluster, tmp_path),))
    async with app.run_test(size=SIZE) as pilot:
        wanted_app = _binding_actions(ConsoleApp.BINDINGS) | {a for _, _, a in app.PALETTE}
        assert wanted_app <= _palette_actions(app)
        for key, kind in (("2", ReportsScreen), ("s", SettingsScreen),
                          ("t", ReportNowScreen)):
            await pilot.press(key)
            await wait_for(pilot, lambda kind=kind: isinstance(app.screen, kind))
            offered = _palette_actions(app)
            # An action the screen turns off where it is (the latest view's `latest`) is
            # in neither the footer nor the palette.
            screen_actions = {a for a in _binding_actions(kind.BINDINGS)
                              if a != "app.refresh_cluster"
                              and app.screen.check_action(a, ()) is not False}
            assert screen_actions <= offered, (kind.__name__, screen_actions - offered)
            assert wanted_app <= offered, (kind.__name__, wanted_app - offered)
        await pilot.press("escape", "1")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen))
        assert "refresh_cluster" in _palette_actions(app)
        # And an entry chosen in the palette runs its action.
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"Export bundle")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog))


async def test_palette_in_read_only_offers_nothing_that_writes(cluster, report_topic,
                                                               tmp_path):
    app = sandbox_app(cluster, report_topic, read_only=True,
                      broker_configs=(_broker_config(cluster, tmp_path),))
    app.read_only = True
    async with app.run_test(size=SIZE) as pilot:
        seen: set[str] = set()
        seen |= _palette_actions(app)
        for key, kind in (("2", ReportsScreen), ("s", SettingsScreen)):
            await pilot.press(key)
            await wait_for(pilot, lambda kind=kind: isinstance(app.screen, kind))
            seen |= _palette_actions(app)
        assert not seen & WRITE_ACTIONS, seen & WRITE_ACTIONS
        assert {"export", "settings", "show_reports"} <= seen  # reading stays available
        # Nor does the palette's own list of this screen hold a "save" entry.
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not [t for t in titles if "save" in t.lower() or "send" in t.lower()]
