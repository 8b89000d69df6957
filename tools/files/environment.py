"""The ``files`` suite's environment: one temporary root per environment, reseeded on every reset."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toolkit.environment import Environment
from toolkit.errors import ToolError, UserError
from tools.files.store import FileTools, _reseed

__all__ = ["FilesEnvironment"]

_TEXT = {".md", ".txt", ".csv", ".json", ".py"}
_NEW_FILES = (
    "notes/standup.md", "notes/ideas.txt", "notes/followups.txt", "notes/retro.md", "notes/approvals.txt",
    "notes/security.md", "drafts/q2_plan.md", "drafts/announcement.md", "reports/q2_outline.md", "docs/faq.md",
)


class FilesEnvironment(FileTools, Environment):
    """A sandboxed file store as an environment.

    The root is a fresh temporary directory that belongs to this environment alone (environments never share
    files); ``reset`` empties it and writes the seeded tree again. ``close()`` removes it, as do garbage collection
    and interpreter exit, so the short-lived environments a grader makes leave nothing behind.
    """

    suite = "files"

    def __init__(self) -> None:
        self.root = Path(os.path.realpath(tempfile.mkdtemp(prefix="toolgym-files-")))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.root), ignore_errors=True)
        super().__init__()

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        # The tree is the same for every seed so that template facts (revenues, owners, line numbers) stay true.
        if not self._finalizer.alive:
            raise RuntimeError("this FilesEnvironment was closed; create a new one")
        _reseed(self.root)
        for rel, text in (setup.get("files") or {}).items():  # extra files a task asks for, inside the root only
            try:
                _, real = self._resolve(rel, what="setup file")
            except ToolError as exc:
                raise UserError(f"task setup 'files' is invalid: {exc}") from None
            real.parent.mkdir(parents=True, exist_ok=True)
            real.write_text(str(text), encoding="utf-8")

    def state_tables(self) -> dict[str, list[dict[str, Any]]]:
        tables = super().state_tables()
        # Current files, not the seed list: tasks may run one after another on one state (a file deleted by one
        # task is not offered to the next).
        tables["text_files"] = [{"id": r["id"]} for r in tables["files"] if Path(r["id"]).suffix in _TEXT]
        return tables

    def slot_providers(self) -> dict[str, Callable[[random.Random, dict[str, Any]], Any]]:
        def new_file(rng: random.Random, slots: dict[str, Any]) -> str:
            """A plausible path for a new note that does not exist yet (tasks may run one after another)."""
            taken = {r["id"] for r in self.snapshot()["files"]}
            free = [p for p in _NEW_FILES if p not in taken]
            return rng.choice(free or [f"notes/note-{rng.randrange(10_000)}.md"])

        return {"new_file": new_file}

    def close(self) -> None:
        """Remove the root directory. Idempotent."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def __enter__(self) -> FilesEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
