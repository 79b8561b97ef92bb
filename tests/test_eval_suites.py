"""qa.eval.suites: BEIR folders with and without qa's optional fields, SQuAD JSON, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, shared_suite
from qa.eval.suites import SuiteError, load_suite, read_beir, read_squad


def write_beir(folder: Path, queries: list[dict], qrels: dict[str, list[tuple[str, int]]], docs=None, header=True):
    folder.mkdir(parents=True, exist_ok=True)
    docs = docs or [{"_id": "d1", "title": "T1", "text": "Alpha beta. Gamma delta."},
                    {"_id": "d2", "title": "T2", "text": "Epsilon zeta."}]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels").mkdir(exist_ok=True)
    for split, rows in qrels.items():
        lines = (["query-id\tcorpus-id\tscore"] if header else []) + [f"{q}\t{d}\t{s}" for q, d, s in rows]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


def test_plain_beir_without_optional_fields(tmp_path):
    f = write_beir(tmp_path / "s", [{"_id": "1", "text": "alpha?"}, {"_id": "2", "text": "zeta?"}, {"_id": "3", "text": "x"}],
                   {"test": [("1", "d1", 1), ("2", "d2", 1)], "train": [("3", "d1", 1)]}, header=False)
    s = read_beir(f)
    assert s.split == "test" and s.splits == ("test", "train")  # test is the default split
    assert [q.qid for q in s.queries] == ["1", "2"]  # only the split's questions
    assert s.qrels == {"1": {"d1": 1}, "2": {"d2": 1}}
    q = s.queries[0]
    assert q.evidence == () and q.answers == () and q.answerable is None
    assert not s.has_evidence and not s.has_answers and not s.has_unanswerable
    assert s.answerable(q)  # no flag: answerable because a document is relevant
    assert set(s.files) == {"corpus.jsonl", "queries.jsonl", "qrels/test.tsv"}


def test_beir_with_evidence_answers_and_answerable(tmp_path):
    queries = [
        {"_id": "a", "text": "gamma?", "evidence": [{"doc_id": "d1", "text": "Gamma delta.", "start": 12}],
         "answers": ["delta"], "answerable": True, "metadata": {"type": "x"}},
        {"_id": "b", "text": "omega?", "answerable": False, "evidence": [], "answers": []},
    ]
    s = read_beir(write_beir(tmp_path / "s", queries, {"dev": [("a", "d1", 1), ("b", "d2", 0)]}), "dev")
    a, b = s.queries
    assert a.evidence[0].doc_id == "d1" and a.evidence[0].start == 12 and a.answers == ("delta",)
    assert a.metadata == {"type": "x"} and b.answerable is False and not s.answerable(b)
    assert s.has_unanswerable and s.has_evidence and s.has_answers


@pytest.mark.parametrize("bad, message", [
    ('{"_id": "1", "text": "ok"}\n{"_id": "2", "text": \n', "queries.jsonl:2: not valid JSON"),
    ('{"_id": "1", "text": "ok"}\n\n["a list"]\n', "queries.jsonl:3: expected a JSON object"),
    ('{"_id": "1"}\n', "queries.jsonl:1: a query needs '_id' and 'text'"),
    ('{"_id": "1", "text": "q", "answers": "not a list"}\n', "queries.jsonl:1: 'answers' must be a list"),
    ('{"_id": "1", "text": "q", "evidence": [{"doc_id": "d1"}]}\n', "queries.jsonl:1: evidence[0] needs"),
    ('{"_id": "1", "text": "q", "evidence": [{"doc_id": "d1", "text": "x", "start": -1}]}\n', "queries.jsonl:1: evidence[0].start"),
    ('{"_id": "1", "text": "q", "answerable": "yes"}\n', "queries.jsonl:1: 'answerable' must be"),
])
def test_malformed_query_lines_name_file_and_line(tmp_path, bad, message):
    f = write_beir(tmp_path / "s", [], {"test": [("1", "d1", 1)]})
    (f / "queries.jsonl").write_text(bad)
    with pytest.raises(SuiteError) as e:
        read_beir(f)
    assert str(f / "queries.jsonl") in str(e.value) and message in str(e.value)


def test_malformed_corpus_and_qrels(tmp_path):
    f = write_beir(tmp_path / "s", [{"_id": "1", "text": "q"}], {"test": [("1", "d1", 1)]})
    (f / "corpus.jsonl").write_text('{"_id": "d1", "text": "ok"}\n{oops}\n')
    with pytest.raises(SuiteError, match=r"corpus.jsonl:2: not valid JSON"):
        read_beir(f)
    f = write_beir(tmp_path / "t", [{"_id": "1", "text": "q"}], {"test": [("1", "d1", 1)]})
    (f / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\n")
    with pytest.raises(SuiteError, match=r"test.tsv:3: expected 'query-id<TAB>corpus-id<TAB>score'"):
        read_beir(f)
    (f / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\thigh\n")
    with pytest.raises(SuiteError, match=r"test.tsv:3: score 'high' is not a number"):
        read_beir(f)
    (f / "qrels" / "test.tsv").write_text("1\tnope\t1\n")
    with pytest.raises(SuiteError, match=r"corpus id\(s\) not in corpus.jsonl, e.g. 'nope'"):
        read_beir(f)
    (f / "qrels" / "test.tsv").write_text("9\td1\t1\n")
    with pytest.raises(SuiteError, match=r"query id\(s\) not in queries.jsonl, e.g. '9'"):
        read_beir(f)
    with pytest.raises(SuiteError, match=r"no such split \(have: test\)"):
        read_beir(f, "dev")
    with pytest.raises(SuiteError, match="no such suite"):
        load_suite(tmp_path / "missing")


SQUAD = {"version": "1", "data": [
    {"title": "Paper A", "paragraphs": [{"document_id": 7, "context": "Masks reduce spread. Hand washing helps too.", "qas": [
        {"id": "q1", "question": "What reduces spread?", "answers": [{"text": "Masks", "answer_start": 0}], "is_impossible": False},
        {"id": "q2", "question": "What is unknown?", "answers": [], "is_impossible": True},
        {"id": "q3", "question": "What else helps?", "answers": [{"text": "Hand washing", "answer_start": 999}]},
    ]}]},
]}


def test_squad_reader(tmp_path):
    p = tmp_path / "covid.json"
    p.write_text(json.dumps(SQUAD))
    s = read_squad(p, tmp_path / "cache")
    assert [q.qid for q in s.queries] == ["q1", "q2", "q3"] and s.format == "squad"
    q1, q2, q3 = s.queries
    assert q1.answers == ("Masks",) and q1.evidence[0].doc_id == "7" and q1.evidence[0].start == 0
    assert q2.answerable is False and s.qrels["q2"] == {"7": 0}
    assert q3.evidence[0].start is None  # a wrong offset falls back to containment
    rows = [json.loads(x) for x in s.corpus.read_text().splitlines()]
    assert rows == [{"_id": "7", "title": "Paper A", "text": SQUAD["data"][0]["paragraphs"][0]["context"]}]
    assert load_suite(p, cache_dir=tmp_path / "cache").queries == s.queries


def test_squad_errors(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"data": [\n  {"title": "x",\n  oops}\n]}')
    with pytest.raises(SuiteError, match=r"bad.json:3: not valid JSON"):
        read_squad(p, tmp_path)
    p.write_text(json.dumps({"data": [{"title": "x", "paragraphs": [{"qas": []}]}]}))
    with pytest.raises(SuiteError, match=r"data\[0\].paragraphs\[0\] has no 'context'"):
        read_squad(p, tmp_path)
    p.write_text(json.dumps({"rows": []}))
    with pytest.raises(SuiteError, match="not a SQuAD file"):
        read_squad(p, tmp_path)


def test_seed_suite_reads():
    dev, test = read_beir(ROOT / "eval" / "seeds", "dev"), read_beir(ROOT / "eval" / "seeds", "test")
    assert (len(dev.queries), len(test.queries)) == (76, 46)  # eval/make_seeds.py writes both
    for s in (dev, test):
        assert s.has_unanswerable and s.has_evidence and all(e.start is not None for q in s.queries for e in q.evidence)


@pytest.mark.parametrize("name, split", [("scifact", "test"), ("medquad-cancergov", "dev"), ("covid-qa", "dev")])
def test_shared_suites_read(name, split):
    s = read_beir(shared_suite(name), split)
    assert s.queries and s.split == split
    if name == "covid-qa":
        assert s.has_answers and all(e.start is not None for q in s.queries for e in q.evidence)
    if name == "scifact":
        assert not s.has_evidence


def test_duplicate_query_ids_are_kept_apart(tmp_path):
    queries = [{"_id": "1", "text": "about d1", "evidence": [{"doc_id": "d1", "text": "Alpha beta."}]},
               {"_id": "1", "text": "about d2", "evidence": [{"doc_id": "d2", "text": "Epsilon zeta."}]}]
    s = read_beir(write_beir(tmp_path / "s", queries, {"test": [("1", "d1", 1), ("1", "d2", 1)]}))
    assert [(q.qid, q.text) for q in s.queries] == [("1", "about d1"), ("1#2", "about d2")]
    assert s.qrels == {"1": {"d1": 1}, "1#2": {"d2": 1}} and "reuse the id" in s.warnings[0]
