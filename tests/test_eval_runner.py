"""The eval pipeline on a tiny suite with the fake embedder: report shape, files, compare, CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qa.query.calibration import Calibration
from qa.eval import report as R
from qa.eval.compare import compare
from qa.eval.runner import EvalSettings, evaluate_suite, parse_modes, resolve_evidence
from qa.query.engine import Engine
from qa.eval.suites import read_beir
from test_eval_suites import write_beir

DOCS = [
    {"_id": "aml", "title": "AML induction", "text":
        "\n\nInduction uses cytarabine for seven days. Daunorubicin is given on days one to three.\n\n"
        "Midostaurin is added for FLT3 mutations. Its dose is 50 mg twice daily."},
    {"_id": "all", "title": "Infant ALL", "text": "Infant ALL is aggressive. Treatment is more intensive in infants."},
    {"_id": "cll", "title": "CLL", "text": "CLL is often watched before treatment. Ibrutinib is a BTK inhibitor."},
]
QUERIES = [
    {"_id": "q1", "text": "what dose of midostaurin", "answerable": True, "answers": ["50 mg twice daily"],
     "evidence": [{"doc_id": "aml", "text": "Its dose is 50 mg twice daily.", "start": 132}]},
    {"_id": "q2", "text": "infant ALL treatment intensity", "answerable": True, "answers": ["more intensive"],
     "evidence": [{"doc_id": "all", "text": "Treatment is more intensive in infants."}]},
    {"_id": "q3", "text": "venetoclax ramp up dose", "answerable": False},
    {"_id": "q4", "text": "BTK inhibitor for CLL", "answerable": True,
     "evidence": [{"doc_id": "cll", "text": "Ibrutinib is a BTK inhibitor."}]},
]


@pytest.fixture
def suite(tmp_path):
    qrels = {"dev": [("q1", "aml", 1), ("q2", "all", 1), ("q3", "aml", 0), ("q4", "cll", 1)]}
    return read_beir(write_beir(tmp_path / "tiny", QUERIES, qrels, docs=DOCS), "dev")


def test_parse_modes_aliases():
    assert parse_modes("bm25, hybrid-rrf,dense,hybrid") == ["bm25", "hybrid", "dense"]
    with pytest.raises(ValueError, match="unknown mode"):
        parse_modes("bm25,colbert")


def test_evaluate_suite_report_shape_and_files(suite, fake_embedder, tmp_path):
    settings = EvalSettings(modes=["bm25", "dense", "hybrid", "hybrid-weighted"])
    report, per_q, engine = evaluate_suite(suite, fake_embedder, settings, Calibration(threshold=0.3),
                                           cache_dir=tmp_path / "cache")
    # the evidence offset in the suite refers to the raw text (two leading newlines): resolved to the stored text
    gold = resolve_evidence(engine, suite.queries[0])[0]
    doc = engine.document("aml")
    assert doc.text[gold[1]:gold[2]] == "Its dose is 50 mg twice daily."
    assert report["suite"] == "tiny" and report["split"] == "dev" and report["default_mode"] == "hybrid-weighted"
    assert set(report["modes"]) == {"bm25", "dense", "hybrid", "hybrid-weighted"}
    for m in report["modes"].values():
        for key in ("ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "evidence_hit@5",
                    "answer_hit@1", "em", "f1", "citation_precision", "abstain_accuracy", "auroc"):
            assert key in m, key
            assert 0.0 <= m[key] <= 1.0
        assert m["n"]["ndcg@10"] == 3  # the unanswerable question has no relevant document
        assert set(m["latency_ms"]) >= {"embed", "bm25", "dense", "fuse", "answer", "total"}
        assert m["latency_ms"]["total"]["p95"] >= m["latency_ms"]["total"]["p50"]
    assert report["modes"]["bm25"]["recall@10"] == 1.0  # three documents: everything is found
    assert report["modes"]["bm25"]["latency_ms"]["embed"]["p95"] == 0.0
    for key in ("git", "index_id", "model", "settings", "suite_files"):
        assert report[key] is not None
    assert report["git"]["dirty"] in (True, False, None) and report["model"] == "fake-hash-64"
    assert set(report["suite_files"]["sha256"]) == {"corpus.jsonl", "queries.jsonl", "qrels/dev.tsv"}
    assert report["index_reused"] is False and report["settings"]["retrieval"]["rrf_k"] == 60
    assert len(per_q) == 16

    # cached: the second run reuses the index
    again, _, _ = evaluate_suite(suite, fake_embedder, EvalSettings(modes=["bm25"]), Calibration(), cache_dir=tmp_path / "cache")
    assert again["index_reused"] is True and again["index_id"] == report["index_id"]

    out = tmp_path / "rep"
    R.write(report, out, per_q)
    assert json.loads((out / "report.json").read_text())["modes"]["hybrid"]["ndcg@10"] == report["modes"]["hybrid"]["ndcg@10"]
    md = (out / "report.md").read_text()
    assert "| hybrid |" in md and "nDCG@10" in md and "Abstention" in md
    for png in ("recall_at_k.png", "risk_coverage.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert len((out / "per_question.jsonl").read_text().splitlines()) == 16


def test_compare_flags_only_large_deltas():
    def rep(v, n=300):
        return {"suite": "s", "split": "t", "modes": {"hybrid": {
            "ndcg@10": v, "recall@10": 0.5, "stderr": {"ndcg@10": 0.02, "recall@10": 0.03}, "n": {"ndcg@10": n},
            "latency_ms": {"total": {"p50": 10.0, "p95": 20.0}}}}}
    rows = {r["metric"]: r for r in compare(rep(0.60), rep(0.70))}
    assert rows["ndcg@10"]["delta"] == pytest.approx(0.10) and rows["ndcg@10"]["significant"]
    assert rows["ndcg@10"]["noise"] == pytest.approx(2 * (2 * 0.02 ** 2) ** 0.5)
    assert not rows["recall@10"]["significant"]
    small = {r["metric"]: r for r in compare(rep(0.60), rep(0.62))}
    assert not small["ndcg@10"]["significant"]


def test_cli_compare_and_errors(tmp_path):
    from qa.cli import app

    for name, v in (("a", 0.5), ("b", 0.9)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps({"suite": "s", "split": "t", "n_questions": 100, "modes": {
            "hybrid": {"ndcg@10": v, "n": {"ndcg@10": 100}, "latency_ms": {"total": {"p50": 1.0, "p95": 2.0}}}}}))
    runner = CliRunner()
    r = runner.invoke(app, ["eval", "compare", str(tmp_path / "a" / "report.json"), str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert "ndcg@10" in r.output and "+0.4" in r.output and "*" in r.output
    r = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), "--json", str(tmp_path / "b")])
    assert json.loads(r.output)["rows"][0]["significant"] is True
    r = runner.invoke(app, ["eval", "compare", str(tmp_path / "a")])
    assert r.exit_code == 2 and "Missing argument 'B'" in r.output
    bad = write_beir(tmp_path / "bad", [], {"test": [("1", "d1", 1)]})
    (bad / "queries.jsonl").write_text('{"_id": "1", "text": "q"}\nnot json\n')
    r = runner.invoke(app, ["eval", str(bad)])
    flat = "".join(r.output.split())  # rich wraps long lines
    assert r.exit_code == 2 and "queries.jsonl:2:notvalidJSON" in flat and "Traceback" not in r.output


def test_compare_is_paired_when_per_question_files_exist(tmp_path):
    from qa.eval.compare import load

    for name, vals in (("a", [0.5, 0.6, 0.7, 0.8]), ("b", [0.52, 0.62, 0.72, 0.83])):
        d = tmp_path / name
        d.mkdir()
        mean = sum(vals) / 4
        (d / "report.json").write_text(json.dumps({"suite": "s", "split": "t", "modes": {"hybrid": {
            "ndcg@10": mean, "stderr": {"ndcg@10": 0.1}, "latency_ms": {}}}}))
        (d / "per_question.jsonl").write_text("".join(
            json.dumps({"qid": f"q{i}", "mode": "hybrid", "ndcg@10": v}) + "\n" for i, v in enumerate(vals)))
    row = compare(load(tmp_path / "a"), load(tmp_path / "b"))[0]
    # differences 0.02, 0.02, 0.02, 0.03: mean 0.0225, sd 0.005 -> 2*se = 0.005; unpaired would say 0.28
    assert row["paired"] and row["noise"] == pytest.approx(0.005) and row["significant"]


def test_a_documents_only_suite_gets_a_retrieval_only_index_and_document_metrics(tmp_path, fake_embedder, monkeypatch):
    """SciFact-like: no evidence, answers or answerable flags. No sentence vectors are embedded
    (half or more of the indexing work) and no answers composed; the rankings equal a full run's."""
    from qa.index.store import load_index

    queries = [{"_id": "q1", "text": "midostaurin FLT3"}, {"_id": "q2", "text": "BTK inhibitor"}]
    s = read_beir(write_beir(tmp_path / "docsonly", queries, {"test": [("q1", "aml", 1), ("q2", "cll", 1)]},
                             docs=DOCS), "test")
    assert not s.judges_answers
    report, per_q, engine = evaluate_suite(s, fake_embedder, EvalSettings(), Calibration(), cache_dir=tmp_path / "c")
    assert report["answers_composed"] is False
    data = load_index(report["index_dir"])
    assert data.manifest["sentence_vectors"] is False and len(data.sentence_vectors) == 0
    assert len(data.sentences) > 0 and not data.has_sentence_vectors
    for m in report["modes"].values():
        assert m["recall@10"] == 1.0 and "ndcg@10" in m and m["n_answerable"] == 2
        assert m["latency_ms"]["answer"]["p95"] == 0.0 and "mean_confidence" not in m
    assert all(r["answer"] == "" for r in per_q if "answer" in r) and all("abstained" not in r for r in per_q)
    # the answering path over a full index ranks documents identically
    monkeypatch.setattr(type(s), "judges_answers", property(lambda self: True))
    full, full_rows, _ = evaluate_suite(s, fake_embedder, EvalSettings(), Calibration(), cache_dir=tmp_path / "c",
                                        engine=Engine.load(_full_index(s, fake_embedder, tmp_path), fake_embedder))
    assert any(r["answer"] for r in full_rows if "answer" in r)  # answers were composed this time
    for mode in report["modes"]:
        for key in ("ndcg@10", "recall@1", "mrr@10", "recall@100"):
            assert full["modes"][mode][key] == pytest.approx(report["modes"][mode][key]), (mode, key)
    assert [r["docs"] for r in full_rows] == [r["docs"] for r in per_q]
    # qa ask on such an index still answers, from lexical and rank signals
    a = engine.ask("midostaurin dose")
    assert a.citations and a.citations[0].text in engine.document(a.citations[0].doc_id).text


def _full_index(suite, embedder, tmp_path):
    from qa.index.build import build_index

    build_index(suite.corpus, tmp_path / "full", embedder)
    return tmp_path / "full"


def test_batch_encoded_questions_score_as_single_ones_and_only_single_ones_give_latency(suite, fake_embedder, tmp_path):
    single, rows_1, _ = evaluate_suite(suite, fake_embedder, EvalSettings(latency_sample=100), Calibration(threshold=0.3),
                                       cache_dir=tmp_path / "c")
    batched, rows_b, _ = evaluate_suite(suite, fake_embedder, EvalSettings(latency_sample=1), Calibration(threshold=0.3),
                                        cache_dir=tmp_path / "c")
    for mode, m in single["modes"].items():
        for key in ("ndcg@10", "recall@100", "evidence_hit@5", "answer_hit@1", "f1", "abstain_accuracy"):
            assert batched["modes"][mode][key] == pytest.approx(m[key]), (mode, key)
    dense_rows = [r for r in rows_b if r["mode"] == "dense"]
    assert dense_rows[0]["total_ms"] is not None and all(r["total_ms"] is None for r in dense_rows[1:])
    assert all(r["total_ms"] is not None for r in rows_1)


def test_the_harness_reads_asks_hits_instead_of_retrieving_again(suite, fake_embedder, tmp_path, monkeypatch):
    """Per question and mode: one ask (its own retrieval) and one deep retrieval, nothing more."""
    from qa.query.engine import Engine

    calls = []
    real = Engine.retrieve

    def counting(self, question, q_vec, mode, k, *a, **kw):
        calls.append(k)
        return real(self, question, q_vec, mode, k, *a, **kw)

    monkeypatch.setattr(Engine, "retrieve", counting)
    settings = EvalSettings(modes=["bm25", "hybrid-weighted"])
    evaluate_suite(suite, fake_embedder, settings, Calibration(), cache_dir=tmp_path / "cache")
    n = len(suite.queries) * len(settings.modes)
    warm = len(settings.modes)  # one warm-up ask per mode
    assert len(calls) == warm + 2 * n, calls
    assert calls.count(settings.deep_k) == n


def test_ranking_metrics_read_past_the_passages_an_answer_shows(suite, fake_embedder, tmp_path):
    """recall@10 and nDCG@10 rank ask's fused hits to 10 and beyond, not the top_k passages it shows:
    cut at top_k they were those of 5 hits (covid-qa dev recall@10 fell from 0.901 to 0.793)."""
    from qa.eval.runner import load_engine, run_questions

    settings = EvalSettings(modes=["hybrid-weighted"], top_k=1)
    engine, *_ = load_engine(suite, fake_embedder, settings, tmp_path / "c")
    rows = run_questions(engine, suite, settings)["hybrid-weighted"]
    assert max(len(r.doc_ranking) for r in rows) == len(DOCS)  # every document fused, not top_k=1


def test_evidence_without_an_offset_is_every_place_its_text_stands():
    """medquad gives no offsets, and a one-sentence answer often stands twice in its page (the "Key
    Points" list and the section body): a quote of either copy is a quote of the gold answer."""
    from types import SimpleNamespace

    from qa.eval import metrics as M
    from qa.eval.suites import Evidence, Query

    text = "Key Points\n- The cause is unknown. - Tests find it.\n\n## Causes\n\nThe cause is unknown.\n"
    engine = SimpleNamespace(document=lambda doc_id: SimpleNamespace(text=text) if doc_id == "d" else None)
    sentence = "The cause is unknown."
    first, body = text.index(sentence), text.rindex(sentence)
    q = Query("q", "what causes it", evidence=(Evidence("d", sentence),))
    gold = resolve_evidence(engine, q)
    assert [(g[1], g[2]) for g in gold] == [(first, first + len(sentence)), (body, body + len(sentence))]
    assert M.span_hits("d", body, body + len(sentence), sentence, gold)  # the section body's copy counts
    # with an offset, only the occurrence nearest it
    q = Query("q", "what causes it", evidence=(Evidence("d", sentence, start=body - 1),))
    assert [g[1] for g in resolve_evidence(engine, q)] == [body]
