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


def _conf(cal: Calibration, answer):
    """The confidence ``cal`` gives the answer's score: ``raw_score`` is shown rounded to 4 places
    and confidence comes from the unrounded one, so the two may differ in the 4th place."""
    return pytest.approx(cal.confidence(answer.raw_score), abs=2e-4)


def test_a_site_calibration_replaces_the_hybrid_one_only(data):
    e = Engine(data, FakeEmbedder(), calibration=SITE)
    lexical = e.model.variants["lexical"].calibration
    hybrid = e.ask("midostaurin days FLT3")
    assert e.variant_for(False) == "lexical" and hybrid.confidence == _conf(SITE, hybrid)
    assert not hybrid.abstained  # the site's threshold (-99) is the one in force
    bm25 = e.ask("midostaurin days FLT3", mode="bm25")
    assert bm25.confidence == _conf(lexical, bm25)  # never the hybrid threshold
    assert bm25.abstained == (bm25.raw_score < lexical.threshold)


def test_a_failed_embedder_answers_with_the_lexical_variant(data):
    class Broken(FakeEmbedder):
        def embed_batch(self, texts):
            raise RuntimeError("model crashed")

    e = Engine(data, Broken(), calibration=SITE)
    a = e.ask("midostaurin days FLT3")
    lexical = e.model.variants["lexical"].calibration
    assert a.degraded and a.confidence == _conf(lexical, a)


def test_a_calibration_fitted_for_another_model_is_refused(data):
    other = Calibration(threshold=0.0, model_sha="0" * 64)
    with pytest.raises(ValueError, match="fitted for answer model 000000000000"):
        Engine(data, FakeEmbedder(), calibration=other)
    mine = Engine(data, FakeEmbedder())
    Engine(data, FakeEmbedder(), calibration=Calibration(threshold=0.0, model_sha=mine.model.sha256))  # accepted


# -- a corpus's own calibration travels with its index (issue 17: `qa ask` abstained without QA_CALIBRATION)

def _corpus_with(tmp_path, calibration_text: str | None):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for p in CORPUS.glob("*.md"):
        (folder / p.name).write_text(p.read_text())
    if calibration_text is not None:
        (folder / "qa-calibration.json").write_text(calibration_text)
    return folder


def test_the_bundled_corpus_calibration_is_used_with_no_setting(data):
    bundled = Calibration.from_dict(__import__("json").loads((CORPUS / "qa-calibration.json").read_text()))
    e = Engine(data, FakeEmbedder())
    assert e.calibration_source == "index" and e.calibrations["hybrid"] == bundled
    a = e.ask("midostaurin days FLT3")
    assert a.confidence == _conf(bundled, a)
    site = Engine(data, FakeEmbedder(), calibration=SITE)  # QA_CALIBRATION overrides the index's
    assert site.calibration_source == "QA_CALIBRATION" and site.calibrations["hybrid"] == SITE


def test_a_folder_without_one_uses_the_model_calibration(tmp_path):
    skipped = []
    build_index(_corpus_with(tmp_path, None), tmp_path / "idx", FakeEmbedder(), on_skip=skipped.append)
    e = Engine.load(tmp_path / "idx", FakeEmbedder())
    assert e.calibration_source == "answer model"
    assert e.calibrations["hybrid"] == e.model.variants["hybrid"].calibration
    assert "calibration" not in e.data.manifest and not skipped


def test_the_calibration_file_is_not_read_as_a_document(tmp_path):
    skipped = []
    stats = build_index(_corpus_with(tmp_path, (CORPUS / "qa-calibration.json").read_text()), tmp_path / "idx",
                        FakeEmbedder(), on_skip=skipped.append)
    assert not skipped and stats.documents == 2 and stats.calibration.startswith("qa train: out-of-fold logits of seeds")


def test_a_broken_calibration_file_fails_the_build_and_names_it(tmp_path):
    from qa.ingest.corpus import CorpusError

    with pytest.raises(CorpusError, match="qa-calibration.json is invalid"):
        build_index(_corpus_with(tmp_path, "{not json"), tmp_path / "idx", FakeEmbedder())
    assert not (tmp_path / "idx").exists()


def test_an_index_calibration_for_another_model_gives_way_to_the_model_own(data, caplog):
    from dataclasses import replace

    stale = dict(data.manifest, calibration=dict(data.manifest["calibration"], model_sha="0" * 64))
    with caplog.at_level("WARNING", logger="qa.engine"):
        e = Engine(replace(data, manifest=stale), FakeEmbedder())  # `qa train` made a new model: still answers
    assert e.calibrations["hybrid"] == e.model.variants["hybrid"].calibration
    assert e.calibration_source.startswith("answer model") and "refit it" in caplog.text
