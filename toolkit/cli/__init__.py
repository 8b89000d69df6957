"""The ``toolgym`` command line. Each sub-command lives in its own module with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from toolkit.errors import UserError

__all__ = ["main", "build_parser"]

# Module names under toolkit.cli, in the order `toolgym --help` lists them.
COMMANDS: list[str] = [
    "tools_cmd",
    "validate_cmd",
    "inspect_cmd",
    "export_cmd",
    "serve_mcp",
    "eval_cmd",
    "compare_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolgym",
        description="Turn Python functions and MCP servers into verified tool-calling data, train, and evaluate.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [importlib.import_module(f"toolkit.cli.{name}") for name in COMMANDS]
    # Packages above the core (synthesizers, trainers, user plugins) add commands through the `toolgym.commands`
    # entry-point group, so the core never imports them.
    modules += [ep.load() for ep in sorted(entry_points(group="toolgym.commands"), key=lambda e: e.name)]
    for module in modules:
        cmd = module.add_parser(sub)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
