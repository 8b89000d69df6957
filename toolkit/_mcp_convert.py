"""Conversions between MCP wire types and ToolGym's shapes, in both directions.

Kept apart from the connection code so the client (:mod:`toolkit.mcp_tools`) and the server
(:mod:`toolkit.mcp_serve`) share one mapping and cannot drift: a tool served by ToolGym and read back by
ToolGym must give the same :class:`ToolSpec` and the same :class:`ToolResult`.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    Tool,
)

from toolkit.errors import UserError
from toolkit.jsonschema_utils import check_schema_bounds, validator_for
from toolkit.specs import ErrorKind, ToolResult, ToolSpec

# `_meta` keys ToolGym reads and writes. Third-party servers never send them; they only make a ToolGym server
# read back exactly as the toolset it serves.
META_DETERMINISTIC = "toolgym/deterministic"
META_ERROR_KIND = "toolgym/error_kind"
META_TRUNCATED = "toolgym/truncated"

MAX_DESCRIPTION_CHARS = 20_000
"""A tool description longer than this is refused: it would swamp the model's context."""

_ERROR_KINDS: frozenset[str] = frozenset(get_args(ErrorKind))


def tool_to_spec(tool: Tool, *, server: str) -> ToolSpec:
    """Map one MCP tool listing entry to a :class:`ToolSpec`, refusing schemas too big or broken to use.

    The server is untrusted: every problem is a :class:`UserError` naming the server, the tool and the fix.
    """
    where = f"MCP server {server!r} offers tool {tool.name!r}"
    description = tool.description or ""
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise UserError(
            f"{where} with a {len(description)}-character description (limit {MAX_DESCRIPTION_CHARS}); "
            "shorten it on the server or leave that server out"
        )
    schemas: dict[str, dict[str, Any] | None] = {"input": tool.input_schema, "output": tool.output_schema}
    for label, schema in schemas.items():
        if schema is None:
            continue
        try:
            check_schema_bounds(schema)
            validator_for(schema)  # compiles (and caches) it: an invalid schema fails here, not on first call
        except UserError as exc:
            raise UserError(f"{where} with an unusable {label} schema: {exc}") from None
        if schema.get("type", "object") != "object":
            raise UserError(
                f"{where} whose {label} schema has type {schema.get('type')!r}; MCP requires an object "
                "schema at the root (wrap the value in an object property)"
            )
    meta = tool.meta or {}
    return ToolSpec(
        name=tool.name,
        description=description,
        input_schema=tool.input_schema,
        output_schema=tool.output_schema,
        deterministic=meta.get(META_DETERMINISTIC) is not False,
    )


def spec_to_tool(spec: ToolSpec) -> Tool:
    """The MCP listing entry for a spec: schemas published verbatim, non-determinism flagged in ``_meta``."""
    meta = None if spec.deterministic else {META_DETERMINISTIC: False}
    return Tool(
        name=spec.name,
        description=spec.description or None,
        input_schema=spec.input_schema,
        output_schema=spec.output_schema,
        _meta=meta,
    )


def _b64_size(data: str) -> int:
    """Decoded size of base64 text, without decoding it."""
    return len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))


def _summarise_block(block: ContentBlock) -> str:
    """Text for one content block; binary blocks are described, never inlined (they would flood a context)."""
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, ImageContent | AudioContent):
        kind = "image" if isinstance(block, ImageContent) else "audio"
        return f"[{kind}: {block.mime_type}, {_b64_size(block.data)} bytes]"
    if isinstance(block, ResourceLink):
        return f"[resource link: {block.uri}" + (f" ({block.name})" if block.name else "") + "]"
    if isinstance(block, EmbeddedResource):
        res = block.resource
        if isinstance(res, BlobResourceContents):
            return f"[resource: {res.uri}, {res.mime_type or 'binary'}, {_b64_size(res.blob)} bytes]"
        return f"[resource: {res.uri}]\n{res.text}"
    return f"[{getattr(block, 'type', 'unknown')} content]"


def result_from_mcp(result: CallToolResult) -> ToolResult:
    """Map a ``tools/call`` result onto :class:`ToolResult` (before any size cap)."""
    texts = [_summarise_block(b) for b in result.content]
    structured = result.structured_content
    if structured is not None and not isinstance(structured, dict):
        structured = {"result": structured}  # the same wrapping MCP uses for non-object outputs
    if texts:
        content = "\n".join(texts)
    elif structured is not None:
        content = json.dumps(structured, ensure_ascii=False)
    else:
        content = ""
    meta = result.meta or {}
    kind: Any = meta.get(META_ERROR_KIND)
    if result.is_error and kind not in _ERROR_KINDS:
        kind = "tool_error"
    return ToolResult(
        content=content,
        structured=structured,
        is_error=result.is_error,
        error_kind=kind if result.is_error else None,
        truncated=meta.get(META_TRUNCATED) is True,
    )


def result_to_mcp(result: ToolResult) -> CallToolResult:
    """The ``tools/call`` result for a ToolGym result; error kind and truncation ride along in ``_meta``."""
    meta: dict[str, Any] = {}
    if result.is_error and result.error_kind:
        meta[META_ERROR_KIND] = result.error_kind
    if result.truncated:
        meta[META_TRUNCATED] = True
    return CallToolResult(
        # An empty text block is still sent with structured content, or clients would show the JSON instead.
        content=[TextContent(text=result.content)] if result.content or result.structured is not None else [],
        structured_content=result.structured,
        is_error=result.is_error,
        _meta=meta or None,
    )
