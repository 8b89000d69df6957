"""Helpers shared by the function-to-tool-spec tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from toolkit.errors import ToolDefinitionError
from toolkit.python_tools import PythonToolset


def spec_of(fn: Callable[..., Any], **options: Any):
    ts = PythonToolset()
    ts.add(fn, **options)
    return ts.specs()[0]


def problems_of(fn: Callable[..., Any], **options: Any) -> list[str]:
    with pytest.raises(ToolDefinitionError) as info:
        PythonToolset().add(fn, **options)
    return info.value.problems
