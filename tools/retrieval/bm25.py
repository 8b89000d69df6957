"""Okapi BM25 over a small in-memory corpus: tokenisation, light stemming, IDF and length normalisation.

score(d, q) = Σ_t∈q IDF(t) · tf(t, d) · (k1 + 1) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl)),
IDF(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))  (the non-negative variant Lucene uses).

Titles count ``title_weight`` times (a cheap field boost). The index is immutable once built, so one index can
be shared by any number of environments.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["tokenize", "BM25Index"]

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers him his how i if in into is it its itself just me more most my no nor not of
    off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours
    """.split()
)


def _stem(word: str) -> str:
    """A deliberately light suffix stripper: plural and common verb endings, so 'probes'/'probe' and
    'indexes'/'index' meet. Short words are left alone."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + repl
    for suffix, min_len in (("ing", 6), ("ed", 5)):
        if word.endswith(suffix) and len(word) >= min_len:
            stem = word[: -len(suffix)]
            # logging -> log, planned -> plan; but falling -> fall, missed -> miss
            return stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz" else stem
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, lightly stemmed terms; hyphenated words also yield their parts."""
    out: list[str] = []
    for match in _WORD.finditer(text.lower().replace("’", "'")):
        word = match.group(0).replace("'s", "").replace("'", "")
        parts = [word] + (word.split("-") if "-" in word else [])
        out.extend(_stem(p) for p in parts if p and p not in _STOPWORDS)
    return out


@dataclass(frozen=True)
class _Doc:
    id: str
    terms: Counter[str]
    length: int


class BM25Index:
    """BM25 scoring over documents given as (id, title, text)."""

    def __init__(
        self, docs: Sequence[tuple[str, str, str]], *, k1: float = 1.2, b: float = 0.75, title_weight: int = 2
    ) -> None:
        self.k1, self.b = k1, b
        self._docs: dict[str, _Doc] = {}
        df: Counter[str] = Counter()
        for doc_id, title, text in docs:
            terms = tokenize(text)
            terms += tokenize(title) * title_weight
            counts = Counter(terms)
            self._docs[doc_id] = _Doc(doc_id, counts, len(terms))
            df.update(counts.keys())
        self._df = df
        self._unit: dict[str, dict[str, float]] | None = None
        n = len(self._docs)
        self.avgdl = sum(d.length for d in self._docs.values()) / n if n else 0.0
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def __len__(self) -> int:
        return len(self._docs)

    def score(self, doc_id: str, query_terms: Sequence[str]) -> float:
        doc = self._docs[doc_id]
        norm = self.k1 * (1 - self.b + self.b * doc.length / self.avgdl)
        total = 0.0
        for term in query_terms:
            tf = doc.terms.get(term, 0)
            if tf:
                total += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
        return total

    def search(
        self, query_terms: Sequence[str], candidates: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(doc_id, score) of every candidate with a positive score, best first (ties by id, for
        determinism)."""
        ids = candidates if candidates is not None else list(self._docs)
        scored = [(d, self.score(d, query_terms)) for d in ids]
        return sorted(((d, s) for d, s in scored if s > 0), key=lambda x: (-x[1], x[0]))

    def key_terms(self, doc_id: str, n: int = 12) -> list[str]:
        """The doc's ``n`` most characteristic terms shared with at least one other document (tf·idf order), as
        Lucene's MoreLikeThis picks them: a term no other document has cannot link documents."""
        doc = self._docs[doc_id]
        words = [(t, c) for t, c in doc.terms.items() if not t.isdigit() and len(t) > 2 and self._df[t] >= 2]
        ranked = sorted(words, key=lambda kv: (-kv[1] * self.idf[kv[0]], kv[0]))
        return [t for t, _ in ranked[:n]]

    def similar(self, doc_id: str) -> list[tuple[str, float]]:
        """Other documents by cosine similarity of tf·idf vectors, best first (ties by id)."""
        vectors = self._vectors()
        mine = vectors[doc_id]
        scored = []
        for other, vec in vectors.items():
            if other == doc_id:
                continue
            dot = sum(w * vec.get(t, 0.0) for t, w in mine.items())
            if dot > 0:
                scored.append((other, dot))
        return sorted(scored, key=lambda x: (-x[1], x[0]))

    def _vectors(self) -> dict[str, dict[str, float]]:
        if self._unit is None:
            out = {}
            for doc_id, doc in self._docs.items():
                vec = {t: (1 + math.log(c)) * self.idf[t] for t, c in doc.terms.items() if not t.isdigit()}
                norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
                out[doc_id] = {t: w / norm for t, w in vec.items()}
            self._unit = out
        return self._unit
