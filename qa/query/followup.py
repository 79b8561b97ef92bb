"""Follow-up questions: an elliptical question completed from the earlier questions of its thread.

A clinician asks "AML with FLT3-ITD: induction?" and then "and the midostaurin days?". The second
question alone has no disease; searched alone it may land anywhere. `resolve` reads the follow-up,
decides whether it leans on the thread, and if so appends the earlier questions' key terms, copied
verbatim from them. Nothing is generated: every word of ``Resolved.text`` is a word of the
follow-up or of the history, so the answer stays a set of quoted sentences.

Each question is read into three slots of content words:

* subject: what the question is about: disease words (leukemia, lymphoblastic, ...), acronyms
  (AML, APL, ATRA, PML-RARA) and markers (FLT3-ITD, KMT2A, t(8;21));
* who: the patients it is asked for: populations (infants, children, unfit, older), risk groups
  (favorable-risk) and disease states (relapsed, refractory);
* aspect: every other content word (induction, days, midostaurin, dose, outlook).

A follow-up keeps its own words and takes from the thread only the slots it leaves empty: "and the
outlook?" after "infantile ALL symptoms?" carries "infantile ALL" but not "symptoms", which it
replaces. A follow-up naming its own subject ("what about infantile ALL?") carries the aspect only.

What reads as a follow-up (one thread's previous questions are needed for any of them):

* it starts with "what about", "how about", "same for", "as for": always, even with its own subject;
* it has no subject of its own and starts with a joining word ("and", "also", "in", "for", ...),
  or leans on a pronoun ("how often is it missed?"), or is short (at most 3 content words).

A question with a subject of its own and no "what about" cue is left exactly as typed, even after a
history: a carried subject would drag retrieval back to the old topic.

>>> r = resolve("and the midostaurin days?", ["AML with FLT3-ITD: induction?"])
>>> r.text, r.carried, r.is_followup
('and the midostaurin days? AML FLT3-ITD', ('AML', 'FLT3-ITD'), True)
>>> resolve("What is infantile ALL?", ["AML with FLT3-ITD: induction?"]).is_followup
False
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from qa.index.bm25 import STOPWORDS, tokenize

MAX_HISTORY = 5  # a thread's last few questions: older ones rarely still frame the current one
MAX_ENTRY_CHARS = 300  # each history entry is read this far; a pasted note is not a question
MAX_QUESTION_CHARS = 300  # a follow-up is short: past this it is read only this far, and is never "short"
MAX_CARRIED = 6  # enough for a subject, its population and an aspect; more would bury the follow-up
SHORT = 3  # "which days?", "dose in children?": this many content words or fewer, and no subject

# Words as typed: clinical tokens keep their inner joiners (FLT3-ITD, 7+3, mg/m2, t(8;21), child’s).
_WORD = re.compile(r"[^\W_]+\([^\s()]+\)|[^\W_]+(?:[-+/.,:;'’][^\W_]+)*\+?")

# Cues that ask the previous question again about something else: a follow-up even with a subject.
_ABOUT = re.compile(r"^(?:(?:and|but|so|ok|okay)\s+)?(?:what|how)\s+about\b|^what\s+of\b|^same\s+(?:for|in|with|if)\b"
                    r"|^as\s+for\b|^(?:and\s+)?what\s+if\b", re.I)
# Words that join a question onto the previous one: a follow-up when it has no subject of its own
# ("For FLT3-mutated AML, what is added?" starts with "for" and is self-contained).
_JOIN = frozenset("and also plus or but then so now ok okay in for with without at during after before on "
                  "by if while same again".split())
_WH = frozenset("what whats what's which how when where who whom whose why".split())
_PRONOUNS = frozenset("it its it's this that these those they them their theirs he she him her his".split())
# Question words and asking verbs: no content. Nor is "patients": every question here is about one.
_FILLER = frozenset(
    """what whats what's which how when where who whom whose why is are was were do does did done can could
    should would will shall may might must tell me please pls give list explain describe mean means
    meaning ok okay thanks thank yes hi hello also plus then so else same about regarding re vs versus
    like get gets got use used using need needed needs actually really exactly just still usually
    typically much many often long pt pts patient patients case cases someone anyone there here
    it's don't doesn't isn't""".split()
) | STOPWORDS | _PRONOUNS

# Subject words. Disease names by their stems, so British spellings and adjectives count
# (leukaemia, aleukemic, lymphoblastic); "disease" alone is too general ("high-risk disease").
_DISEASE = re.compile(r"^a?leu[kc]a?emi|lymphoma|myeloma|cancer|carcinoma|sarcoma|tumou?r|syndrome"
                      r"|myeloid|lymphoblastic|lymphocytic|promyelocytic|myelodysplas|neoplas", re.I)
_ACRONYM = re.compile(r"^(?=(?:[^a-z]*[A-Z]){2})[A-Z][A-Z0-9]*(?:[-/][A-Z0-9]+)*\+?$")
_NOT_SUBJECT = frozenset("IV PO IM SC OK US UK CT MRI".split())  # routes, tests and words typed in capitals
_LOWER_SUBJECT = frozenset("aml apl cml cll mds".split())  # disease acronyms as typed in lower case
# "all" is a stopword, and ALL only after a word that makes it the disease ("infantile all")
_ALL_AFTER = re.compile(r"^(?:infants?|infantile|childhood|pediatric|paediatric|adult|aleuka?emic|b-cell"
                        r"|t-cell|relapsed|refractory)$", re.I)
_UNIT = re.compile(r"^(?:mg|mcg|g|kg|ml|m2|mmol|iu|units?)(?:/|$)", re.I)
# Who a question is asked for. "fit"/"unfit" are how the corpus splits induction.
_WHO = re.compile(r"^(?:infants?|infantile|child|children|childhood|kids?|paediatric|pediatric|adults?|older"
                  r"|elderly|elders?|young|younger|unfit|fit|frail|pregnan\w*|neonat\w*|newborns?|adolescents?"
                  r"|teens?|teenagers?|toddlers?|baby|babies|relapsed?|refractory)$", re.I)
_RISK = re.compile(r"-risk$", re.I)
_SLOTS = ("subject", "who", "aspect")  # the order terms are kept in when more than MAX_CARRIED could carry


@dataclass(frozen=True)
class Resolved:
    """The question to search with. ``carried``: the terms taken from the history, verbatim;
    ``is_followup``: whether any were carried (``text`` differs from the question exactly then).

    >>> Resolved("dose?", (), False).text
    'dose?'
    """

    text: str
    carried: tuple[str, ...]
    is_followup: bool


@dataclass(frozen=True)
class _Slots:
    subject: tuple[str, ...] = ()
    who: tuple[str, ...] = ()
    aspect: tuple[str, ...] = ()

    def empty(self) -> bool:
        return not (self.subject or self.who or self.aspect)


def _kind(word: str, before: str) -> str | None:
    """'subject', 'who', 'aspect', or None for a word with no content of its own.

    >>> [_kind(w, "") for w in ("FLT3-ITD", "AML", "unfit", "induction", "what", "50", "7+3", "mg/m2")]
    ['subject', 'subject', 'who', 'aspect', None, None, 'aspect', None]
    """
    low = word.lower()
    if low == "all":  # the stopword, unless typed as the disease or named as one ("infantile all")
        return "subject" if word == "ALL" or _ALL_AFTER.match(before) else None
    if _ACRONYM.match(word) and word not in _NOT_SUBJECT or low in _LOWER_SUBJECT:
        return "subject"
    if low in _FILLER or len(low) < 2 or _UNIT.match(low):
        return None
    if not any(c.isalpha() for c in low):  # numbers carry nothing; a regimen like 7+3 does
        return "aspect" if "+" in low else None
    if _DISEASE.search(low) or (low[0].isalpha() and any(c.isdigit() for c in low)):  # KMT2A, t(8;21)
        return "subject"
    base = re.sub(r"['’]s$", "", low)  # child's -> child
    return "who" if _WHO.match(base) or _RISK.search(base) else "aspect"


@dataclass(frozen=True)
class _Reading:
    slots: _Slots
    about: bool  # starts with a "what about" cue
    joined: bool  # starts with a joining word
    pronoun: bool
    asks: bool  # has a question word: "when?" asks something, "thanks" does not
    words: int  # content words


def _read(text: str) -> _Reading:
    """One question's slots and the cues that make it a follow-up.

    >>> r = _read("and how often is it missed?")
    >>> r.slots.aspect, r.joined, r.pronoun, r.words
    (('missed',), True, True, 1)
    """
    words = _WORD.findall(text)
    kinds: dict[str, list[str]] = {"subject": [], "who": [], "aspect": []}
    for i, w in enumerate(words):
        k = _kind(w, words[i - 1] if i else "")
        if k and w.lower() not in {x.lower() for x in kinds[k]}:
            kinds[k].append(w)
    lows = [w.lower() for w in words]
    return _Reading(
        slots=_Slots(tuple(kinds["subject"]), tuple(kinds["who"]), tuple(kinds["aspect"])),
        about=bool(_ABOUT.match(text.lstrip(" \t\"'“‘([-–—.,;:…"))),
        joined=bool(lows) and lows[0] in _JOIN,
        pronoun=any(w in _PRONOUNS for w in lows),
        asks=any(w in _WH for w in lows),
        words=sum(len(v) for v in kinds.values()),
    )


def _leans(r: _Reading, long: bool) -> bool:
    """Whether a question leans on the thread: a "what about" cue, or no subject of its own and a
    joining word, a pronoun, or few content words (never for a question cut at MAX_QUESTION_CHARS).

    >>> _leans(_read("which days?"), False), _leans(_read("What is infantile ALL?"), False)
    (True, False)
    """
    if r.about:
        return True
    if r.slots.subject or not (r.words or r.asks or r.pronoun):  # "thanks", "ok", "?" ask nothing
        return False
    return r.joined or r.pronoun or (r.words <= SHORT and not long)


def _fill(r: _Reading, state: _Slots) -> tuple[_Slots, list[tuple[str, str]]]:
    """The question's slots completed from the thread's, and the (slot, word) pairs carried: own
    subject -> only the aspect carries (a population qualifies the old disease, not the new one);
    otherwise each empty slot carries.

    >>> s = _Slots(("AML", "FLT3-ITD"), (), ("induction",))
    >>> [w for _, w in _fill(_read("what about in the unfit?"), s)[1]]
    ['AML', 'FLT3-ITD', 'induction']
    """
    own = r.slots
    if own.subject:
        new = _Slots(own.subject, own.who, own.aspect or state.aspect)
    else:
        new = _Slots(state.subject, own.who or state.who, own.aspect or state.aspect)
    carried = [(slot, w) for slot in _SLOTS for w in getattr(new, slot) if w not in getattr(own, slot)]
    return new, carried


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a space so no word is halved.

    >>> _clip("induction for AML", 12)
    'induction'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit + 1]
    return cut[:cut.rfind(" ")] if " " in cut else text[:limit]


def _entries(history: Iterable[str] | str | None) -> list[str]:
    """The last MAX_HISTORY usable entries, oldest first, each clipped: a bare string is one entry,
    and anything not a string (None, numbers) is skipped.

    >>> _entries(["a?", None, 3, "  b?  "])
    ['a?', 'b?']
    """
    if history is None:
        return []
    if isinstance(history, str):
        history = [history]
    try:
        items = [h for h in list(history)[-4 * MAX_HISTORY:] if isinstance(h, str)]
    except TypeError:  # not iterable: no history
        return []
    return [c for h in items if (c := _clip(h, MAX_ENTRY_CHARS))][-MAX_HISTORY:]


def _thread(entries: list[str]) -> _Slots:
    """The slots the thread stands at after its entries, resolved in order so that a follow-up's
    completed subject carries on; an entry with no content ("thanks") leaves them as they were.

    >>> _thread(["infantile ALL: what causes it?", "and how is it diagnosed?"])
    _Slots(subject=('ALL',), who=('infantile',), aspect=('diagnosed',))
    """
    state = _Slots()
    for entry in entries:
        r = _read(entry)
        if r.slots.empty():
            continue
        if state.empty() or not _leans(r, len(entry) >= MAX_ENTRY_CHARS):
            state = r.slots
        else:
            state = _fill(r, state)[0]
    return state


def _pick(carried: list[tuple[str, str]], question: str, known: Callable[[str], bool] | None) -> tuple[str, ...]:
    """The carried terms the question does not already say (compared as BM25 tokens, so "infants"
    matches "infant"); past MAX_CARRIED the subject goes first, then who, then the aspect, known
    words first within each when ``known`` is given. In reading order: who, subject, aspect
    ("infantile ALL", "unfit AML").

    >>> _pick([("subject", "AML"), ("who", "infants"), ("aspect", "induction")], "and in infant?", None)
    ('AML', 'induction')
    """
    have = set(tokenize(question)) | {w.lower() for w in _WORD.findall(question)}
    fresh, seen = [], set()
    for i, (slot, w) in enumerate(carried):
        toks = frozenset(tokenize(w)) or frozenset([w.lower()])  # ALL is the stopword "all" to BM25
        if not toks <= have and toks not in seen:
            seen.add(toks)
            fresh.append((i, slot, w))
    rank = {s: n for n, s in enumerate(_SLOTS)}
    kept = sorted(fresh, key=lambda t: (rank[t[1]], known is not None and not _is_known(known, t[2]), t[0]))
    order = {"who": 0, "subject": 1, "aspect": 2}
    return tuple(w for _, _, w in sorted(kept[:MAX_CARRIED], key=lambda t: (order[t[1]], t[0])))


def _is_known(known: Callable[[str], bool], word: str) -> bool:
    try:
        return bool(known(word))
    except Exception:  # a failing vocabulary lookup must not lose the term
        return True


def resolve(question: str, history: list[str] | tuple[str, ...], known: Callable[[str], bool] | None = None) -> Resolved:
    """``question`` completed from ``history`` (the thread's earlier questions, oldest first) when it
    reads as a follow-up; otherwise unchanged. ``known(word)`` says whether the index knows a word:
    known terms are preferred when more than MAX_CARRIED could carry.

    >>> resolve("and the outlook?", ["infantile ALL: what causes it?", "and how is it diagnosed?"]).text
    'and the outlook? infantile ALL'
    >>> resolve("dose?", []).is_followup
    False
    """
    if not isinstance(question, str):
        question = ""
    unchanged = Resolved(question, (), False)
    q = _clip(question, MAX_QUESTION_CHARS)
    r = _read(q)
    state = _thread(_entries(history))
    if not q or state.empty() or not _leans(r, len(" ".join(question.split())) > MAX_QUESTION_CHARS):
        return unchanged
    carried = _pick(_fill(r, state)[1], question, known)
    if not carried:
        return unchanged
    return Resolved(f"{question.strip()} {' '.join(carried)}", carried, True)
