"""Which fitted variant and calibration an answer uses (issue 11: degraded answers stay honest)."""

from __future__ import annotations

import pytest

from qa.index.build import build_index
from qa.query.calibration import Calibration
from qa.query.engine import Engine
from conftest import CORPUS, FakeEmbedder

SITE = Calibration(threshold=-99.0, a=0.5, b=0.1, rule="a site's own", fitted_on="test")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("variants") / "idx"
    build_index(CORPUS, out, FakeEmbedder())
    return Engine.load(out, FakeEmbedder()).data


def test_a_site_calibration_replaces_the_hybrid_one_only(data):
    e = Engine(data, FakeEmbedder(), calibration=SITE)
    lexical = e.model.variants["lexical"].calibration
    hybrid = e.ask("midostaurin days FLT3")
    assert e.variant_for(False) == "lexical" and hybrid.confidence == SITE.confidence(hybrid.raw_score)
    assert not hybrid.abstained  # the site's threshold (-99) is the one in force
    bm25 = e.ask("midostaurin days FLT3", mode="bm25")
    assert bm25.confidence == lexical.confidence(bm25.raw_score)  # never the hybrid threshold
    assert bm25.abstained == (bm25.raw_score < lexical.threshold)


def test_a_failed_embedder_answers_with_the_lexical_variant(data):
    class Broken(FakeEmbedder):
        def embed_batch(self, texts):
            raise RuntimeError("model crashed")

    e = Engine(data, Broken(), calibration=SITE)
    a = e.ask("midostaurin days FLT3")
    lexical = e.model.variants["lexical"].calibration
    assert a.degraded and a.confidence == lexical.confidence(a.raw_score)


def test_a_calibration_fitted_for_another_model_is_refused(data):
    other = Calibration(threshold=0.0, model_sha="0" * 64)
    with pytest.raises(ValueError, match="fitted for answer model 000000000000"):
        Engine(data, FakeEmbedder(), calibration=other)
    mine = Engine(data, FakeEmbedder())
    Engine(data, FakeEmbedder(), calibration=Calibration(threshold=0.0, model_sha=mine.model.sha256))  # accepted
