"""Inventory & pricing: a small in-house MCP server of the kind a team brings to ToolGym.

It is deliberately self-contained (only the MCP SDK and pydantic): ToolGym treats it as any third-party server.
State is in memory, seeded the same way on every start, so data synthesized against it can be replayed.

    python samples/custom_mcp_server/server.py                                 # stdio
    python samples/custom_mcp_server/server.py --transport http --port 8000   # http://127.0.0.1:8000/mcp
"""

from __future__ import annotations

import argparse
import copy
import sys
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

Category = Literal["laptops", "monitors", "accessories", "networking"]
Warehouse = Literal["berlin", "dublin", "warsaw"]
Tier = Literal["retail", "business", "wholesale"]
Sku = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{2,4}-\d{3}$",
        description="Product SKU, e.g. 'LAP-001'.",
        examples=["LAP-001", "MON-010", "ACC-100", "NET-200"],  # clients (and ToolGym's synthesizer) use these
    ),
]

_CATALOG = [
    {"sku": "LAP-001", "name": "Aero 14 laptop, 16 GB", "category": "laptops", "price_eur": 1199.0,
     "stock": {"berlin": 14, "dublin": 3, "warsaw": 0}},
    {"sku": "LAP-002", "name": "Aero 16 laptop, 32 GB", "category": "laptops", "price_eur": 1699.0,
     "stock": {"berlin": 2, "dublin": 0, "warsaw": 5}},
    {"sku": "MON-010", "name": "27-inch 4K monitor", "category": "monitors", "price_eur": 379.0,
     "stock": {"berlin": 40, "dublin": 12, "warsaw": 22}},
    {"sku": "MON-011", "name": "34-inch ultrawide monitor", "category": "monitors", "price_eur": 549.0,
     "stock": {"berlin": 0, "dublin": 0, "warsaw": 0}},
    {"sku": "ACC-100", "name": "USB-C dock, 12 ports", "category": "accessories", "price_eur": 219.0,
     "stock": {"berlin": 60, "dublin": 25, "warsaw": 31}},
    {"sku": "ACC-101", "name": "Wireless keyboard, DE layout", "category": "accessories", "price_eur": 89.0,
     "stock": {"berlin": 120, "dublin": 0, "warsaw": 45}},
    {"sku": "NET-200", "name": "Wi-Fi 7 access point", "category": "networking", "price_eur": 329.0,
     "stock": {"berlin": 8, "dublin": 16, "warsaw": 4}},
]
_TIER_DISCOUNT = {"retail": 0.0, "business": 0.08, "wholesale": 0.15}
_VOLUME_BREAKS = [(50, 0.10), (10, 0.05)]  # (minimum units of one SKU, extra discount)
_MAX_RESERVATIONS = 200


class Product(BaseModel):
    sku: str
    name: str
    category: Category
    price_eur: float = Field(description="List price per unit, EUR, before discounts.")
    stock: dict[str, int] = Field(description="Units available per warehouse.")


class ProductList(BaseModel):
    products: list[Product]
    total: int = Field(description="Matches in all (may exceed the number returned).")


class QuoteLine(BaseModel):
    sku: Sku
    quantity: int = Field(ge=1, le=1000, examples=[1, 3, 12, 60])


class PricedLine(BaseModel):
    sku: str
    quantity: int
    unit_price_eur: float
    discount_pct: float = Field(description="Total discount applied to this line, in percent.")
    line_total_eur: float


class Quote(BaseModel):
    lines: list[PricedLine]
    total_eur: float
    customer_tier: Tier


class Reservation(BaseModel):
    reservation_id: str
    sku: str
    quantity: int
    warehouse: Warehouse
    remaining_stock: int = Field(description="Units left in that warehouse after the reservation.")


def build_server() -> MCPServer:
    """A fresh server with freshly seeded stock (each process, or each call, gets its own)."""
    catalog = {p["sku"]: copy.deepcopy(p) for p in _CATALOG}
    reservations: list[Reservation] = []
    server = MCPServer("inventory-pricing", instructions="Product catalog, stock per warehouse, quotes, reservations.")

    def product(sku: str) -> dict:
        if sku not in catalog:
            raise ToolError(f"unknown SKU {sku!r}; use search_products to find SKUs")
        return catalog[sku]

    @server.tool()
    def search_products(
        query: Annotated[
            str, Field(max_length=80, description="Words to find in product names; '' for all.",
                       examples=["laptop", "monitor", "dock", "keyboard"])
        ] = "",
        category: Annotated[Category | None, Field(description="Only this category.")] = None,
        in_stock_only: Annotated[bool, Field(description="Only products with stock in some warehouse.")] = False,
        limit: Annotated[int, Field(ge=1, le=20, description="Most products to return.")] = 10,
    ) -> ProductList:
        """Search the product catalog by name words and category."""
        words = query.lower().split()
        hits = [
            Product(**p) for p in catalog.values()
            if all(w in p["name"].lower() for w in words)
            and (category is None or p["category"] == category)
            and (not in_stock_only or sum(p["stock"].values()) > 0)
        ]
        return ProductList(products=hits[:limit], total=len(hits))

    @server.tool()
    def get_product(sku: Sku) -> Product:
        """Get one product: name, category, list price and stock per warehouse."""
        return Product(**product(sku))

    @server.tool()
    def quote_price(
        items: Annotated[list[QuoteLine], Field(min_length=1, max_length=20, description="SKUs and quantities.")],
        customer_tier: Annotated[Tier, Field(description="Pricing tier of the customer.")] = "retail",
    ) -> Quote:
        """Price a basket: tier discount (business 8%, wholesale 15%) plus volume discount per line (5% from 10
        units, 10% from 50 units of one SKU)."""
        if len({i.sku for i in items}) != len(items):
            raise ToolError("each SKU may appear once; add the quantities together")
        lines = []
        for item in items:
            p = product(item.sku)
            volume = next((d for n, d in _VOLUME_BREAKS if item.quantity >= n), 0.0)
            discount = _TIER_DISCOUNT[customer_tier] + volume
            total = round(p["price_eur"] * item.quantity * (1 - discount), 2)
            lines.append(PricedLine(sku=item.sku, quantity=item.quantity, unit_price_eur=p["price_eur"],
                                    discount_pct=round(discount * 100, 2), line_total_eur=total))
        return Quote(lines=lines, total_eur=round(sum(x.line_total_eur for x in lines), 2), customer_tier=customer_tier)

    @server.tool()
    def reserve_stock(
        sku: Sku,
        quantity: Annotated[int, Field(ge=1, le=500, description="Units to hold.", examples=[1, 2, 5])],
        warehouse: Annotated[Warehouse, Field(description="Warehouse to reserve from.")],
    ) -> Reservation:
        """Hold units of a product in one warehouse for an order; fails if that warehouse has too few."""
        p = product(sku)
        have = p["stock"][warehouse]
        if quantity > have:
            elsewhere = {w: n for w, n in p["stock"].items() if n >= quantity}
            hint = f"; enough stock in: {', '.join(elsewhere)}" if elsewhere else "; no warehouse has that many"
            raise ToolError(f"only {have} units of {sku} in {warehouse}, {quantity} requested{hint}")
        if len(reservations) >= _MAX_RESERVATIONS:
            raise ToolError("reservation limit reached for this session")
        p["stock"][warehouse] = have - quantity
        res = Reservation(reservation_id=f"RSV-{len(reservations) + 1:04d}", sku=sku, quantity=quantity,
                          warehouse=warehouse, remaining_stock=have - quantity)
        reservations.append(res)
        return res

    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Inventory & pricing MCP server (sample).")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    server = build_server()
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
