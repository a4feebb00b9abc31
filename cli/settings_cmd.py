"""`ps-console settings show|set`: the Proactive Support settings of a broker config file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.options import Subparsers, add_json_option, print_json
from engine.config.settings import (
    KEYS,
    PROXY,
    Plan,
    Setting,
    load_settings,
    validate,
)
from engine.errors import UsageError, ValidationError


def register(subparsers: Subparsers) -> None:
    """Add `settings` with its `show` and `set` actions."""
    parser = subparsers.add_parser(
        "settings", help="show or change the Proactive Support settings of server.properties",
        description="Show or change the confluent.support.* settings of a broker's "
                    "server.properties, keeping every other byte of the file.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                    parser_class=type(parser))

    show = actions.add_parser("show", help="what the agent does with the file: reporting "
                                           "on or off and why, and each setting's effect")
    _add_config_option(show)
    add_json_option(show)
    show.set_defaults(handler=show_settings)

    change = actions.add_parser("set", help="change settings (atomic save, with a backup)")
    _add_config_option(change)
    change.add_argument("pairs", nargs="+", metavar="KEY=VALUE",
                        help="settings to change, e.g. confluent.support.customer.id=c12345")
    change.add_argument("--force", action="store_true",
                        help="overwrite even if the file changed on disk since it was read")
    change.set_defaults(handler=set_settings)


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker-config", required=True, metavar="FILE",
                        help="the broker's server.properties")


def plan_json(plan: Plan) -> dict[str, Any]:
    """What the agent does with the file, as JSON: state, why, interval, schema, routes."""
    return {
        "state": plan.state,
        "enabled": plan.enabled,
        "reason": plan.reason,
        "interval_hours": plan.interval_hours,
        "schema": plan.schema,
        "customer_id": plan.customer_id,
        "destinations": {r.destination: {"sent": r.target is not None, "to": r.target,
                                         "note": r.note, "reason": r.reason}
                         for r in plan.routes},
    }


def setting_json(setting: Setting) -> dict[str, Any]:
    """One setting as JSON; the proxy's raw text is left out when it is invalid (it may
    hold credentials)."""
    hide = setting.key == PROXY and setting.problem is not None
    return {"value": setting.value, "raw": None if hide else setting.raw,
            "source": setting.source, "line": setting.line, "problem": setting.problem,
            "effect": setting.effect}


def show_settings(args: argparse.Namespace) -> int:
    """Print what the agent does with the file, then the nine settings: JSON, or a table
    with the value each has for the agent, its source and what it does."""
    loaded = load_settings(args.broker_config)
    settings, plan = loaded.effective, loaded.plan
    if args.json:
        print_json({"reporting": plan_json(plan),
                    "settings": {key: setting_json(s) for key, s in settings.items()}})
        return 0
    print(f"reporting: {plan.summary}")
    if plan.enabled:
        for route in plan.routes:
            where = route.target if route.target else f"not sent: {route.reason}"
            note = f" ({route.note})" if route.note else ""
            print(f"  {route.destination:<6} {where}{note}")
    rows = [("KEY", "VALUE", "SOURCE", "WHAT THE AGENT DOES")]
    for setting in settings.values():
        value = setting.value
        shown_value = ("-" if value is None else str(value).lower() if isinstance(value, bool)
                       else str(value) or "(empty)")
        source = f"file:{setting.line}" if setting.source == "file" else "default"
        rows.append((setting.key, shown_value, source, setting.explanation))
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        print("  ".join([*cells, row[3]]).rstrip())
    return 0


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE arguments → changes; every problem at once, as one ValidationError."""
    changes: dict[str, str] = {}
    problems: list[str] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {pair!r}")
        if key in changes:
            raise UsageError(f"{key} is given twice")
        changes[key] = value
        problem = validate(key, value)
        if problem is not None:
            problems.append(f"{key} {problem}" if key not in KEYS
                            else f"{key}={value!r} {problem}")
    if problems:
        raise ValidationError("; ".join(problems))
    return changes


def set_settings(args: argparse.Namespace) -> int:
    """Validate every pair, then save atomically; print the diff and the backup."""
    changes = parse_pairs(args.pairs)
    settings = load_settings(args.broker_config)
    diff = settings.diff(changes)
    backup = settings.save(changes, force=args.force)
    if diff:
        sys.stdout.write(diff)
    else:
        print(f"{settings.path}: no change, the values were already set")
    print(f"saved {settings.path}; previous content in {backup}")
    return 0
