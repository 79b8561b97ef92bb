"""Questions as clinicians type them: a seeded perturbation of a question set.

Each question gets, independently and with fixed probabilities, what the issue saw people type:
shorthand ("treatment" -> "tx", "patient" -> "pt", "with" -> "w/"), British spellings
("leukemia" -> "leukaemia"), a typo in one or two longer words (a dropped, doubled, swapped or
neighbouring key), lower case, and a dropped question mark. The same seed and text always give
the same perturbation (the random generator is seeded per question id), so a perturbed copy of a
split is reproducible on any machine and is a different question set only where the seed differs.

>>> perturb("What is the treatment for patients with leukemia?", "q1", seed=0) == perturb(
...     "What is the treatment for patients with leukemia?", "q1", seed=0)
True
>>> perturb("What is the treatment for patients with leukemia?", "q1", seed=0) != \\
...     "What is the treatment for patients with leukemia?"
True
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import replace

SHORTHAND = {
    "treatment": "tx", "treatments": "tx", "treat": "tx", "patient": "pt", "patients": "pts",
    "with": "w/", "without": "w/o", "diagnosis": "dx", "symptoms": "sx", "history": "hx",
    "years": "yrs", "year": "yr", "old": "o", "and": "&", "before": "b4", "because": "bc",
    "management": "mx", "antibiotics": "abx", "prescription": "rx", "about": "abt",
}
BRITISH = [
    (r"emia\b", "aemia"), (r"\bhem(?=at|o|or)", "haem"), (r"\bped(?=iat)", "paed"), (r"tumor", "tumour"),
    (r"\bfavor", "favour"), (r"\besoph", "oesoph"), (r"\bedem", "oedem"), (r"\bestr(?=o|a)", "oestr"),
    (r"ischem", "ischaem"), (r"\banes(?=th)", "anaes"), (r"iz(?=e|ed|es|ing|ation)", "is"),
    (r"\bcenter", "centre"), (r"\bliter\b", "litre"),
]
_BRITISH = [(re.compile(us, re.I), gb) for us, gb in BRITISH]
_KEYS = "qwertyuiop asdfghjkl zxcvbnm".split()
_WORD = re.compile(r"[A-Za-z]+")


def _neighbour(ch: str, rng: random.Random) -> str:
    for row in _KEYS:
        i = row.find(ch.lower())
        if i >= 0:
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            return rng.choice(near)
    return ch


def typo(word: str, rng: random.Random) -> str:
    """One keyboard slip inside ``word`` (first letter kept: people rarely miss it)."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + _neighbour(word[i], rng) + word[i + 1:]


def _rng(qid: str, seed: int) -> random.Random:
    return random.Random(int(hashlib.sha256(f"{seed}:{qid}".encode()).hexdigest()[:16], 16))


def perturb(text: str, qid: str, seed: int = 0) -> str:
    """The question as it might have been typed in a hurry (deterministic in qid and seed)."""
    rng = _rng(qid, seed)
    out = text
    if rng.random() < 0.6:
        out = re.sub(r"[A-Za-z]+", lambda m: SHORTHAND.get(m.group(0).lower(), m.group(0))
                     if rng.random() < 0.7 else m.group(0), out)
    if rng.random() < 0.5:
        for rx, gb in _BRITISH:
            out = rx.sub(gb, out)
    long_words = [m for m in _WORD.finditer(out) if len(m.group(0)) >= 5]
    n_typos = min(len(long_words), rng.choice((1, 1, 2)))
    for m in sorted(rng.sample(long_words, n_typos), key=lambda m: -m.start()):
        out = out[:m.start()] + typo(m.group(0), rng) + out[m.end():]
    if rng.random() < 0.5:
        out = out.lower()
    if rng.random() < 0.5:
        out = out.rstrip("?").rstrip()
    if out == text:  # always a different question: at least one slip
        words = [m for m in _WORD.finditer(out) if len(m.group(0)) >= 5]
        if words:
            m = words[0]
            out = out[:m.start()] + typo(m.group(0), rng) + out[m.end():]
        else:
            out = out.lower().rstrip("?")
    return out


def perturb_suite(suite, seed: int):
    """A copy of ``suite`` whose questions are perturbed (same ids, gold and corpus: the same index)."""
    out = replace(suite, queries=[replace(q, text=perturb(q.text, q.qid, seed)) for q in suite.queries])
    out.warnings = [*suite.warnings, f"questions perturbed with seed {seed} (qa/eval/perturb.py)"]
    return out
