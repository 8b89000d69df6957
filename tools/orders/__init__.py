"""``orders``: customer support for a small shop under a written policy (τ-bench retail style).

Customers, orders with line items, stock and refunds; read tools (find/get customer, list/get orders, read policy)
and write tools (refund, exchange, change address, cancel) that enforce the policy and cite the rule they apply.
See ``docs/suites.md``.
"""

from __future__ import annotations

from toolkit.python_tools import PythonToolset
from tools.orders.environment import OrdersEnvironment
from tools.orders.policy import POLICIES, REFUND_WINDOW_DAYS, RESTOCKING_FEE, SHIPPING_COUNTRIES
from tools.orders.store import OrdersStore, OrdersTools, RefundItem, ShippingAddress

__all__ = [
    "OrdersEnvironment",
    "OrdersStore",
    "OrdersTools",
    "RefundItem",
    "ShippingAddress",
    "POLICIES",
    "REFUND_WINDOW_DAYS",
    "RESTOCKING_FEE",
    "SHIPPING_COUNTRIES",
    "create_environment",
    "create_toolset",
]


def create_environment() -> OrdersEnvironment:
    """A new environment over a fresh copy of the shop."""
    return OrdersEnvironment()


def create_toolset() -> PythonToolset:
    """The support tools over a fresh copy of the shop."""
    return create_environment().toolset()
