"""The ``orders`` suite's environment: a fresh copy of the shop for every reset."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from toolkit.environment import Environment
from tools.orders.data import CATALOG, CUSTOMERS, TODAY
from tools.orders.policy import REFUND_WINDOW_DAYS
from tools.orders.store import OrdersTools

__all__ = ["OrdersEnvironment"]


class OrdersEnvironment(OrdersTools, Environment):
    """Customer support under a written policy (τ-bench retail style).

    ``setup`` may carry ``today`` (ISO date) to move the shop's clock, e.g. to put an order inside or outside its
    refund window. The seed data is the same for every seed so templates can name real customers and orders.
    """

    suite = "orders"

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        today = setup.get("today")
        self._load_seed(date.fromisoformat(today) if isinstance(today, str) else TODAY)

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
