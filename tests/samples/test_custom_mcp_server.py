"""The sample custom MCP server (samples/custom_mcp_server): listed and called like any third-party server."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from toolkit.cli import main as toolgym
from toolkit.mcp_serve import running_http_server
from toolkit.mcp_tools import MCPToolset
from toolkit.toolsets import CallLimits

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "samples" / "custom_mcp_server" / "server.py"
LIMITS = CallLimits(timeout=20.0)
TOOLS = ["search_products", "get_product", "quote_price", "reserve_stock"]


def run(fn: Callable[[], Awaitable[None]], *, within: float = 60.0) -> None:
    async def bounded() -> None:
        with anyio.fail_after(within):
            await fn()

    anyio.run(bounded)


def load_sample() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sample_inventory_server", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the server's postponed annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_leftover_server_processes() -> Any:
    yield
    me = os.getpid()
    children = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            children.append(entry)
    assert children == [], "a test left a server process behind"


def test_toolgym_tools_lists_the_sample_server_over_stdio(capsys):
    assert toolgym(["tools", f"stdio:{sys.executable} {SERVER}", "--json"]) == 0
    specs = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in specs] == TOOLS
    assert all(s["output_schema"] for s in specs)
    quote = next(s for s in specs if s["name"] == "quote_price")
    assert quote["input_schema"]["required"] == ["items"]


def test_the_sample_tools_answer_over_stdio_with_structured_results_and_actionable_errors():
    async def main() -> None:
        async with MCPToolset.stdio(sys.executable, [str(SERVER)]) as ts:
            found = await ts.call_tool("search_products", {"query": "monitor", "in_stock_only": True}, limits=LIMITS)
            quote = await ts.call_tool(
                "quote_price",
                {"items": [{"sku": "MON-010", "quantity": 12}, {"sku": "ACC-100", "quantity": 1}],
                 "customer_tier": "business"},
                limits=LIMITS,
            )
            held = await ts.call_tool("reserve_stock", {"sku": "LAP-002", "quantity": 2, "warehouse": "berlin"},
                                      limits=LIMITS)
            after = await ts.call_tool("get_product", {"sku": "LAP-002"}, limits=LIMITS)
            short = await ts.call_tool("reserve_stock", {"sku": "LAP-002", "quantity": 3, "warehouse": "berlin"},
                                       limits=LIMITS)
            bad_sku = await ts.call_tool("get_product", {"sku": "lap2"}, limits=LIMITS)
        assert [p["sku"] for p in found.structured["products"]] == ["MON-010"]  # the ultrawide is out of stock
        # 12 monitors: 8% business + 5% volume; the dock: 8% only
        assert [x["line_total_eur"] for x in quote.structured["lines"]] == [3956.76, 201.48]
        assert quote.structured["total_eur"] == 4158.24
        assert held.structured["remaining_stock"] == 0 and after.structured["stock"]["berlin"] == 0
        assert short.is_error and "only 0 units of LAP-002 in berlin" in short.content
        assert "warsaw" in short.content  # where there is enough stock
        assert bad_sku.is_error and "pattern" in bad_sku.content  # the SKU format, checked by the server

    run(main)


def test_the_sample_server_over_streamable_http_offers_the_same_tools():
    sample = load_sample()

    async def main() -> None:
        async with running_http_server(sample.build_server()) as url, MCPToolset.http(url) as ts:
            assert [s.name for s in await ts.list_tools()] == TOOLS
            got = await ts.call_tool("get_product", {"sku": "NET-200"}, limits=LIMITS)
        assert got.structured["stock"] == {"berlin": 8, "dublin": 16, "warsaw": 4}

    run(main)
