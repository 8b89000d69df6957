"""Python tools with varied signatures, for the round trip "Python tool == the same tool through serve-mcp".

A factory, so every load (direct, or inside a ``toolgym serve-mcp`` subprocess) gets fresh state.
"""

from __future__ import annotations

from typing import Literal

import anyio
from pydantic import BaseModel, Field

from toolkit.errors import ToolError
from toolkit.python_tools import PythonToolset


class Option(BaseModel):
    key: str
    value: str


class Line(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-[0-9]+$", description="Stock keeping unit, e.g. ABC-12.")
    qty: int = Field(ge=1)
    options: list[Option] = []


class Receipt(BaseModel):
    total_items: int
    skus: list[str]
    priority: Literal["low", "high"]


def create_toolset() -> PythonToolset:
    ts = PythonToolset(name="roundtrip")
    counter = {"n": 0}

    @ts.tool
    def add(a: int, b: int = 2) -> int:
        """Add two integers.

        Args:
            a: First addend.
            b: Second addend.
        """
        return a + b

    @ts.tool
    def place_order(
        lines: list[Line], priority: Literal["low", "high"] = "low", note: str | None = None
    ) -> Receipt:
        """Place an order of several lines.

        Args:
            lines: What to order.
            priority: How urgent it is.
            note: Free text for the warehouse.
        """
        total = sum(line.qty for line in lines)
        return Receipt(total_items=total, skus=[line.sku for line in lines], priority=priority)

    @ts.tool
    def greet(name: str) -> str:
        """Greet someone by name."""
        return f"Hello, {name}!"

    @ts.tool
    def chatty(text: str) -> str:
        """Print to stdout, as careless tools do, then echo the text."""
        print("debug:", text)
        return text

    @ts.tool
    def nothing() -> None:
        """Do nothing and return nothing."""

    @ts.tool
    def refuse(reason: str) -> str:
        """Always fail with a message meant for the model."""
        raise ToolError(f"refused: {reason}")

    @ts.tool
    def divide(a: float, b: float) -> float:
        """Divide a by b (fails on b = 0)."""
        return a / b

    @ts.tool
    async def slow(ms: int) -> str:
        """Wait for ms milliseconds."""
        await anyio.sleep(ms / 1000)
        return "done"

    @ts.tool(deterministic=False)
    def tick() -> int:
        """A counter that goes up by one on each call."""
        counter["n"] += 1
        return counter["n"]

    @ts.tool
    def blob(chars: int) -> dict[str, str]:
        """A large structured result."""
        return {"data": "y" * chars}

    return ts
