"""A module with a ``create_toolset`` factory (fresh state per load), a shared ``toolset`` and a named one."""

from toolkit.python_tools import PythonToolset


class Counter:
    def __init__(self) -> None:
        self.value = 0

    def increment(self, by: int = 1) -> int:
        """Add ``by`` to the counter and return the new value."""
        self.value += by
        return self.value


def create_toolset() -> PythonToolset:
    ts = PythonToolset(name="counter")
    ts.add(Counter().increment)
    return ts


toolset = PythonToolset(name="shared")


@toolset.tool
def ping() -> str:
    """Answer pong."""
    return "pong"


extra = PythonToolset(name="extra")


@extra.tool
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


def needs_args(x: int) -> PythonToolset:
    return PythonToolset()


def not_a_toolset() -> int:
    return 3


def failing_factory() -> PythonToolset:
    raise KeyError("API_TOKEN")


def factory_with_bad_tool() -> PythonToolset:
    ts = PythonToolset(name="bad")

    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    ts.add(untyped)
    return ts
