"""Running ToolGym's long async jobs (synthesis, evaluation): on uvloop where it is installed, else asyncio.

At high concurrency the client's event loop is a real share of the CPU spent per model request; uvloop's loop
(libuv, in C) cut client CPU per request by about 6% in ``bench/synth_llm_throughput.py`` (three alternating
runs each on an idle 2-core machine: 2.12 ms on asyncio, 1.99 ms on uvloop). It is a dependency on Linux and macOS and
does not exist on Windows, where the standard loop runs. ``TOOLGYM_EVENT_LOOP=asyncio`` forces the standard loop
(to compare, or to rule the loop out when debugging).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

__all__ = ["run", "uses_uvloop"]

_T = TypeVar("_T")


def uses_uvloop() -> bool:
    """Whether :func:`run` runs on uvloop here."""
    if os.environ.get("TOOLGYM_EVENT_LOOP", "").lower() == "asyncio":
        return False
    return importlib.util.find_spec("uvloop") is not None


def run(func: Callable[..., Awaitable[_T]], *args: Any) -> _T:
    """``anyio.run(func, *args)`` on the fastest asyncio event loop available."""
    return anyio.run(func, *args, backend_options={"use_uvloop": uses_uvloop()})
