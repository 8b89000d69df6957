"""Customer-support tools over a shop's customers and orders, with the shop's policy enforced (τ-bench style).

State is plain Python data, deep-copied from the seed so every store starts identical. Write tools check every rule
of :mod:`tools.orders.policy` and refuse with a message citing the rule (``R2``, ``E3``...), so an agent that skips
reading the policy learns from the refusal, and a grader can compare end states exactly.

Tools return plain dicts; the annotated result model (:mod:`tools.orders.results`) is the published output schema,
and the toolset validates each result against it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError

from toolkit.errors import ToolError
from toolkit.python_tools import tool
from tools.orders.data import CATALOG, CUSTOMERS, ORDERS, TODAY
from tools.orders.policy import (
    POLICIES,
    REFUND_WINDOW_DAYS,
    RESTOCKING_FEE,
    SHIPPING_COUNTRIES,
    PolicyTopic,
    RefundReason,
)
from tools.orders.results import (
    AddressChange,
    Cancellation,
    Customer,
    CustomerMatches,
    Exchange,
    Order,
    OrderList,
    Policy,
    Refund,
)

__all__ = ["OrdersTools", "OrdersStore", "RefundItem", "ShippingAddress", "ORDER_STATUSES"]

_REASONS = get_args(RefundReason)
OrderStatus = Literal["pending", "processing", "shipped", "delivered", "cancelled"]
ORDER_STATUSES: tuple[str, ...] = get_args(OrderStatus)
_ID = re.compile(r"^[A-Z]-\d{4}$")
_MAX_TEXT = 120


class RefundItem(BaseModel):
    """One line of a refund request."""

    sku: str = Field(description="SKU of an item on the order, e.g. 'TSHIRT-BLK-M'.")
    quantity: int = Field(ge=1, le=100, description="Units to refund.")


class ShippingAddress(BaseModel):
    """A postal address."""

    line1: str = Field(min_length=1, max_length=_MAX_TEXT, description="Street and number.")
    line2: str | None = Field(default=None, max_length=_MAX_TEXT, description="Apartment, suite, etc.")
    city: str = Field(min_length=1, max_length=_MAX_TEXT)
    postal_code: str = Field(min_length=2, max_length=12)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 two-letter country code, e.g. 'GB'.")


def _plain(value: Any) -> Any:
    """Arguments may arrive as pydantic models (typed toolsets) or plain dicts (direct calls): accept both."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class OrdersTools:
    """The support tools over one shop's state. A mixin: the class using it calls :meth:`_load_seed` first."""

    TOOL_NAMES = (
        "find_customer", "get_customer", "list_orders", "get_order", "get_policy",
        "refund_order", "exchange_item", "update_shipping_address", "cancel_order",
    )

    def _load_seed(self, today: date = TODAY) -> None:
        """Replace all state with a fresh copy of the seed data."""
        self.today = today
        self.customers = {c["customer_id"]: copy.deepcopy(c) for c in CUSTOMERS}
        self.orders = {o["order_id"]: copy.deepcopy(o) for o in ORDERS}
        self.stock = {sku: item["stock"] for sku, item in CATALOG.items()}
        self.refunds: list[dict[str, Any]] = []
        self.exchanges: list[dict[str, Any]] = []

    # ------------------------------------------------------------------------------------------- lookups
    def _customer(self, customer_id: Any) -> dict[str, Any]:
        if not isinstance(customer_id, str) or not _ID.match(customer_id) or not customer_id.startswith("C-"):
            raise ToolError(
                f"customer_id must look like 'C-1001', got {customer_id!r}; use find_customer to look it up"
            )
        try:
            return self.customers[customer_id]
        except KeyError:
            raise ToolError(
                f"no customer with id {customer_id!r}; use find_customer(email=...) to look it up"
            ) from None

    def _order(self, order_id: Any) -> dict[str, Any]:
        if not isinstance(order_id, str) or not _ID.match(order_id) or not order_id.startswith("O-"):
            raise ToolError(f"order_id must look like 'O-5001', got {order_id!r}; use list_orders to find it")
        try:
            return self.orders[order_id]
        except KeyError:
            raise ToolError(
                f"no order with id {order_id!r}; use list_orders(customer_id=...) to see the customer's orders"
            ) from None

    @staticmethod
    def _total(order: dict[str, Any]) -> float:
        return round(sum(i["unit_price"] * i["quantity"] for i in order["items"]), 2)

    def _window_check(self, order: dict[str, Any], action: str, rule: str) -> None:
        tier = self.customers[order["customer_id"]]["tier"]
        days = REFUND_WINDOW_DAYS[tier]
        age = (self.today - date.fromisoformat(order["delivered_on"])).days
        if age > days:
            raise ToolError(
                f"{action} refused by rule {rule}: order {order['order_id']} was delivered on {order['delivered_on']}, "
                f"{age} days ago, and {tier} members have a {days}-day window"
            )

    # ------------------------------------------------------------------------------------------- read tools
    @tool
    def find_customer(self, email: str | None = None, name: str | None = None) -> CustomerMatches:
        """Find customers by email address (exact) or by name (case-insensitive, partial match allowed).

        Args:
            email: The customer's email address.
            name: The customer's name or part of it, e.g. "Silva".
        """
        if not email and not name:
            raise ToolError("give an email or a name to search for; ask the customer if you have neither")
        for label, value in (("email", email), ("name", name)):
            if value is not None and (not isinstance(value, str) or len(value) > _MAX_TEXT):
                raise ToolError(f"{label} must be a string of at most {_MAX_TEXT} characters")
        found = []
        for c in self.customers.values():
            if email and c["email"].lower() != email.strip().lower():
                continue
            if name and name.strip().lower() not in c["name"].lower():
                continue
            found.append({"customer_id": c["customer_id"], "name": c["name"], "email": c["email"]})
        return {"customers": found, "count": len(found)}

    @tool
    def get_customer(self, customer_id: str) -> Customer:
        """Get a customer's profile: name, email, membership tier, default address and order ids.

        Args:
            customer_id: Customer id, e.g. "C-1001".
        """
        c = self._customer(customer_id)
        order_ids = sorted(o["order_id"] for o in self.orders.values() if o["customer_id"] == customer_id)
        return {**copy.deepcopy(c), "order_ids": order_ids}

    @tool
    def list_orders(self, customer_id: str, status: OrderStatus | None = None) -> OrderList:
        """List a customer's orders, newest first, optionally only those with one status.

        Args:
            customer_id: Customer id, e.g. "C-1001".
            status: Only orders with this status.
        """
        self._customer(customer_id)
        if status is not None and status not in ORDER_STATUSES:
            raise ToolError(f"status must be one of {', '.join(ORDER_STATUSES)}, got {status!r}")
        rows = [
            {"order_id": o["order_id"], "status": o["status"], "placed_on": o["placed_on"], "total": self._total(o)}
            for o in self.orders.values()
            if o["customer_id"] == customer_id and (status is None or o["status"] == status)
        ]
        rows.sort(key=lambda r: (r["placed_on"], r["order_id"]), reverse=True)
        return {"customer_id": customer_id, "orders": rows}

    @tool
    def get_order(self, order_id: str) -> Order:
        """Get an order: status, dates, line items (with quantities already refunded), address and total.

        Args:
            order_id: Order id, e.g. "O-5001".
        """
        o = self._order(order_id)
        return {**copy.deepcopy(o), "total": self._total(o)}

    @tool
    def get_policy(self, topic: PolicyTopic) -> Policy:
        """Read the shop's policy on one topic. Check it before any refund, exchange, cancellation or address change.

        Args:
            topic: One of refunds, exchanges, cancellations, shipping_address, membership_tiers.
        """
        if topic not in POLICIES:
            raise ToolError(f"topic must be one of {', '.join(POLICIES)}, got {topic!r}")
        return {"topic": topic, "today": self.today.isoformat(), "rules": list(POLICIES[topic])}

    # ------------------------------------------------------------------------------------------- write tools
    @tool
    def refund_order(self, order_id: str, items: list[RefundItem], reason: RefundReason) -> Refund:
        """Refund some or all items of a delivered order to the original payment method.

        Args:
            order_id: Order id, e.g. "O-5001".
            items: The items to refund, each with its SKU and the quantity to refund.
            reason: Why the customer wants a refund: damaged, wrong_item, not_as_described or changed_mind.
        """
        o = self._order(order_id)
        if reason not in _REASONS:
            raise ToolError(f"reason must be one of {', '.join(_REASONS)}, got {reason!r}")
        wanted = _plain(items)
        if not isinstance(wanted, list) or not wanted:
            raise ToolError("items must be a non-empty list of {sku, quantity} objects")
        lines = {i["sku"]: i for i in o["items"]}
        seen: set[str] = set()
        for item in wanted:
            if not isinstance(item, Mapping) or set(item) - {"sku", "quantity"} or "sku" not in item:
                raise ToolError("each item must be an object with exactly the keys sku and quantity")
            sku, qty = item["sku"], item.get("quantity")
            if sku not in lines:
                raise ToolError(f"SKU {sku!r} is not on order {order_id}; its SKUs are {', '.join(lines)}")
            if sku in seen:
                raise ToolError(f"SKU {sku!r} is listed twice; list each SKU once with the total quantity")
            seen.add(sku)
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
                raise ToolError(f"quantity for {sku} must be a positive integer, got {qty!r}")
        if o["status"] != "delivered":
            raise ToolError(
                f"refund refused by rule R1: order {order_id} is {o['status']}; only delivered orders can be refunded"
                + (" (use cancel_order for orders not yet shipped)" if o["status"] in ("pending", "processing") else "")
            )
        self._window_check(o, "refund", "R2")
        for item in wanted:
            line = lines[item["sku"]]
            left = line["quantity"] - line["refunded_quantity"]
            if item["quantity"] > left:
                raise ToolError(
                    f"refund refused by rule R3: {item['sku']} on {order_id} has {line['quantity']} purchased and "
                    f"{line['refunded_quantity']} already refunded, so at most {left} can be refunded"
                )
        tier = self.customers[o["customer_id"]]["tier"]
        gross = sum(lines[i["sku"]]["unit_price"] * i["quantity"] for i in wanted)
        fee = round(gross * RESTOCKING_FEE[tier], 2) if reason == "changed_mind" else 0.0
        for item in wanted:
            lines[item["sku"]]["refunded_quantity"] += item["quantity"]
        refund = {
            "refund_id": f"R-{len(self.refunds) + 1:04d}",
            "order_id": order_id,
            "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in wanted],
            "reason": reason,
            "gross_amount": round(gross, 2),
            "restocking_fee": fee,
            "amount": round(gross - fee, 2),
        }
        self.refunds.append(refund)
        return dict(refund)

    @tool
    def exchange_item(self, order_id: str, sku: str, new_sku: str) -> Exchange:
        """Exchange one unit of a delivered item for another SKU of the same product family (size or colour).

        Args:
            order_id: Order id, e.g. "O-5001".
            sku: SKU of the item on the order to send back.
            new_sku: SKU the customer wants instead, e.g. "TSHIRT-BLK-L".
        """
        o = self._order(order_id)
        lines = {i["sku"]: i for i in o["items"]}
        if sku not in lines:
            raise ToolError(f"SKU {sku!r} is not on order {order_id}; its SKUs are {', '.join(lines)}")
        if new_sku not in CATALOG:
            raise ToolError(f"unknown SKU {new_sku!r}; SKUs look like 'TSHIRT-BLK-L'")
        if o["status"] != "delivered":
            raise ToolError(f"exchange refused by rule E1: order {order_id} is {o['status']}; only delivered orders")
        self._window_check(o, "exchange", "E1/R2")
        family, new_family = CATALOG[sku]["family"], CATALOG[new_sku]["family"]
        if new_sku == sku or new_family != family:
            raise ToolError(
                f"exchange refused by rule E2: {new_sku} must be a different SKU of the {family} family; "
                f"{family} SKUs: {', '.join(s for s, v in CATALOG.items() if v['family'] == family and s != sku)}"
            )
        if self.stock[new_sku] <= 0:
            raise ToolError(f"exchange refused by rule E3: {new_sku} is out of stock; offer a refund instead")
        line = lines[sku]
        if line["quantity"] - line["refunded_quantity"] < 1:
            raise ToolError(f"exchange refused by rule E4: every unit of {sku} on {order_id} was refunded")
        line["quantity"] -= 1
        if line["quantity"] == 0 and line["refunded_quantity"] == 0:
            o["items"].remove(line)
        if new_sku in lines and lines[new_sku] in o["items"]:
            lines[new_sku]["quantity"] += 1
        else:
            item = CATALOG[new_sku]
            o["items"].append({"sku": new_sku, "name": item["name"], "unit_price": item["price"], "quantity": 1,
                               "refunded_quantity": 0})
        self.stock[new_sku] -= 1
        exchange = {"exchange_id": f"X-{len(self.exchanges) + 1:04d}", "order_id": order_id, "sku": sku,
                    "new_sku": new_sku}
        self.exchanges.append(exchange)
        return dict(exchange)

    @tool
    def update_shipping_address(self, order_id: str, address: ShippingAddress) -> AddressChange:
        """Change where a pending or processing order will be shipped.

        Args:
            order_id: Order id, e.g. "O-5003".
            address: The new address.
        """
        o = self._order(order_id)
        new = _plain(address)
        if not isinstance(new, Mapping):
            raise ToolError("address must be an object with line1, city, postal_code, country and optional line2")
        try:
            parsed = ShippingAddress.model_validate(dict(new))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ToolError(
                f"invalid address ({problems}); rule S2 needs line1, city, postal_code, country"
            ) from None
        if o["status"] not in ("pending", "processing"):
            raise ToolError(
                f"address change refused by rule S1: order {order_id} is {o['status']}; only pending or processing "
                "orders can be changed"
            )
        if parsed.country not in SHIPPING_COUNTRIES:
            raise ToolError(
                f"address change refused by rule S3: we do not ship to {parsed.country}; "
                f"we ship to {', '.join(SHIPPING_COUNTRIES)}"
            )
        o["shipping_address"] = parsed.model_dump()
        return {"order_id": order_id, "shipping_address": dict(o["shipping_address"])}

    @tool
    def cancel_order(self, order_id: str) -> Cancellation:
        """Cancel a pending or processing order and refund its full total.

        Args:
            order_id: Order id, e.g. "O-5003".
        """
        o = self._order(order_id)
        if o["status"] == "cancelled":
            raise ToolError(f"order {order_id} is already cancelled; nothing to do")
        if o["status"] not in ("pending", "processing"):
            advice = "the customer may request a refund once it is delivered" if o["status"] == "shipped" else (
                "the customer may request a refund under the refund policy")
            done = "shipped" if o["status"] == "shipped" else "been delivered"
            raise ToolError(f"cancellation refused by rule C2: order {order_id} has already {done}; {advice}")
        o["status"] = "cancelled"
        return {"order_id": order_id, "status": "cancelled", "refunded_amount": self._total(o)}

    # ------------------------------------------------------------------------------------------- state
    def snapshot(self) -> dict[str, Any]:
        """The gradable state as tables of rows with an ``id``: orders, stock per SKU, refunds and exchanges
        (customers never change, so they are left out)."""
        orders = [{"id": oid, **{k: v for k, v in o.items() if k != "order_id"}} for oid, o in self.orders.items()]
        return copy.deepcopy({
            "orders": orders,
            "stock": [{"id": sku, "stock": n} for sku, n in self.stock.items()],
            "refunds": [{"id": r["refund_id"], **r} for r in self.refunds],
            "exchanges": [{"id": x["exchange_id"], **x} for x in self.exchanges],
        })


class OrdersStore(OrdersTools):
    """A standalone shop (no environment machinery): the seeded state and the tools as plain methods."""

    def __init__(self, today: date = TODAY):
        self._load_seed(today)
