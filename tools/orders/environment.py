"""The ``orders`` suite's environment: a fresh copy of the shop for every reset."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import date
from typing import Any

from toolkit.environment import Environment
from tools.orders.data import CATALOG, CUSTOMERS, TODAY
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
        tables = super().state_tables()
        tables["customers"] = [{"id": c["customer_id"], **copy.deepcopy(c)} for c in CUSTOMERS]
        tables["catalog"] = [{"id": sku, **item} for sku, item in CATALOG.items()]
        return tables

    def slot_providers(self) -> dict[str, Callable[[random.Random, dict[str, Any]], Any]]:
        def refundable_order(rng: random.Random, slots: dict[str, Any]) -> str:
            """A delivered order still inside its refund window."""
            ok = []
            for o in self.orders.values():
                if o["status"] != "delivered":
                    continue
                tier = self.customers[o["customer_id"]]["tier"]
                from tools.orders.policy import REFUND_WINDOW_DAYS

                if (self.today - date.fromisoformat(o["delivered_on"])).days <= REFUND_WINDOW_DAYS[tier]:
                    ok.append(o["order_id"])
            return rng.choice(sorted(ok))

        return {"refundable_order": refundable_order}
