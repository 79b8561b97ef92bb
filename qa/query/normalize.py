"""Question normalisation: British spellings and clinical shorthand, as clinicians type them.

Sources are mostly American and spelled out ("leukemia", "high-dose cytarabine"); questions are
often British and abbreviated ("leukaemia", "HiDAC"). Neither BM25 nor MiniLM knows that HiDAC is
high-dose cytarabine, so we append the expansion to the question (the original words stay, so
nothing the user typed is lost) and fold British spellings to American ones.

>>> expand_question("HiDAC for favourable-risk AML?")
'HiDAC for favorable-risk AML? (high-dose cytarabine)'
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

# shorthand -> expansion (matched as whole words, case-insensitive unless the key has capitals)
ABBREVIATIONS = {
    "hidac": "high-dose cytarabine", "hdac": "high-dose cytarabine", "ara-c": "cytarabine",
    "dnr": "daunorubicin", "ida": "idarubicin", "mtx": "methotrexate", "it": "intrathecal",
    "atra": "all-trans retinoic acid", "ato": "arsenic trioxide", "hma": "hypomethylating agent",
    "aza": "azacitidine", "ven": "venetoclax", "sct": "stem cell transplant",
    "allosct": "allogeneic stem cell transplant", "allo": "allogeneic", "hsct": "stem cell transplant",
    "cr": "complete remission", "cr1": "first complete remission", "cr2": "second complete remission",
    "mrd": "minimal residual disease", "tls": "tumor lysis syndrome", "cbf": "core-binding factor",
    "os": "overall survival", "efs": "event-free survival", "bmt": "bone marrow transplant",
    "bm": "bone marrow", "lp": "lumbar puncture", "csf": "cerebrospinal fluid",
    "cns": "central nervous system", "wbc": "white blood cell", "fbc": "complete blood count",
    "cbc": "complete blood count", "tx": "treatment", "rx": "treatment", "dx": "diagnosis",
    "pt": "patient", "pts": "patients", "yo": "years old", "yr": "year", "yrs": "years",
    "mud": "matched unrelated donor", "hla": "HLA typing", "echo": "echocardiography",
    "r/r": "relapsed or refractory", "mx": "management", "abx": "antibiotics", "sx": "symptoms",
    "kids": "children", "elderly": "older", "frontline": "first-line", "1st-line": "frontline", "infant": "infantile", "infants": "infantile",
}
# ordinary English words unless typed in capitals ("is it safe" vs "IT MTX")
ONLY_IN_CAPITALS = frozenset({"it", "os", "cr", "pt", "bm", "lp", "mud", "allo", "echo", "ven", "ida", "aza", "dx", "tx", "rx", "sx", "mx"})
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


# phrases the sources say differently
PHRASES = [("first line", "frontline"), ("first-line", "frontline"), ("second line", "relapsed")]


def expand_question(question: str) -> str:
    q = fold_spelling(question)
    extra_phrases = [us for gb, us in PHRASES if gb in q.lower() and us not in q.lower()]
    extra = []
    for w in _WORD.findall(q):
        exp = ABBREVIATIONS.get(w.lower())
        if w.lower() in ONLY_IN_CAPITALS and not w.isupper():
            continue
        if exp and exp.lower() not in q.lower() and exp not in extra:
            extra.append(exp)
    extra += [p for p in extra_phrases if p not in extra]
    return f"{q} ({', '.join(extra)})" if extra else q
