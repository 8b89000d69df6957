"""Retrieval suite: BM25 ranking over the bundled corpus, bounded results, and the reading list state."""

from __future__ import annotations

import math

import pytest

from tools.retrieval import RetrievalEnvironment
from tools.retrieval.bm25 import BM25Index, tokenize
from tools.retrieval.corpus import load_corpus


@pytest.fixture
def env() -> RetrievalEnvironment:
    return RetrievalEnvironment()


def ok(env, name, **args):
    result = env.call(name, args)
    assert not result.is_error, result.content
    return result.structured


def err(env, name, **args) -> str:
    result = env.call(name, args)
    assert result.is_error, result.content
    return result.content


def test_the_corpus_has_48_documents_in_six_collections_with_unique_ids():
    corpus = load_corpus()
    assert 40 <= len(corpus.documents) <= 60
    assert set(corpus.collections()) == {"engineering", "science", "health", "history", "finance", "travel"}
    assert all(50 <= len(d.text.split()) <= 150 for d in corpus.documents.values())


def test_tokenizer_lowercases_drops_stop_words_and_stems_plurals():
    assert tokenize("The Probes and the INDEXES of Kubernetes") == ["probe", "index", "kubernete"]
    assert tokenize("write-ahead logging") == ["write-ahead", "write", "ahead", "log"]
    assert tokenize("the of and") == []


def test_idf_favours_rare_terms_and_length_normalisation_favours_short_documents():
    long_doc = "apple " + "filler " * 30 + "banana"
    index = BM25Index([("a", "", "apple banana"), ("b", "", "apple cherry"), ("c", "", long_doc)])
    assert index.idf["banana"] > index.idf["apple"]
    assert index.idf["apple"] == pytest.approx(math.log(1 + 0.5 / 3.5))
    ranked = index.search(["banana"])
    assert [d for d, _ in ranked] == ["a", "c"]  # same tf, the shorter document first
    assert index.score("a", ["banana", "banana"]) == pytest.approx(2 * index.score("a", ["banana"]))


def test_every_documents_topic_finds_that_document_first(env):
    for doc in load_corpus().documents.values():
        hits = ok(env, "search_documents", query=doc.topic, top_k=1)["hits"]
        assert hits[0]["doc_id"] == doc.id, doc.topic


def test_search_returns_ranked_hits_with_ids_titles_scores_and_bounded_snippets(env):
    out = ok(env, "search_documents", query="why does my sqlite database have a wal file", top_k=3)
    hits = out["hits"]
    assert len(hits) == 3 and out["total_matches"] >= 3
    assert hits[0]["doc_id"] == "eng-001" and hits[0]["title"] == "SQLite write-ahead logging explained"
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all(0 < len(h["snippet"]) <= 240 for h in hits)
    assert "WAL" in hits[0]["snippet"]


def test_a_collection_filter_restricts_the_hits(env):
    hits = ok(env, "search_documents", query="interest rates", collection="Finance", top_k=20)["hits"]
    assert hits and all(h["collection"] == "finance" for h in hits)


def test_search_rejects_bad_input_with_actionable_messages(env):
    assert "collections: engineering, finance, health, history, science, travel" in err(
        env, "search_documents", query="taxes", collection="legal")
    assert "no searchable words" in err(env, "search_documents", query="what is the")
    assert "keep it under 300" in err(env, "search_documents", query="word " * 100)
    too_many = env.call("search_documents", {"query": "bonds", "top_k": 50})
    assert too_many.is_error and too_many.error_kind == "invalid_arguments"
    assert "maximum of 20" in too_many.content


def test_fetch_document_returns_the_full_text(env):
    doc = ok(env, "fetch_document", doc_id="his-003")
    assert doc["title"] == "The Apollo 11 Moon landing" and "Sea of Tranquility" in doc["text"]
    assert doc["word_count"] == len(doc["text"].split()) and doc["published"] == "2019-07-20"
    assert "Use search_documents" in err(env, "fetch_document", doc_id="his-999")


def test_list_collections_counts_every_document(env):
    cols = ok(env, "list_collections")["collections"]
    assert [c["name"] for c in cols] == sorted(c["name"] for c in cols)
    assert sum(c["documents"] for c in cols) == 48 and all(c["description"] for c in cols)


def test_every_document_has_similar_documents(env):
    for doc_id in load_corpus().documents:
        hits = ok(env, "find_similar", doc_id=doc_id, top_k=2)["hits"]
        assert len(hits) == 2 and hits[0]["score"] >= hits[1]["score"] > 0


def test_find_similar_leaves_out_the_document_itself(env):
    out = ok(env, "find_similar", doc_id="fin-005", top_k=3)
    ids = [h["doc_id"] for h in out["hits"]]
    assert len(ids) == 3 and "fin-005" not in ids
    assert out["hits"][0]["collection"] == "finance"
    assert "no document" in err(env, "find_similar", doc_id="nope")


def test_the_reading_list_is_the_state(env):
    start = env.snapshot()["reading_list"]
    assert 1 <= len(start) <= 3
    new = next(d for d in sorted(load_corpus().documents) if d not in {e["id"] for e in start})
    saved = ok(env, "save_to_reading_list", doc_id=new, note="for Friday")
    title = load_corpus().documents[new].title
    assert saved["entries"][-1] == {"doc_id": new, "title": title, "note": "for Friday"}
    assert "already on the reading list" in err(env, "save_to_reading_list", doc_id=new)
    changes = env.diff({"reading_list": start}, env.snapshot())
    assert len(changes) == 1 and changes[0].startswith(f"reading_list[{new}]: added")
    ok(env, "remove_from_reading_list", doc_id=new)
    assert env.snapshot()["reading_list"] == start
    assert "not on the reading list" in err(env, "remove_from_reading_list", doc_id=new)


def test_the_order_of_saving_does_not_change_the_snapshot():
    a, b = RetrievalEnvironment(), RetrievalEnvironment()
    saved = {e["id"] for e in a.snapshot()["reading_list"]}
    free = [d for d in sorted(load_corpus().documents) if d not in saved]
    for doc_id in free[:2]:
        ok(a, "save_to_reading_list", doc_id=doc_id)
    for doc_id in reversed(free[:2]):
        ok(b, "save_to_reading_list", doc_id=doc_id)
    assert a.snapshot() == b.snapshot()


def test_the_reading_list_is_bounded(env):
    for doc_id in sorted(load_corpus().documents):
        if len(env.snapshot()["reading_list"]) == 25:
            break
        env.call("save_to_reading_list", {"doc_id": doc_id})
    last = sorted(load_corpus().documents)[-1]
    assert "reading list is full" in err(env, "save_to_reading_list", doc_id=last)
    long_note = err(RetrievalEnvironment(), "save_to_reading_list", doc_id="eng-002", note="x" * 201)
    assert "keep it under 200" in long_note


def test_seeds_give_different_starting_reading_lists():
    lists = set()
    env = RetrievalEnvironment()
    for seed in range(6):
        env.reset(seed=seed)
        lists.add(tuple(e["id"] for e in env.snapshot()["reading_list"]))
    assert len(lists) > 1
