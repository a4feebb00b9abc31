"""The first frame must not wait for the heavy client libraries: what `ps-console` imports
before the App runs holds none of them (they load in the workers, on first engine call).
A subprocess, so that modules other tests imported do not count."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("kazoo", "confluent_kafka", "fastavro", "httpx", "aiohttp", "cryptography",
         "importlib.metadata")


def test_console_start_imports_no_client_library():
    # What `ps-console` does before the App runs: parse its options (every subcommand
    # registers its own), then import the app and its first screen.
    code = ("import sys, cli.main as m; "
            "m.build_parser(console_options=m.add_console_options); "
            "import tui.app, tui.backend, tui.screens.cluster; "
            f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout
