"""Follow-up questions with and without their thread's history (issue 16 part 5).

Run from the repository root:

    .venv/bin/python eval/followups.py                 # builds /tmp/qa-followups-index if missing
    .venv/bin/python eval/followups.py --index DIR     # an index of corpus/ (built there if missing)

Reads eval/seeds/followups.jsonl: one pair a line, {"id", "history": [earlier questions, oldest
first], "question", "evidence": [verbatim sentences or list items of the stored text], "doc_id"},
and "control": true where the question is self-contained and must come back unchanged.

Each pair is asked with abstention off, so every question gets sentences: (a) the follow-up alone,
(b) `resolve(question, history).text` asked as the question, and (c) the follow-up asked with its
history, as `Engine.ask(question, history=...)` and `POST /v1/ask` do: the resolved text only
retrieves the passages, the sentences are scored against the follow-up as typed (its own words and
vector); asked as the question (b), carried subject words pull the quote towards the
sentence that names the subject. A citation is right when it is in the pair's document
and its characters overlap a gold evidence span (every occurrence of the evidence text in the
stored text, `engine.document(doc_id).text`). An evidence string not found verbatim stops the run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.index.bm25 import tokenize  # noqa: E402
from qa.query.followup import resolve  # noqa: E402

PAIRS = ROOT / "eval" / "seeds" / "followups.jsonl"
DEFAULT_INDEX = Path("/tmp/qa-followups-index")


def load_pairs(path: Path = PAIRS) -> list[dict]:
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for p in pairs:
        missing = {"id", "history", "question", "evidence", "doc_id"} - p.keys()
        if missing or not p["evidence"] or not isinstance(p["history"], list):
            raise ValueError(f"{p.get('id')}: malformed pair (missing {sorted(missing)} or empty evidence/history)")
    return pairs


def gold_spans(engine, pair: dict) -> list[tuple[int, int]]:
    """Every occurrence of every evidence string in the stored text; ValueError if one is absent."""
    doc = engine.document(pair["doc_id"])
    if doc is None:
        raise ValueError(f"{pair['id']}: no document {pair['doc_id']!r} in the index")
    spans = []
    for ev in pair["evidence"]:
        start = doc.text.find(ev)
        if start < 0:
            raise ValueError(f"{pair['id']}: evidence not verbatim in {pair['doc_id']}: {ev[:80]!r}")
        while start >= 0:
            spans.append((start, start + len(ev)))
            start = doc.text.find(ev, start + 1)
    return spans


def _right(citation, doc_id: str, spans: list[tuple[int, int]]) -> bool:
    return citation.doc_id == doc_id and any(citation.start < e and s < citation.end for s, e in spans)


def score(engine, pair: dict, question: str, history: tuple[str, ...] = ()) -> tuple[bool, bool]:
    """(first citation right, any citation right) for one question, asked with ``history``."""
    spans = gold_spans(engine, pair)
    cites = engine.ask(question, top_k=5, max_sentences=3, history=history).citations
    return (bool(cites) and _right(cites[0], pair["doc_id"], spans),
            any(_right(c, pair["doc_id"], spans) for c in cites))


def measure(engine, pairs: list[dict]) -> dict:
    """Per-pair results and the totals the table prints."""
    vocab = engine.features.vocab
    known = lambda w: all(t in vocab for t in tokenize(w))  # noqa: E731 -- as the engine's spelling reads it
    rows = []
    for p in pairs:
        r = resolve(p["question"], p["history"], known)
        rows.append({"id": p["id"], "control": bool(p.get("control")), "resolved": r.text,
                     "is_followup": r.is_followup, "alone": score(engine, p, p["question"]),
                     "with_history": score(engine, p, r.text), "split": score(engine, p, p["question"], tuple(p["history"]))})
    fu = [x for x in rows if not x["control"]]
    ctl = [x for x in rows if x["control"]]
    return {
        "rows": rows, "pairs": len(fu), "controls": len(ctl),
        "detected": sum(x["is_followup"] for x in fu),
        "first_alone": sum(x["alone"][0] for x in fu), "first_history": sum(x["with_history"][0] for x in fu),
        "any_alone": sum(x["alone"][1] for x in fu), "any_history": sum(x["with_history"][1] for x in fu),
        "first_split": sum(x["split"][0] for x in fu), "any_split": sum(x["split"][1] for x in fu),
        "controls_unchanged": sum(not x["is_followup"] for x in ctl),
        "controls_first_history": sum(x["with_history"][0] for x in ctl),
    }


def table(m: dict) -> str:
    n, c = m["pairs"], m["controls"]
    lines = [
        "| | (a) without history | (b) the completed question asked whole | (c) with history, as qa asks it (retrieval only) |",
        "|---|---|---|---|",
        f"| follow-ups: right first citation (of {n}) | {m['first_alone']} | {m['first_history']} | {m['first_split']} |",
        f"| follow-ups: right sentence among the citations (of {n}) | {m['any_alone']} | {m['any_history']} | {m['any_split']} |",
        f"| follow-ups read as follow-ups (of {n}) | | {m['detected']} | |",
        f"| controls unchanged by resolve (of {c}) | | {m['controls_unchanged']} | |",
        f"| controls: right first citation (of {c}) | | {m['controls_first_history']} | |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=DEFAULT_INDEX,
                    help=f"index of corpus/, built there if missing (default {DEFAULT_INDEX})")
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per pair")
    args = ap.parse_args(argv)
    index = args.index
    if not (index / "manifest.json").exists():  # an index of another corpus is the caller's choice
        subprocess.run([str(ROOT / ".venv" / "bin" / "qa"), "index", str(ROOT / "corpus"), "--out", str(index)],
                       check=True, cwd=ROOT)
    from qa.query.engine import Engine

    engine = Engine.load(index, abstain=False)
    m = measure(engine, load_pairs())
    if args.verbose:
        for x in m["rows"]:
            mark = lambda t: "".join("+" if v else "-" for v in t)  # noqa: E731
            print(f"{x['id']} {'ctl' if x['control'] else 'fu '} (a) {mark(x['alone'])} (b) "
                  f"{mark(x['with_history'])} (c) {mark(x['split'])}  {x['resolved']}")
    print(table(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
