"""A sandboxed file store: every tool of the ``files`` suite is a method of :class:`FileStore`.

Every path a model gives is resolved inside the store's root. Absolute paths, ``..`` components, NUL bytes,
backslashes and symbolic links that lead outside the root are refused with a message that says what is allowed.
Reads, writes, listings and search results are size-capped, so no call can return an unbounded result, and the
store as a whole is capped in file count and bytes so that a looping agent cannot fill the disk.

Tools return plain dicts; the annotated result model (:mod:`tools.files.results`) is the published output schema,
and the toolset validates each result against it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
import weakref
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import Field

from toolkit.errors import ToolError
from toolkit.regex_safety import REGEX_TIME_BUDGET_S, RegexTimeout, compile_timed, search_timed, unsafe_pattern_reason
from toolkit.python_tools import tool
from tools.files.results import Deleted, FileChunk, FileInfo, Listing, Moved, SearchResult, WriteResult
from tools.files.seed import write_seed_tree

__all__ = ["FileTools", "FileStore", "LIMITS"]

LIMITS = {
    "max_path_chars": 240,
    "max_depth": 8,
    "max_read_chars": 20_000,
    "default_read_chars": 4_000,
    "max_write_chars": 50_000,
    "max_list_entries": 200,
    "max_search_results": 100,
    "max_pattern_chars": 200,
    "max_line_chars": 200,
    "max_files": 500,
    "max_total_bytes": 2_000_000,
}
_TEXT_SUFFIXES = {".md", ".txt", ".csv", ".json", ".py", ".yaml", ".yml", ".toml", ".log", ".ini", ".cfg", ""}
_DRIVE = re.compile(r"^[A-Za-z]:")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reseed(root: Path) -> None:
    """Empty ``root`` (without following links out of it) and write the seeded tree."""
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    write_seed_tree(root)


class FileTools:
    """The file tools, over a directory tree the agent may read and change, and nothing outside it.

    A mixin: the class using it sets ``self.root`` (an existing directory) before any tool is called. Tools are
    marked with :func:`toolkit.python_tools.tool`, so an environment inheriting this class exposes them.
    """

    root: Path

    # ----------------------------------------------------------------------------------------------- paths
    def _resolve(self, path: Any, *, what: str = "path") -> tuple[str, Path]:
        """Return (normalised relative path, real absolute path) for a model-given path, or raise ToolError."""
        if not isinstance(path, str):
            raise ToolError(f"{what} must be a string such as 'docs/notes.md', got {type(path).__name__}")
        if "\x00" in path:
            raise ToolError(f"{what} contains a NUL byte; give a plain relative path such as 'docs/notes.md'")
        if len(path) > LIMITS["max_path_chars"]:
            raise ToolError(f"{what} is longer than {LIMITS['max_path_chars']} characters; use a shorter path")
        text = path.strip() or "."
        if text.startswith(("/", "~")) or _DRIVE.match(text):
            raise ToolError(
                f"absolute paths are not allowed ({what} {path!r}); give a path relative to the file store root, "
                "e.g. 'reports/q1_summary.md'"
            )
        if "\\" in text:
            raise ToolError(f"{what} {path!r} contains a backslash; separate folders with '/'")
        parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
        if ".." in parts:
            raise ToolError(f"'..' is not allowed in {what} {path!r}; paths must stay inside the file store root")
        if len(parts) > LIMITS["max_depth"]:
            raise ToolError(f"{what} {path!r} is nested deeper than {LIMITS['max_depth']} folders")
        rel = "/".join(parts) or "."
        full = self.root.joinpath(*parts)
        real = Path(os.path.realpath(full))
        if real != self.root and self.root not in real.parents:
            raise ToolError(f"{what} {path!r} leads outside the file store root through a symbolic link; refused")
        return rel, real

    def _existing(self, path: Any, *, what: str = "path", kind: str | None = None) -> tuple[str, Path]:
        rel, real = self._resolve(path, what=what)
        if not real.exists():
            parent = str(PurePosixPath(rel).parent)
            hint = f"list_directory(path={parent!r})" if parent != "." else "list_directory()"
            raise ToolError(f"no such file or directory: {rel!r}; call {hint} to see what exists")
        if kind == "file" and not real.is_file():
            raise ToolError(f"{rel!r} is a directory, not a file; call list_directory(path={rel!r}) to see its files")
        if kind == "dir" and not real.is_dir():
            raise ToolError(f"{rel!r} is a file, not a directory; call read_file(path={rel!r}) to read it")
        return rel, real

    def _rel(self, real: Path) -> str:
        return real.relative_to(self.root).as_posix()

    def _walk(self, start: Path, recursive: bool) -> list[Path]:
        """Entries under ``start``, sorted, never following symbolic links (links show as entries, not trees)."""
        out: list[Path] = []
        if not recursive:
            return sorted(start.iterdir())
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            dirnames.sort()
            base = Path(dirpath)
            out.extend(base / d for d in dirnames)
            out.extend(base / f for f in sorted(filenames))
        return sorted(out)

    def _usage(self) -> tuple[int, int]:
        files = [p for p in self._walk(self.root, True) if p.is_file() and not p.is_symlink()]
        return len(files), sum(p.stat().st_size for p in files)

    @staticmethod
    def _read_text(real: Path, rel: str) -> str:
        data = real.read_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ToolError(f"{rel!r} is not a UTF-8 text file; this store reads text files only") from None

    # ----------------------------------------------------------------------------------------------- tools
    @tool
    def list_directory(self, path: str = ".", recursive: bool = False) -> Listing:
        """List the files and folders in a directory of the file store.

        Args:
            path: Directory relative to the store root; "." is the root.
            recursive: Also list everything below sub-directories.
        """
        rel, real = self._existing(path, kind="dir")
        entries = []
        for item in self._walk(real, recursive):
            if item.is_symlink():
                kind, size = "symlink", None
            elif item.is_dir():
                kind, size = "directory", None
            else:
                kind, size = "file", item.stat().st_size
            entries.append({"path": self._rel(item), "type": kind, "size_bytes": size})
        cap = LIMITS["max_list_entries"]
        return {"path": rel, "entries": entries[:cap], "total_entries": len(entries), "truncated": len(entries) > cap}

    @tool
    def read_file(
        self,
        path: str,
        offset: Annotated[int, Field(ge=0)] = 0,
        max_chars: Annotated[int, Field(ge=1, le=LIMITS["max_read_chars"])] = LIMITS["default_read_chars"],
    ) -> FileChunk:
        """Read a text file, or a window of it for long files.

        Args:
            path: File path relative to the store root, e.g. "reports/q1_summary.md".
            offset: Character offset to start reading at (use next_offset from a previous read to continue).
            max_chars: Most characters to return (1 to 20000).
        """
        rel, real = self._existing(path, kind="file")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ToolError(f"offset must be a non-negative integer, got {offset!r}")
        cap = LIMITS["max_read_chars"]
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or not 1 <= max_chars <= cap:
            raise ToolError(f"max_chars must be an integer from 1 to {cap}, got {max_chars!r}")
        text = self._read_text(real, rel)
        if offset > len(text):
            raise ToolError(f"offset {offset} is past the end of {rel!r}, which has {len(text)} characters")
        chunk = text[offset : offset + max_chars]
        end = offset + len(chunk)
        return {
            "path": rel,
            "content": chunk,
            "offset": offset,
            "total_chars": len(text),
            "next_offset": end if end < len(text) else None,
        }

    @tool
    def write_file(self, path: str, content: str, overwrite: bool = False) -> WriteResult:
        """Create a text file, or replace one when overwrite is true. Missing parent folders are created.

        Args:
            path: File path relative to the store root, e.g. "notes/summary.md".
            content: The full text to write (at most 50000 characters).
            overwrite: Replace the file if it already exists.
        """
        rel, real = self._resolve(path)
        if rel == ".":
            raise ToolError("path must name a file, e.g. 'notes/summary.md', not the store root")
        if not isinstance(content, str):
            raise ToolError(f"content must be a string, got {type(content).__name__}")
        if "\x00" in content:
            raise ToolError("content contains a NUL byte; this store holds text files only")
        if len(content) > LIMITS["max_write_chars"]:
            raise ToolError(
                f"content has {len(content)} characters; the limit is {LIMITS['max_write_chars']} per file"
            )
        if real.is_dir():
            raise ToolError(f"{rel!r} is a directory; give a file path inside it, e.g. '{rel}/new.md'")
        existed = real.exists()
        if existed and not overwrite:
            raise ToolError(f"{rel!r} already exists; pass overwrite=true to replace it, or choose another path")
        for parent in PurePosixPath(rel).parents:
            p = self.root / parent
            if str(parent) != "." and p.exists() and not p.is_dir():
                raise ToolError(f"cannot create {rel!r}: {parent.as_posix()!r} is a file, not a folder")
        data = content.encode("utf-8")
        files, used = self._usage()
        old = real.stat().st_size if existed else 0
        if not existed and files >= LIMITS["max_files"]:
            raise ToolError(f"the store already holds {files} files, the limit; delete files before creating more")
        if used - old + len(data) > LIMITS["max_total_bytes"]:
            raise ToolError(f"writing {rel!r} would exceed the store's {LIMITS['max_total_bytes']}-byte limit")
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_bytes(data)
        return {"path": rel, "bytes_written": len(data), "created": not existed}

    @tool
    def search_files(
        self,
        pattern: str,
        path: str = ".",
        regex: bool = False,
        max_results: Annotated[int, Field(ge=1, le=LIMITS["max_search_results"])] = 20,
    ) -> SearchResult:
        """Search the text of files for a pattern (case-insensitive) and return matching lines with line numbers.

        Args:
            pattern: Text to look for, or a regular expression when regex is true.
            path: Directory (searched recursively) or single file to search, relative to the store root.
            regex: Treat pattern as a Python regular expression.
            max_results: Most matching lines to return (1 to 100).
        """
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("pattern must be a non-empty string")
        if len(pattern) > LIMITS["max_pattern_chars"]:
            raise ToolError(f"pattern is longer than {LIMITS['max_pattern_chars']} characters; shorten it")
        cap = LIMITS["max_search_results"]
        if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= cap:
            raise ToolError(f"max_results must be an integer from 1 to {cap}, got {max_results!r}")
        if regex:
            try:
                compiled = compile_timed(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ToolError(f"invalid regular expression {pattern!r}: {exc}; fix it or pass regex=false") from None
            unsafe = unsafe_pattern_reason(pattern)  # cheap refusal of the known explosive shapes before anything runs
            if unsafe:
                raise ToolError(f"regular expression {pattern!r} could take exponential time or backtrack far too long "
                                f"({unsafe}); simplify it (e.g. a+ instead of (a+)+, [ab]* instead of (a|b)*) or pass "
                                "regex=false")
        else:
            compiled = compile_timed(re.escape(pattern), re.IGNORECASE)
        # A model can write the very line its pattern backtracks on; regex (unlike re) stops at a deadline, and one
        # deadline bounds the whole search. Plain substrings cannot backtrack, so they get none.
        deadline = time.monotonic() + REGEX_TIME_BUDGET_S if regex else None
        rel, real = self._existing(path)
        targets = [real] if real.is_file() else self._walk(real, True)
        matches: list[dict[str, Any]] = []
        total = 0
        line_cap = LIMITS["max_line_chars"]
        for target in targets:
            if target.is_symlink() or not target.is_file() or target.suffix.lower() not in _TEXT_SUFFIXES:
                continue
            try:
                text = target.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                try:
                    found = search_timed(compiled, line[: line_cap * 5], deadline)
                except RegexTimeout:
                    raise ToolError(
                        f"regular expression {pattern!r} is too slow on this text (it backtracks past the "
                        f"{REGEX_TIME_BUDGET_S:g}-second limit at {self._rel(target)} line {number}); simplify it "
                        "(e.g. \\d+ instead of \\d*\\d*, no nested or adjacent repeats that match the same characters) "
                        "or pass regex=false for a plain substring search") from None
                if found:
                    total += 1
                    if len(matches) < max_results:
                        snippet = line if len(line) <= line_cap else line[:line_cap] + "…"
                        matches.append({"path": self._rel(target), "line": number, "text": snippet})
        return {"pattern": pattern, "matches": matches, "total_matches": total, "truncated": total > len(matches)}

    @tool
    def file_info(self, path: str) -> FileInfo:
        """Describe a file or directory: type, size, line count and content hash.

        Args:
            path: Path relative to the store root.
        """
        rel, real = self._existing(path)
        if real.is_dir():
            children = list(real.iterdir())
            return {"path": rel, "type": "directory", "entries": len(children)}
        data = real.read_bytes()
        info: dict[str, Any] = {
            "path": rel,
            "type": "file",
            "size_bytes": len(data),
            "extension": real.suffix.lstrip(".") or None,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        try:
            info["lines"] = len(data.decode("utf-8").splitlines())
        except UnicodeDecodeError:
            info["lines"] = None
        return info

    @tool
    def delete_file(self, path: str) -> Deleted:
        """Delete one file (folders cannot be deleted with this tool).

        Args:
            path: File path relative to the store root.
        """
        rel, real = self._existing(path, kind="file")
        real.unlink()
        return {"path": rel, "deleted": True}

    @tool
    def move_file(self, src: str, dst: str) -> Moved:
        """Move or rename a file. The destination must not exist; missing parent folders are created.

        Args:
            src: Current file path relative to the store root.
            dst: New file path relative to the store root (the full path, including the file name).
        """
        src_rel, src_real = self._existing(src, what="src", kind="file")
        dst_rel, dst_real = self._resolve(dst, what="dst")
        if dst_rel == ".":
            raise ToolError("dst must name a file, e.g. 'archive/old.md', not the store root")
        if dst_real.is_dir():
            name = PurePosixPath(src_rel).name
            raise ToolError(f"dst {dst_rel!r} is a directory; give the full new path, e.g. '{dst_rel}/{name}'")
        if dst_real.exists():
            raise ToolError(f"dst {dst_rel!r} already exists; delete it first or choose another name")
        for parent in PurePosixPath(dst_rel).parents:
            p = self.root / parent
            if str(parent) != "." and p.exists() and not p.is_dir():
                raise ToolError(f"cannot move to {dst_rel!r}: {parent.as_posix()!r} is a file, not a folder")
        dst_real.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src_real, dst_real)
        return {"src": src_rel, "dst": dst_rel}

    # ----------------------------------------------------------------------------------------------- state
    def snapshot(self) -> dict[str, Any]:
        """The gradable state: every regular file in the tree (a row per file, ``id`` = its relative path) with the
        sha256 of its content. Directories are left out: an empty folder changes nothing a task checks."""
        rows = []
        for p in self._walk(self.root, True):
            if p.is_file() and not p.is_symlink():
                rows.append({"id": self._rel(p), "sha256": _sha256(p), "size_bytes": p.stat().st_size})
        return {"files": rows}

    TOOL_NAMES = ("list_directory", "read_file", "write_file", "search_files", "file_info", "delete_file", "move_file")


class FileStore(FileTools):
    """A standalone file store over a fresh temporary root holding the seeded tree. ``close()`` removes the root;
    so does garbage collection or interpreter exit, whichever comes first."""

    def __init__(self) -> None:
        self.root = Path(os.path.realpath(tempfile.mkdtemp(prefix="toolgym-files-")))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.root), ignore_errors=True)
        write_seed_tree(self.root)

    def reset(self) -> None:
        """Put the seeded tree back, dropping every change."""
        _reseed(self.root)

    def close(self) -> None:
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive
