"""Integration: the real model on the bundled corpus. Index, ask, abstain, contract, offsets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qa.query.question import QuestionError
from qa.types import Filters

# (question as a clinician types it, a phrase the first cited sentence must contain)
ANSWERABLE = [
    ("FLT3-ITD AML starting 7+3: what do I add, and on which days?", "midostaurin 50 mg orally twice daily"),
    ("IT methotrexate dose for a 2 year old?", "2 years = 10 mg"),
    ("leukapheresis ok in suspected APL?", "Do not perform leukapheresis"),
    ("ATRA dose in kids if APL suspected", "25 mg/m2 per day in children"),
    pytest.param("HiDAC schedule for favourable-risk AML consolidation", "1-3 g/m2 every 12 hours", marks=pytest.mark.xfail(
        strict=False, reason="known miss of the learned scorer (2026-12-02): it quotes the favourable-risk consolidation "
                            "sentence, not the schedule; dose/schedule cues carry little weight in its training data")),
    ("how often is KMT2A rearranged in infant ALL", "up to 80% of infants"),
    ("unfit elderly AML first line?", "venetoclax"),
    ("6-yr OS for high-risk infant ALL", "29.9%"),
]
OUT_OF_CORPUS = [
    "first-line treatment for type 2 diabetes?",
    "best inhaler for paediatric asthma exacerbation",
    "warfarin reversal before surgery",
]


@pytest.mark.slow
@pytest.mark.parametrize("question,expected", ANSWERABLE)
def test_the_right_sentence_is_quoted(engine, question, expected):
    """The scorer's choice, whatever the abstainer decides (abstention is judged below)."""
    from qa.query.engine import Engine

    composing = Engine(engine.data, engine.embedder, abstain=False)
    a = composing.ask(question)
    assert any(expected in c.text for c in a.citations), [c.text for c in a.citations]


@pytest.mark.slow
def test_the_bundled_calibration_answers_most_clinician_questions(engine):
    answered = [q for q in (getattr(p, "values", p)[0] for p in ANSWERABLE) if not engine.ask(q).abstained]
    assert len(answered) >= 6, answered  # 7 of 8 when the calibration was fitted
    assert "FLT3-ITD AML starting 7+3: what do I add, and on which days?" in answered  # the flagship question


@pytest.mark.slow
@pytest.mark.parametrize("question", OUT_OF_CORPUS)
def test_out_of_corpus_abstains_but_lists_passages(engine, question):
    a = engine.ask(question)
    assert a.abstained and a.answer == "" and a.citations == ()
    assert a.passages, "a clinician should still see the closest passages"


@pytest.mark.slow
def test_citations_are_verbatim_and_numbered(engine):
    a = engine.ask("FLT3-ITD AML starting 7+3: what do I add, and on which days?", max_sentences=3)
    for n, c in enumerate(a.citations, start=1):
        doc = engine.document(c.doc_id)
        assert c.id == n and doc.text[c.start:c.end] == c.text
        assert f"{' '.join(c.text.split())} [{n}]" in a.answer  # shown with whitespace normalised
        assert c.date == doc.date and c.title == doc.title
    for p in a.passages:
        assert engine.document(p.doc_id).text[p.start:p.end] == p.text


@pytest.mark.slow
def test_contract_fields(engine):
    d = engine.ask("infant ALL outlook").to_dict()
    for key in ("question", "answer", "abstained", "confidence", "citations", "passages", "index_id", "timings_ms"):
        assert key in d
    assert set(d["timings_ms"]) >= {"embed", "bm25", "dense", "answer", "total"}
    for c in d["citations"]:
        assert set(c) >= {"id", "doc_id", "title", "section", "page", "date", "url", "text", "start", "end", "score"}
    for p in d["passages"]:
        assert set(p) >= {"doc_id", "chunk_id", "text", "start", "end", "score", "bm25_rank", "dense_rank"}
    json.dumps(d)


@pytest.mark.slow
def test_filters_restrict_both_legs(engine):
    a = engine.ask("treatment phases", filters=Filters(doc_ids=("infantile-all",)))
    assert a.passages and all(p.doc_id == "infantile-all" for p in a.passages)
    assert all(c.doc_id == "infantile-all" for c in a.citations)


@pytest.mark.slow
def test_a_filter_s_allowed_rows_are_made_once_and_cannot_be_changed(engine):
    f = Filters(doc_ids=("infantile-all",))
    rows = engine._allowed(f)
    assert rows is engine._allowed(Filters(doc_ids=("infantile-all",))) and not rows.flags.writeable
    assert {engine.data.chunks[int(r)].doc for r in rows} == {engine.doc_rows["infantile-all"]}
    assert engine._allowed(None) is None and engine._allowed(Filters()) is None


@pytest.mark.slow
def test_excluded_documents_are_never_retrieved(engine):
    """Training asks gold questions as if their documents were not indexed (unanswerable by construction)."""
    full = engine.ask("treatment phases")
    assert any(p.doc_id == "infantile-all" for p in full.passages)
    a = engine.ask("treatment phases", filters=Filters(exclude_doc_ids=("infantile-all",)))
    assert a.passages and all(p.doc_id != "infantile-all" for p in a.passages)
    assert all(c.doc_id != "infantile-all" for c in a.citations)


@pytest.mark.slow
@pytest.mark.parametrize("q", ["", "   ", "?!", "\n\t"])
def test_empty_question_is_refused(engine, q):
    with pytest.raises(QuestionError):
        engine.ask(q)


@pytest.mark.slow
def test_same_question_same_answer(engine):
    q = "consolidation for intermediate risk AML"
    same = {"timings_ms": 0, "answer_id": ""}  # the only fields that differ by design
    assert engine.ask(q).to_dict() | same == engine.ask(q).to_dict() | same
    assert engine.ask(q).answer_id != engine.ask(q).answer_id


@pytest.mark.slow
def test_cli_index_and_ask_json(tmp_path):
    from conftest import CORPUS

    idx = tmp_path / "idx"
    qa = [sys.executable, "-m", "qa.cli"]
    r = subprocess.run(qa + ["index", str(CORPUS), "--out", str(idx)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "chunks" in r.stdout and "sentences" in r.stdout
    r = subprocess.run(qa + ["ask", "--json", "--index", str(idx), "-"], capture_output=True, text=True,
                       input="IT MTX dose age 1?\n\nfirst-line treatment for type 2 diabetes?\n")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 3  # one line out per line in: the blank one is an error object
    assert not lines[0]["abstained"] and "1 year = 8 mg" in lines[0]["answer"]
    assert "empty" in lines[1]["error"]
    assert lines[2]["abstained"]
    r = subprocess.run(qa + ["ask", "x", "--index", str(tmp_path / "missing")], capture_output=True, text=True)
    assert r.returncode == 2 and "qa index" in r.stderr and "Traceback" not in r.stderr
