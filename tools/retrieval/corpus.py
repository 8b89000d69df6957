"""The bundled corpus (``corpus.jsonl``): 48 short documents in six collections, loaded once, read-only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from tools.retrieval.bm25 import BM25Index

__all__ = ["Document", "Corpus", "load_corpus", "COLLECTION_DESCRIPTIONS"]

COLLECTION_DESCRIPTIONS = {
    "engineering": "Software and infrastructure: databases, networking, Python, Kubernetes, APIs.",
    "science": "Biology, physics, earth and climate science.",
    "health": "Sleep, exercise, nutrition and everyday health guidance.",
    "history": "Events and inventions from the Middle Ages to the space age.",
    "finance": "Personal finance and investing basics.",
    "travel": "Practical travel advice.",
}


@dataclass(frozen=True)
class Document:
    id: str
    collection: str
    title: str
    topic: str
    published: str
    text: str


@dataclass(frozen=True)
class Corpus:
    documents: dict[str, Document]
    index: BM25Index

    def collections(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for doc in self.documents.values():
            out.setdefault(doc.collection, []).append(doc.id)
        return out


@lru_cache(maxsize=1)
def load_corpus() -> Corpus:
    """Parse and index the corpus (cached: it never changes while the process runs)."""
    text = resources.files("tools.retrieval").joinpath("corpus.jsonl").read_text(encoding="utf-8")
    docs = [Document(**json.loads(line)) for line in text.splitlines() if line.strip()]
    index = BM25Index([(d.id, d.title, d.text) for d in docs])
    return Corpus({d.id: d for d in docs}, index)
