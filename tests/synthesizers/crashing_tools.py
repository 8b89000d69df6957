"""A tool source whose tool kills the process that calls it, once the ``TOOLGYM_TEST_CRASH_AFTER`` file exists.

Synthesis workers open their tools (and may call them) while starting; the file lets a test choose whether the
crash happens at start-up or only while making samples.
"""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.python_tools import tool


@tool
def lookup_stock(symbol: str) -> dict:
    """Latest price of a stock.

    Args:
        symbol: Ticker symbol, e.g. ACME.
    """
    flag = os.environ.get("TOOLGYM_TEST_CRASH_AFTER")
    if flag and Path(flag).exists():
        os._exit(3)  # a segfault-like death: no exception, no cleanup
    return {"symbol": symbol, "price": 12.5}
