"""Long async jobs run on uvloop where it is installed, and on asyncio when asked."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from toolkit import aio


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed (Windows)")
def test_jobs_run_on_uvloop_where_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOOLGYM_EVENT_LOOP", raising=False)
    assert aio.uses_uvloop()
    assert aio.run(_loop_module).startswith("uvloop")


def test_the_standard_loop_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLGYM_EVENT_LOOP", "asyncio")
    assert not aio.uses_uvloop()
    assert aio.run(_loop_module).startswith("asyncio")
