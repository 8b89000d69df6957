"""Read trajectory datasets — ours and third parties' — one JSONL line at a time.

Three row shapes are recognised, per line (a file may mix them):

* ``toolgym`` — our own records (they carry ``schema_version``), kept as written so that validation sees
  exactly what is on disk.
* ``trl`` — TRL conversational rows: ``messages`` (or ``prompt`` + ``completion``) whose ``tool_calls`` carry
  ``function.arguments`` as a dict or a JSON string, and optional ``tools`` as a list or a JSON string of
  OpenAI function tools. Calls and tool messages usually carry no ids: ids are generated and tool messages
  paired with the calls of the preceding assistant turn, in order.
* ``openai`` — OpenAI chat fine-tuning rows: ``messages`` with JSON-string arguments and ``tools``, or the
  legacy ``functions`` / ``function_call`` / ``role: function`` form.

A line that cannot be read (bad JSON, a torn last line, an unknown shape, arguments that are not JSON) becomes
a :class:`ReadItem` with ``error`` set and its line number: data, not a crash. The rest of the file is still
read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.errors import UserError
from toolkit.records import SCHEMA_VERSION, Trajectory

__all__ = [
    "ReadItem",
    "FORMATS",
    "read_records",
    "iter_raw_lines",
    "decode_line",
    "parse_line",
    "convert_row",
    "load_trajectories",
]

FORMATS = ("toolgym", "trl", "openai")

# Message keys that OpenAI / TRL rows may carry and a ToolGym record has no place for. They are dropped, and
# the dropped names are listed in the record's provenance so that the loss is visible.
_MESSAGE_KEYS = {"role", "content", "tool_calls", "tool_call_id", "name", "is_error", "train", "weight"}
# Row keys that become parts of the record; any other key of a row is kept in the record's metadata.
_ROW_KEYS = {"messages", "prompt", "completion", "tools", "functions", "id"}


@dataclass(kw_only=True)
class ReadItem:
    """One line of a dataset file: a record (as a dict in our format) or the reason it could not be read."""

    line: int
    """1-based line number in the file."""
    record: dict[str, Any] | None = None
    """The record in ToolGym's format; ``None`` when the line could not be read."""
    format: str | None = None
    """``toolgym``, ``trl`` or ``openai``; ``None`` when the shape was not recognised."""
    error: str | None = None
    """Why the line could not be read, as ``"<kind>: <detail>"``."""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_trajectory(self) -> Trajectory:
        """The record as a :class:`Trajectory`; a :class:`UserError` naming the line if it is none."""
        if self.record is None:
            raise UserError(f"line {self.line}: {self.error}")
        try:
            return Trajectory.model_validate(self.record)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = "/".join(str(p) for p in first["loc"]) or "(root)"
            raise UserError(f"line {self.line}: not a valid record: {where}: {first['msg']}") from None


class _RowError(Exception):
    """A row that cannot be converted; the message is ``"<kind>: <detail>"``."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def parse_line(text: str, line: int, *, last: bool = False, default_id: str | None = None) -> ReadItem:
    """Parse one JSONL line (without its newline). ``last`` marks a final line with no newline after it."""
    try:
        row = _loads(text)
    except (ValueError, RecursionError) as exc:
        if last:
            return ReadItem(line=line, error=(
                f"truncated line: the last line has no newline and is not complete JSON ({_short(exc)}); the "
                "file was probably cut off while being written"
            ))
        return ReadItem(line=line, error=f"bad JSON: {_short(exc)}")
    try:
        record, fmt, notes = convert_row(row, default_id=default_id or f"line-{line}", line=line)
    except _RowError as exc:
        return ReadItem(line=line, error=str(exc), format=_guess_format(row))
    except RecursionError:
        return ReadItem(line=line, error="bad shape: the row is nested too deeply to read")
    return ReadItem(line=line, record=record, format=fmt, notes=notes)


def read_records(path: str | Path) -> Iterator[ReadItem]:
    """Yield one :class:`ReadItem` per non-blank line of a JSONL file, in order (blank lines are skipped).

    The file is read lazily, a line at a time. A missing or unreadable file is a :class:`UserError`, raised at
    once (not on first iteration); everything wrong *inside* the file is reported per line.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"file not found: {p}; pass the path of a JSONL dataset")
    if p.is_dir():
        raise UserError(f"{p} is a directory; pass the path of a JSONL dataset file")
    return _lines(p)


def _lines(p: Path) -> Iterator[ReadItem]:
    stem = p.stem
    for number, raw, last in iter_raw_lines(p):
        item = decode_line(number, raw, last=last, stem=stem)
        if item is not None:
            yield item


def iter_raw_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, raw bytes, is a last line without newline)`` for every line; opened on first iteration,
    so a reader that is never iterated holds no file open."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UserError(f"cannot open {path}: {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            yield number, raw, not raw.endswith(b"\n")


def decode_line(number: int, raw: bytes, *, last: bool, stem: str) -> ReadItem | None:
    """One raw line as a :class:`ReadItem`; ``None`` for a blank line. ``stem`` names generated record ids."""
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        why = f"bad encoding: byte {exc.start} is not valid UTF-8; re-encode the file"
        return ReadItem(line=number, error=why)
    text = text.strip()
    if not text:
        return None  # blank lines (often a trailing one) are not records
    return parse_line(text, number, last=last, default_id=f"{stem}-{number}")


def load_trajectories(path: str | Path) -> tuple[list[Trajectory], list[ReadItem]]:
    """Every readable record of a file as a :class:`Trajectory`, plus the items that could not be read."""
    good: list[Trajectory] = []
    bad: list[ReadItem] = []
    for item in read_records(path):
        if item.record is None:
            bad.append(item)
            continue
        try:
            good.append(item.to_trajectory())
        except UserError as exc:
            bad.append(ReadItem(line=item.line, format=item.format, error=f"invalid record: {exc}"))
    return good, bad


# ------------------------------------------------------------------------------------------------------------
# Row conversion


def _guess_format(row: Any) -> str | None:
    if isinstance(row, dict):
        if "schema_version" in row:
            return "toolgym"
        if "functions" in row or "parallel_tool_calls" in row:
            return "openai"
        if "messages" in row or "prompt" in row:
            return "trl"
    return None


def convert_row(
    row: Any, *, default_id: str, line: int | None = None
) -> tuple[dict[str, Any], str, list[str]]:
    """Convert one parsed row into a record dict in our format. Returns ``(record, format, notes)``."""
    if not isinstance(row, dict):
        raise _RowError(f"bad shape: a row must be a JSON object, not {_json_type(row)}")
    if "schema_version" in row:
        version = row["schema_version"]
        if version != SCHEMA_VERSION:
            raise _RowError(
                f"unsupported schema version: {version!r}; this ToolGym reads {SCHEMA_VERSION!r} records"
            )
        return row, "toolgym", []
    if "messages" in row:
        messages = row["messages"]
    elif "prompt" in row and "completion" in row:  # TRL conversational prompt-completion rows
        prompt, completion = row["prompt"], row["completion"]
        if not isinstance(prompt, list) or not isinstance(completion, list):
            raise _RowError("bad shape: 'prompt' and 'completion' must both be lists of messages "
                            "(conversational format); plain-text prompt-completion rows hold no tool calls")
        messages = prompt + completion
    else:
        keys = ", ".join(sorted(row)[:8]) or "(none)"
        raise _RowError(f"unknown row shape: expected a ToolGym record (with schema_version) or a chat row "
                        f"with 'messages' (TRL / OpenAI fine-tuning); found keys {keys}")
    if not isinstance(messages, list):
        raise _RowError(f"bad shape: 'messages' must be a list, not {_json_type(messages)}")
    fmt = _guess_format(row) or "trl"
    notes: list[str] = []
    tools = _convert_tools(row)
    converted = _convert_messages(messages, notes)
    dict_arguments = any(_has_dict_arguments(m) for m in messages if isinstance(m, dict))
    if dict_arguments or isinstance(row.get("tools"), str):
        fmt = "trl"
    elif fmt == "trl" and _has_calls(messages):
        fmt = "openai"
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": _row_id(row, default_id),
        "messages": converted,
        "tools": tools,
        "provenance": {"generator": f"import:{fmt}", **({"source_line": line} if line is not None else {})},
    }
    if notes:
        record["provenance"]["extra"] = {"dropped": sorted(set(notes))}
    # Other row-level fields (categories, source ids, parallel_tool_calls, ...) are kept, not lost; a row's
    # own `metadata` object (as ToolGym's TRL export writes it) is merged rather than nested.
    metadata = {k: v for k, v in row.items() if k not in _ROW_KEYS and k != "metadata"}
    if isinstance(row.get("metadata"), dict):
        metadata = {**row["metadata"], **metadata}
    elif "metadata" in row:
        metadata["metadata"] = row["metadata"]
    if metadata:
        record["metadata"] = metadata
    return record, fmt, notes


def _row_id(row: dict[str, Any], default: str) -> str:
    meta = row.get("metadata")
    for value in (row.get("id"), meta.get("id") if isinstance(meta, dict) else None):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    return default


def _has_dict_arguments(message: dict[str, Any]) -> bool:
    calls = message.get("tool_calls")
    return isinstance(calls, list) and any(
        isinstance(c, dict)
        and isinstance(c.get("function"), dict)
        and isinstance(c["function"].get("arguments"), dict)
        for c in calls
    )


def _has_calls(messages: list[Any]) -> bool:
    """Any tool call at all (asked once dict arguments are ruled out: these carry JSON strings)."""
    return any(
        isinstance(m, dict)
        and (isinstance(m.get("tool_calls"), list) or isinstance(m.get("function_call"), dict))
        for m in messages
    )


def _convert_tools(row: dict[str, Any]) -> list[dict[str, Any]]:
    tools = row.get("tools")
    if isinstance(tools, str):
        try:
            tools = _loads(tools) if tools.strip() else []
        except ValueError as exc:
            raise _RowError(f"bad tools: 'tools' is a string but not valid JSON ({_short(exc)})") from None
    functions = row.get("functions")
    out: list[dict[str, Any]] = []
    for key, group in (("tools", tools), ("functions", functions)):
        if group is None:
            continue
        if not isinstance(group, list):
            raise _RowError(
                f"bad tools: '{key}' must be a list of function definitions, not {_json_type(group)}"
            )
        for i, entry in enumerate(group):
            out.append(_convert_tool(entry, f"{key}[{i}]"))
    return out


def _convert_tool(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise _RowError(f"bad tools: {where} must be an object, not {_json_type(entry)}")
    if entry.get("type", "function") != "function":
        raise _RowError(f"bad tools: {where} has type {entry.get('type')!r}; only function tools can be read")
    fn = entry.get("function", entry)
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise _RowError(f"bad tools: {where} has no function name")
    params = fn.get("parameters")
    if params is None:
        params = {"type": "object", "properties": {}}
    if not isinstance(params, dict):
        raise _RowError(
            f"bad tools: {where} ({fn['name']}) has 'parameters' that is not a JSON Schema object"
        )
    spec: dict[str, Any] = {
        "name": fn["name"], "description": fn.get("description") or "", "input_schema": params
    }
    # transformers' get_json_schema adds the return type; an object return is an output schema
    if isinstance(fn.get("return"), dict) and fn["return"].get("type") == "object":
        spec["output_schema"] = fn["return"]
    return spec


def _convert_messages(messages: list[Any], notes: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pending: list[tuple[str, str]] = []  # (generated call id, tool name) waiting for an id-less tool message
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise _RowError(f"bad message: message {i} must be an object, not {_json_type(msg)}")
        role = msg.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant", "tool", "function"):
            raise _RowError(f"bad message: message {i} has role {role!r}; expected system, developer, user, "
                            "assistant, tool or function")
        notes.extend(
            f"message key {k!r}" for k, v in msg.items()
            if k not in _MESSAGE_KEYS and k != "function_call" and v is not None
        )
        new: dict[str, Any] = {
            "role": "tool" if role == "function" else role, "content": _text(msg.get("content"), i)
        }
        if role == "assistant":
            calls = _convert_calls(msg, i)
            if calls:
                new["tool_calls"] = calls
                pending = [(c["id"], c["function"]["name"]) for c in calls]
            # OpenAI fine-tuning's per-message `weight` (0 or 1) is our `train` flag
            train = msg.get("train", msg.get("weight"))
            if train in (0, 1) and not isinstance(train, float):
                new["train"] = bool(train)
            elif train is not None:
                notes.append("message key 'train'/'weight' (not 0, 1, true or false)")
        elif role in ("tool", "function"):
            call_id = msg.get("tool_call_id")
            name = msg.get("name")
            if call_id is None and pending:
                # Formats without call ids answer the preceding turn's calls in order; a name, when present,
                # picks the first pending call to that tool.
                pick = next((k for k, (_, n) in enumerate(pending) if n == name), 0) if name else 0
                call_id = pending.pop(pick)[0]
            elif call_id is not None:
                pending = [(c, n) for c, n in pending if c != str(call_id)]
            if call_id is not None:
                new["tool_call_id"] = str(call_id)
            if isinstance(name, str):
                new["name"] = name
            if isinstance(msg.get("is_error"), bool):
                new["is_error"] = msg["is_error"]
        if role in ("user", "system"):
            pending = []
        out.append(new)
    return out


def _convert_calls(msg: dict[str, Any], i: int) -> list[dict[str, Any]]:
    raw = msg.get("tool_calls")
    legacy = msg.get("function_call")
    if raw is None and isinstance(legacy, dict):
        raw = [{"type": "function", "function": legacy}]
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _RowError(f"bad tool call: message {i} 'tool_calls' must be a list, not {_json_type(raw)}")
    calls = []
    for k, tc in enumerate(raw):
        if not isinstance(tc, dict):
            raise _RowError(f"bad tool call: message {i} call {k} must be an object")
        fn = tc.get("function", tc)  # some exports flatten {"name", "arguments"}
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise _RowError(f"bad tool call: message {i} call {k} has no function name")
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = _loads(args) if args.strip() else {}
            except (ValueError, RecursionError) as exc:
                raise _RowError(f"bad arguments: message {i} call {k} ({fn['name']}): arguments are not "
                                f"valid JSON ({_short(exc)})") from None
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise _RowError(f"bad arguments: message {i} call {k} ({fn['name']}): arguments must be a JSON "
                            f"object, not {_json_type(args)}")
        call_id = tc.get("id")
        calls.append({
            "id": str(call_id) if call_id not in (None, "") else f"call_{i}_{k}",
            "type": "function",
            "function": {"name": fn["name"], "arguments": args},
        })
    return calls


def _text(content: Any, i: int) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else _json_type(part)
                raise _RowError(
                    f"bad content: message {i} has a {kind!r} content part; ToolGym records hold text only"
                )
        return "".join(parts)
    raise _RowError(f"bad content: message {i} content must be a string or a list of text parts, "
                    f"not {_json_type(content)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short(exc: BaseException, limit: int = 120) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
