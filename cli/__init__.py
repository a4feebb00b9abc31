"""The `ps-console` command line: one argparse parser, one module per subcommand.

Each subcommand module in this package has `register(subparsers)`, which adds its parser
and sets `handler` to a function `(args) -> int`. `cli.main` is the `ps-console` entry point:
a subcommand runs here, no subcommand opens the console (the `tui` package).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from engine.errors import PsError
from engine.text import printable

# The subcommands that exist, in the order `--help` lists them.
SUBCOMMANDS: tuple[str, ...] = ("cluster", "settings", "reports", "report", "agent", "bundle",
                               "open", "receive", "health", "exporter")

PROG = "ps-console"


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line after the usage, with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


class _VersionAction(argparse.Action):
    """argparse's own version action reflows the text into one paragraph; keep the lines."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(version_text())
        parser.exit(0)


def version_text() -> str:
    """This project's version, Python's, and the versions of the libraries that matter."""
    from importlib.metadata import PackageNotFoundError, version

    from engine import __version__

    parts = [f"{PROG} {__version__}", f"python {sys.version.split()[0]}"]
    for dist in ("textual", "confluent-kafka", "kazoo", "httpx", "aiohttp", "fastavro"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} missing")
    try:
        import confluent_kafka

        parts.append(f"librdkafka {confluent_kafka.libversion()[0]}")
    except ImportError:
        pass
    return "\n".join(parts)


def build_parser(console_options: Callable[[argparse.ArgumentParser], None] | None = None
                 ) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Kafka Proactive Support: reports from every broker, settings, "
                    "support bundles. Without a subcommand, opens the console.",
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="print the versions of ps-console, Python and key libraries")
    parser.add_argument("--debug", action="store_true",
                        help="log what happens to stderr, with tracebacks")
    if console_options is not None:
        console_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"cli.{name}_cmd").register(sub)
    return parser


def _printable_messages(record: logging.LogRecord) -> bool:
    """Log lines carry names and texts from peers (topics, requests, reports): no control
    character of theirs reaches the terminal or the journal."""
    record.msg, record.args = printable(record.getMessage()), None
    return True


def run(args: argparse.Namespace) -> int:
    """Run the handler a subcommand registered; map engine errors to exit codes."""
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "debug", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_printable_messages)
    prog = getattr(args, "prog", PROG)
    try:
        return int(args.handler(args) or 0)
    except PsError as exc:
        print(f"{prog}: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks
        if getattr(args, "debug", False):
            raise
        print(f"{prog}: unexpected error: {type(exc).__name__}: {exc} "
              "(run with --debug for details)", file=sys.stderr)
        return 1


def bundle_main(argv: Sequence[str] | None = None) -> int:
    """`support-metrics-bundle`: the same as `ps-console bundle`."""
    return _alias_main("bundle", "support-metrics-bundle", argv)


def agent_main(argv: Sequence[str] | None = None) -> int:
    """`ps-console-agent`: the same as `ps-console agent` (what the systemd unit runs)."""
    return _alias_main("agent", "ps-console-agent", argv)


def _alias_main(command: str, prog: str, argv: Sequence[str] | None) -> int:
    """Run one subcommand under a script name of its own: its parser alone parses the
    arguments, so every usage and error line (an unknown option too) names `prog`."""
    parser = _command_parser(command, prog)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    args.command, args.prog = command, prog
    return run(args)


def _command_parser(command: str, prog: str) -> argparse.ArgumentParser:
    """The parser of one subcommand, named `prog`, with the top level's --debug and
    --version (a script of its own takes them too)."""
    top = build_parser()
    sub: argparse.ArgumentParser = next(
        action.choices[command] for action in top._actions
        if isinstance(action, argparse._SubParsersAction) and command in action.choices)
    sub.prog = prog
    sub.add_argument("--version", action=_VersionAction, nargs=0,
                     help="print the versions of ps-console, Python and key libraries")
    sub.add_argument("--debug", action="store_true",
                     help="log what happens to stderr, with tracebacks")
    return sub
