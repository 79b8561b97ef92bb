"""Sources that disagree (issue 16 part 3), end to end through the engine: the differing quotes are
both cited and the answer names the conflict; agreeing sources raise none."""

from __future__ import annotations

import pytest

from conftest import FakeEmbedder

A = "# Induction\n\nGive daunorubicin 60 mg/m2 IV on days 1-3 with cytarabine for induction.\n"
B = "# AML induction\n\nGive daunorubicin 90 mg/m2 IV on days 1-3 with cytarabine for induction.\n"
C = "# Induction regimen\n\nDaunorubicin 60 mg/m2 IV on days 1-3 is given with cytarabine for induction.\n"
# every corpus also holds an unrelated page: with only two one-chunk documents, min-max fusion puts
# the second passage's fused score at exactly 0 whatever it says, and the scorer then ranks it far
# down (a degenerate two-hit list, not how a real corpus retrieves)
OTHER = {"other.md": "# Supportive care\n\nGive allopurinol 300 mg daily from the first day of chemotherapy.\n"}


def engine_over(tmp_path, files: dict[str, str]):
    from qa.index.build import build_index
    from qa.query.engine import Engine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in (files | OTHER).items():
        (corpus / name).write_text(text)
    build_index(corpus, tmp_path / "idx", FakeEmbedder())
    return Engine.load(tmp_path / "idx", FakeEmbedder(), abstain=False)


def test_two_sources_with_different_doses_are_both_cited_with_the_conflict(tmp_path):
    eng = engine_over(tmp_path, {"a.md": A, "b.md": B})
    a = eng.ask("daunorubicin dose for induction?", max_sentences=1)
    assert len(a.citations) == 2  # the rival joined the one quote asked for: never one value silently
    (c,) = a.conflicts
    assert c["what"] == "daunorubicin dose" and c["citations"] == [1, 2]
    by_id = {x.id: x for x in a.citations}
    assert [v in by_id[i].text for i, v in zip(c["citations"], c["values"])] == [True, True]
    assert sorted(c["values"]) == ["60 mg/m2", "90 mg/m2"]
    assert a.to_dict()["conflicts"] == [c] and "[2]" in a.answer


def test_agreeing_sources_raise_no_conflict(tmp_path):
    eng = engine_over(tmp_path, {"a.md": A, "c.md": C})
    a = eng.ask("daunorubicin dose for induction?", max_sentences=1)
    assert a.conflicts == () and len(a.citations) == 1


@pytest.mark.parametrize("rivals", [0])
def test_no_rivals_no_extra_citation(tmp_path, rivals):
    from qa.query.answer import AnswerParams
    from qa.query.engine import Engine

    eng = engine_over(tmp_path, {"a.md": A, "b.md": B})
    eng2 = Engine(eng.data, eng.embedder, answer=AnswerParams(rivals=rivals), abstain=False)
    a = eng2.ask("daunorubicin dose for induction?", max_sentences=1)
    assert len(a.citations) == 1 and a.conflicts == ()
