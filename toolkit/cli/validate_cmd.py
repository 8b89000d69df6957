"""`toolgym validate FILE` — check a trajectory dataset stage by stage, optionally replaying it on tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from toolkit.errors import UserError
from toolkit.validation import DEFAULT_MAX_DEPTH, STAGES, validate_file
from toolkit.validation.annotate import write_annotated

EXAMPLE = """examples:
  toolgym validate data/train.jsonl
  toolgym validate data/train.jsonl --tools py:tools.calculator --json > report.json
  toolgym validate big.jsonl --workers 8
  toolgym validate third_party.jsonl --tools py:mytools --write clean.jsonl --only-passed
  toolgym validate times.jsonl --tools "stdio:python -m mcp_server_time" --nondeterministic get_current_time

exit status: 0 every record passed, 1 some record failed, 2 usage error (missing file, bad tool source)"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "validate",
        help="check a trajectory dataset (schema, structure, arguments, results, subagents, replay)",
        description=(
            "Validate a JSONL dataset of ToolGym records, TRL conversational rows or OpenAI chat fine-tuning "
            "rows. Prints, per stage, how many records were checked and passed with the commonest failure "
            "reasons. With --tools, every trajectory's calls are also replayed on fresh tools and compared "
            "with the recorded results."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="JSONL dataset (one record per line)")
    p.add_argument("--tools", action="append", default=[], metavar="SOURCE",
                   help="tool source to replay calls on (py:MODULE, stdio:COMMAND ARGS..., http(s) URL); "
                        "repeatable")
    p.add_argument("--nondeterministic", action="append", default=[], metavar="TOOL",
                   help="tool name or glob whose results replay compares by shape, not value; repeatable "
                        "(tools whose spec says deterministic: false are compared by shape anyway)")
    p.add_argument("--max-depth", type=int, default=DEFAULT_MAX_DEPTH, metavar="N",
                   help=f"deepest allowed subagent nesting (default {DEFAULT_MAX_DEPTH})")
    p.add_argument("--stages", default=None, metavar="LIST",
                   help=f"comma-separated stages to run (default all: {','.join(STAGES)}; record always "
                        "runs)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="per-call time limit during replay (default 30)")
    p.add_argument("--concurrency", type=int, default=4, metavar="N",
                   help="trajectories replayed at once, each on its own fresh tools (default 4)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes for the static stages (default 1; worth it for many thousand records)")
    p.add_argument("--json", action="store_true", help="print a machine-readable report instead of the table")
    p.add_argument("--quiet", action="store_true", help="no progress bars on stderr")
    p.add_argument("--write", default=None, metavar="OUT",
                   help="also write the records, as ToolGym records, with their verdict in `validation`")
    p.add_argument("--only-passed", action="store_true",
                   help="with --write: write only the records that passed")
    return p


def run(args: argparse.Namespace) -> int:
    if args.max_depth < 0:
        raise UserError(f"--max-depth must be 0 or more, not {args.max_depth}")
    if args.timeout is not None and args.timeout <= 0:
        raise UserError(f"--timeout must be a positive number of seconds, not {args.timeout}")
    stages = None
    if args.stages:
        stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    if stages and "replay" in stages and not args.tools:
        raise UserError("the replay stage needs tools to replay on; add --tools SOURCE")
    if args.only_passed and not args.write:
        raise UserError("--only-passed chooses what --write writes; add --write OUT")
    if args.write and Path(args.write).resolve() == Path(args.file).resolve():
        raise UserError(
            f"refusing to overwrite the file being validated ({args.file}); write to another path"
        )
    if args.nondeterministic and not args.tools:
        raise UserError("--nondeterministic only matters when replaying; add --tools SOURCE")
    report = validate_file(
        args.file,
        sources=args.tools,
        timeout=args.timeout,
        max_depth=args.max_depth,
        nondeterministic=args.nondeterministic,
        stages=stages,
        concurrency=args.concurrency,
        workers=args.workers,
        progress=not args.quiet,
    )
    if report.total == 0:
        raise UserError(f"{args.file} holds no records (it is empty or only blank lines)")
    print(report.to_json() if args.json else report.format_table())
    if args.write:
        done = write_annotated(args.file, report, args.write, only_passed=args.only_passed)
        skipped = f", {done.left_out} failed record(s) left out" if args.only_passed else ""
        print(f"wrote {done.written} record(s) to {args.write} ({done.unwritable} unreadable line(s) not "
              f"written{skipped})", file=sys.stderr)
    return 0 if report.ok else 1
