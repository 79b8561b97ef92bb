"""The answerer's selection rules on a real (tiny) index: what is quoted stands on its own."""

from __future__ import annotations

import pytest

from qa.query.answer import AnswerParams, Scored, analyse, compose, select
from qa.query.answer_model import LinearModel, Variant
from qa.index.build import build_index
from qa.query.calibration import Calibration
from qa.query.features import QUESTION_FEATURES, SENTENCE_FEATURES, FeatureIndex
from qa.index.store import load_index

TEXT = """Anaphylaxis in adults

Give adrenaline 0.5 mg IM into the outer thigh. It is repeated after 5 minutes if there is no response.

Signs of anaphylaxis can include:

- wheeze
- stridor
- hypotension

Observe for at least 6 hours after recovery.
"""


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("ans")
    (root / "c").mkdir()
    (root / "c" / "anaphylaxis.txt").write_text(TEXT)
    build_index(root / "c", root / "idx", FakeEmbedder())
    return FeatureIndex(load_index(root / "idx"))


def _row(fx, starts: str) -> int:
    d = fx.data
    return next(i for i in range(len(d.sentences)) if d.sentence_text(i).startswith(starts))


def _variant(feature: str, weight: float = 5.0) -> Variant:
    w = tuple(weight if f == feature else 0.0 for f in SENTENCE_FEATURES)
    n, m = len(SENTENCE_FEATURES), len(QUESTION_FEATURES)
    return Variant(LinearModel(SENTENCE_FEATURES, (0.0,) * n, (1.0,) * n, w),
                   LinearModel(QUESTION_FEATURES, (0.0,) * m, (1.0,) * m, (1.0,) + (0.0,) * (m - 1)), Calibration())


def test_a_heading_like_line_is_never_a_candidate_even_if_the_model_loves_it(fx):
    hits = _hits(fx)
    an = analyse(fx, _variant("heading_like", 100.0), "anaphylaxis adults", "anaphylaxis adults", None, hits,
                 AnswerParams())
    texts = [fx.data.sentence_text(s.sentence) for s in an.scored]
    assert texts and "Anaphylaxis in adults" not in [t.strip() for t in texts]


def test_an_anaphoric_sentence_comes_with_the_one_before_it(fx):
    row = _row(fx, "It is repeated")
    chosen = select(fx.data, fx, [Scored(row, 1.0, 1)], 3, AnswerParams())
    assert [fx.data.sentence_text(c.sentence)[:12] for c in chosen] == ["Give adrenal", "It is repeat"]


def test_a_lead_in_comes_with_its_items(fx):
    row = _row(fx, "Signs of anaphylaxis")
    chosen = select(fx.data, fx, [Scored(row, 1.0, 1)], 1, AnswerParams())
    assert [fx.data.sentence_text(c.sentence).strip() for c in chosen] == [
        "Signs of anaphylaxis can include:", "wheeze", "stridor", "hypotension"]


def test_further_sentences_join_only_within_the_margin(fx):
    a, b = _row(fx, "Give adrenaline"), _row(fx, "Observe for")
    p = AnswerParams(keep_margin=1.0)
    assert len(select(fx.data, fx, [Scored(a, 3.0, 1), Scored(b, 2.5, 1)], 3, p)) == 2
    assert len(select(fx.data, fx, [Scored(a, 3.0, 1), Scored(b, 1.5, 1)], 3, p)) == 1


def test_near_duplicates_are_dropped_unless_their_numbers_differ(fx):
    p = AnswerParams(duplicate_cos=-1.0)  # every pair counts as cosine-close: only the numbers decide
    a, b = _row(fx, "Give adrenaline"), _row(fx, "Observe for")  # 0.5 mg vs 6 hours: both stand
    assert len(select(fx.data, fx, [Scored(a, 3.0, 1), Scored(b, 2.9, 1)], 3, p)) == 2
    w, s = _row(fx, "wheeze"), _row(fx, "stridor")  # no numbers to tell them apart: one is kept
    assert len(select(fx.data, fx, [Scored(w, 3.0, 1), Scored(s, 2.9, 1)], 3, p)) == 1


def test_citations_stay_verbatim_while_the_answer_shows_whitespace_normalised(fx):
    from qa.query.answer import citation

    row = _row(fx, "Give adrenaline")
    c = citation(fx.data, 1, Scored(row, 1.0, 1))
    doc = fx.data.docs[fx.data.sentences[row].doc]
    assert doc.text[c.start:c.end] == c.text
    assert compose([c]) == " ".join(c.text.split()) + " [1]"


def _hits(fx):
    from qa.types import Hit

    return [Hit(chunk=i, score=1.0 / (i + 1), bm25_rank=i + 1, dense_rank=None) for i in range(len(fx.data.chunks))]


def test_the_title_line_is_a_stored_unit_so_the_heading_rule_is_what_keeps_it_out(fx):
    row = _row(fx, "Anaphylaxis in adults")
    assert fx.unit(row).is_heading


def _question_features(fx, question: str, feature: str = "idf_overlap") -> dict[str, float]:
    an = analyse(fx, _variant(feature), question, question, None, _hits(fx), AnswerParams())
    return dict(zip(QUESTION_FEATURES, an.question_features.tolist()))


def test_a_near_miss_question_shows_the_specific_term_no_candidate_holds(fx):
    """'glucagon' is in no candidate: the rarest missing term is at the corpus's largest idf, while
    the question the text answers lacks nothing."""
    near = _question_features(fx, "glucagon IM in anaphylaxis")
    answered = _question_features(fx, "adrenaline IM in anaphylaxis")
    assert near["missing_rare"] == pytest.approx(1.0)
    assert near["best_missing"] == pytest.approx(1.0)
    assert answered["missing_rare"] == answered["best_missing"] == 0.0


@pytest.fixture(scope="module")
def two_docs(tmp_path_factory):
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("near")
    (root / "c").mkdir()
    (root / "c" / "midostaurin.txt").write_text("Midostaurin in AML\n\nGive midostaurin 50 mg twice daily on days 8-21.\n")
    (root / "c" / "gilteritinib.txt").write_text("Gilteritinib\n\nThe gilteritinib dose is set by the treating team.\n")
    build_index(root / "c", root / "idx", FakeEmbedder())
    return FeatureIndex(load_index(root / "idx"))


def test_best_missing_sees_a_term_held_elsewhere_but_not_in_the_chosen_passage(two_docs):
    # the dose cue picks the midostaurin sentence (it holds "50 mg"); "gilteritinib" and "dose" are
    # only in the other document, so nothing is missing overall but the chosen passage lacks both
    f = _question_features(two_docs, "gilteritinib dose", feature="dose_match")
    assert f["missing_rare"] == 0.0
    assert f["best_missing"] > 0.0


def test_list_items_run_together_in_one_unit_are_counted(tmp_path):
    from conftest import FakeEmbedder

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "kp.txt").write_text(
        "Colon cancer\n\nKey Points\n- Colon cancer forms in the colon. - Tests of the colon find it. - Age is a risk.\n\n"
        "A colonoscopy is used to diagnose colon cancer.\n")
    build_index(tmp_path / "c", tmp_path / "idx", FakeEmbedder())
    fx = FeatureIndex(load_index(tmp_path / "idx"))
    an = analyse(fx, _variant("inline_items"), "diagnose colon cancer", "diagnose colon cancer", None, _hits(fx),
                 AnswerParams())
    col = SENTENCE_FEATURES.index("inline_items")
    value = {fx.data.sentence_text(r).strip()[:12]: float(x[col]) for r, x in zip(an.rows, an.sentence_features)}
    run_together = [v for k, v in value.items() if k.startswith(("Key Points", "Colon cancer f"))]
    assert run_together and max(run_together) > 0.0, value
    assert value["A colonoscop"] == 0.0
