"""A small stateful tool module for replay tests: account balances that calls change, and a ticket tool whose
ids are random (non-deterministic). ``create_toolset`` makes fresh state on every load, as replay needs."""

from __future__ import annotations

import uuid
from typing_extensions import TypedDict

from toolkit.errors import ToolError
from toolkit.python_tools import PythonToolset


class Balance(TypedDict):
    account: str
    balance: int


class Ticket(TypedDict):
    ticket: str
    subject: str


def create_toolset() -> PythonToolset:
    balances: dict[str, int] = {}
    ts = PythonToolset(name="ledger")

    @ts.tool
    def deposit(account: str, amount: int) -> Balance:
        """Add an amount to an account and return its new balance.

        Args:
            account: Account name.
            amount: Amount to add, in whole units.
        """
        balances[account] = balances.get(account, 0) + amount
        return {"account": account, "balance": balances[account]}

    @ts.tool
    def balance(account: str) -> int:
        """The balance of an account.

        Args:
            account: Account name.
        """
        if account not in balances:
            raise ToolError(f"no account named {account!r}")
        return balances[account]

    @ts.tool(deterministic=False)
    def open_ticket(subject: str) -> Ticket:
        """Open a support ticket with a fresh random id.

        Args:
            subject: What the ticket is about.
        """
        return {"ticket": uuid.uuid4().hex[:12], "subject": subject}

    return ts
