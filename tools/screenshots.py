#!/usr/bin/env python3
"""Write an SVG of every main screen of the console into `screenshots/`.

The real app runs on the deterministic backend of the snapshot tests (fixed cluster,
reports and clock), so the pictures change only when the console does.

    .venv/bin/python -m tools.screenshots [--out screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from tools.console_fake import fake_app, settle, write_broker_config

REPO = Path(__file__).resolve().parent.parent


SIZE = (120, 40)
# File name, keys pressed from the start, and whether the console runs read-only.
SHOTS: list[tuple[str, tuple[str, ...], bool]] = [
    ("cluster", (), False),
    ("cluster-read-only", (), True),
    ("reports", ("2",), False),
    ("health", ("3",), False),
    ("reports-raw", ("2", "end", "v"), False),
    # Broker 1's history, on its newest Enhanced report: the events and the grouped fields.
    ("history", ("2", "h", "down", "down"), False),
    ("help", ("question_mark",), False),
    ("export", ("e", "enter"), False),
    ("settings", ("s",), False),
    ("report-now", ("t",), False),
]


async def shoot(name: str, keys: tuple[str, ...], read_only: bool, out: Path) -> Path:
    app = fake_app(read_only=read_only)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        path = out / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(out))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["PS_CONSOLE_CONFIG"] = str(out / "no-such-config.toml")
    with tempfile.TemporaryDirectory() as tmp:
        write_broker_config(Path(tmp))
        os.chdir(tmp)  # the broker config is named relatively, as in the snapshot tests
        for name, keys, read_only in SHOTS:
            print(asyncio.run(shoot(name, keys, read_only, out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
