"""`toolgym tools SOURCE...` — list the tools a source offers."""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio

from toolkit.sources import open_registry
from toolkit.specs import ToolSpec
from toolkit.tables import format_table

EXAMPLE = """example:
  toolgym tools py:tools.calculator
  toolgym tools "stdio:python -m mcp_server_time" --json
  toolgym tools http://127.0.0.1:8000/mcp"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "tools",
        help="list the tools of one or more sources",
        description="List the tools that one or more sources offer, as a table or as JSON specs.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="py:MODULE, stdio:COMMAND ARGS..., or an http(s) URL")
    p.add_argument("--json", action="store_true", help="print the full specs as a JSON list")
    return p


async def _list(sources: list[str]) -> list[ToolSpec]:
    async with open_registry(sources) as registry:
        return registry.specs()


def _summary(spec: ToolSpec) -> tuple[str, str, str]:
    props = spec.input_schema.get("properties", {})
    required = set(spec.input_schema.get("required", []))
    params = ", ".join(f"{k}{'' if k in required else '?'}" for k in props)
    desc = spec.description.strip().splitlines()[0] if spec.description.strip() else ""
    return spec.name, params, desc


def run(args: argparse.Namespace) -> int:
    specs = anyio.run(_list, list(args.sources))
    if args.json:
        print(json.dumps([s.model_dump(mode="json") for s in specs], indent=2, ensure_ascii=False))
    else:
        print(format_table([_summary(s) for s in specs], ("tool", "parameters (? = optional)", "description")))
        print(f"\n{len(specs)} tool(s)")
    return 0
