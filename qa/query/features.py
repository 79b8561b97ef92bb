"""The signals the learned answerer reads: one row per candidate sentence, one row per question.

Everything here is cheap at question time: sentence vectors were computed at index time, token
sets of sentences are cached per row, and idf comes from the BM25 index's own posting counts.
The same functions feed training (`qa.train`) and answering (`qa.query.answer`), so a model never sees
a feature computed one way in training and another way in use.

Cosine-based columns are zero when there is no question vector (mode ``bm25`` or a failed
embedder); the ``lexical`` model variant is trained with them zeroed, so degraded answers are
scored by a model that never relied on them.

>>> question_type("What dose of IT methotrexate for a 2 year old?")
('dose', 'number')
>>> has_dose("Give 12 mg intrathecally on day 8."), has_time("Give 12 mg on day 8."), has_dose("It is rare.")
(True, True, False)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from qa.index.bm25 import tokenize
from qa.index.store import IndexData
from qa.types import Hit

SENTENCE_FEATURES = (
    "cos", "cos_gap", "cos_rank", "idf_overlap", "idf_overlap_gap", "rare_overlap", "rare_heading", "overlap",
    "heading_overlap",
    "title_overlap", "heading_match", "bigram", "bm25", "dose_match", "time_match", "number_match", "has_number",
    "fused", "passage_rank", "bm25_rank", "dense_rank", "neighbour_cos", "neighbour_overlap",
    "first_in_chunk", "position", "length", "short", "list_item", "lead_in", "heading_like",
    "anaphor", "question_mark", "inline_items",
)
QUESTION_FEATURES = (
    "best", "second", "margin", "best_cos", "max_cos", "best_overlap", "cover_any", "unseen",
    "agree_docs", "question_length", "candidates", "top_fused", "missing_rare", "best_missing",
)
COSINE_SENTENCE = ("cos", "cos_gap", "cos_rank", "neighbour_cos")
COSINE_QUESTION = ("best_cos", "max_cos")

_UNIT = r"(?:mg|mcg|µg|ug|g|kg|ml|mL|l|L|units?|iu|IU|mmol|mol|mg/m2|mg/kg|mg/m²|%|mEq|ng|cc|gy|Gy)"
_DOSE = re.compile(r"\d(?:[\d.,]*)\s*(?:-|to|–)?\s*\d*\s*" + _UNIT + r"\b|\b\d+(?:\.\d+)?\s*" + _UNIT + r"(?:/\w+)?", re.I)
_TIME = re.compile(
    r"\b(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|daily|weekly|monthly|nightly|once|twice|"
    r"cycles?|stage|phase|before|after|during|until|q\d+h|bid|tid|qid)\b", re.I)
_NUMBER = re.compile(r"\d")
_ITEM_MARK = re.compile(r"(?:^|\n)[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+$")
# list items run together in one unit: "Key Points\n- X is a cancer. - Tests ... diagnose X. - ..." is
# one paragraph in medquad's cancer.gov pages, a unit that holds every question's terms
_INLINE_ITEM = re.compile(r"(?:^|\s)[-*\u2022]\s")
_ANAPHOR = re.compile(r"^(?:it|this|these|they|such|that|those|he|she|its|their|both|the latter|the former)\b", re.I)
_Q_DOSE = re.compile(r"\b(?:dose|doses|dosing|dosage|how much|mg|amount|strength)\b", re.I)
_Q_TIME = re.compile(r"\b(?:when|which days?|what days?|how long|how often|schedule|duration|timing|day|days|frequency)\b", re.I)
_Q_NUMBER = re.compile(r"\b(?:how many|how much|what percentage|what proportion|rate|number of|incidence|how common|how often)\b", re.I)


def question_type(question: str) -> tuple[str, ...]:
    """The answer types a question asks for: 'dose', 'time', 'number' (any of them, or none)."""
    kinds = [k for k, rx in (("dose", _Q_DOSE), ("time", _Q_TIME), ("number", _Q_NUMBER)) if rx.search(question)]
    if "dose" in kinds and "number" not in kinds:
        kinds.append("number")
    return tuple(kinds)


def has_dose(text: str) -> bool:
    return bool(_DOSE.search(text))


def has_time(text: str) -> bool:
    return bool(_TIME.search(text))


@dataclass(frozen=True)
class Unit:
    """What is known of one stored sentence without the question (cached per row)."""

    tokens: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    counts: dict[str, int]
    n_tokens: int
    section_tokens: frozenset[str]
    title_tokens: frozenset[str]
    heading_tokens: frozenset[str]  # the innermost heading's own words ("Signs and symptoms")
    static: tuple[float, ...]  # has_number, length, short, list_item, lead_in, heading_like, anaphor, question_mark,
    #                            inline_items
    dose: bool
    time: bool

    # the flags by name (``static`` keeps feature order for the matrix)
    is_item = property(lambda self: bool(self.static[3]))
    is_lead_in = property(lambda self: bool(self.static[4]))
    is_heading = property(lambda self: bool(self.static[5]))
    is_anaphor = property(lambda self: bool(self.static[6]))

    @property
    def with_headings(self) -> frozenset[str]:
        """The sentence's tokens and its passage's heading path and title: what a reader sees around it."""
        return self.tokens | self.section_tokens | self.title_tokens


NOT_QUOTABLE = -1e3  # the logit a heading-like unit gets: never chosen, never quoted


def quotable(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """``logits`` with heading-like rows of ``x`` pushed to NOT_QUOTABLE: the one rule that a heading
    is never an answer, for the answerer, its training and its comparisons alike."""
    return np.where(x[:, SENTENCE_FEATURES.index("heading_like")] > 0, NOT_QUOTABLE, logits) if len(logits) else logits


def _bigrams(tokens: list[str]) -> frozenset[tuple[str, str]]:
    return frozenset(zip(tokens, tokens[1:]))


class FeatureIndex:
    """Per-index state the features need: idf by token, cached sentence units, BM25 length norm."""

    def __init__(self, data: IndexData, cache_size: int = 50_000):
        self.data = data
        try:
            model = data.bm25.model
            vocab = dict(model.vocab_dict)
            df = np.diff(np.asarray(model.scores["indptr"]))
            n = max(1, int(model.scores["num_docs"]))
        except Exception:  # a damaged BM25 index: every term weighs alike (the answer still degrades gracefully)
            vocab, df, n = {}, np.zeros(0), 1
        self.vocab = vocab
        self._idf = {t: math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for t, i in vocab.items() if i < len(df)}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        self.avg_len = 12.0
        self.unit = lru_cache(maxsize=cache_size)(self._unit)
        self._headings = lru_cache(maxsize=cache_size // 4)(self._heading_tokens)

    def idf(self, token: str) -> float:
        """Unknown tokens weigh as the rarest known ones: a term the corpus lacks matters."""
        return self._idf.get(token, self.max_idf)

    def _unit(self, row: int) -> Unit:
        d = self.data
        sent = d.sentences[row]
        doc_row, start, end, chunk_row = sent.doc, sent.start, sent.end, sent.chunk
        doc = d.docs[doc_row]
        text = doc.text[start:end]
        toks = tokenize(text)
        counts: dict[str, int] = {}
        for t in toks:
            counts[t] = counts.get(t, 0) + 1
        item = bool(_ITEM_MARK.search(doc.text[max(0, start - 8):start]))
        stripped = text.rstrip()
        words = len(text.split())
        heading_like = not item and words <= 10 and stripped[-1:] not in ".!?:;)" and not _NUMBER.search(text)
        static = (float(bool(_NUMBER.search(text))), min(1.0, math.log1p(len(text)) / math.log(400)),
                  float(len(text) < 40), float(item), float(stripped.endswith(":")), float(heading_like),
                  float(bool(_ANAPHOR.match(text))), float(stripped.endswith("?")),
                  math.log1p(len(_INLINE_ITEM.findall(text))))
        section, heading, title = self._headings(chunk_row)
        return Unit(frozenset(toks), _bigrams(toks), counts, len(toks), section, title, heading, static,
                    has_dose(text), has_time(text))

    def _heading_tokens(self, chunk_row: int) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(heading path, innermost heading, title) tokens of a chunk: one copy shared by the units of
        all its sentences, not one each (all 19,394 units of medquad-cancergov: 89 -> 74 MB, 2.0 -> 1.7 s; 2026-12-04)."""
        chunk = self.data.chunks[chunk_row]
        path, title = chunk.section, self.data.docs[chunk.doc].title
        inner = path[-1] if path and path[-1] != title else ""
        return frozenset(tokenize(" ".join(path))), frozenset(tokenize(inner)), frozenset(tokenize(title))

    def term_weights(self, q_tokens: list[str]) -> TermWeights:
        """The question's terms weighted by idf (see `TermWeights`)."""
        return TermWeights(tuple(q_tokens), tuple(self.idf(t) for t in q_tokens))

    def weighted_share(self, q_tokens: list[str], found: frozenset[str] | set[str]) -> float:
        return self.term_weights(q_tokens).share(found)


@dataclass(frozen=True)
class TermWeights:
    """A question's terms with a weight each, and the weighted share of them that a text holds:
    the one rule behind the idf overlap, heading and title matches and the rare-term shares.

    >>> TermWeights(("flt3", "dose"), (3.0, 1.0)).share({"flt3"})
    0.75
    >>> TermWeights((), ()).share({"flt3"})
    0.0
    """

    terms: tuple[str, ...]
    weights: tuple[float, ...]
    total: float = field(init=False)  # summed once: `share` runs for every candidate and signal

    def __post_init__(self):
        object.__setattr__(self, "total", sum(self.weights))

    def share(self, found: frozenset[str] | set[str]) -> float:
        # 1e-9, not 0: rare-term weights of a term in every candidate are exactly 0, and their
        # float sum may be a hair above it; an idf is never below ~0.5 / corpus size
        total = self.total
        return sum(w for t, w in zip(self.terms, self.weights) if t in found) / total if total > 1e-9 else 0.0


@dataclass(frozen=True)
class QuestionTerms:
    """The question as the features see it: typed tokens (the denominator), expansions, bigrams."""

    typed: list[str]
    expanded: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    kinds: tuple[str, ...]

    @classmethod
    def of(cls, typed: str, expanded: str) -> QuestionTerms:
        t = list(dict.fromkeys(tokenize(typed)))
        return cls(t, frozenset(tokenize(expanded)) | frozenset(t), _bigrams(tokenize(typed)), question_type(typed))


def candidates(data: IndexData, hits: list[Hit], n_passages: int) -> list[tuple[int, int]]:
    """(sentence row, passage rank) for the sentences of the top passages, first occurrence wins."""
    seen, out = set(), []
    for rank, h in enumerate(hits[:n_passages], start=1):
        c = data.chunks[h.chunk]
        for s in range(c.sent_lo, c.sent_hi):
            if s not in seen:
                seen.add(s)
                out.append((s, rank))
    return out


def _matched(q: QuestionTerms, tokens: frozenset[str]) -> set[str]:
    """Typed tokens found, plus typed tokens whose expansion is found (an abbreviation's long form)."""
    found = {t for t in q.typed if t in tokens}
    if len(found) < len(q.typed) and q.expanded & tokens - set(q.typed):
        found |= {t for t in q.typed if t not in found and t.isalpha() and len(t) <= 6}
    return found


def sentence_matrix(fx: FeatureIndex, q: QuestionTerms, q_vec: np.ndarray | None, hits: list[Hit],
                    cands: list[tuple[int, int]]) -> np.ndarray:
    """(n candidates, len(SENTENCE_FEATURES)) float32, in the order of ``cands``."""
    data = fx.data
    n = len(cands)
    rows = np.array([s for s, _ in cands], dtype=np.int64)
    if q_vec is not None and data.has_sentence_vectors:
        cos = data.sentence_vectors[rows] @ q_vec
    else:
        cos = np.zeros(n, dtype=np.float32)
    units = [fx.unit(int(r)) for r in rows]
    # the question's idf weights and their total once, not once per candidate and signal (~900
    # dict lookups a question)
    qw = fx.term_weights(q.typed)
    idf_of = dict(zip(qw.terms, qw.weights))
    q_w = qw.total or 1.0
    share = qw.share

    matched = [_matched(q, u.tokens) for u in units]
    ov = np.array([share(m) for m in matched])
    # the question's terms weighted by idf and by how few candidates share them: in a corpus about
    # one disease, its name is in every candidate and says nothing about which one answers
    sent_w = _rare_weights(fx, q, [u.tokens for u in units])
    head_w = _rare_weights(fx, q, [u.section_tokens for u in units])
    rare = [sent_w.share(m) for m in matched]
    rare_h = [head_w.share(u.section_tokens) for u in units]
    cos_of = {int(r): float(c) for r, c in zip(rows, cos)}
    ov_of = {int(r): float(o) for r, o in zip(rows, ov)}
    top_fused = max((h.score for h in hits[:1]), default=1.0) or 1.0
    order = np.argsort(-cos, kind="stable")
    cos_rank = np.empty(n)
    cos_rank[order] = 1.0 / np.arange(1, n + 1)
    cos_max, ov_max, q_set = cos.max(), ov.max(), set(q.typed)
    out = np.zeros((n, len(SENTENCE_FEATURES)), dtype=np.float32)
    for i, ((row, prank), u) in enumerate(zip(cands, units)):
        h = hits[prank - 1]
        c = data.chunks[int(data.sentences.chunk[row])]
        bm = sum(idf_of[t] * u.counts[t] * 2.2 / (u.counts[t] + 1.2 * (0.25 + 0.75 * u.n_tokens / fx.avg_len))
                 for t in q.typed if t in u.counts) / q_w
        nb = [r for r in (row - 1, row + 1) if c.sent_lo <= r < c.sent_hi]
        first = float(row == c.sent_lo)
        pos = (row - c.sent_lo) / max(1, c.sent_hi - c.sent_lo - 1)
        out[i] = (
            cos[i], cos[i] - cos_max, cos_rank[i], ov[i], ov[i] - ov_max, rare[i], rare_h[i],
            len(q_set & u.tokens) / len(q.typed) if q.typed else 0.0,
            share(u.section_tokens), share(u.title_tokens),
            # how much of what the section is about the question asks for ("Research" vs "Treatment")
            len(u.heading_tokens & q.expanded) / len(u.heading_tokens) if u.heading_tokens else 0.0,
            len(q.bigrams & u.bigrams) / len(q.bigrams) if q.bigrams else 0.0, min(bm, 3.0),
            float("dose" in q.kinds and u.dose), float("time" in q.kinds and u.time),
            float("number" in q.kinds and bool(u.static[0])), u.static[0],
            h.score / top_fused, 1.0 / prank, 1.0 / h.bm25_rank if h.bm25_rank else 0.0,
            1.0 / h.dense_rank if h.dense_rank else 0.0,
            max((cos_of.get(r, 0.0) for r in nb), default=0.0),
            max((ov_of[r] if r in ov_of else share(fx.unit(r).tokens) for r in nb), default=0.0),
            first, pos, *u.static[1:],
        )
    return out


def _rare_weights(fx: FeatureIndex, q: QuestionTerms, token_sets: list[frozenset[str]]) -> TermWeights:
    n = max(1, len(token_sets))
    return TermWeights(tuple(q.typed), tuple(fx.idf(t) * (1.0 - sum(t in ts for ts in token_sets) / n) for t in q.typed))


def question_vector(fx: FeatureIndex, q: QuestionTerms, sent: np.ndarray, logits: np.ndarray,
                    cands: list[tuple[int, int]], hits: list[Hit]) -> np.ndarray:
    """len(QUESTION_FEATURES) float32: how strong, how clear and how complete the best evidence is."""
    if len(logits) == 0:
        return np.array([-10.0, -10.0, 0.0, 0.0, 0.0, 0.0, 0.0, _unseen(fx, q), 0.0,
                         math.log1p(len(q.typed)), 0.0, 0.0, 1.0, 1.0], dtype=np.float32)
    order = np.argsort(-logits, kind="stable")
    best, second = float(logits[order[0]]), float(logits[order[1]]) if len(order) > 1 else float(logits[order[0]]) - 5
    col = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    covered: set[str] = set()
    for s, _ in cands:
        covered |= _matched(q, fx.unit(s).tokens)
    docs = {int(fx.data.sentences.doc[cands[i][0]]) for i in order[:5] if logits[i] > best - 1.0}
    return np.array([
        best, second, best - second, sent[order[0], col["cos"]], sent[:, col["cos"]].max(),
        sent[order[0], col["idf_overlap"]], fx.weighted_share(q.typed, covered), _unseen(fx, q),
        min(len(docs), 3) / 3, math.log1p(len(q.typed)), math.log1p(len(cands)), hits[0].score if hits else 0.0,
        _rarest_missing(fx, q, covered), _rarest_missing(fx, q, _passage_terms(fx, q, cands[order[0]][0])),
    ], dtype=np.float32)


def _rarest_missing(fx: FeatureIndex, q: QuestionTerms, found: set[str]) -> float:
    """The idf of the rarest question term ``found`` lacks, over the corpus's largest idf (0: none
    lacking). A near miss ("gilteritinib dose in relapsed FLT3 AML" over a text on FLT3 AML that never
    names gilteritinib) covers most of the question's weight, but not its one specific term. A
    question with no terms has 0 here (``cover_any`` and ``unseen`` already say it); the shipped
    model was fitted so."""
    return max((fx.idf(t) for t in q.typed if not _holds(found, t)), default=0.0) / fx.max_idf


def _holds(found: set[str], term: str) -> bool:
    """Whether ``found`` holds ``term``, or all the parts of a compound term: texts write "FLT3 ...
    ITD" for "flt3-itd", and its parts are question terms of their own. Lenient on purpose: stricter
    variants (parts that are numbers never count; terms matched as written) scored a little worse on
    the training splits (eval/reports/abstainer-ablation-1207/).

    >>> _holds({"flt3", "itd"}, "flt3-itd"), _holds({"flt3"}, "flt3-itd"), _holds({"il", "6"}, "il-6")
    (True, False, True)
    """
    parts = tokenize(term)[1:]  # a compound's parts (tokenize gives the compound first)
    return term in found or bool(parts) and all(p in found for p in parts)


def _passage_terms(fx: FeatureIndex, q: QuestionTerms, row: int) -> set[str]:
    """The question terms the passage of sentence ``row`` holds, in any sentence or its headings."""
    c = fx.data.chunks[int(fx.data.sentences.chunk[row])]
    return set().union(*(_matched(q, fx.unit(r).with_headings) for r in range(c.sent_lo, c.sent_hi)))


def _unseen(fx: FeatureIndex, q: QuestionTerms) -> float:
    return sum(t not in fx.vocab for t in q.typed) / len(q.typed) if q.typed else 1.0
