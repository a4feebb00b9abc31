"""The console's Settings screen shows the engine's decision about the file: reporting
enabled, disabled or refused, and why, and what each setting does (fake backend; the
settings file and the decision are real)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tools.console_fake import SERVER_PROPERTIES, fake_app, settle
from tui.screens.settings import SettingsScreen

pytestmark = pytest.mark.anyio

SIZE = (120, 40)
ENABLE = "confluent.support.metrics.enable"


def _text(screen: SettingsScreen, ident: str) -> str:
    return str(screen.query_one(ident, Static).visual)


@pytest.mark.parametrize(("lines", "plan", "cell"), [
    (f"{ENABLE}=false \n", "disabled: confluent.support.metrics.enable='false ' (it has a "
                           "trailing blank) is not 'true'", "disabled"),
    ("", "disabled: confluent.support.metrics.enable is not in the file", "disabled"),
    (f"{ENABLE}=true\nconfluent.support.metrics.report.interval.hours=12 \n",
     "refused: confluent.support.metrics.report.interval.hours='12 ' (it has a trailing "
     "blank) must be a whole number of hours", "reporting on"),
    (f"{ENABLE}=true\nconfluent.support.metrics.endpoint.insecure.enable=flase\n",
     "enabled: a Basic report every 24 h to topic", "reporting on"),
])
async def test_settings_screen_says_what_the_agent_does(tmp_path: Path, monkeypatch,
                                                         lines: str, plan: str,
                                                         cell: str) -> None:
    base = "".join(line + "\n" for line in SERVER_PROPERTIES.splitlines()
                   if not line.startswith(ENABLE))
    (tmp_path / "server.properties").write_text(base + lines)
    monkeypatch.chdir(tmp_path)
    app = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        assert _text(screen, "#settings-plan").startswith(f"agent: {plan}")
        assert _text(screen, "#problem-0").startswith(cell)  # the opt-in's own line
        if "flase" in lines:
            insecure = _text(screen, "#problem-4")
            assert "must be true or false" in insecure and "stops HTTPS and HTTP" in insecure
            assert "default" not in insecure
