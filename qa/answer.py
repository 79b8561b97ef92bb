"""The extractive answerer: choose whole stored sentences that answer, and cite them.

Candidates are the sentences and list items of the top fused passages. Each is scored against
the question from three signals, all cheap at query time because sentence vectors were computed
at index time:

    score = w_cos * cos(question, sentence) + w_lex * overlap + w_rank / passage_rank

``overlap`` is the share of the question's content tokens (BM25 tokenizer: stems, clinical
compounds) found in the sentence or its heading path. A list lead-in ending in ":" loses
``lead_in_penalty``: it frames an answer without giving one. The best candidate's score is the raw confidence; below
``threshold`` qa abstains rather than quote something weakly related. Further sentences join only
if they score within ``keep_ratio`` of the best and are not near-duplicates of a chosen one.

Sentences are never trimmed: a citation is always ``doc.text[start:end]`` of a whole unit, so a
negation, dose or condition in it cannot be lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.bm25 import tokenize
from qa.features import candidates
from qa.store import IndexData
from qa.types import section_label, Citation, Hit


@dataclass(frozen=True)
class AnswerParams:
    # weights chosen on eval/seeds dev (grid over cos 0.5-0.7, lex 0.2-0.4, rank 0.05-0.2): a
    # middle point of the best region, not its single best cell (24 answerable questions is noise)
    w_cos: float = 0.6
    w_lex: float = 0.3
    w_rank: float = 0.05
    passages: int = 5  # candidates come from this many top passages
    lead_in_penalty: float = 0.1  # "The drugs include:" frames an answer; it is not one
    keep_ratio: float = 0.75
    duplicate_cos: float = 0.92

    def __post_init__(self):
        if min(self.w_cos, self.w_lex, self.w_rank) < 0:
            raise ValueError("answer weights must be >= 0")
        if self.passages < 1 or not 0 < self.keep_ratio <= 1:
            raise ValueError("passages must be >= 1 and keep_ratio in (0, 1]")


@dataclass(frozen=True)
class Scored:
    sentence: int
    score: float
    passage_rank: int


def score_sentences(data: IndexData, question: str, q_vec: np.ndarray | None, hits: list[Hit],
                    p: AnswerParams, typed: str | None = None) -> list[Scored]:
    """``question`` is the expanded question; ``typed``, what the user typed, sets the overlap's
    denominator, so expansions ("HiDAC (high-dose cytarabine)") can add matches but never dilute."""
    cands = candidates(data, hits, p.passages)
    if not cands:
        return []
    q_tokens = set(tokenize(question))
    n_typed = len(set(tokenize(typed))) if typed else len(q_tokens)
    rows = np.array([s for s, _ in cands])
    if not data.has_sentence_vectors:
        q_vec = None  # a retrieval-only index: lexical and rank signals only, as in bm25 mode
    cos = data.sentence_vectors[rows] @ q_vec if q_vec is not None else np.zeros(len(rows), dtype=np.float32)
    w_cos = p.w_cos if q_vec is not None else 0.0
    # without a question vector (bm25 mode, or a failed embedder) rescale the remaining weights to
    # the full range, so one calibrated threshold still means something
    rescale = 1.0 if q_vec is not None else (p.w_cos + p.w_lex + p.w_rank) / (p.w_lex + p.w_rank)
    out = []
    for (s, rank), c in zip(cands, cos.tolist()):
        text = data.sentence_text(s)
        words = set(tokenize(text)) | set(tokenize(" ".join(data.chunks[int(data.sentences[s][3])].section)))
        overlap = min(1.0, len(q_tokens & words) / n_typed) if n_typed else 0.0
        score = w_cos * c + p.w_lex * overlap + p.w_rank / rank
        if text.endswith(":"):
            score -= p.lead_in_penalty
        out.append(Scored(s, score * rescale, rank))
    out.sort(key=lambda x: (-x.score, x.sentence))
    return out


def select(data: IndexData, scored: list[Scored], max_sentences: int, p: AnswerParams) -> list[Scored]:
    if not scored or max_sentences < 1:
        return []
    best, chosen = scored[0].score, [scored[0]]
    texts = {data.sentence_text(scored[0].sentence).strip().lower()}
    for cand in scored[1:]:
        if len(chosen) >= max_sentences or cand.score < p.keep_ratio * best:
            break
        text = data.sentence_text(cand.sentence).strip().lower()
        if text in texts or _near_duplicate(data, cand, chosen, p.duplicate_cos):
            continue
        chosen.append(cand)
        texts.add(text)
    # readable order: the best sentence first, then the rest as they stand in their documents
    rest = sorted(chosen[1:], key=lambda c: (int(data.sentences[c.sentence][0]), int(data.sentences[c.sentence][1])))
    return [chosen[0], *rest]


def _near_duplicate(data: IndexData, cand: Scored, chosen: list[Scored], max_cos: float) -> bool:
    if not data.has_sentence_vectors:
        return False
    vec = data.sentence_vectors[cand.sentence]
    return any(float(vec @ data.sentence_vectors[c.sentence]) > max_cos for c in chosen)


def citation(data: IndexData, n: int, sc: Scored) -> Citation:
    d_row, start, end, c_row = (int(x) for x in data.sentences[sc.sentence])
    doc, ch = data.docs[d_row], data.chunks[c_row]
    return Citation(
        id=n, doc_id=doc.doc_id, title=doc.title, section=section_label(doc.title, ch.section),
        page=doc.page_at(start), date=doc.date, url=doc.url, text=doc.text[start:end],
        start=start, end=end, score=round(sc.score, 4),
    )


def compose(citations: list[Citation]) -> str:
    """'Sentence one. [1] Sentence two. [2]': the sentences verbatim, each with its number."""
    return " ".join(f"{c.text} [{c.id}]" for c in citations)
