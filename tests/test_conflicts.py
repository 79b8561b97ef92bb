"""qa.query.conflicts: facts pulled from sentences, when two sources disagree, and the gold set's floor."""

from __future__ import annotations

import importlib.util
import json
import random
import time
import unicodedata
from collections import Counter
from dataclasses import FrozenInstanceError

import pytest

from conftest import ROOT
from qa.query.conflicts import Conflict, find_conflicts, quantities

GOLD = ROOT / "eval" / "conflicts"


def one(text: str):
    """The single fact of a sentence."""
    facts = quantities(text)
    assert len(facts) == 1, facts
    return facts[0]


def conflicts(*texts: str, **kw) -> list[Conflict]:
    """Each text its own document, cited [1], [2], ..."""
    return find_conflicts([(i, f"doc-{i}", t) for i, t in enumerate(texts, start=1)], **kw)


# --- extraction and normalisation -------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("daunorubicin 45 mg/m2", "daunorubicin 45mg/m2"),
    ("daunorubicin 45 mg/m2", unicodedata.normalize("NFKC", "daunorubicin 45 mg/m²")),
    ("daunorubicin 45 mg/m2", "daunorubicin 45 mg/m²"),
    ("dexamethasone 150 micrograms/kg", "dexamethasone 0.15 mg/kg"),
    ("dexamethasone 150 μg/kg", "dexamethasone 150 mcg/kg"),
    ("limit sodium to 1,500 mg", "limit sodium to 1500 milligrams"),
    ("no more than 2,300milligrams of sodium", "no more than 2,300 mg of sodium"),
    ("400 International Units of vitamin E", "400 IU of vitamin E"),
    ("cytarabine 1 g/m2", "cytarabine 1000 mg/m2"),
    ("prednisone 1 mg/kg per day", "prednisone 1 mg/kg/day"),
])
def test_one_dose_written_two_ways_normalises_alike(a, b):
    assert one(a).norm == one(b).norm
    assert conflicts(a, b) == []


@pytest.mark.parametrize("text, norm", [
    ("midostaurin 50 mg on days 8–21", "days 8-21"),   # en dash
    ("midostaurin 50 mg on days 8-21", "days 8-21"),
    ("midostaurin on days 1 to 7", "days 1-7"),
    ("cytarabine on days 1,3, and 5", "days 1; 3; 5"),
])
def test_schedules_and_their_ranges(text, norm):
    days = [f for f in quantities(text) if f.kind == "days"]
    assert [f.norm for f in days] == [norm]
    assert days[0].subject in ("midostaurin", "cytarabine")


@pytest.mark.parametrize("text, norm", [
    ("daunorubicin 60-90 mg/m2", "60-90 mg/m2"),
    ("daunorubicin 60 to 90 mg/m2", "60-90 mg/m2"),
    ("daunorubicin 60–90 mg/m2", "60-90 mg/m2"),                  # en dash
    ("PD166285 (1−25 mg/kg)", "1-25 mg/kg"),                         # minus sign, which NFKC keeps
    ("between 30 and 60 mg of amitriptyline", "30-60 mg"),
    ("dexamethasone (0.05, 0.15, or 0.5 mg/kg)", "0.05; 0.15; 0.5 mg/kg"),
    ("amitriptyline, up to 100 mg/d", "<=100 mg daily"),
    ("at least 4 mg of folic acid", ">=4 mg"),
    ("sodium, 2,300 mg or less each day", "<=2300 mg daily"),
])
def test_dose_values_ranges_lists_and_limits(text, norm):
    assert one(text).norm == norm


@pytest.mark.parametrize("text, norm", [
    ("metformin was given for 2 weeks", "14 days"),
    ("metformin was given for up to 14 days", "<=14 days"),
    ("take prednisone for 12 months or longer", ">=365.28 days"),
])
def test_durations_in_days(text, norm):
    f = one(text)
    assert (f.kind, f.norm) == ("duration", norm)


def test_subjects_frequencies_and_salts():
    f = one("INTERVENTIONS Subjects received 5 mg/d of alendronate sodium.")
    assert (f.subject, f.unit, f.per) == ("alendronate", "mg", "daily")
    f = one("received weekly methotrexate 40 mg/m2 parenterally and daily oral 6MP")
    assert (f.subject, f.per) == ("methotrexate", "weekly")
    assert one("NTX 600 mg twice daily").subject == "ntx"  # an acronym, right next to its dose
    assert one("0.4 mg of folic acid daily").subject == "folic acid"
    assert one("1000IU/day of Vitamin D").subject == "vitamin d"
    assert one("Doxycycline 100 mg every 12 hours").per == "twice daily"


@pytest.mark.parametrize("text", [
    "A fasting blood sugar level of 126 mg/dL or higher is considered diabetes.",  # a lab value
    "Cells were grown with 100 μg/mL streptomycin.",                               # a concentration
    "A level of 6.5 percent or above means a person has diabetes.",                # a percentage
    "A fasting blood sugar level between 100125 mg/dL is considered prediabetes.",  # a lost dash
    "methotrexate at low doses (1525 mg once weekly)",                              # '15-25' lost its dash
    "Mean zinc intakes were 13.0 +/- 3.4 mg/d.",                                     # a mean ± SD
    "Give 40 mg to the patient.",                                                   # no subject
    "Patients had AF for 6 months or more.",                                         # a disease, not a drug
])
def test_no_fact_where_no_comparable_dose(text):
    assert quantities(text) == []


def test_named_periods_are_their_own_subject():
    f = one("assuming a mean serial interval of 7.5 days")
    assert (f.subject, f.kind, f.value) == ("serial interval", "duration", "7.5 days")
    assert quantities("a trial period of 6 weeks") == []


# --- agreeing and conflicting ------------------------------------------------------------------------

def test_different_doses_conflict_with_verbatim_values():
    a = "Induction: daunorubicin 45 mg/m2 IV on days 1-3."
    b = "Daunorubicin 60 mg/m2 on days 1-3 is the standard."
    assert conflicts(a, b) == [Conflict((1, 2), "daunorubicin dose", ("45 mg/m2", "60 mg/m2"))]
    assert conflicts(a, b)[0].to_dict() == {"citations": [1, 2], "what": "daunorubicin dose",
                                            "values": ["45 mg/m2", "60 mg/m2"]}


def test_different_schedules_conflict():
    (c,) = conflicts("Add midostaurin 50 mg twice daily on days 8-21.", "Midostaurin 50 mg twice daily, days 8-14.")
    assert (c.what, c.values) == ("midostaurin days", ("days 8-21", "days 8-14"))


@pytest.mark.parametrize("a, b", [
    ("daunorubicin 60 or 90 mg/m2", "daunorubicin 90 mg/m2"),              # one of the listed values
    ("daunorubicin 60-90 mg/m2", "daunorubicin 75 mg/m2"),                 # inside the range
    ("pioglitazone, 15 to 45 mg", "pioglitazone (45 mg/day)"),
    ("amitriptyline, up to 100 mg/d", "amitriptyline (25 mg/day)"),        # within the limit
    ("daunorubicin 90 mg/m2", "daunorubicin 90 mg/kg"),                    # other units: not compared
    ("alendronate 70 mg once weekly", "alendronate 10 mg daily"),          # other frequencies
    ("doxycycline (200mg/day)", "Doxycycline 100 mg every 12 hours"),
    ("In children, ATRA 25 mg/m2 per day.", "In adults, ATRA 45 mg/m2 per day."),  # other populations
    ("daunorubicin 60 mg/m2", "idarubicin 12 mg/m2"),                      # other drugs
    ("daunorubicin 60 mg/m2", "cytarabine 60 mg/m2 on days 1-7"),
    ("Give 60 mg/m2 daunorubicin on days 1-3.", "Daunorubicin on days 1, 2 and 3."),  # same days
    ("metformin for up to 14 days", "metformin for 2 weeks"),
])
def test_agreeing_or_incomparable_pairs_raise_nothing(a, b):
    assert conflicts(a, b) == []


@pytest.mark.parametrize("a, b, what", [
    ("Try to eat no more than 2,300 mg sodium a day.", "Limit sodium intake to 1,500 mg a day.", "sodium dose"),
    ("at least 4 mg of folic acid", "consume 0.4 mg of folic acid", "folic acid dose"),
    ("assuming a mean serial interval of 7.5 days", "Serial interval with a mean of 6.5 days.", "serial interval"),
    ("Give prednisone for 5 days.", "prednisone for 14 days", "prednisone duration"),
])
def test_limits_points_and_periods_that_differ(a, b, what):
    assert [c.what for c in conflicts(a, b)] == [what]


def test_acronym_defined_in_one_sentence_is_known_in_another():
    (c,) = conflicts("all-trans retinoic acid (ATRA) 45 mg/m2 per day", "ATRA 25 mg/m2 per day")
    assert c.what == "retinoic acid dose"


def test_two_sentences_of_one_document_are_compared_only_when_asked():
    rows = [(1, "guide", "Daunorubicin 60 mg/m2 in induction."), (2, "guide", "Daunorubicin 90 mg/m2 if fit.")]
    assert find_conflicts(rows) == []
    assert [c.citations for c in find_conflicts(rows, same_document=True)] == [(1, 2)]


def test_no_conflict_for_one_sentence_or_none():
    assert find_conflicts([]) == []
    assert find_conflicts([(1, "a", "Daunorubicin 60 mg/m2 or 90 mg/m2, never 45 mg/m2.")]) == []
    assert find_conflicts([(1, "a", "daunorubicin 60 mg/m2"), (1, "b", "daunorubicin 90 mg/m2")]) == []


def test_several_sources_make_one_conflict_in_citation_order():
    rows = [(3, "c", "daunorubicin 90 mg/m2"), (1, "a", "daunorubicin 60 mg/m2"), (2, "b", "daunorubicin 60 mg/m2")]
    assert find_conflicts(rows) == [Conflict((1, 2, 3), "daunorubicin dose", ("60 mg/m2", "60 mg/m2", "90 mg/m2"))]


def test_values_are_verbatim_and_results_do_not_depend_on_input_order():
    texts = ["Give daunorubicin 45 mg/m2 on days 1-3 and cytarabine 100-200 mg/m2 on days 1-7.",
             "Daunorubicin 60–90 mg/m2 IV days 1-3; cytarabine 100 mg/m2 on days 1 to 7.",
             "Cytarabine 3 g/m2 every 12 hours on days 1, 3 and 5; daunorubicin 90 mg/m2.",
             "Midostaurin 50 mg twice daily on days 8-21."]
    rows = [(i, f"doc-{i}", t) for i, t in enumerate(texts, start=1)]
    found = find_conflicts(rows)
    assert found and found == sorted(found, key=lambda c: (c.citations, c.what))
    for c in found:
        assert list(c.citations) == sorted(c.citations)
        for cit, value in zip(c.citations, c.values):
            assert all(v in texts[cit - 1] for v in value.split(", "))
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert find_conflicts(shuffled) == found
    assert find_conflicts(rows) == found


def test_conflict_is_frozen():
    c = Conflict((1, 2), "x dose", ("1 mg", "2 mg"))
    with pytest.raises(FrozenInstanceError):
        c.what = "y"


def test_hostile_text_is_fast_and_safe():
    nasty = ["1, " * 600 + "mg", "days " + "1-" * 600 + "2", "for " + "9" * 500 + " days", "(" * 900 + "mg/m2",
             "aspirin 10000000000 mg vs aspirin 1e9 mg", "days 5-3 of cytarabine", "µg μg mcg " * 200, ""]
    start = time.perf_counter()
    find_conflicts([(i, str(i), t) for i, t in enumerate(nasty)])
    assert time.perf_counter() - start < 5


# --- the gold set ---------------------------------------------------------------------------------------

def _measure():
    spec = importlib.util.spec_from_file_location("conflicts_measure", GOLD / "measure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gold_set_is_well_formed():
    rows = [json.loads(line) for line in (GOLD / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len({r["id"] for r in rows}) == len(rows) >= 40
    assert Counter(r["split"] for r in rows).keys() == {"dev", "test"}
    assert sum(r["conflict"] for r in rows) >= 15
    for r in rows:
        assert r["a"]["text"] and r["b"]["text"] and r["a"]["doc_id"] and r["b"]["doc_id"] and r["note"]
        assert not r["conflict"] or r["what"]
    # a group (one topic) never straddles dev and test, so tuning on dev does not see test's sentences
    assert all(len({r["split"] for r in rows if r["group"] == g}) == 1 for g in {r["group"] for r in rows})


def test_gold_dev_split_keeps_its_precision():
    """Measured on dev: precision 0.778 (7 of 9), recall 0.700 (7 of 10). The floors sit one error
    below, so a regression fails while a one-pair wobble from a deliberate change is still visible."""
    measure = _measure()
    s = measure.score([p for p in measure.load() if p["split"] == "dev"])
    assert s["precision"] >= 0.70, s
    assert s["recall"] >= 0.60, s
