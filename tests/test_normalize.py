"""Question normalisation: British spellings fold only where they are spellings; shorthand expands."""

from __future__ import annotations

import pytest

from qa.query.normalize import expand_question, fold_spelling


@pytest.mark.parametrize("gb,us", [
    ("leukaemia", "leukemia"), ("anaemia", "anemia"), ("paediatric", "pediatric"), ("haematology", "hematology"),
    ("oedema", "edema"), ("oesophagus", "esophagus"), ("tumour", "tumor"), ("favourable", "favorable"),
    ("randomised", "randomized"), ("organisation", "organization"), ("litres", "liters"), ("centre", "center"),
])
def test_british_spellings_fold_to_american(gb, us):
    assert fold_spelling(gb) == us


@pytest.mark.parametrize("word", ["organisms", "organism", "mechanisms", "centred?", "encentre", "archaeme", "spaed"])
def test_words_that_only_contain_a_british_stem_are_untouched(word):
    assert fold_spelling(word) == word


def test_expansion_keeps_the_typed_words_and_adds_the_long_form():
    out = expand_question("IV dose bd?")
    assert out.startswith("IV dose bd?") and "intravenous" in out and "twice daily" in out


def test_lowercase_it_is_a_pronoun_not_intrathecal():
    assert "intrathecal" not in expand_question("is it safe in pregnancy?")
    assert "intrathecal" in expand_question("IT MTX dose for a toddler")


def test_nothing_to_expand_returns_the_question_unchanged():
    assert expand_question("What is the induction regimen?") == "What is the induction regimen?"


@pytest.mark.parametrize("word", ["HiDAC", "ven", "aza", "ATRA", "kids", "elderly", "infants", "MRD"])
def test_no_corpus_specific_shorthand_lives_in_code(word):
    """A corpus's own abbreviations come from its text (qa.index.vocabulary); 'elderly' and 'kids'
    are words, not abbreviations (issue 16)."""
    assert expand_question(f"{word} dose?") == f"{word} dose?"


@pytest.mark.parametrize("typed,long", [("WCC normal?", "white blood cell count"), ("need a CVC", "central venous catheter"),
                                        ("check coags first", "coagulation"), ("echo before dauno?", "echocardiography")])
def test_ward_shorthand_for_tests_and_lines_expands(typed, long):
    assert long in expand_question(typed)


def test_ix_and_bx_expand_only_in_capitals():
    assert "biopsy" in expand_question("BX result?") and "biopsy" not in expand_question("the bx kit")
