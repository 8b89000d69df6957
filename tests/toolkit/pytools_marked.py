"""A module whose tools are plain functions marked with ``@tool`` (the ``py:MODULE`` fallback)."""

from toolkit.python_tools import tool


@tool
def greet(name: str) -> str:
    """Greet someone by name.

    Args:
        name: Who to greet.
    """
    return f"Hello, {name}!"


@tool(name="shout", deterministic=False)
def loud(text: str) -> str:
    """Repeat text in capitals."""
    return text.upper()


def helper(x: int) -> int:
    """Not marked, so not a tool."""
    return x
