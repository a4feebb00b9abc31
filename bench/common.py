"""What every benchmark script shares: where the sandbox is, and how a result is printed.

Each script prints human-readable lines as it goes and ends with one machine-readable line,
`BENCH-RESULT {json}`, that `bench/run_all.py` collects into the table of `make bench`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MARK = "BENCH-RESULT "


def _sandbox_module():
    if "kafka_sandbox" in sys.modules:
        return sys.modules["kafka_sandbox"]
    spec = importlib.util.spec_from_file_location(
        "kafka_sandbox", REPO / "tools" / "sandbox" / "kafka_sandbox.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["kafka_sandbox"] = module
    spec.loader.exec_module(module)
    return module


def sandbox_facts() -> dict[str, Any]:
    """The running sandbox named by PS_SANDBOX_DIR (default `.sandbox/run`)."""
    sandbox = _sandbox_module()
    state_dir = Path(os.environ.get("PS_SANDBOX_DIR", sandbox.DEFAULT_STATE))
    box = sandbox.Sandbox(state_dir)
    if not box.is_running():
        sys.exit(f"bench: no sandbox runs in {state_dir}; start one with `make sandbox-up`")
    facts = box.state.facts()
    return {
        "bootstrap": facts["KAFKA_BOOTSTRAP"],
        "zk_connect": facts.get("KAFKA_ZK_CONNECT"),
        "zk_hosts": (facts.get("KAFKA_ZK_CONNECT") or "").split("/", 1)[0] or None,
        "brokers": [{"id": int(b.name.split("-")[1]), "config": b.config}
                    for b in box.state.brokers],
        "lib": str(sandbox.lib_dir(box.state.version)),
    }


def emit(name: str, figures: dict[str, Any], reference: dict[str, Any] | None = None,
         ratio: dict[str, Any] | None = None) -> None:
    """Print the one line the harness reads: figures, the reference's, and their ratio."""
    print(MARK + json.dumps({"name": name, "figures": figures, "reference": reference or {},
                             "ratio": ratio or {}}), flush=True)
