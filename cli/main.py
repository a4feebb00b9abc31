"""`ps-console`: a subcommand runs from this package; no subcommand opens the console."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import PROG, build_parser, run
from cli.options import add_cluster_options
from engine.cluster.location import ClusterLocation, ClusterOptions, locate
from engine.errors import PsError
from tui.config import ConsoleConfig, load_config


def wants_console_on_bundle(args: argparse.Namespace) -> bool:
    """`open` without `--json` on a terminal opens the console; piped, the engine's readable
    summary is what a script or a pager wants."""
    return (args.command == "open" and not getattr(args, "json", False)
            and sys.stdout.isatty() and sys.stdin.isatty())


def add_console_options(parser: argparse.ArgumentParser) -> None:
    """The console's own options on the top-level `ps-console` parser. The cluster options
    are the engine's, spelled as every subcommand spells them."""
    add_cluster_options(parser, required=False)
    # None means "not given", so a profile's topic and timeout are not overridden by the
    # flags' defaults.
    parser.set_defaults(topic=None, timeout=None)
    parser.add_argument("--broker-config", action="append", metavar="FILE",
                        help="a broker's server.properties for the Settings and Report now "
                             "screens (repeatable)")
    parser.add_argument("--read-only", action="store_true",
                        help="hide every action that writes (settings save, report now)")
    parser.add_argument("--profile", metavar="NAME",
                        help="a [profiles.NAME] of the console's config file")
    parser.add_argument("--config", metavar="FILE",
                        help="the console's TOML config file (default: platform config path)")
    parser.add_argument("--show-config", action="store_true",
                        help="print the effective console settings and where each came from")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(console_options=add_console_options)
    args = parser.parse_args(argv)
    if args.command is not None and not wants_console_on_bundle(args):
        return run(args)
    try:
        config = load_config(args)
    except PsError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.exit_code
    if getattr(args, "show_config", False):
        width = max(len(name) for name, _, _ in config.describe())
        for name, value, source in config.describe():
            print(f"{name:<{width}}  {value}    ({source})")
        return 0

    from tui.backend import BundleBackend, ClusterBackend, ConsoleBackend

    backend: ConsoleBackend
    if args.command == "open":
        backend = BundleBackend(args.file, config.topic, config.broker_configs)
    else:
        if not (config.zookeeper or config.bootstrap):
            parser.print_usage(sys.stderr)
            print(f"{PROG}: error: give --zookeeper or --bootstrap-server (or a profile "
                  f"in {config.path})", file=sys.stderr)
            return 2
        try:
            location = _location(config, getattr(args, "timeout", None))
        except PsError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return exc.exit_code
        backend = ClusterBackend(location, config.topic, config.broker_configs,
                                 config.health)

    from tui.app import ConsoleApp

    result = ConsoleApp(config, backend, settle_heap=True).run()
    return int(result or 0)


def _location(config: ConsoleConfig, timeout: float | None) -> ClusterLocation:
    from tui.backend import CONSOLE_TIMEOUT

    options = ClusterOptions(zookeeper=config.zookeeper, bootstrap=config.bootstrap,
                             command_config=config.command_config,
                             zookeeper_auth=config.zookeeper_auth, timeout=timeout)
    origin = f"profile {config.profile}" if config.profile else None
    return locate(options, default_timeout=CONSOLE_TIMEOUT, origin=origin)


if __name__ == "__main__":
    sys.exit(main())
