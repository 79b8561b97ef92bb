"""Cold start (issue 15): what a new process loads before it answers. The question trace comes from
a checked cache; BM25 needs no compile; input is validated before anything heavy loads."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import CORPUS, FakeEmbedder
from qa.embed import trace_cache
from qa.index.build import build_index
from qa.index.store import load_index

QUESTIONS = ["FLT3-ITD AML going into 7+3: what do I add?", "IT methotrexate dose for a 2 year old?", "x " * 400]


def test_an_empty_question_or_unknown_mode_fails_before_any_index_or_model_loads(tmp_path):
    from qa.cli import app

    missing = str(tmp_path / "no-index-here")
    r = CliRunner().invoke(app, ["ask", "  ", "--index", missing])
    assert r.exit_code == 2 and "question is empty" in r.output and "no index" not in r.output
    r = CliRunner().invoke(app, ["ask", "dose?", "--mode", "fastest", "--index", missing])
    assert r.exit_code == 2 and "unknown mode" in r.output


def test_bm25_numpy_scores_are_bm25s_own(tmp_path):
    """qa scores in numpy from bm25s's matrix; bm25s's numpy scorer must give the same numbers."""
    build_index(CORPUS, tmp_path / "idx", FakeEmbedder())
    bm = load_index(tmp_path / "idx").bm25
    vocab = [t for t in bm.model.vocab_dict if t]
    rng = random.Random(0)
    for _ in range(200):
        ids = [bm.model.vocab_dict[t] for t in rng.sample(vocab, rng.randint(1, 10))]
        ids += ids[:rng.randint(0, 2)]  # repeated terms count twice, as in bm25s
        assert np.array_equal(bm.scores(ids), bm.model.get_scores_from_ids(ids))
    assert bm.model.backend == "numpy"  # a small index never compiles numba


@pytest.mark.slow
def test_the_question_trace_is_cached_checked_and_rebuilt_when_bad(tmp_path):
    from qa.embed.torch import SentenceTransformerEmbedder

    first = SentenceTransformerEmbedder(cache_dir=tmp_path)
    assert first._cached is None and first._traced is not None  # traced now, and saved
    pt, js = trace_cache.entry(tmp_path, first._path)
    assert pt.is_file() and json.loads(js.read_text())["dim"] == first.dim
    want = [first.embed_query(q) for q in QUESTIONS]

    second = SentenceTransformerEmbedder(cache_dir=tmp_path)
    assert second._cached is not None and second._st is None  # loaded; sentence-transformers never
    for q, w in zip(QUESTIONS, want):
        assert float(second.embed_query(q) @ w) > 0.9999
    assert (second.dim, second.max_seq_length) == (first.dim, first.max_seq_length)

    raw = bytearray(pt.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pt.write_bytes(bytes(raw))  # corrupt: fails its sha256, so traced again
    third = SentenceTransformerEmbedder(cache_dir=tmp_path)
    assert third._cached is None and float(third.embed_query(QUESTIONS[0]) @ want[0]) > 0.9999

    meta = json.loads(js.read_text())
    meta["probe"] = [-x for x in meta["probe"]]  # a trace that no longer gives the model's vectors
    js.write_text(json.dumps(meta))
    assert trace_cache.load(tmp_path, first._path) is None
