"""The sources' own references (issue 16 part 2): reference lists and the markers that cite them."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest.corpus import read_corpus, sections_of
from qa.ingest.references import References, link, markers, reference_list
from qa.types import Document

ROOT = Path(__file__).resolve().parent.parent


def doc(text: str, doc_id: str = "d") -> Document:
    return Document(doc_id, text, title="T", sections=sections_of(text))


NUMBERED = """# Guide

Give daunorubicin 60 mg/m2 on days 1-3 [1]. Repeat marrow on day 14.
Add midostaurin with food 2, 3.

## References

1. Smith J, et al. Daunorubicin in AML. Blood. 2020. doi:10.1182/blood.2019003
2. Stone RM. Midostaurin. N Engl J Med. 2017;377:454-464.
   PMID: 28644114
[3] Guideline panel. https://example.org/aml-guideline.

## Disclaimer

Not a reference 4.
"""


def test_a_numbered_list_keeps_its_numbers_links_and_wrapped_lines():
    refs = reference_list(doc(NUMBERED))
    assert [r.n for r in refs] == [1, 2, 3]
    assert refs[0].url == "https://doi.org/10.1182/blood.2019003"
    assert refs[1].text.endswith("PMID: 28644114") and refs[1].url == "https://pubmed.ncbi.nlm.nih.gov/28644114/"
    assert refs[2].url == "https://example.org/aml-guideline"
    d = doc(NUMBERED)
    for r in refs:  # offsets index the stored text; the disclaimer after the list is not an entry
        assert d.text[r.start:r.end].split()[0] in r.text and "Not a reference" not in d.text[r.start:r.end]


def test_markers_in_a_sentence_resolve_to_entries_and_days_are_not_citations():
    d = doc(NUMBERED)
    refs = References.build([d])
    first = "Give daunorubicin 60 mg/m2 on days 1-3 [1]."
    at = d.text.index(first)
    cited = refs.cited("d", at, at + len(first), first)
    assert [(c.n, d.text[c.at[0]:c.at[1]]) for c in cited] == [(1, "[1]")]
    assert refs.cited("d", 0, 0, "Repeat marrow on day 14.") == []
    two = refs.cited("d", 0, 0, "Add midostaurin with food 2, 3.")
    assert [c.n for c in two] == [2, 3] and two[1].url == "https://example.org/aml-guideline"


@pytest.mark.parametrize("sentence, numbers", [
    ("Proceed immediately with standard leukemia protocols 1, 3", [1, 3]),
    ("(idarubicin 12 mg/m2 IV days 1-3) 4, 5.", [4, 5]),
    ("for 2-4 cycles 4, 5", [4, 5]),
    ("every 12 hours 7.", [7]),
    ("As reported [2–4].", [2, 3, 4]),
    ("Repeat on day 14.", []),
    ("Reassess at grade 3", []),
    ("Infection rates fell to 12%", []),
    ("See [1-300].", []),               # not a citation of 300 entries
])
def test_marker_reading(sentence, numbers):
    assert [n for ns, _, _ in markers(sentence) for n in ns] == numbers


def test_a_document_without_a_reference_list_has_no_source_references():
    d = doc("# Guide\n\nGive aspirin 300 mg 4.\n")
    refs = References.build([d])
    assert refs.lists == {} and refs.cited("d", 0, 22, "Give aspirin 300 mg 4.") == []


def test_a_number_the_list_does_not_hold_comes_back_unlisted():
    d = doc("# G\n\nGive it 9.\n\n## Bibliography\n\n1. Only entry.\n")
    (c,) = References.build([d]).cited("d", 5, 15, "Give it 9.")
    assert (c.n, c.text, c.url) == (9, None, None)


def test_links_are_http_only():
    assert link("javascript:alert(1) and ftp://x.org/a") is None
    assert link("see http://a.org/x).") == "http://a.org/x"


def test_the_bundled_guideline_lists_its_four_references():
    docs = list(read_corpus(ROOT / "corpus"))
    refs = References.build(docs)
    assert list(refs.lists) == ["aleukemic-leukemia-treatment"]  # the other text cites nothing
    entries = refs.lists["aleukemic-leukemia-treatment"]
    assert [r.n for r in entries] == [1, 2, 3, 4]
    assert entries[0].text.startswith("Research · Childhood aleukemic leukemia with hypercalcemia")
    assert entries[3].text.startswith("Guideline · Acute Myeloid Leukemia Treatment Guidelines")


def test_saved_and_loaded_alike_and_a_wrong_format_is_refused(tmp_path):
    refs = References.build([doc(NUMBERED)])
    refs.save(tmp_path / "r.json")
    assert References.load(tmp_path / "r.json") == refs
    assert References.load(tmp_path / "missing.json") == References()  # an index built before them
    (tmp_path / "bad.json").write_text('{"format": 99, "lists": {}}')
    with pytest.raises(ValueError, match="rebuild with `qa index`"):
        References.load(tmp_path / "bad.json")
