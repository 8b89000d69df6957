"""Finding call blocks in model output: ``<tag>…</tag>`` blocks, Markdown code fences, and reasoning blocks.

Plain ``str.find`` scans only (no backtracking regular expressions), so the cost is linear in the text length.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Block", "find_fences", "find_tags", "split_reasoning", "unwrap_fence"]


@dataclass(frozen=True)
class Block:
    """One region: ``kind`` is ``"tag"`` or ``"fence"``; ``label`` the tag name or fence language."""

    kind: str
    label: str
    body: str
    start: int
    end: int
    closed: bool


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Split a leading ``<think>…</think>`` block (or text up to a lone ``</think>``, as templates that
    open the block in the prompt produce) from the reply. Calls written while reasoning are not calls."""
    stripped = text.lstrip()
    close = text.find("</think>")
    if stripped.startswith("<think>"):
        open_at = text.find("<think>")
        if close < 0:  # reasoning never ended: the reply holds nothing else
            return text[open_at + len("<think>") :].strip(), ""
        return text[open_at + len("<think>") : close].strip(), text[close + len("</think>") :]
    if close >= 0 and "<think>" not in text[:close]:
        return text[:close].strip(), text[close + len("</think>") :]
    return None, text


def find_tags(text: str, name: str) -> list[Block]:
    """All ``<name>…</name>`` blocks. A block missing its closing tag ends at the next opening tag or at
    the end of the text, with ``closed=False``."""
    open_tag, close_tag = f"<{name}>", f"</{name}>"
    blocks: list[Block] = []
    pos = 0
    close = text.find(close_tag)  # kept between iterations, so many unclosed tags cost one scan, not one each
    while True:
        start = text.find(open_tag, pos)
        if start < 0:
            return blocks
        body_at = start + len(open_tag)
        if 0 <= close < body_at:
            close = text.find(close_tag, body_at)
        next_open = text.find(open_tag, body_at)
        if close >= 0 and (next_open < 0 or close < next_open):
            blocks.append(Block("tag", name, text[body_at:close], start, close + len(close_tag), True))
            pos = close + len(close_tag)
        else:
            end = next_open if next_open >= 0 else len(text)
            blocks.append(Block("tag", name, text[body_at:end], start, end, False))
            pos = end


def find_fences(text: str) -> list[Block]:
    """All Markdown code fences (a line starting with three or more backticks, then an optional language). A
    fence missing its closing line runs to the end of the text, with ``closed=False``."""
    blocks: list[Block] = []
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    i = 0
    while i < len(lines):
        opener = lines[i].strip()
        if not opener.startswith("```"):
            i += 1
            continue
        ticks = len(opener) - len(opener.lstrip("`"))
        label = opener[ticks:].strip().split(" ", 1)[0].lower()
        start, body_at = offsets[i] + (len(lines[i]) - len(lines[i].lstrip())), offsets[i + 1]
        j = i + 1
        while j < len(lines):
            closer = lines[j].strip()
            if closer.startswith("`" * ticks) and not closer.strip("`"):
                break
            j += 1
        if j < len(lines):
            end = offsets[j] + len(lines[j].rstrip("\r\n"))
            blocks.append(Block("fence", label, text[body_at : offsets[j]], start, end, True))
        else:
            blocks.append(Block("fence", label, text[body_at:], start, len(text), False))
        i = j + 1
    return blocks


def unwrap_fence(body: str) -> str | None:
    """The inside of a body that is itself one code fence (a fence inside a tag), else ``None``."""
    inner = body.strip()
    if not inner.startswith("```"):
        return None
    fences = find_fences(inner)
    if len(fences) == 1 and fences[0].start == 0 and fences[0].end >= len(inner.rstrip()):
        return fences[0].body
    return None
