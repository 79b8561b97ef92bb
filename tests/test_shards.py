"""A sharded index (issue 13 part 3): built from the bundled corpus cut into one document per
section, with the real model; its search equals the unsharded index's in every mode, its BM25
equals bm25s's own, and a failed build leaves the previous index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, split_bundled_corpus

SHARDS = 3


@pytest.fixture(scope="module")
def split_corpus(tmp_path_factory) -> Path:
    return split_bundled_corpus(tmp_path_factory.mktemp("split"))


@pytest.fixture(scope="module")
def indexes(split_corpus, tmp_path_factory, real_embedder):
    from qa.index.build import build_index
    from qa.index.shards import build_sharded

    root = tmp_path_factory.mktemp("sharded")
    build_index(split_corpus, root / "one", real_embedder)
    results = build_sharded(split_corpus, root / "three", real_embedder, SHARDS, reuse_from=root / "one")
    return root / "one", root / "three", results


def _questions() -> list[str]:
    return [json.loads(line)["text"] for line in (ROOT / "eval" / "seeds" / "queries.jsonl").open()]


def test_bm25_with_the_corpus_own_stats_is_bm25s(split_corpus):
    from qa.index.bm25 import BM25Index, CorpusStats, tokenize
    from qa.ingest.corpus import read_corpus

    tokens = [tokenize(p) for d in read_corpus(split_corpus) for p in d.text.split("\n\n")]
    a, b = BM25Index.build(tokens), BM25Index.build(tokens, stats=CorpusStats.of(tokens))
    assert a.model.vocab_dict == b.model.vocab_dict
    for k in ("data", "indices", "indptr"):
        assert np.array_equal(a.model.scores[k], b.model.scores[k]), k


def test_every_document_is_in_one_shard_and_vectors_are_the_unsharded_ones(indexes):
    from qa.index.shards import open_shards, shard_of
    from qa.index.store import load_index

    one, three, results = indexes
    whole, shards = load_index(one), open_shards(three)
    assert len(shards.members) == SHARDS
    rows = sorted(r for m in shards.members for r in m.doc_rows)
    assert rows == list(range(len(whole.docs)))
    by_key = {k.tobytes(): v for k, v in zip(whole.sentence_keys, whole.sentence_vectors)}
    for s, m in enumerate(shards.members):
        part = load_index(shards.path(m))
        assert [d.doc_id for d in part.docs] == [whole.docs[r].doc_id for r in m.doc_rows]
        assert all(shard_of(d.doc_id, SHARDS) == s for d in part.docs)
        assert part.manifest["bm25_corpus"]["chunks"] == len(whole.chunks)
        for k, v in zip(part.sentence_keys, part.sentence_vectors):
            assert np.abs(by_key[k.tobytes()] - v).max() <= 1e-5
    assert sum(r.embedded for r in results) == 0  # every vector came from the unsharded index


@pytest.mark.parametrize("mode", ["hybrid-weighted", "hybrid", "bm25", "dense"])
def test_sharded_search_is_the_unsharded_search(indexes, real_embedder, mode):
    from qa.index.shards import open_shards
    from qa.query.engine import Engine
    from qa.query.question import prepare_question
    from qa.query.sharded import LocalPool, ShardedSearch

    one, three, _ = indexes
    engine = Engine.load(one, real_embedder, vocabulary=False)  # sharded search reads questions as typed
    shards = open_shards(three)
    search = ShardedSearch(LocalPool([(str(shards.path(m)), m.doc_rows) for m in shards.members]), real_embedder)
    checked = 0
    for question in _questions():
        q = prepare_question(question)[1]
        vec = real_embedder.embed_query(q)
        hits = engine.retrieve(q, vec, mode, 10)[:10]
        want = [(engine.data.chunks[h.chunk].chunk_id, round(h.score, 6), h.bm25_rank, h.dense_rank) for h in hits]
        got = [(p.chunk_id, p.score, p.bm25_rank, p.dense_rank)
               for p in search.search(question, top_k=10, mode=mode, q_vec=vec).passages]
        assert got == want, question
        checked += len(want) > 0
    assert checked >= 70


def test_a_tampered_shard_list_is_refused(indexes, tmp_path):
    import shutil

    from qa.index.shards import SHARDS_FILE, open_shards
    from qa.index.store import IndexError_

    copy = tmp_path / "copy"
    shutil.copytree(indexes[1].resolve(), copy, symlinks=True)
    body = json.loads((copy / SHARDS_FILE).read_text())
    body["members"][1]["index_id"] = "0" * 16
    (copy / SHARDS_FILE).write_text(json.dumps(body))
    with pytest.raises(IndexError_, match="shard-1 holds index"):
        open_shards(copy)


def test_a_failed_sharded_build_leaves_the_previous_index(indexes, split_corpus, real_embedder, tmp_path):
    import shutil

    from qa.index.shards import build_sharded, open_shards

    out = tmp_path / "idx"
    build_sharded(split_corpus, out, real_embedder, 2, reuse_from=indexes[0])
    before = [m.index_id for m in open_shards(out).members]

    class Failing(type(real_embedder)):
        def embed_batch(self, texts):
            raise RuntimeError("the encoder died")

    broken = Failing.__new__(Failing)
    broken.__dict__.update(real_embedder.__dict__)
    (split_corpus / "new.md").write_text("# New\n\nA sentence that no index has embedded yet, about marrow.\n")
    try:
        with pytest.raises(RuntimeError, match="encoder died"):
            build_sharded(split_corpus, out, broken, 2)
    finally:
        (split_corpus / "new.md").unlink()
    assert [m.index_id for m in open_shards(out).members] == before
    assert not [p for p in tmp_path.iterdir() if ".build-" in p.name]  # nothing half-built left behind
    shutil.rmtree(out.resolve())


def test_too_many_shards_for_the_documents_is_a_clear_error(split_corpus, real_embedder, tmp_path):
    from qa.index.shards import build_sharded
    from qa.ingest.corpus import CorpusError

    with pytest.raises(CorpusError, match="leave a shard empty"):
        build_sharded(split_corpus, tmp_path / "idx", real_embedder, 200)


def test_ask_on_a_sharded_index_says_what_it_is(indexes):
    from qa.index.store import IndexError_, read_manifest

    with pytest.raises(IndexError_, match="is a sharded index"):
        read_manifest(indexes[1])
