"""Question normalisation: British spellings and general clinical shorthand, as clinicians type them.

Sources are mostly American and spelled out ("leukemia", "intravenous", "twice daily"); questions
are often British and abbreviated ("leukaemia", "IV", "bd"). We fold British spellings to American
ones and append the long forms of shorthand (the typed words stay, so nothing is lost).

Only general usage lives here, the same for any clinical corpus: spellings at word boundaries and
a few dozen abbreviations every ward uses (routes, frequencies, "dx", "hx", "CBC"). A corpus's own
abbreviations ("high-dose cytarabine (HiDAC)") are learned from it at index time
(`qa.index.vocabulary`), never written here. The list was written for qa from common clinical
usage (the expansions agree with Wikipedia's "List of medical abbreviations", CC BY-SA 4.0, which
was used to check them, not copied) and is released under this repository's license.

>>> expand_question("IV dose bd for paediatric pts?")
'IV dose bd for pediatric pts? (intravenous, twice daily, patients)'
"""

from __future__ import annotations

import re

# British -> American spellings, each anchored where the British form can only be a spelling:
# a plain substring fold turned "organisms" into "organizms" and would touch any word with "paed"
# or "haem" inside it. Stems that open a word are anchored at its start; -ise/-isation verbs only
# before those endings; litre/centre only as whole words.
_ISE = r"(?=(?:e|ed|es|ing|ation|ations)\b)"
SPELLING = [
    (r"aemia", "emia"), (r"aemat", "emat"), (r"\bhaem", "hem"), (r"\bpaed", "ped"), (r"\boedem", "edem"),
    (r"\boesoph", "esoph"), (r"tumour", "tumor"), (r"\bfavour", "favor"), (r"\bcolour", "color"),
    (r"\banaes", "anes"), (r"\bfoetal", "fetal"), (r"\boestr", "estr"), (r"ischaem", "ischem"),
    (r"\bbehaviour", "behavior"), (r"\brandomis" + _ISE, "randomiz"), (r"\borganis" + _ISE, "organiz"),
    (r"\blitre(s?)\b", r"liter\1"), (r"\bcentre(s?)\b", r"center\1"),
]
_SPELLING = [(re.compile(gb, re.I), us) for gb, us in SPELLING]

# shorthand -> expansion (matched as whole words, case-insensitive unless listed in ONLY_IN_CAPITALS)
ABBREVIATIONS = {
    # routes and frequencies
    "iv": "intravenous", "im": "intramuscular", "sc": "subcutaneous", "subcut": "subcutaneous", "po": "oral",
    "it": "intrathecal", "od": "once daily", "qd": "once daily", "bd": "twice daily", "bid": "twice daily",
    "tds": "three times daily", "tid": "three times daily", "qds": "four times daily", "qid": "four times daily",
    "prn": "as needed", "nocte": "at night",
    # the shorthand of notes
    "tx": "treatment", "rx": "treatment", "dx": "diagnosis", "ddx": "differential diagnosis", "sx": "symptoms",
    "hx": "history", "mx": "management", "abx": "antibiotics", "pt": "patient", "pts": "patients",
    "yo": "years old", "yr": "year", "yrs": "years", "wk": "week", "wks": "weeks",
    # tests and systems
    "cbc": "complete blood count", "fbc": "complete blood count", "wbc": "white blood cell",
    "rbc": "red blood cell", "hb": "hemoglobin", "hgb": "hemoglobin", "plt": "platelets",
    "lfts": "liver function tests", "csf": "cerebrospinal fluid", "cns": "central nervous system",
    "lp": "lumbar puncture", "bp": "blood pressure", "ecg": "electrocardiogram", "ekg": "electrocardiogram",
    "bmt": "bone marrow transplant", "sct": "stem cell transplant", "hsct": "stem cell transplant",
    "wcc": "white blood cell count", "cvc": "central venous catheter", "picc": "central venous catheter",
    "coags": "coagulation", "echo": "echocardiography", "chemo": "chemotherapy", "ppx": "prophylaxis",
    "bx": "biopsy", "ix": "investigations", "dgh": "district general hospital",
}
# ordinary English words unless typed in capitals ("is it safe" vs "IT methotrexate")
ONLY_IN_CAPITALS = frozenset({"it", "im", "od", "po", "pt", "lp", "hb", "sc", "mx", "dx", "tx", "rx", "sx", "hx",
                              "ix", "bx"})
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9/+-]*")


def fold_spelling(text: str) -> str:
    """British to American at the anchored places only.

    >>> fold_spelling("Organisms in paediatric leukaemia; randomised, 1 litre")
    'Organisms in pediatric leukemia; randomized, 1 liter'
    """
    out = text
    for rx, us in _SPELLING:
        out = rx.sub(us, out)
    return out


def expand_question(question: str) -> str:
    q = fold_spelling(question)
    extra = []
    for w in _WORD.findall(q):
        exp = ABBREVIATIONS.get(w.lower())
        if w.lower() in ONLY_IN_CAPITALS and not w.isupper():
            continue
        if exp and exp.lower() not in q.lower() and exp not in extra:
            extra.append(exp)
    return f"{q} ({', '.join(extra)})" if extra else q
