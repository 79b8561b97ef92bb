"""FAISS wrapper: exact flat search, IVF above the size threshold, filters, no -1 leaks."""

from __future__ import annotations

import numpy as np

from qa.index.vectors import VectorIndex, choose_kind


def unit(n, d, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_kind_by_size():
    assert choose_kind(1000) == "flat" and choose_kind(2_000_000) == "ivf"


def test_flat_is_exact_and_never_pads(tmp_path):
    v = unit(50, 8)
    ix = VectorIndex.build(v)
    rows, scores = ix.search(v[3], 100)  # k larger than the index: no -1 rows come back
    assert len(rows) == 50 and rows[0] == 3 and (rows >= 0).all()
    assert np.all(np.diff(scores) <= 1e-6)
    rows, _ = ix.search(v[3], 10, allowed=np.array([7, 9]))
    assert sorted(rows.tolist()) == [7, 9]
    assert ix.search(v[3], 5, allowed=np.array([], dtype=np.int64))[0].size == 0


def test_ivf_filters_are_exact_and_roundtrip(tmp_path):
    v = unit(8000, 16, seed=1)
    ix = VectorIndex.build(v, "ivf")
    allowed = np.array([11, 500, 7000])
    rows, scores = ix.search(v[11], 3, allowed=allowed)
    expected = allowed[np.argsort(-(v[allowed] @ v[11]))]
    assert rows.tolist() == expected.tolist()
    ix.save(tmp_path / "ivf.faiss")
    again = VectorIndex.load(tmp_path / "ivf.faiss")
    assert again.kind == "ivf" and again.search(v[42], 5)[0].tolist() == ix.search(v[42], 5)[0].tolist()
    assert again.storage == "fp16"
    np.testing.assert_allclose(again.reconstruct_all(), v, atol=1e-3)  # float16: 11 bits of mantissa


def test_a_search_leaves_the_callers_openmp_threads_as_they_were():
    import faiss

    ix = VectorIndex.build(unit(500, 16, seed=2), "flat")
    before = faiss.omp_get_max_threads()
    try:
        faiss.omp_set_num_threads(2)
        ix.search(unit(1, 16, seed=3)[0], 5)
        ix.search(unit(1, 16, seed=3)[0], 5, allowed=np.arange(10))
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(before)


def test_a_broad_ivf_filter_scores_in_place_and_stays_exact():
    v = unit(8000, 16, seed=4)
    ix = VectorIndex.build(v, "ivf")
    ix.index.reconstruct_batch = lambda *a: (_ for _ in ()).throw(AssertionError("copied the allowed vectors"))
    allowed = np.arange(0, 8000, 2)
    rows, scores = ix.search(v[10], 10, allowed=allowed)
    exact = allowed[np.argsort(-(v[allowed] @ v[10]), kind="stable")][:10]
    assert rows.tolist() == exact.tolist() and np.all(np.diff(scores) <= 1e-6)


def test_float16_storage_finds_what_exact_float32_search_finds(tmp_path):
    v, q = unit(5000, 64, seed=5), unit(100, 64, seed=6)
    exact = VectorIndex.build(v, "flat", storage="fp32")
    half = VectorIndex.build(v, "flat")
    assert (exact.storage, half.storage) == ("fp32", "fp16")
    hits = [len(set(exact.search(x, 10)[0]) & set(half.search(x, 10)[0])) for x in q]
    assert sum(hits) / (10 * len(q)) >= 0.99
    _, s32 = exact.search(q[0], 5)
    _, s16 = half.search(q[0], 5)
    np.testing.assert_allclose(s16, s32, atol=2e-3)
    half.save(tmp_path / "h.faiss")
    exact.save(tmp_path / "e.faiss")  # an index built before float16 storage still loads and searches
    assert VectorIndex.load(tmp_path / "h.faiss").storage == "fp16"
    old = VectorIndex.load(tmp_path / "e.faiss")
    assert old.storage == "fp32" and old.search(v[7], 1)[0][0] == 7


def test_an_unknown_storage_is_refused():
    import pytest

    with pytest.raises(ValueError, match="unknown vector storage"):
        VectorIndex.build(unit(10, 8), storage="int4")


def test_memory_mapped_vectors_search_as_read_ones(tmp_path):
    """What mapping saves is measured by benchmarks/scale.py (--rss); here, that nothing else changes."""
    v = unit(8000, 16, seed=3)
    for kind, storage in (("flat", "fp16"), ("ivf", "fp16"), ("flat", "fp32"), ("ivf", "fp32")):
        path = tmp_path / f"{kind}-{storage}.faiss"
        VectorIndex.build(v, kind, storage=storage).save(path)
        mapped, read = VectorIndex.load(path), VectorIndex.load(path, mmap=False)
        for q in (v[5], v[4000]):
            assert [a.tolist() for a in mapped.search(q, 10)] == [a.tolist() for a in read.search(q, 10)]
            allowed = np.array([3, 77, 5000])
            assert mapped.search(q, 2, allowed)[0].tolist() == read.search(q, 2, allowed)[0].tolist()
        assert np.array_equal(mapped.reconstruct_all(), read.reconstruct_all())
