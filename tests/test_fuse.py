"""Fusion: hand-checked RRF and weighted cases, and Hypothesis invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.query.fuse import RRF_K, rrf, single, weighted


def test_rrf_hand_checked():
    hits = rrf([10, 20], [20, 30])
    by = {h.chunk: h for h in hits}
    assert by[20].score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert by[10].score == pytest.approx(1 / (RRF_K + 1))
    assert [h.chunk for h in hits] == [20, 10, 30]
    assert (by[20].bm25_rank, by[20].dense_rank) == (2, 1) and by[30].bm25_rank is None


def test_weighted_hand_checked():
    hits = weighted([1, 2], [10.0, 5.0], [2, 3], [0.9, 0.5], alpha=0.5)
    by = {h.chunk: h.score for h in hits}
    assert by == pytest.approx({1: 0.5, 2: 0.5, 3: 0.0})
    assert [h.chunk for h in hits] == [1, 2, 3]  # tie broken by row
    with pytest.raises(ValueError):
        weighted([], [], [], [], alpha=2)


rows = st.lists(st.integers(0, 40), max_size=30)


@settings(max_examples=300, deadline=None)
@given(rows, rows, st.floats(0, 1))
def test_fused_results_are_unique_and_from_the_inputs(b, d, alpha):
    for hits in (rrf(b, d), weighted(b, [float(-i) for i in range(len(b))], d, [1.0 / (1 + i) for i in range(len(d))], alpha)):
        chunks = [h.chunk for h in hits]
        assert len(chunks) == len(set(chunks))
        assert set(chunks) == set(b) | set(d)
        assert all(x.score >= y.score for x, y in zip(hits, hits[1:]))
    # equal fused scores are ordered by chunk id, not by where they came from: swapping the legs
    # (which leaves every RRF score unchanged) gives the same order
    assert [h.chunk for h in rrf(b, d)] == [h.chunk for h in rrf(d, b)]
    hits = rrf(b, d)
    assert all(x.chunk < y.chunk for x, y in zip(hits, hits[1:]) if x.score == y.score)


def test_single_leg_keeps_order():
    assert [h.chunk for h in single([5, 3, 5], [3.0, 2.0, 1.0], "bm25")] == [5, 3]
