"""Retrieval suite: BM25 search over a bundled corpus of 48 short documents, plus a reading list (the state).

Tools: ``search_documents``, ``fetch_document``, ``list_collections``, ``find_similar`` (read-only), and
``save_to_reading_list``, ``remove_from_reading_list``, ``get_reading_list`` (stateful, so outcomes are
checkable). Outputs are bounded: at most 20 hits, snippets of at most 240 characters, documents of a few
hundred words.

``toolgym tools py:tools.retrieval`` lists the tools.
"""

from __future__ import annotations

import random
import re
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from toolkit.environment import Environment
from toolkit.errors import ToolError
from toolkit.python_tools import PythonToolset, tool
from tools.retrieval.bm25 import tokenize
from tools.retrieval.corpus import COLLECTION_DESCRIPTIONS, Corpus, Document, load_corpus

__all__ = ["RetrievalEnvironment", "create_environment", "create_toolset"]

MAX_QUERY_CHARS = 300
MAX_NOTE_CHARS = 200
MAX_READING_LIST = 25
SNIPPET_CHARS = 240


class Hit(TypedDict):
    doc_id: str
    title: str
    collection: str
    score: float
    snippet: str


class SearchResults(TypedDict):
    query: str
    collection: str | None
    total_matches: int
    hits: list[Hit]


class FullDocument(TypedDict):
    doc_id: str
    title: str
    collection: str
    published: str
    word_count: int
    text: str


class CollectionInfo(TypedDict):
    name: str
    documents: int
    description: str


class Collections(TypedDict):
    collections: list[CollectionInfo]


class ReadingListEntry(TypedDict):
    doc_id: str
    title: str
    note: str | None


class ReadingList(TypedDict):
    entries: list[ReadingListEntry]


def _snippet(doc: Document, terms: set[str]) -> str:
    """The sentence-aligned window with the most query terms, at most SNIPPET_CHARS characters."""
    sentences = re.split(r"(?<=[.!?])\s+", doc.text)
    best = max(range(len(sentences)), key=lambda i: (len(terms & set(tokenize(sentences[i]))), -i))
    text = sentences[best]
    if best + 1 < len(sentences) and len(text) + len(sentences[best + 1]) < SNIPPET_CHARS:
        text += " " + sentences[best + 1]
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


class RetrievalEnvironment(Environment):
    """Search over the bundled corpus; the reading list is the state (seeded with a few saved documents)."""

    suite = "retrieval"

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        self._corpus: Corpus = load_corpus()
        rng = random.Random(f"retrieval/{seed}")
        saved = setup.get("reading_list")
        if saved is None:
            saved = rng.sample(sorted(self._corpus.documents), k=rng.randint(1, 3))
        self._reading_list: list[dict[str, Any]] = [
            {"doc_id": d, "title": self._corpus.documents[d].title, "note": None} for d in saved
        ]

    def snapshot(self) -> dict[str, Any]:
        # Sorted: the order of saving is not part of the outcome (two saves in either order give the same
        # list).
        rows = [{"id": e["doc_id"], **e} for e in self._reading_list]
        return {"reading_list": sorted(rows, key=lambda r: r["id"])}

    def state_tables(self) -> dict[str, list[dict[str, Any]]]:
        docs = [
            {"id": d.id, "title": d.title, "collection": d.collection, "topic": d.topic,
             "published": d.published}
            for d in self._corpus.documents.values()
        ]
        saved = {e["doc_id"] for e in self._reading_list}
        unsaved = [d for d in docs if d["id"] not in saved]
        collections = [{"id": c, "name": c} for c in self._corpus.collections()]
        return {**self.snapshot(), "documents": docs, "unsaved_documents": unsaved,
                "collections": collections}  # fmt: skip

    def _doc(self, doc_id: str) -> Document:
        doc = self._corpus.documents.get(doc_id.strip())
        if doc is None:
            raise ToolError(
                f"no document with id {doc_id!r}; ids look like 'eng-001' or 'his-004'. "
                "Use search_documents to find a document's id."
            )
        return doc

    def _collection(self, collection: str | None) -> list[str] | None:
        if collection is None:
            return None
        cols = self._corpus.collections()
        key = collection.strip().lower()
        if key not in cols:
            raise ToolError(f"unknown collection {collection!r}; collections: {', '.join(sorted(cols))}")
        return cols[key]

    @tool
    def search_documents(
        self,
        query: str,
        top_k: Annotated[int, Field(ge=1, le=20)] = 5,
        collection: str | None = None,
    ) -> SearchResults:
        """Search the document corpus by keywords, ranked by BM25 relevance.

        Args:
            query: Keywords or a question, e.g. "sqlite write-ahead log" (at most 300 characters).
            top_k: How many hits to return, 1 to 20.
            collection: Only search this collection (see list_collections), e.g. "engineering".
        """
        if len(query) > MAX_QUERY_CHARS:
            raise ToolError(f"the query is {len(query)} characters long; keep it under {MAX_QUERY_CHARS}")
        terms = tokenize(query)
        if not terms:
            raise ToolError(
                "the query has no searchable words (only stop words or punctuation); add keywords"
            )
        candidates = self._collection(collection)
        ranked = self._corpus.index.search(terms, candidates)
        hits: list[Hit] = []
        for doc_id, score in ranked[:top_k]:
            doc = self._corpus.documents[doc_id]
            hits.append({"doc_id": doc.id, "title": doc.title, "collection": doc.collection,
                         "score": round(score, 4), "snippet": _snippet(doc, set(terms))})  # fmt: skip
        return {"query": query, "collection": collection, "total_matches": len(ranked), "hits": hits}

    @tool
    def fetch_document(self, doc_id: str) -> FullDocument:
        """Fetch a document's full text by its id.

        Args:
            doc_id: The document id from a search hit, e.g. "eng-001".
        """
        doc = self._doc(doc_id)
        return {"doc_id": doc.id, "title": doc.title, "collection": doc.collection,
                "published": doc.published, "word_count": len(doc.text.split()),
                "text": doc.text}  # fmt: skip

    @tool
    def list_collections(self) -> Collections:
        """List the corpus's collections with their document counts."""
        cols = self._corpus.collections()
        infos: list[CollectionInfo] = [
            {"name": c, "documents": len(ids), "description": COLLECTION_DESCRIPTIONS.get(c, "")}
            for c, ids in sorted(cols.items())
        ]
        return {"collections": infos}

    @tool
    def find_similar(self, doc_id: str, top_k: Annotated[int, Field(ge=1, le=10)] = 3) -> SearchResults:
        """Find documents similar to a given one (cosine similarity of tf-idf term vectors).

        Args:
            doc_id: The document to start from, e.g. "sci-002".
            top_k: How many similar documents to return, 1 to 10.
        """
        doc = self._doc(doc_id)
        ranked = self._corpus.index.similar(doc.id)
        terms = self._corpus.index.key_terms(doc.id)
        hits: list[Hit] = []
        for other_id, score in ranked[:top_k]:
            other = self._corpus.documents[other_id]
            hits.append({"doc_id": other.id, "title": other.title, "collection": other.collection,
                         "score": round(score, 4), "snippet": _snippet(other, set(terms))})  # fmt: skip
        return {"query": " ".join(terms), "collection": None, "total_matches": len(ranked), "hits": hits}

    @tool
    def save_to_reading_list(self, doc_id: str, note: str | None = None) -> ReadingList:
        """Save a document to the user's reading list, optionally with a short note.

        Args:
            doc_id: The document to save, e.g. "fin-001".
            note: Why it was saved (at most 200 characters).
        """
        doc = self._doc(doc_id)
        if any(e["doc_id"] == doc.id for e in self._reading_list):
            raise ToolError(f"{doc.id} ({doc.title!r}) is already on the reading list")
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise ToolError(f"the note is {len(note)} characters long; keep it under {MAX_NOTE_CHARS}")
        if len(self._reading_list) >= MAX_READING_LIST:
            raise ToolError(f"the reading list is full ({MAX_READING_LIST} documents); remove one first")
        self._reading_list.append({"doc_id": doc.id, "title": doc.title, "note": note})
        return self.get_reading_list()

    @tool
    def remove_from_reading_list(self, doc_id: str) -> ReadingList:
        """Remove a document from the user's reading list.

        Args:
            doc_id: The document to remove, e.g. "his-003".
        """
        for i, entry in enumerate(self._reading_list):
            if entry["doc_id"] == doc_id.strip():
                del self._reading_list[i]
                return self.get_reading_list()
        saved = ", ".join(e["doc_id"] for e in self._reading_list) or "(empty)"
        raise ToolError(f"{doc_id!r} is not on the reading list; saved: {saved}")

    @tool
    def get_reading_list(self) -> ReadingList:
        """Show the user's reading list, oldest first."""
        return {"entries": [dict(e) for e in self._reading_list]}  # type: ignore[misc]


def create_environment() -> RetrievalEnvironment:
    """A new retrieval environment (seed 0)."""
    return RetrievalEnvironment()


def create_toolset() -> PythonToolset:
    """The retrieval tools over a fresh state (``toolgym tools py:tools.retrieval``)."""
    return create_environment().toolset()
