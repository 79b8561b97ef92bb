"""Chunking: structure, offsets, ids. Offsets are checked as a Hypothesis invariant."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.chunk import ChunkParams, blocks, chunk, units
from qa.ingest.corpus import _doc
from qa.types import Document

MD = """# Title

Intro sentence one. Intro sentence two.

## Induction

### Standard

Give 7+3: cytarabine 100-200 mg/m2 IV days 1-7. Then reassess.

- For FLT3-mutated AML, add midostaurin 50 mg orally twice daily on days 8-21. Take with food.
- Do not perform leukapheresis in suspected APL

## References

Research
"""


def doc(text: str, doc_id: str = "d") -> Document:
    return _doc(doc_id, text, {}, doc_id)


def test_blocks_know_kind_and_section():
    d = doc(MD)
    got = [(b.kind, d.text[b.start:b.end], b.section) for b in blocks(d)]
    assert ("heading", "# Title", ("Title",)) in got
    item = "For FLT3-mutated AML, add midostaurin 50 mg orally twice daily on days 8-21. Take with food."
    assert ("item", item, ("Title", "Induction", "Standard")) in got
    assert ("para", "Research", ("Title", "References")) in got


def test_list_items_are_whole_units_and_sentences_split():
    d = doc(MD)
    texts = [d.text[u.start:u.end] for u in units(d)]
    assert "Do not perform leukapheresis in suspected APL" in texts
    assert "Give 7+3: cytarabine 100-200 mg/m2 IV days 1-7." in texts
    assert "Then reassess." in texts
    assert not any(t.startswith("#") for t in texts)


def test_chunks_stay_in_their_section_and_ids_are_stable():
    d = doc(MD)
    _, chunks = chunk(d)
    for c in chunks:
        assert d.text[c.start:c.end].strip() == d.text[c.start:c.end]
    sections = [c.section for c in chunks]
    assert ("Title", "Induction", "Standard") in sections and ("Title", "References") in sections
    # unchanged document, unchanged ids; another document's edit does not matter
    assert [c.chunk_id for c in chunk(doc(MD))[1]] == [c.chunk_id for c in chunks]
    edited = MD.replace("Then reassess.", "Then reassess at day 14.")
    new_ids = {c.chunk_id for c in chunk(doc(edited))[1]}
    old_ids = {c.chunk_id for c in chunks}
    assert old_ids - new_ids and old_ids & new_ids  # only the changed chunk changes id


def test_long_sections_split_with_one_sentence_overlap():
    body = " ".join(f"Sentence number {i} has exactly seven words." for i in range(60))
    d = doc(f"# T\n\n{body}\n")
    us, chunks = chunk(d, ChunkParams(target_words=50, max_words=60))
    assert len(chunks) > 3
    for c in chunks:
        assert len(d.text[c.start:c.end].split()) <= 60
    for a, b in zip(chunks, chunks[1:]):
        assert b.unit_lo == a.unit_hi - 1  # one unit of overlap


line = st.one_of(
    st.text(alphabet=st.sampled_from("abc XYZ.0123-/²ﬁ!?"), max_size=60),
    st.sampled_from(["", "# H1", "## H2 sub", "- item one. Two.", "  - nested item", "1. numbered", "   "]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(line, max_size=25))
def test_every_span_is_the_stored_text(lines):
    d = doc("\n".join(lines))
    us, chunks = chunk(d, ChunkParams(target_words=8, max_words=12))
    for u in us:
        assert 0 <= u.start < u.end <= len(d.text)
        assert d.text[u.start:u.end].strip() == d.text[u.start:u.end]
    for c in chunks:
        assert d.text[c.start:c.end] == d.text[us[c.unit_lo].start:us[c.unit_hi - 1].end]
        assert c.unit_lo < c.unit_hi
    # every unit is in some chunk
    covered = set()
    for c in chunks:
        covered.update(range(c.unit_lo, c.unit_hi))
    assert covered == set(range(len(us)))


def test_a_wrapped_line_starting_with_a_number_stays_in_its_sentence():
    doc = _doc("d", "Repeat the marrow before day\n14. Review the marrow then.\n", {}, "d")
    texts = [doc.text[u.start:u.end] for u in units(doc)]
    assert texts == ["Repeat the marrow before day\n14.", "Review the marrow then."], texts
    assert all(u.kind != "item" for u in units(doc))


def test_a_list_after_a_lead_in_is_still_a_list():
    doc = _doc("d", "Signs include:\n- fever\n- easy bruising\n", {}, "d")
    assert [u.kind for u in units(doc)] == ["sent", "item", "item"]


def test_a_hash_line_in_plain_text_is_not_a_heading(tmp_path):
    from qa.ingest.corpus import read_markdown

    p = tmp_path / "notes.txt"
    p.write_text("Regimen summary.\n\n# of cycles: 4\n")
    doc = next(read_markdown(p, "notes"))
    assert doc.sections == ()
    assert [b.kind for b in blocks(doc)] == ["para", "para"]
    assert any("# of cycles: 4" in doc.text[u.start:u.end] for u in units(doc))


_LINE_TEXT = st.text(st.sampled_from(list("ab 1.-#:\n")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_LINE_TEXT)
def test_every_non_space_character_of_a_paragraph_lands_in_some_unit_or_marker(text):
    doc = _doc("d", text, {}, "d", markdown=False)
    covered = set()
    for u in units(doc):
        covered.update(range(u.start, u.end))
    for i, ch in enumerate(doc.text):
        if ch.isspace() or i in covered:
            continue
        # only list markers ("- ", "14. ") may be left out, and only at the start of their line
        line_start = doc.text.rfind("\n", 0, i) + 1
        head = doc.text[line_start:i + 1].lstrip()
        assert head and all(c in "-*+0123456789.)" for c in head), (text, i, ch)
