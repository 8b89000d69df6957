"""Loss masks that are right for any chat template: train only what the assistant writes.

No ``{% generation %}`` markers are needed. For every assistant turn ``k`` the conversation is rendered twice
more through the template — ``messages[:k]`` with the generation prompt (where the model starts writing) and
``messages[:k+1]`` (where its turn ends) — and both must be prefixes of the full rendering (the *prefix
property*; a template that re-renders earlier turns, e.g. by stripping old reasoning, is refused with the
message index). The characters between the two are the assistant's: its text, its call text and its
end-of-turn token (unless the record marks the turn ``train: false``). Whitespace the template puts *after*
that token (ChatML's ``\\n``) is not trained: the model stops at the token.

The full text is tokenized once, exactly as ``apply_chat_template(tokenize=True)`` would (no extra special
tokens), and each token is labelled from the characters it covers, so ``input_ids`` are what inference sees.
A token that covers both prompt and assistant characters (a template whose generation prompt ends mid-token)
is trained and counted in :attr:`TokenizedExample.mixed_tokens`; the template gate reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from toolkit.chat_format import ChatExample, render_chat
from toolkit.errors import UserError

__all__ = [
    "IGNORE_INDEX",
    "Segment",
    "TokenizedExample",
    "special_token_texts",
    "render_segments",
    "tokenize_example",
]

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Segment:
    """A stretch of the rendered text; ``message`` is the chat-message index of a trained assistant turn."""

    start: int
    end: int
    trained: bool
    message: int | None = None


@dataclass
class TokenizedExample:
    """``input_ids`` and ``labels`` (``-100`` where masked) for one conversation, with what they came from."""

    input_ids: list[int]
    labels: list[int]
    text: str
    segments: list[Segment]
    offsets: list[tuple[int, int]] | None
    stop_tokens: dict[int, str] = field(default_factory=dict)
    """Per trained assistant message: the end-of-turn token text its trained span ends with ("" if none)."""
    mixed_tokens: int = 0
    truncated: bool = False

    @property
    def n_trained(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)

    def trained_spans(self) -> list[Segment]:
        return [s for s in self.segments if s.trained]


def special_token_texts(tokenizer: Any) -> list[str]:
    """The tokenizer's special tokens as text, longest first (so ``<|im_end|>`` wins over ``<|im``)."""
    found = set(getattr(tokenizer, "all_special_tokens", []) or [])
    for tok in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(tok, "special", False):
            found.add(tok.content)
    return sorted((t for t in found if t), key=len, reverse=True)


def _prefix(example: ChatExample, k: int) -> ChatExample:
    return replace(example, messages=example.messages[:k])


def _render(example: ChatExample, tokenizer: Any, *, gen: bool) -> str:
    if not example.messages:
        return ""
    return render_chat(example, tokenizer, add_generation_prompt=gen)


def _prefix_error(what: str, k: int, full: str, part: str) -> UserError:
    at = next((i for i, (a, b) in enumerate(zip(full, part)) if a != b), min(len(full), len(part)))
    return UserError(
        f"the chat template is not prefix-preserving: {what} (message {k}) is not a prefix of the whole "
        f"conversation's rendering; they differ at character {at}: {part[at:at + 40]!r} vs {full[at:at + 40]!r}. "
        "Loss masks cannot be located; use a prefix-preserving template (e.g. TRL's "
        "get_training_chat_template for known families) via the chat_template setting"
    )


def render_segments(
    example: ChatExample, tokenizer: Any, *, specials: list[str] | None = None
) -> tuple[str, list[Segment], dict[int, str]]:
    """The full rendering, cut into trained (assistant) and masked segments, and each turn's stop token."""
    specials = special_token_texts(tokenizer) if specials is None else specials
    full = _render(example, tokenizer, gen=False)
    segments: list[Segment] = []
    stops: dict[int, str] = {}
    cursor = 0
    for k, msg in enumerate(example.messages):
        if msg["role"] != "assistant":
            continue
        head = _render(_prefix(example, k), tokenizer, gen=True)
        turn = _render(_prefix(example, k + 1), tokenizer, gen=False)
        if not full.startswith(head):
            raise _prefix_error("the prompt before this assistant turn", k, full, head)
        if not full.startswith(turn) or not turn.startswith(head):
            raise _prefix_error("the conversation up to this assistant turn", k, full, turn)
        if len(head) < cursor:
            raise _prefix_error("the generation prompt of this assistant turn", k, full, head)
        delta = turn[len(head):]
        body = delta.rstrip()
        stop = next((s for s in specials if body.endswith(s)), "")
        if not stop:
            body = delta  # no end-of-turn token: train the whole turn; the gate reports the missing stop
        if cursor < len(head):
            segments.append(Segment(cursor, len(head), False))
        trained = k not in example.untrained  # a record can keep a turn out of the loss (Message.train: false)
        segments.append(Segment(len(head), len(head) + len(body), trained, k))
        if trained:
            stops[k] = stop
        cursor = len(head) + len(body)
    if cursor < len(full):
        segments.append(Segment(cursor, len(full), False))
    return full, [s for s in segments if s.end > s.start], stops


def _encode(tokenizer: Any, text: str, offsets: bool) -> dict[str, Any]:
    return tokenizer(text, add_special_tokens=False, return_offsets_mapping=offsets)


def tokenize_example(
    example: ChatExample, tokenizer: Any, *, max_length: int | None = None, specials: list[str] | None = None
) -> TokenizedExample:
    """``input_ids`` / ``labels`` for one conversation (labels ``-100`` outside the assistant's turns).

    With ``max_length`` the sequence keeps its start; :attr:`TokenizedExample.truncated` says it was cut.
    """
    text, segments, stops = render_segments(example, tokenizer, specials=specials)
    trained = [s for s in segments if s.trained]
    mixed = 0
    if getattr(tokenizer, "is_fast", False):
        enc = _encode(tokenizer, text, True)
        ids = list(enc["input_ids"])
        offsets = [tuple(o) for o in enc["offset_mapping"]]
        labels = []
        j = 0
        for tid, (s, e) in zip(ids, offsets):
            while j < len(trained) and trained[j].end <= s:
                j += 1
            seg = trained[j] if j < len(trained) else None
            inside = seg is not None and (s < seg.end and e > seg.start if e > s else seg.start <= s < seg.end)
            if inside and (s < seg.start or e > seg.end):
                mixed += 1
            labels.append(tid if inside else IGNORE_INDEX)
    else:  # slow tokenizer: no offsets; tokenize segment by segment
        ids, labels, offsets = [], [], None
        for seg in segments:
            part = list(_encode(tokenizer, text[seg.start:seg.end], False)["input_ids"])
            ids += part
            labels += part if seg.trained else [IGNORE_INDEX] * len(part)
    out = TokenizedExample(
        input_ids=ids, labels=labels, text=text, segments=segments, offsets=offsets, stop_tokens=stops,
        mixed_tokens=mixed,
    )
    if max_length is not None and len(ids) > max_length:
        out.input_ids, out.labels = ids[:max_length], labels[:max_length]
        if offsets is not None:
            out.offsets = offsets[:max_length]
        out.truncated = True
    return out
