"""Result shapes of the ``orders`` tools: each is a tool's output schema (tools return plain dicts of this shape)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Address", "CustomerMatch", "CustomerMatches", "Customer", "OrderSummary", "OrderList", "LineItem", "Order",
    "Policy", "RefundLine", "Refund", "Exchange", "AddressChange", "Cancellation",
]

Status = Literal["pending", "processing", "shipped", "delivered", "cancelled"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Address(_Out):
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str


class CustomerMatch(_Out):
    customer_id: str
    name: str
    email: str


class CustomerMatches(_Out):
    customers: list[CustomerMatch]
    count: int


class Customer(CustomerMatch):
    tier: Literal["standard", "silver", "gold"]
    address: Address
    order_ids: list[str]


class OrderSummary(_Out):
    order_id: str
    status: Status
    placed_on: str
    total: float


class OrderList(_Out):
    customer_id: str
    orders: list[OrderSummary] = Field(description="Newest first.")


class LineItem(_Out):
    sku: str
    name: str
    unit_price: float
    quantity: int
    refunded_quantity: int = Field(description="Units of this line already refunded.")


class Order(_Out):
    order_id: str
    customer_id: str
    status: Status
    placed_on: str
    shipped_on: str | None
    delivered_on: str | None
    items: list[LineItem]
    shipping_address: Address
    total: float


class Policy(_Out):
    topic: str
    today: str = Field(description="The shop's current date, for checking time windows.")
    rules: list[str] = Field(description="Numbered rules (R1, E2, ...) that refusals cite.")


class RefundLine(_Out):
    sku: str
    quantity: int


class Refund(_Out):
    refund_id: str
    order_id: str
    items: list[RefundLine]
    reason: str
    gross_amount: float
    restocking_fee: float
    amount: float = Field(description="What goes back to the original payment method.")


class Exchange(_Out):
    exchange_id: str
    order_id: str
    sku: str
    new_sku: str


class AddressChange(_Out):
    order_id: str
    shipping_address: Address


class Cancellation(_Out):
    order_id: str
    status: Literal["cancelled"]
    refunded_amount: float
