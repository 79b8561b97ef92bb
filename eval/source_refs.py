"""How many of the bundled corpus's citations carry the source's own references (issue 16 part 2).

    .venv/bin/python eval/source_refs.py [--index DIR]      # default: builds the bundled corpus into a temp dir

Prints, for the bundled corpus: sentences that end with (or hold) a number group that looks like a
citation marker (a loose pattern, read by eye to be markers in this corpus), how many of them qa
reads as markers, how many resolve to a listed entry; then the same for the citations of every
eval/seeds question (dev and test, abstention off so each gets its quotes).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LOOSE = re.compile(r"(?:\s\d{1,2}(?:,\s*\d{1,2})*[.;]?\s*$)|\[\d{1,3}(?:[,–-]\s*\d{1,3})*\]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, help="an index of corpus/ (default: build one)")
    args = ap.parse_args()
    from qa.index.build import build_index
    from qa.embed import load_embedder
    from qa.query.engine import Engine

    index = args.index
    if index is None:
        index = Path(tempfile.mkdtemp(prefix="qa-refs-")) / "index"
        build_index(ROOT / "corpus", index, load_embedder())
    eng = Engine.load(index, abstain=False)
    data = eng.data
    looks = found = listed = 0
    for i in range(len(data.sentences)):
        text, doc = data.sentence_text(i), data.docs[int(data.sentences.doc[i])]
        if doc.doc_id not in data.references.lists or not LOOSE.search(text):
            continue
        looks += 1
        start = int(data.sentences.start[i])
        refs = data.references.cited(doc.doc_id, start, start + len(text), text)
        found += bool(refs)
        listed += any(r.text for r in refs)
    print(f"corpus sentences with a marker-like number group, in documents with a reference list: {looks}")
    print(f"  read as citing the source's references: {found} ({found / max(looks, 1):.0%}); "
          f"at least one listed entry: {listed}")
    cites = marked = carried = 0
    for line in (ROOT / "eval/seeds/queries.jsonl").read_text().splitlines():
        for c in eng.ask(json.loads(line)["text"]).citations:
            cites += 1
            if c.doc_id in data.references.lists and LOOSE.search(c.text):
                marked += 1
                carried += bool(c.source_refs)
    print(f"eval/seeds answers: {cites} citations, {marked} of them marker-like in a document with a list, "
          f"{carried} carry source_refs ({carried / max(marked, 1):.0%})")


if __name__ == "__main__":
    main()
