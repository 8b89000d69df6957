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
    body_at: int  # where ``body`` starts in the text


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
    before = text[:close]
    # A "</think>" after a call delimiter is inside the call (a string argument), not the end of reasoning.
    if close >= 0 and not any(mark in before for mark in ("<think>", "<tool_call>", "```")):
        return before.strip(), text[close + len("</think>") :]
    return None, text


class _NextFinder:
    """``text.find(pattern, pos)`` for increasing ``pos``, rescanning only when the last hit is behind
    ``pos``: many unclosed tags then cost one scan of the text, not one scan each."""

    def __init__(self, text: str, pattern: str):
        self.text, self.pattern, self.hit = text, pattern, text.find(pattern)

    def at_or_after(self, pos: int) -> int:
        if 0 <= self.hit < pos:
            self.hit = self.text.find(self.pattern, pos)
        return self.hit


def find_tags(text: str, name: str) -> list[Block]:
    """All ``<name>…</name>`` blocks. A block missing its closing tag ends at the next opening tag or at
    the end of the text, with ``closed=False``.

    When the opening tag ends its line (the documented ``<tool_call>\n{...}\n</tool_call>`` layout), only
    tags at the start of a line delimit the block, so tags inside a one-line JSON string cannot cut it short.
    """
    open_tag, close_tag = f"<{name}>", f"</{name}>"
    any_open, any_close = _NextFinder(text, open_tag), _NextFinder(text, close_tag)
    line_open, line_close = _NextFinder(text, "\n" + open_tag), _NextFinder(text, "\n" + close_tag)
    blocks: list[Block] = []
    pos = 0
    while True:
        start = any_open.at_or_after(pos)
        if start < 0:
            return blocks
        body_at = start + len(open_tag)
        if text.startswith(("\n", "\r\n"), body_at):
            close, next_open = line_close.at_or_after(body_at), line_open.at_or_after(body_at)
            if close >= 0 and (next_open < 0 or close < next_open):
                end = close + 1 + len(close_tag)
                blocks.append(Block("tag", name, text[body_at:close], start, end, True, body_at))
                pos = end
                continue
        close, next_open = any_close.at_or_after(body_at), any_open.at_or_after(body_at)
        if close >= 0 and (next_open < 0 or close < next_open):
            end = close + len(close_tag)
            blocks.append(Block("tag", name, text[body_at:close], start, end, True, body_at))
            pos = close + len(close_tag)
        else:
            end = next_open if next_open >= 0 else len(text)
            blocks.append(Block("tag", name, text[body_at:end], start, end, False, body_at))
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
            blocks.append(Block("fence", label, text[body_at : offsets[j]], start, end, True, body_at))
        else:
            blocks.append(Block("fence", label, text[body_at:], start, len(text), False, body_at))
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
