"""The clinical tokenizer, and bm25s checked against rank-bm25 as the reference."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.bm25 import BM25Index, BM25Params, tokenize


@pytest.mark.parametrize("text,token", [
    ("FLT3-ITD positive", "flt3-itd"),
    ("standard 7+3 induction", "7+3"),
    ("100 mg/m2 IV", "mg/m2"),
    ("core-binding factor t(8;21)", "t(8;21)"),
    ("inv(16) AML", "inv(16)"),
    ("0.5 mg", "0.5"),
])
def test_clinical_tokens_stay_whole(text, token):
    assert token in tokenize(text)


def test_lowercase_stemmed_stopwords_dropped_parts_emitted():
    toks = tokenize("The Patients were treated with FLT3-ITD inhibitors")
    assert "the" not in toks and "were" not in toks
    assert "patient" in toks and "treat" in toks and "inhibitor" in toks
    assert {"flt3-itd", "flt3", "itd"} <= set(toks)


CORPUS = [
    "cytarabine induction days one to seven",
    "daunorubicin anthracycline days one to three",
    "midostaurin for flt3 mutated disease",
    "allogeneic transplant in first remission",
    "intrathecal methotrexate for cns prophylaxis",
    "hydration and rasburicase for tumour lysis",
    "venetoclax with azacitidine for older patients",
    "bone marrow biopsy confirms the diagnosis",
]


def test_bm25s_robertson_equals_rank_bm25_okapi_times_k1_plus_1():
    """No term is in over half the documents, so Okapi's idf is positive and never floored."""
    rank_bm25 = pytest.importorskip("rank_bm25")
    docs = [d.split() for d in CORPUS]
    k1, b = 1.5, 0.75
    ref = rank_bm25.BM25Okapi(docs, k1=k1, b=b)
    ours = BM25Index.build(docs, BM25Params(k1=k1, b=b, method="robertson"))
    for query in (["days", "one"], ["midostaurin", "flt3"], ["methotrexate"], ["for", "older", "patients"]):
        expected = ref.get_scores(query)
        vocab = ours.model.vocab_dict
        got = ours.model.get_scores([vocab[t] for t in query if t in vocab])
        np.testing.assert_allclose(got * (k1 + 1), expected, rtol=1e-5)


def test_lucene_idf_never_negative_for_common_terms():
    """rank-bm25's trap: Okapi idf goes negative for a term in most documents; lucene's does not."""
    docs = [["leukemia", f"w{i}"] for i in range(9)] + [["other"]]
    idx = BM25Index.build(docs)
    rows, scores = idx.search(["leukemia"], 10)
    assert len(rows) == 9 and (scores > 0).all()


def test_search_order_ties_and_filter_mask():
    docs = [["a", "b"], ["a", "b"], ["c"], ["a"]]
    idx = BM25Index.build(docs)
    rows, _ = idx.search(["a", "b"], 10)
    assert rows[:2].tolist() == [0, 1]  # tie broken by row
    mask = np.array([0, 1, 1, 0], dtype=np.float32)
    rows, _ = idx.search(["a"], 10, mask)
    assert rows.tolist() == [1]
    assert idx.search(["zzz"], 5)[0].size == 0 and idx.search([], 5)[0].size == 0


def test_save_load_roundtrip(tmp_path):
    idx = BM25Index.build([tokenize(t) for t in CORPUS])
    idx.save(tmp_path)
    again = BM25Index.load(tmp_path, BM25Params(), len(CORPUS))
    q = tokenize("methotrexate prophylaxis")
    assert idx.search(q, 3)[0].tolist() == again.search(q, 3)[0].tolist()
    with pytest.raises(ValueError):
        BM25Index.load(tmp_path, BM25Params(), len(CORPUS) + 1)
