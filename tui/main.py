"""`ps-console`: subcommands go to the engine's CLI; no subcommand opens the console."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.cli import build_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is not None:
        return run(args)
    # The console is not built yet: say so rather than pretend.
    parser.print_help()
    print("\nps-console: the interactive console is not available yet; "
          "use a subcommand.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
