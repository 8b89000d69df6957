"""Seed data of the ``orders`` suite: a small apparel shop's customers, catalog and orders.

The data is fixed so that templates can name real customers and orders; each case a policy rule covers has at least
one order that triggers it (outside the refund window, inside only thanks to gold tier, partly refunded, shipped but
not delivered, out-of-stock exchange target). ``TODAY`` is the clock of seed 0; other seeds move it forward (see
:class:`tools.orders.environment.OrdersEnvironment`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

__all__ = ["TODAY", "CUSTOMERS", "CATALOG", "ORDERS"]

TODAY = date(2025, 6, 16)


def _addr(line1: str, city: str, postal_code: str, country: str, line2: str | None = None) -> dict[str, Any]:
    return {"line1": line1, "line2": line2, "city": city, "postal_code": postal_code, "country": country}


CUSTOMERS: list[dict[str, Any]] = [
    {"customer_id": "C-1001", "name": "Ana Silva", "email": "ana.silva@example.com", "tier": "gold",
     "address": _addr("Rua Augusta 120", "Lisbon", "1100-053", "PT")},
    {"customer_id": "C-1002", "name": "Ben Okafor", "email": "ben.okafor@example.com", "tier": "standard",
     "address": _addr("14 Marlowe Road", "Leeds", "LS6 2AB", "GB")},
    {"customer_id": "C-1003", "name": "Chloe Martin", "email": "chloe.martin@example.com", "tier": "silver",
     "address": _addr("8 rue des Lilas", "Lyon", "69003", "FR")},
    {"customer_id": "C-1004", "name": "David Kim", "email": "david.kim@example.com", "tier": "standard",
     "address": _addr("2200 Pine St", "Seattle", "98101", "US", "Apt 5")},
    {"customer_id": "C-1005", "name": "Elena Rossi", "email": "elena.rossi@example.com", "tier": "gold",
     "address": _addr("Via Roma 7", "Turin", "10121", "IT")},
    {"customer_id": "C-1006", "name": "Farid Haddad", "email": "farid.haddad@example.com", "tier": "standard",
     "address": _addr("Schillerstrasse 31", "Berlin", "10625", "DE")},
    {"customer_id": "C-1007", "name": "Ana Costa", "email": "ana.costa@example.com", "tier": "silver",
     "address": _addr("Avenida Paulista 900", "Sao Paulo", "01310-100", "BR")},
]

CATALOG: dict[str, dict[str, Any]] = {
    "TSHIRT-BLK-M": {"name": "Basic T-shirt, black, M", "family": "tshirt", "price": 25.00, "stock": 12},
    "TSHIRT-BLK-L": {"name": "Basic T-shirt, black, L", "family": "tshirt", "price": 25.00, "stock": 0},
    "TSHIRT-WHT-M": {"name": "Basic T-shirt, white, M", "family": "tshirt", "price": 25.00, "stock": 5},
    "HOODIE-GRY-M": {"name": "Fleece hoodie, grey, M", "family": "hoodie", "price": 60.00, "stock": 3},
    "HOODIE-GRY-L": {"name": "Fleece hoodie, grey, L", "family": "hoodie", "price": 60.00, "stock": 7},
    "SNEAKER-42": {"name": "Canvas sneaker, EU 42", "family": "sneaker", "price": 95.00, "stock": 4},
    "SNEAKER-43": {"name": "Canvas sneaker, EU 43", "family": "sneaker", "price": 95.00, "stock": 0},
    "SNEAKER-44": {"name": "Canvas sneaker, EU 44", "family": "sneaker", "price": 95.00, "stock": 2},
    "MUG-CERAMIC": {"name": "Ceramic mug, 350 ml", "family": "mug", "price": 12.50, "stock": 40},
    "BACKPACK-20L": {"name": "Daypack, 20 l", "family": "backpack", "price": 80.00, "stock": 6},
    "BOTTLE-STEEL": {"name": "Steel bottle, 750 ml", "family": "bottle", "price": 18.00, "stock": 0},
}


def _line(sku: str, quantity: int, refunded: int = 0) -> dict[str, Any]:
    item = CATALOG[sku]
    return {"sku": sku, "name": item["name"], "unit_price": item["price"], "quantity": quantity,
            "refunded_quantity": refunded}


def _order(order_id: str, customer_id: str, status: str, placed: str, items: list[dict[str, Any]], *,
           shipped: str | None = None, delivered: str | None = None) -> dict[str, Any]:
    address = next(c["address"] for c in CUSTOMERS if c["customer_id"] == customer_id)
    return {"order_id": order_id, "customer_id": customer_id, "status": status, "placed_on": placed,
            "shipped_on": shipped, "delivered_on": delivered, "items": items, "shipping_address": dict(address)}


ORDERS: list[dict[str, Any]] = [
    # gold, delivered 46 days ago: outside the standard window, inside the gold one
    _order("O-5001", "C-1001", "delivered", "2025-04-24", [_line("TSHIRT-BLK-M", 2), _line("MUG-CERAMIC", 1)],
           shipped="2025-04-26", delivered="2025-05-01"),
    _order("O-5002", "C-1002", "delivered", "2025-06-01", [_line("SNEAKER-42", 1), _line("BOTTLE-STEEL", 2)],
           shipped="2025-06-03", delivered="2025-06-06"),
    _order("O-5003", "C-1002", "processing", "2025-06-14", [_line("HOODIE-GRY-M", 1)]),
    # shipped, not delivered: neither cancellable nor refundable yet
    _order("O-5004", "C-1003", "shipped", "2025-06-10", [_line("BACKPACK-20L", 1)], shipped="2025-06-12"),
    # standard, delivered 57 days ago: outside the 30-day window
    _order("O-5005", "C-1004", "delivered", "2025-04-15", [_line("HOODIE-GRY-L", 1)],
           shipped="2025-04-17", delivered="2025-04-20"),
    _order("O-5006", "C-1005", "pending", "2025-06-15", [_line("TSHIRT-WHT-M", 3), _line("MUG-CERAMIC", 2)]),
    # the L T-shirt was already refunded once
    _order("O-5007", "C-1003", "delivered", "2025-05-27", [_line("SNEAKER-43", 1), _line("TSHIRT-BLK-L", 1, 1)],
           shipped="2025-05-29", delivered="2025-06-01"),
    _order("O-5008", "C-1006", "cancelled", "2025-06-02", [_line("BACKPACK-20L", 1)]),
    _order("O-5009", "C-1004", "delivered", "2025-06-05", [_line("MUG-CERAMIC", 4, 1)],
           shipped="2025-06-07", delivered="2025-06-10"),
    _order("O-5010", "C-1001", "processing", "2025-06-13", [_line("BACKPACK-20L", 1), _line("SNEAKER-44", 1)]),
    # gold, delivered 75 days ago: outside even the gold window
    _order("O-5011", "C-1005", "delivered", "2025-03-28", [_line("HOODIE-GRY-M", 1)],
           shipped="2025-03-30", delivered="2025-04-02"),
    _order("O-5012", "C-1007", "delivered", "2025-06-08", [_line("TSHIRT-BLK-M", 1), _line("SNEAKER-44", 1)],
           shipped="2025-06-09", delivered="2025-06-11"),
]
