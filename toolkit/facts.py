"""Whether an answer states a fact: the answer check of graders, rewards and synthesis, in one place."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["fact_in_answer"]

_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def _normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,234 -> 1234
    text = re.sub(r"[\"'`*_“”‘’]", "", text)
    return " ".join(text.split())


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _significant(d: Decimal) -> int:
    return len(d.normalize().as_tuple().digits)


def _states_number(fact: Decimal, said: Decimal) -> bool:
    """``said`` is ``fact`` or ``fact`` rounded to the decimals ``said`` shows, with enough significant
    digits."""
    if said == fact:
        return True
    places = said.as_tuple().exponent
    if not isinstance(places, int) or _significant(said) < min(3, _significant(fact)):
        return False
    quantum = Decimal(1).scaleb(places)
    return any(fact.quantize(quantum, rounding=r) == said for r in (ROUND_HALF_UP, ROUND_HALF_EVEN))


def fact_in_answer(fact: str, answer: str) -> bool:
    """Whether ``fact`` is stated in ``answer``: case-, quote- and space-insensitive substring match. A
    numeric fact also matches a number of equal value (``12.50`` states ``12.5``; ``1,234`` states ``1234``)
    or the fact rounded to the decimals written, with at least 3 significant digits (``3.11`` states
    ``3.10686``; ``3`` does not); a negative fact may be stated by its size ("down 15.13%" states
    ``-15.13``)."""
    norm_fact, norm_answer = _normalise_text(fact), _normalise_text(answer)
    value = _number(norm_fact) if _NUMBER.fullmatch(norm_fact) else None
    if value is None:  # whole words only: the fact "O-5001" is not stated by "o-50012"
        return bool(norm_fact) and re.search(rf"(?<!\w){re.escape(norm_fact)}(?!\w)", norm_answer) is not None
    for m in _NUMBER.finditer(norm_answer):
        said = _number(m.group(0))
        if said is not None and (_states_number(value, said) or (value < 0 and _states_number(-value, said))):
            return True  # a negative fact may be stated by its size ("down 15.13%")
    return False
