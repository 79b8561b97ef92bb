"""The one place a question is prepared: whitespace folded, cut to MAX_QUESTION_CHARS, expanded
(spelling and shorthand, `qa.query.normalize`), and the retrieval modes with their aliases.

The CLI, the API, the eval harness and training all go through `prepare_question` and
`resolve_mode`, so a question or a mode name means the same everywhere.

>>> prepare_question("  FLT3   AML?  ")[0]
'FLT3 AML?'
"""

from __future__ import annotations

import re
import unicodedata

from qa.query.normalize import expand_question

_SURROGATE = re.compile("[\ud800-\udfff]")  # in a Python str every one is unpaired (pairs decode to one)

MODES = ("hybrid", "hybrid-weighted", "bm25", "dense")
# the one place modes have other names (CLI, API and eval all resolve through resolve_mode)
MODE_ALIASES = {"hybrid-rrf": "hybrid", "rrf": "hybrid", "weighted": "hybrid-weighted"}
# hybrid-weighted is the default: on SciFact it beat RRF (nDCG@10 0.731 vs 0.714 on test; RRF's best
# train-tuned setting reached 0.720) and it was also better on covid-qa (eval/reports/, docs/eval.md)
DEFAULT_MODE = "hybrid-weighted"
MAX_QUESTION_CHARS = 2000  # embedder sees ~256 word pieces anyway; BM25 beyond this is noise



class QuestionError(ValueError):
    """The question cannot be asked (empty, or nothing but punctuation)."""


def resolve_mode(mode: str) -> str:
    """A mode's canonical name; QuestionError (a ValueError) for one qa does not know.

    >>> resolve_mode("hybrid-rrf"), resolve_mode("bm25")
    ('hybrid', 'bm25')
    """
    m = MODE_ALIASES.get(str(mode).strip(), str(mode).strip())
    if m not in MODES:
        raise QuestionError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)} "
                            f"(aliases: {', '.join(f'{a} = {b}' for a, b in MODE_ALIASES.items())})")
    return m


def unpaired_surrogate(text: str) -> int | None:
    """Offset of the first lone UTF-16 surrogate in ``text`` (JSON's ``"\\ud800"``, or a byte that
    was not UTF-8 on a command line), else None. Such text cannot be written out as UTF-8.

    >>> unpaired_surrogate("dose " + chr(0xD800) + "?"), unpaired_surrogate("dose 😀?")
    (5, None)
    """
    m = _SURROGATE.search(text)
    return m.start() if m else None


def prepare_question(question: str) -> tuple[str, str]:
    """(what was typed, NFKC-normalised as the corpus is, whitespace-folded and cut to
    MAX_QUESTION_CHARS; the same expanded). Fullwidth "ＦＬＴ３" is then the corpus's "FLT3"
    for retrieval and for the answerer's term features alike.

    >>> prepare_question("ＦＬＴ３  dose?")[0]
    'FLT3 dose?'
    """
    if (at := unpaired_surrogate(str(question))) is not None:
        raise QuestionError(f"the question has an invalid character (a lone UTF-16 surrogate) at "
                            f"position {at}; send it as UTF-8 text")
    q = " ".join(unicodedata.normalize("NFKC", str(question)).split())[:MAX_QUESTION_CHARS]
    if not any(ch.isalnum() for ch in q):
        raise QuestionError("the question is empty; type a clinical question")
    return q, expand_question(q)
