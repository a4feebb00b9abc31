"""`make demo` on a machine without Java or Maven: one line saying so, then the console on
the example bundle (no cluster needed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from engine.reading.bundle import open_bundle
from tests.support.pty_console import run_on_pty

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "support-metrics-example.zip"
HIDDEN = {"java", "mvn"}


def path_without(tmp_path: Path, hidden: set[str]) -> str:
    """A PATH of one folder holding links to every command on the current PATH but
    `hidden` (first one wins, as the shell resolves them)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or not os.path.isdir(entry):
            continue
        for name in os.listdir(entry):
            link = folder / name
            if name in hidden or link.exists() or link.is_symlink():
                continue
            link.symlink_to(Path(entry) / name)
    return str(folder)


def test_demo_without_java_opens_the_example_bundle(tmp_path):
    opened = open_bundle(str(EXAMPLE))
    brokers = {e.broker_id for e in opened.entries if e.attributed_by == "enhanced"}
    damaged = [e.position for e in opened.entries if not e.ok]
    path = path_without(tmp_path, HIDDEN)
    assert not any((Path(path) / name).exists() for name in HIDDEN)
    env = dict(os.environ, PATH=path)
    env["PS_CONSOLE_CONFIG"] = str(tmp_path / "no-config" / "config.toml")
    # The latest report of each broker plus the damaged entry, as the status line counts.
    status = (f"latest report of each broker in bundle {EXAMPLE.name}: "
              f"{len(brokers) + len(damaged)} rows")
    env["PYTHONPATH"] = str(REPO)  # `make demo` runs `python -m tools.demo` from the checkout
    run = run_on_pty([sys.executable, "-m", "tools.demo"],
                     want=["Java is not on PATH; opening the example bundle offline",
                           "offline", status, *damaged],
                     bound=60, env=env, cwd=tmp_path)
    assert run.seen, run.screen[-3000:]
    assert run.exit_code == 0, run.screen[-3000:]
    assert "Traceback" not in run.screen
