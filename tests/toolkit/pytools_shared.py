"""A module that exposes only a ``toolset`` attribute."""

from toolkit.python_tools import PythonToolset

toolset = PythonToolset(name="shared-only")


@toolset.tool
def now_ms() -> int:
    """A fixed clock, for tests."""
    return 1_700_000_000_000
