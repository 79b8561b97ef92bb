"""Export qa's own answer candidates for a cross-encoder experiment (issue 11): covid-qa train (to
fit) and covid-qa dev (held out, only scored), one JSON line a question.

    .venv/bin/python eval/cross_encoder/export.py --out eval/cross_encoder/data

Each line: the question as typed, and for every candidate sentence of the top passages (exactly
those `qa ask` scores) its text, its heading path, whether it overlaps the gold evidence (``y``),
whether it holds a gold short answer (``contains``) and the shipped linear scorer's logit, so the
experiment compares the two scorers on the same candidates. Builds or reuses the suite index in
eval/cache (~6 minutes on 2 cores the first time).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "cross_encoder" / "data")
    args = ap.parse_args()
    from qa.embed import load_embedders
    from qa.eval import metrics as M
    from qa.eval.cache import cached_index
    from qa.eval.suites import load_suite
    from qa.query.engine import Engine
    from qa.query.features import quotable
    from qa.train.data import collect
    from qa.types import section_label

    embedder, questions = load_embedders("all-MiniLM-L6-v2")
    args.out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev"):
        suite = load_suite(args.shared / "covid-qa", split, None)
        index_dir, _ = cached_index(suite.corpus, embedder, name=suite.name, corpus_sha=suite.corpus_sha)
        engine = Engine.load(index_dir, questions, abstain=False)
        scorer = engine.model.variant(True).scorer
        by_id = {q.qid: q for q in suite.queries}
        items = collect(engine, suite, "covid-qa", lexical=False, calibrate_share=0.3, construct_share=0.0,
                        only_split=split)
        data, n = engine.data, 0
        with gzip.open(args.out / f"covid-qa-{split}.jsonl.gz", "wt") as f:
            for it in items:
                q = by_id[it.qid]
                logits = quotable(it.x, scorer.logits(it.x))
                cands = []
                for (row, rank), y, z in zip(it.cands, it.y, logits):
                    s = data.sentences[row]
                    doc, chunk = data.docs[s.doc], data.chunks[s.chunk]
                    text = doc.text[s.start:s.end]
                    cands.append({"text": " ".join(text.split()), "section": section_label(doc.title, chunk.section),
                                  "y": int(y), "contains": int(bool(q.answers) and M.contains_answer(text, list(q.answers)) > 0),
                                  "logit": round(float(z), 4), "passage_rank": rank, "quotable": bool(z > -999)})
                f.write(json.dumps({"qid": it.qid, "question": q.text, "answerable": it.answerable, "cands": cands}) + "\n")
                n += 1
        print(f"covid-qa {split}: {n} questions -> {args.out}/covid-qa-{split}.jsonl.gz", flush=True)


if __name__ == "__main__":
    main()
