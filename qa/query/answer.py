"""The extractive answerer: choose whole stored sentences that answer, and cite them.

Candidates are the sentences and list items of the top fused passages. A learned linear scorer
(`qa.query.answer_model`, fitted by `qa train` on real gold questions) ranks them from the signals in
`qa.query.features`; a separate abstention model reads question-level evidence (best score, margin,
coverage of the question's terms, agreement, unseen terms) and its logit is the raw score that
the calibration turns into a confidence and compares with the risk-controlled threshold.

What is quoted must stand on its own, so selection adds context, never text of its own:
- a heading-like line (short, no sentence punctuation, not a list item) is never quoted;
- a list lead-in ("Signs can include:") is quoted with the items that follow it;
- a sentence that opens by referring back ("It", "This", "These"...) is quoted after the
  sentence before it.
Each added unit is its own citation, verbatim: a citation is always ``doc.text[start:end]`` of a
whole unit, so a negation, dose or condition in it cannot be lost.
"""

from __future__ import annotations

import re

from dataclasses import dataclass

import numpy as np

from qa.query import features as F
from qa.query.answer_model import Variant
from qa.query.conflicts import find_conflicts
from qa.index.store import IndexData
from qa.types import section_label, Citation, Hit

@dataclass(frozen=True)
class AnswerParams:
    passages: int = 5  # candidates come from this many top passages
    # a further sentence joins when its logit is within keep_margin of the best: on the dev
    # splits, sentences past ~1.5 below the best were gold for under a fifth of questions
    keep_margin: float = 1.5
    duplicate_cos: float = 0.92
    max_items: int = 8  # list items quoted with a chosen lead-in
    # strong candidates of other documents checked against the quotes for disagreeing values: those
    # within keep_margin of the best or with a positive logit (the scorer's even odds that a sentence
    # answers), at most this many, one a document; a disagreeing one is cited
    rivals: int = 3
    rival_logit: float = 0.0

    def __post_init__(self):
        if self.passages < 1 or self.keep_margin < 0 or self.max_items < 0 or self.rivals < 0:
            raise ValueError("passages must be >= 1, keep_margin, max_items and rivals >= 0")


@dataclass(frozen=True)
class Scored:
    sentence: int
    score: float
    passage_rank: int


@dataclass(frozen=True)
class Analysis:
    """What the answerer computed for one question: ranked candidates and the abstainer's input."""

    scored: list[Scored]  # best first
    sentence_features: np.ndarray  # rows in candidate order
    rows: list[int]  # candidate sentence rows, in candidate order
    question_features: np.ndarray
    raw: float  # the abstainer's logit


def analyse(fx: F.FeatureIndex, model: Variant, question: str, typed: str, q_vec: np.ndarray | None,
            hits: list[Hit], p: AnswerParams) -> Analysis:
    """Score every candidate sentence and the question's evidence as a whole."""
    data = fx.data
    if not data.has_sentence_vectors:
        q_vec = None  # a retrieval-only index: lexical signals only
    q = F.QuestionTerms.of(typed, question)
    cands = F.candidates(data, hits, p.passages)
    sent = F.sentence_matrix(fx, q, q_vec, hits, cands) if cands else np.zeros((0, len(F.SENTENCE_FEATURES)), np.float32)
    logits = F.quotable(sent, model.scorer.logits(sent))
    qf = F.question_vector(fx, q, sent, logits, cands, hits)
    raw = float(model.abstainer.logits(qf[None, :])[0])
    order = sorted(range(len(cands)), key=lambda i: (-logits[i], cands[i][0]))
    scored = [Scored(cands[i][0], float(logits[i]), cands[i][1]) for i in order if logits[i] > F.NOT_QUOTABLE]
    return Analysis(scored, sent, [s for s, _ in cands], qf, raw)


def _with_context(data: IndexData, fx: F.FeatureIndex, best: Scored, p: AnswerParams) -> list[Scored]:
    """``best`` plus what it needs to stand on its own, in document order."""
    sents = data.sentences
    d_row, c_row = sents[best.sentence].doc, sents[best.sentence].chunk
    unit = fx.unit(best.sentence)
    item, lead_in, anaphor = unit.is_item, unit.is_lead_in, unit.is_anaphor
    out = [best]
    row = best.sentence
    if anaphor and not item and row > 0 and sents.doc[row - 1] == d_row:
        prev = row - 1
        if data.chunks[sents.chunk[prev]].section == data.chunks[c_row].section:
            out.insert(0, Scored(prev, best.score - 1e-3, best.passage_rank))
    if lead_in:
        nxt = row + 1
        while nxt < len(sents) and len(out) <= p.max_items and sents.doc[nxt] == d_row \
                and fx.unit(nxt).is_item:
            out.append(Scored(nxt, best.score - 1e-3, best.passage_rank))
            nxt += 1
    return out


def select(data: IndexData, fx: F.FeatureIndex, scored: list[Scored], max_sentences: int,
           p: AnswerParams) -> list[Scored]:
    """The best sentence with its context first, then near-best sentences (reading order)."""
    if not scored or max_sentences < 1:
        return []
    first = _with_context(data, fx, scored[0], p)
    taken = {s.sentence for s in first}
    texts = {data.sentence_text(s.sentence).strip().lower() for s in first}
    rest: list[Scored] = []
    for cand in scored[1:]:
        if 1 + len(rest) >= max_sentences or cand.score < scored[0].score - p.keep_margin:
            break
        text = data.sentence_text(cand.sentence).strip().lower()
        if cand.sentence in taken or text in texts or _near_duplicate(data, cand, [*first, *rest], p.duplicate_cos):
            continue
        group = [g for g in _with_context(data, fx, cand, p) if g.sentence not in taken]
        rest.extend(group)
        taken.update(g.sentence for g in group)
        texts.update(data.sentence_text(g.sentence).strip().lower() for g in group)
    rest.sort(key=lambda c: (int(data.sentences.doc[c.sentence]), int(data.sentences.start[c.sentence])))
    return [*first, *rest]


_NUMBERS = re.compile(r"\d+(?:[.,]\d+)*")


def _near_duplicate(data: IndexData, cand: Scored, chosen: list[Scored], max_cos: float) -> bool:
    """Says the same as a chosen sentence: cosine above ``max_cos`` and the same numbers. Sibling
    list items ("87.2% for infants in the low risk group", "29.9% ... high risk group") are
    cosine-close but each is its own answer."""
    if not data.has_sentence_vectors:
        return False
    vec = data.sentence_vectors[cand.sentence]
    numbers = set(_NUMBERS.findall(data.sentence_text(cand.sentence)))
    return any(float(vec @ data.sentence_vectors[c.sentence]) > max_cos
               and set(_NUMBERS.findall(data.sentence_text(c.sentence))) == numbers for c in chosen)


def citation(data: IndexData, n: int, sc: Scored) -> Citation:
    s = data.sentences[sc.sentence]
    doc, ch, start, end = data.docs[s.doc], data.chunks[s.chunk], s.start, s.end
    return Citation(
        id=n, doc_id=doc.doc_id, title=doc.title, section=section_label(doc.title, ch.section),
        page=doc.page_at(start), date=doc.date, url=doc.url, text=doc.text[start:end],
        start=start, end=end, score=round(sc.score, 4),
        source_refs=tuple(data.references.cited(doc.doc_id, start, end, doc.text[start:end])),
    )


def rivals(data: IndexData, scored: list[Scored], chosen: list[Scored], p: AnswerParams) -> list[Scored]:
    """Strong candidates from documents no quote comes from: where another source may say otherwise."""
    if not scored or not chosen:
        return []
    docs = {int(data.sentences.doc[c.sentence]) for c in chosen}
    out: list[Scored] = []
    for cand in scored[1:]:
        if len(out) >= p.rivals or cand.score < min(scored[0].score - p.keep_margin, p.rival_logit):
            break
        doc = int(data.sentences.doc[cand.sentence])
        if doc not in docs:
            out.append(cand)
            docs.add(doc)
    return out


def with_conflicts(data: IndexData, citations: list[Citation], rival: list[Scored]) -> tuple[list[Citation], list[dict]]:
    """The citations, plus each rival that disagrees with them (cited, so "Sources differ: see [1]
    and [4]" points at what the reader sees), and the conflicts (`qa.query.conflicts`). Never picks
    one value: both quotes stay, with the notice."""
    if not citations:
        return citations, []
    n = len(citations)
    rival_rows = [(n + 1 + i, data.docs[int(data.sentences.doc[r.sentence])].doc_id, data.sentence_text(r.sentence))
                  for i, r in enumerate(rival)]
    found = find_conflicts([(c.id, c.doc_id, c.text) for c in citations] + rival_rows)
    used = sorted({i for c in found for i in c.citations if i > n})
    renumber = {old: n + 1 + k for k, old in enumerate(used)}
    kept = [citation(data, renumber[old], rival[old - n - 1]) for old in used]  # only the rivals cited
    conflicts = [{**c.to_dict(), "citations": [renumber.get(i, i) for i in c.citations]} for c in found]
    return citations + kept, conflicts


def compose(citations: list[Citation]) -> str:
    """'Sentence one. [1] Sentence two. [2]': each sentence verbatim with its whitespace shown
    normalised (a PDF's line breaks inside a sentence), each with its number.

    >>> c = Citation(1, "d", "T", "", None, None, None, "Give 12 mg\\nIT.", 0, 14, 1.0)
    >>> compose([c])
    'Give 12 mg IT. [1]'
    """
    return " ".join(f"{' '.join(c.text.split())} [{c.id}]" for c in citations)
