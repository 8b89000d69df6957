"""The ``orders`` suite's environment: a fresh copy of the shop for every reset."""

from __future__ import annotations

import copy
import random
from datetime import date, timedelta
from typing import Any

from toolkit.environment import Environment
from tools.orders.data import CATALOG, CUSTOMERS, TODAY
from tools.orders.policy import REFUND_WINDOW_DAYS
from tools.orders.store import OrdersTools

__all__ = ["OrdersEnvironment"]


class OrdersEnvironment(OrdersTools, Environment):
    """Customer support under a written policy (τ-bench retail style).

    Customers, orders and the catalog are the same for every seed, so templates can name them. The seed moves
    what a model must check rather than remember: for seed ``s`` the shop's clock is ``s % 21`` days after
    2025-06-16 (so refund windows open and close differently), and the stock of every SKU that is in stock varies
    (out-of-stock SKUs stay out of stock). Seed 0 is the data exactly as written in :mod:`tools.orders.data`.
    ``setup`` may carry ``today`` (ISO date) to set the clock explicitly.
    """

    suite = "orders"

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        rng = random.Random(seed)
        today = TODAY + timedelta(days=seed % 21)
        if isinstance(setup.get("today"), str):
            today = date.fromisoformat(setup["today"])
        self._load_seed(today)
        if seed:
            for sku, count in self.stock.items():
                if count > 0:
                    self.stock[sku] = max(1, count + rng.randint(-2, 5))

    def state_tables(self) -> dict[str, list[dict[str, Any]]]:
        """Snapshot tables plus read-only ones for templates: ``customers``, ``catalog``, order rows enriched with
        their customer and policy facts (``window_open``, ``refundable_sku``), and in-stock ``exchange_options``."""
        tables = super().state_tables()
        tables["customers"] = [{"id": c["customer_id"], **copy.deepcopy(c)} for c in CUSTOMERS]
        tables["catalog"] = [{"id": sku, **item, "stock": self.stock[sku]} for sku, item in CATALOG.items()]
        enriched, options = [], []
        for row in tables["orders"]:
            customer = self.customers[row["customer_id"]]
            window_open = row["status"] == "delivered" and self._days_since_delivery(row) <= REFUND_WINDOW_DAYS[
                customer["tier"]]
            left = [i for i in row["items"] if i["quantity"] > i["refunded_quantity"]]
            enriched.append({
                **row,
                "customer_name": customer["name"],
                "customer_email": customer["email"],
                "tier": customer["tier"],
                "window_open": window_open,
                "refundable_sku": left[0]["sku"] if left else None,
                "refundable_name": left[0]["name"] if left else None,
            })
            for item in left if window_open else []:
                family = CATALOG[item["sku"]]["family"]
                for sku, other in CATALOG.items():
                    if other["family"] == family and sku != item["sku"]:
                        options.append({
                            "id": f"{row['id']}:{item['sku']}>{sku}", "order_id": row["id"], "sku": item["sku"],
                            "name": item["name"], "new_sku": sku, "new_name": other["name"],
                            "in_stock": self.stock[sku] > 0, "customer_email": customer["email"],
                        })
        tables["orders"] = enriched
        tables["exchange_options"] = options
        return tables

    def _days_since_delivery(self, order: dict[str, Any]) -> int:
        return (self.today - date.fromisoformat(order["delivered_on"])).days
