"""A low-level MCP server with hand-written schemas (``$ref``, ``oneOf``, nested arrays of objects), paginated
tool listings, non-text content, and tools that break their own output schema.

Run as ``python schema_server.py [--page-size N]`` for stdio; tests also build it in-process.
"""

from __future__ import annotations

import argparse
import base64
from typing import Any

import anyio
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ImageContent,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
)

ORDER_INPUT: dict[str, Any] = {
    "type": "object",
    "$defs": {
        "Option": {
            "type": "object",
            "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
            "required": ["key", "value"],
        },
        "Line": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
                "qty": {"type": "integer", "minimum": 1},
                "options": {"type": "array", "items": {"$ref": "#/$defs/Option"}},
            },
            "required": ["sku", "qty"],
        },
    },
    "properties": {
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}, "minItems": 1},
        "payment": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"kind": {"const": "card"}, "last4": {"type": "string"}},
                    "required": ["kind", "last4"],
                },
                {
                    "type": "object",
                    "properties": {"kind": {"const": "invoice"}, "po": {"type": "string"}},
                    "required": ["kind", "po"],
                },
            ]
        },
    },
    "required": ["lines", "payment"],
}
ORDER_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"total_items": {"type": "integer"}, "paid_by": {"type": "string"}},
    "required": ["total_items", "paid_by"],
}


def _tools(absurd: bool) -> list[Tool]:
    tools = [
        Tool(
            name="place_order",
            description="Place an order of several lines, paid by card or invoice.",
            input_schema=ORDER_INPUT,
            output_schema=ORDER_OUTPUT,
        ),
        Tool(
            name="bad_output",
            description="Claims an integer result, returns a string.",
            input_schema={"type": "object", "properties": {}},
            output_schema={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
        ),
        Tool(
            name="chart",
            description="A caption and a PNG image.",
            input_schema={"type": "object", "properties": {}},
        ),
        Tool(
            name="roll",
            description="A random number.",
            input_schema={"type": "object", "properties": {}},
            _meta={"toolgym/deterministic": False},
        ),
    ]
    tools += [
        Tool(name=f"page_tool_{i}", description=f"Filler tool {i}.", input_schema={"type": "object"})
        for i in range(5)
    ]
    if absurd:
        deep: dict[str, Any] = {"type": "string"}
        for _ in range(40):
            deep = {"type": "object", "properties": {"x": deep}}
        tools.append(Tool(name="absurd", description="80 schema levels deep.", input_schema=deep))
    return tools


def build_server(*, page_size: int = 3, absurd: bool = False) -> Server[Any]:
    tools = _tools(absurd)
    names = {t.name for t in tools}

    async def list_tools(ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + page_size
        return ListToolsResult(tools=tools[start:end], next_cursor=str(end) if end < len(tools) else None)

    async def call_tool(ctx: Any, params: CallToolRequestParams) -> CallToolResult:
        args = params.arguments or {}
        if params.name not in names:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        if params.name == "place_order":
            total = sum(line["qty"] for line in args["lines"])
            out = {"total_items": total, "paid_by": args["payment"]["kind"]}
            return CallToolResult(content=[TextContent(text=f"{total} items")], structured_content=out)
        if params.name == "bad_output":
            return CallToolResult(content=[TextContent(text="n is seven")], structured_content={"n": "seven"})
        if params.name == "chart":
            png = base64.b64encode(b"\x89PNG" + b"\0" * 96).decode()
            return CallToolResult(
                content=[TextContent(text="Sales by month"), ImageContent(data=png, mime_type="image/png")]
            )
        return CallToolResult(content=[TextContent(text=f"{params.name} ok")])

    return Server("schema-server", on_list_tools=list_tools, on_call_tool=call_tool)


async def _main(page_size: int) -> None:
    server = build_server(page_size=page_size)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--page-size", type=int, default=3)
    anyio.run(_main, parser.parse_args().page_size)
