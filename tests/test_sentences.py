"""The sentence splitter: hand-checked cases and Hypothesis invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.sentences import MAX_SENTENCE_CHARS, split_spans

PROTECTED = [
    "cytarabine 100-200 mg/m² IV days 1-7",
    "cytarabine 100-200 mg/m2 IV days 1-7",
    "e.g. ATRA",
    "vs. placebo",
    "approx. 0.5 mg",
    "0.5 mg",
    "t(8;21)",
    "Fig. 2",
    "Dr.Oracle",
    "i.e. 25 mg/m2",
    "et al. 2019",
]


def texts(text):
    return [text[a:b] for a, b in split_spans(text)]


def test_hand_checked():
    assert texts("Give ATRA now. Then check. Done!") == ["Give ATRA now.", "Then check.", "Done!"]
    assert texts("Days 1-7. Days 8-21.") == ["Days 1-7.", "Days 8-21."]
    assert texts("Use approx. 0.5 mg daily. Stop.") == ["Use approx. 0.5 mg daily.", "Stop."]
    assert texts("See Fig. 2 for details. Next.") == ["See Fig. 2 for details.", "Next."]
    assert texts("Is it APL? Start ATRA.") == ["Is it APL?", "Start ATRA."]
    assert texts("") == [] and texts("   \n ") == []


words = st.text(alphabet=st.sampled_from("abcdefgh ABC.,;:!?0123456789()-/\n"), max_size=80)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(words, st.sampled_from(PROTECTED)), max_size=12))
def test_spans_are_exact_ordered_and_trimmed(parts):
    text = " ".join(parts)
    spans = split_spans(text)
    prev = 0
    for a, b in spans:
        assert prev <= a < b <= len(text)
        assert text[a:b] == text[a:b].strip()
        assert text[prev:a].strip() == ""  # only whitespace between sentences
        prev = b
    assert text[prev:].strip() == ""
    # nothing but whitespace is lost
    covered = "".join(text[a:b] for a, b in spans)
    assert covered.replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "").replace("\t", "")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PROTECTED), st.sampled_from(["Give", "The dose is", "Start with", "Note:"]),
       st.sampled_from(["daily.", "now. Then stop.", "at once. Review later."]))
def test_protected_phrases_are_never_cut(phrase, before, after):
    text = f"{before} {phrase} {after}"
    start = text.index(phrase)
    assert any(a <= start and start + len(phrase) <= b for a, b in split_spans(text))


def test_a_huge_line_is_cut_into_bounded_units():
    text = "word " * 5000
    spans = split_spans(text)
    assert len(spans) > 1 and all(b - a <= MAX_SENTENCE_CHARS for a, b in spans)
