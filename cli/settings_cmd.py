"""`ps-console settings show|set`: the Proactive Support settings of a broker config file."""

from __future__ import annotations

import argparse
import sys

from cli.options import Subparsers, add_json_option, print_json
from engine.config.settings import KEYS, load_settings, validate
from engine.errors import UsageError, ValidationError


def register(subparsers: Subparsers) -> None:
    """Add `settings` with its `show` and `set` actions."""
    parser = subparsers.add_parser(
        "settings", help="show or change the Proactive Support settings of server.properties",
        description="Show or change the confluent.support.* settings of a broker's "
                    "server.properties, keeping every other byte of the file.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                    parser_class=type(parser))

    show = actions.add_parser("show", help="the effective settings, their source and problems")
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


def show_settings(args: argparse.Namespace) -> int:
    """Print the nine settings: JSON (key → typed value) or a table with sources."""
    settings = load_settings(args.broker_config).effective
    if args.json:
        print_json({key: setting.value for key, setting in settings.items()})
        for setting in settings.values():
            if setting.problem:
                print(f"warning: {setting.key}={setting.raw!r} {setting.problem}; "
                      f"using the default", file=sys.stderr)
        return 0
    rows = [("KEY", "VALUE", "SOURCE", "PROBLEM")]
    for setting in settings.values():
        value = setting.value
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        source = f"file:{setting.line}" if setting.source == "file" else "default"
        problem = ""
        if setting.problem:
            problem = f"{setting.raw!r} {setting.problem}; default used"
        rows.append((setting.key, shown if shown else "(empty)", source, problem))
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
