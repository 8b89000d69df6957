"""The shop's written policy: the text the agent reads with ``get_policy`` and the numbers the tools enforce.

The two are built from the same constants, so the policy an agent reads is exactly the policy the tools apply.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "PolicyTopic",
    "RefundReason",
    "REFUND_WINDOW_DAYS",
    "RESTOCKING_FEE",
    "SHIPPING_COUNTRIES",
    "POLICIES",
]

PolicyTopic = Literal["refunds", "exchanges", "cancellations", "shipping_address", "membership_tiers"]
RefundReason = Literal["damaged", "wrong_item", "not_as_described", "changed_mind"]

REFUND_WINDOW_DAYS = {"standard": 30, "silver": 30, "gold": 60}
RESTOCKING_FEE = {"standard": 0.10, "silver": 0.05, "gold": 0.0}
SHIPPING_COUNTRIES = ("BR", "DE", "ES", "FR", "GB", "IT", "NL", "PT", "US")

POLICIES: dict[str, list[str]] = {
    "refunds": [
        "R1: Only delivered orders can be refunded. A shipped order that has not been delivered yet cannot be "
        "refunded or cancelled; the customer must wait for delivery.",
        f"R2: Refunds must be requested within {REFUND_WINDOW_DAYS['standard']} days of delivery "
        f"({REFUND_WINDOW_DAYS['gold']} days for gold members).",
        "R3: A refund covers at most the quantity purchased minus the quantity already refunded, per item.",
        "R4: Reasons are damaged, wrong_item, not_as_described or changed_mind. For changed_mind a restocking fee "
        f"applies: {int(RESTOCKING_FEE['standard'] * 100)}% for standard members, "
        f"{int(RESTOCKING_FEE['silver'] * 100)}% for silver members, none for gold members.",
        "R5: Refunds go back to the original payment method; confirm the items and quantities with the customer "
        "before issuing one.",
    ],
    "exchanges": [
        "E1: Only delivered orders can have items exchanged, within the same window as refunds (rule R2).",
        "E2: One unit is exchanged per request, for a different SKU of the same product family (e.g. another size "
        "or colour of the same T-shirt) at the same price.",
        "E3: The new SKU must be in stock. If it is out of stock, offer a refund instead.",
        "E4: Refunded units cannot be exchanged.",
    ],
    "cancellations": [
        "C1: Orders can be cancelled only while pending or processing.",
        "C2: Orders that have shipped or been delivered cannot be cancelled; once delivered, the customer may "
        "request a refund under the refund policy.",
        "C3: Cancelling refunds the full order total to the original payment method.",
    ],
    "shipping_address": [
        "S1: The shipping address can be changed only while the order is pending or processing.",
        "S2: An address needs line1, city, postal_code and a two-letter country code; line2 is optional.",
        f"S3: We ship to these countries only: {', '.join(SHIPPING_COUNTRIES)}.",
    ],
    "membership_tiers": [
        "M1: Tiers are standard, silver and gold.",
        f"M2: Gold members have a {REFUND_WINDOW_DAYS['gold']}-day refund and exchange window and pay no restocking "
        "fee.",
        f"M3: Silver members pay a reduced {int(RESTOCKING_FEE['silver'] * 100)}% restocking fee on changed_mind "
        "refunds.",
    ],
}
