"""Result shapes of the ``files`` tools: each is a tool's output schema (tools return plain dicts of this shape)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Entry", "Listing", "FileChunk", "WriteResult", "Match", "SearchResult", "FileInfo", "Deleted", "Moved"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Entry(_Out):
    path: str = Field(description="Path relative to the store root.")
    type: Literal["file", "directory", "symlink"]
    size_bytes: int | None = Field(description="File size; null for directories and links.")


class Listing(_Out):
    path: str
    entries: list[Entry]
    total_entries: int = Field(description="Entries in all (the list is capped).")
    truncated: bool


class FileChunk(_Out):
    path: str
    content: str
    offset: int
    total_chars: int
    next_offset: int | None = Field(description="Offset of the rest of the file; null at the end.")


class WriteResult(_Out):
    path: str
    bytes_written: int
    created: bool = Field(description="False when an existing file was replaced.")


class Match(_Out):
    path: str
    line: int = Field(description="1-based line number.")
    text: str = Field(description="The matching line (cut at 200 characters).")


class SearchResult(_Out):
    pattern: str
    matches: list[Match]
    total_matches: int
    truncated: bool


class FileInfo(_Out):
    path: str
    type: Literal["file", "directory"]
    size_bytes: int | None = None
    extension: str | None = None
    sha256: str | None = None
    lines: int | None = Field(default=None, description="Line count; null for non-text files.")
    entries: int | None = Field(default=None, description="Directories: number of entries.")


class Deleted(_Out):
    path: str
    deleted: bool


class Moved(_Out):
    src: str
    dst: str
