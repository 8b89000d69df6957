"""``files``: a sandboxed file store (list, read, write, search, inspect, delete, move) over a seeded project tree.

Every path stays inside the store's root: absolute paths, ``..``, NUL bytes and symbolic links leading out are
refused with a message the model can act on. See ``docs/suites.md``.
"""

from __future__ import annotations

from toolkit.python_tools import PythonToolset
from tools.files.environment import FilesEnvironment
from tools.files.store import LIMITS, FileStore, FileTools

__all__ = ["FilesEnvironment", "FileStore", "FileTools", "LIMITS", "create_environment", "create_toolset"]


def create_environment() -> FilesEnvironment:
    """A new environment over a fresh temporary root holding the seeded tree."""
    return FilesEnvironment()


def create_toolset() -> PythonToolset:
    """The file tools over a fresh seeded root (removed when the toolset is garbage-collected or at exit)."""
    return create_environment().toolset()
