"""The corpus's own vocabulary (issue 16, part 1): abbreviations mined where the corpus defines
them, misspelled question words read as the corpus's words, and both shown to the clinician."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import CORPUS, FakeEmbedder
from qa.cli import app
from qa.index.build import build_index
from qa.index.store import load_index, read_manifest
from qa.index.vocabulary import FILE, Definition, Vocabulary, find_definitions
from qa.ingest.corpus import read_corpus
from qa.query.engine import Engine
from qa.query.spelling import Speller, edit_distance, read_question

TEXT = ("Check minimal residual disease (MRD) by flow. Give all-trans retinoic acid (ATRA) at once. "
        "A dose (50 mg) is given; see the note (see above). Magnetic resonance imaging (MRI) of the brain.")


def test_definitions_are_found_where_the_text_makes_them():
    got = [(d.short, d.long) for d in find_definitions(TEXT, "t")]
    assert got == [("MRD", "minimal residual disease"), ("ATRA", "all-trans retinoic acid"),
                   ("MRI", "Magnetic resonance imaging")]
    for d in find_definitions(TEXT, "t"):
        assert TEXT[d.start:d.start + len(d.long)] == d.long  # offsets index the text


def test_every_bundled_definition_points_at_its_own_words():
    docs = read_corpus(CORPUS)
    v = Vocabulary.build(docs)
    text = {d.doc_id: d.text for d in docs}
    assert {"aml", "all", "apl", "atra"} <= set(v.definitions)
    for ds in v.definitions.values():
        for d in ds:
            assert text[d.doc_id][d.start:d.start + len(d.long)] == d.long


def test_a_short_form_defined_two_ways_keeps_both():
    docs = [type("D", (), {"text": "Give arsenic trioxide (AT). Watch for acute toxicity (AT).", "doc_id": "x"})()]
    assert Vocabulary.build(docs).long_forms("AT") == ["arsenic trioxide", "acute toxicity"]


def test_the_index_stores_its_vocabulary_checksummed(tmp_path):
    build_index(CORPUS, tmp_path / "idx", FakeEmbedder())
    assert FILE in read_manifest(tmp_path / "idx")["files"]
    data = load_index(tmp_path / "idx")
    assert data.vocabulary.long_forms("AML") == ["acute myeloid leukemia"]
    assert data.vocabulary.words["midostaurin"] >= 1


def test_an_index_from_before_vocabularies_loads_with_none(tmp_path):
    build_index(CORPUS, tmp_path / "idx", FakeEmbedder())
    folder = (tmp_path / "idx").resolve()
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"][FILE]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / FILE).unlink()
    e = Engine.load(tmp_path / "idx", FakeEmbedder())
    assert e.data.vocabulary.definitions == {} and e.ask("midostaurn days").corrections == ()


def test_corrections_only_for_words_the_index_never_saw():
    words = {"midostaurin": 3, "methotrexate": 5, "intrathecal": 4, "before": 9, "schedule": 2}
    sp = Speller(words)
    assert sp.correct("midostaurn") == "midostaurin" and sp.correct("schedual") == "schedule"
    assert sp.correct("zzzzzzz") is None
    v = Vocabulary({}, words)
    r = read_question("Intrathekal methotrexat befor LP in ALL", v, known=lambda w: False, speller=sp)
    assert r.text == "Intrathecal methotrexate before LP in ALL"
    assert r.corrections == (("Intrathekal", "intrathecal"), ("methotrexat", "methotrexate"), ("befor", "before"))
    known = read_question("dosing befor", v, known=lambda w: w == "dosing", speller=sp)
    assert known.corrections == (("befor", "before"),)  # "dosing": its BM25 token is in the index
    assert edit_distance("abc", "abcdef", 2) == 3  # past the limit: limit + 1


def test_a_lowercase_word_is_not_read_as_the_abbreviation_it_spells():
    v = Vocabulary({"all": [Definition("ALL", "acute lymphoblastic leukemia", "d", 0)],
                    "are": [Definition("ARE", "AU-rich element", "d", 0)],
                    "aml": [Definition("AML", "acute myeloid leukemia", "d", 0)]}, {"all": 40})
    known = lambda w: True  # noqa: E731
    assert read_question("is all of it needed", v, known).expansions == ()
    assert read_question("What are the risks? Are they rare?", v, known).expansions == ()  # covid-qa's "are"
    assert read_question("ALL in infants", v, known).expansions == ("acute lymphoblastic leukemia",)
    assert read_question("tx for aml pt", v, known).expansions == ("acute myeloid leukemia",)


def test_a_name_holding_its_short_form_is_no_definition():
    assert find_definitions("the insertion sequence IS481 (IS) was found") == []


@pytest.mark.slow
@pytest.mark.parametrize("typed,read,quote", [
    ("midostaurn days with 7+3?", [("midostaurn", "midostaurin")], "midostaurin 50 mg"),
    ("Wat is teh dose of intrathekal methotrexat for a toddler", [("intrathekal", "intrathecal"),
                                                                   ("methotrexat", "methotrexate")], "2 years = 10 mg"),
    ("Do I need an echo befor anthracyclin?", [("befor", "before")], "echocardiography before anthracycline"),
])
def test_questions_as_typed_in_a_hurry_are_read_and_answered(bundled_index, real_embedder, typed, read, quote):
    e = Engine.load(bundled_index, real_embedder)
    a = e.ask(typed)
    assert [(c["from"], c["to"]) for c in a.corrections] == read
    assert not a.abstained and quote in a.citations[0].text
    assert Engine.load(bundled_index, real_embedder, vocabulary=False).ask(typed).corrections == ()


def test_qa_vocab_lists_what_was_learned(tmp_path):
    build_index(CORPUS, tmp_path / "idx", FakeEmbedder())
    r = CliRunner().invoke(app, ["vocab", str(tmp_path / "idx")])
    assert r.exit_code == 0 and "acute myeloid leukemia" in r.output and "aleukemic-leukemia-treatment, char" in r.output
    j = json.loads(CliRunner().invoke(app, ["vocab", str(tmp_path / "idx"), "--json"]).output)
    assert {"short": "AML", "long": "acute myeloid leukemia"}.items() <= j["abbreviations"][1].items()
    missing = CliRunner().invoke(app, ["vocab", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no index at" in missing.output
    vocab_file = (tmp_path / "idx").resolve() / FILE
    vocab_file.write_text(vocab_file.read_text().replace("acute myeloid", "acute mylo"))  # edited by hand
    tampered = CliRunner().invoke(app, ["vocab", str(tmp_path / "idx")])
    assert tampered.exit_code == 2 and f"{FILE} does not match its checksum" in tampered.output


def test_the_api_serves_the_vocabulary_and_the_corrections(tmp_path):
    from fastapi.testclient import TestClient

    from qa.service.app import create_app
    from qa.service.settings import Settings

    build_index(CORPUS, tmp_path / "idx", FakeEmbedder())
    engine = Engine.load(tmp_path / "idx", FakeEmbedder())
    with TestClient(create_app(Settings(rate_limit_per_minute=0), engine=engine)) as c:
        v = c.get("/v1/vocabulary").json()
        assert v["index_id"] == engine.index_id and v["words"] > 100
        assert {"short": "ATRA", "long": "all-trans retinoic acid", "doc_id": "aleukemic-leukemia-treatment"}.items() \
            <= next(d for d in v["abbreviations"] if d["short"] == "ATRA").items()
        a = c.post("/v1/ask", json={"question": "midostaurn days"}).json()
        assert a["corrections"] == [{"from": "midostaurn", "to": "midostaurin"}]


def test_the_vocabulary_endpoint_counts_against_the_rate_limit(tmp_path):
    from fastapi.testclient import TestClient

    from qa.service.app import create_app
    from qa.service.settings import Settings

    build_index(CORPUS, tmp_path / "idx", FakeEmbedder())
    engine = Engine.load(tmp_path / "idx", FakeEmbedder())
    with TestClient(create_app(Settings(rate_limit_per_minute=1, rate_limit_burst=2), engine=engine)) as c:
        codes = [c.get("/v1/vocabulary").status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and codes[-1] == 429
