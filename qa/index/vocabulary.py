"""The corpus's own vocabulary, learned at index time: the abbreviations it defines and the words
it uses, so questions can be read the way this corpus writes (issue 16).

**Abbreviations** are found where the text defines them, "long form (SF)", by the algorithm of
Schwartz & Hearst (PSB 2003): the short form is 2-10 characters, at most two words, starts with a
letter or digit and holds a letter; its long form is the shortest run of the words before the
parenthesis, at most min(|SF| + 5, 2 |SF|) of them, in which the short form's letters appear in
order, reading right to left, the first letter starting a word. Each definition keeps the document
and offset where it was made. A short form defined two ways keeps both.

**Words** are the corpus's lowercase alphabetic words (4+ letters) with
their counts: what a misspelled question word is corrected to (`qa.query.spelling`).

>>> [(d.short, d.long) for d in find_definitions("Check minimal residual disease (MRD) after induction.")]
[('MRD', 'minimal residual disease')]
>>> find_definitions("a dose (50 mg) and a note (see above)")
[]
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = 1
FILE = "vocabulary.json"
_PAREN = re.compile(r"\(([^()]{2,12})\)")
# every word counts, even one seen once: in a small corpus the answer's drug may be named once
# (the bundled corpus names midostaurin once); among near words the correction takes the most frequent
_WORD = re.compile(r"[a-z]{4,}")


@dataclass(frozen=True)
class Definition:
    short: str
    long: str
    doc_id: str
    start: int  # offset of the long form in the document's stored text


def _valid_short(sf: str) -> bool:
    """2-10 characters, at most two words, led by a letter or digit, holding a capital letter (a
    lowercase word in parentheses, "(see above)", is a remark, not an abbreviation)."""
    return (2 <= len(sf) <= 10 and len(sf.split()) <= 2 and sf[0].isalnum()
            and any(c.isupper() for c in sf))


def _long_form(sf: str, before: str) -> str | None:
    """Schwartz-Hearst's best long form for ``sf`` at the end of ``before``, or None."""
    words = before.split()
    words = words[-min(len(sf) + 5, 2 * len(sf)):]
    cand = " ".join(words)
    s, l = len(sf) - 1, len(cand) - 1
    letters = sf.lower()
    text = cand.lower()
    while s >= 0:
        c = letters[s]
        if not c.isalnum():
            s -= 1
            continue
        while l >= 0 and (text[l] != c or (s == 0 and l > 0 and text[l - 1].isalnum())):
            l -= 1
        if l < 0:
            return None
        s -= 1
        l -= 1
    start = cand.rfind(" ", 0, l + 1) + 1
    long = cand[start:].strip(" ,;:")
    # the short form inside its long form ("IS481 (IS)") is a name, not a definition
    if not long or len(long) <= len(sf) or sf.lower() in long.lower():
        return None
    return long


def find_definitions(text: str, doc_id: str = "") -> list[Definition]:
    out = []
    for m in _PAREN.finditer(text):
        sf = m.group(1).strip()
        if not _valid_short(sf):
            continue
        sentence_start = max(text.rfind(". ", 0, m.start()) + 2, text.rfind("\n", 0, m.start()) + 1, 0)
        before = text[sentence_start:m.start()]
        long = _long_form(sf, before)
        if long:
            out.append(Definition(sf, long, doc_id, text.rfind(long, sentence_start, m.start())))
    return out


@dataclass
class Vocabulary:
    """Definitions by short form (lowercased), and word counts."""

    definitions: dict[str, list[Definition]] = field(default_factory=dict)
    words: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, docs) -> Vocabulary:
        defs: dict[str, list[Definition]] = {}
        words: Counter[str] = Counter()
        for d in docs:
            for x in find_definitions(d.text, d.doc_id):
                same = defs.setdefault(x.short.lower(), [])
                if all(y.long.lower() != x.long.lower() for y in same):
                    same.append(x)
            words.update(_WORD.findall(d.text.lower()))
        return cls(defs, dict(words))

    def long_forms(self, short: str) -> list[str]:
        return [d.long for d in self.definitions.get(short.lower(), [])]

    def listed(self) -> list[Definition]:
        """Every definition, by short form then long form: what `qa vocab` and the API show."""
        return sorted((d for ds in self.definitions.values() for d in ds), key=lambda d: (d.short.lower(), d.long))

    def save(self, path: Path) -> None:
        body = {"format": FORMAT, "definitions": [asdict(d) for ds in self.definitions.values() for d in ds],
                "words": self.words}
        Path(path).write_text(json.dumps(body, ensure_ascii=False, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """The index's vocabulary; an empty one for an index built before vocabularies existed."""
        if not Path(path).exists():
            return cls()
        body = json.loads(Path(path).read_text())
        if body.get("format") != FORMAT:
            raise ValueError(f"{FILE} format {body.get('format')!r} is not {FORMAT}; rebuild with `qa index`")
        defs: dict[str, list[Definition]] = {}
        for raw in body["definitions"]:
            d = Definition(**raw)
            defs.setdefault(d.short.lower(), []).append(d)
        return cls(defs, {str(w): int(n) for w, n in body["words"].items()})
