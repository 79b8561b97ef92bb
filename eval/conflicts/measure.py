"""Precision and recall of qa.query.conflicts on the gold pairs (eval/conflicts/README.md).

    .venv/bin/python eval/conflicts/measure.py            # both splits, with the errors listed
    .venv/bin/python eval/conflicts/measure.py --verify   # also check each text against ../shared/data

A pair is predicted to conflict when find_conflicts returns anything for its two sentences, cited
as [1] and [2] under their own document ids (so a same-document pair is judged by the default
rule, which does not compare sentences of one document).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from qa.query.conflicts import find_conflicts  # noqa: E402

PAIRS = HERE / "pairs.jsonl"


def load(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def predict(pair: dict) -> list:
    a, b = pair["a"], pair["b"]
    return find_conflicts([(1, a["doc_id"], a["text"]), (2, b["doc_id"], b["text"])])


def score(pairs: list[dict]) -> dict:
    """Counts, precision, recall and F1 of the detector on ``pairs``, with the wrong pairs."""
    tp = fp = fn = tn = 0
    errors = []
    for p in pairs:
        found = predict(p)
        if found and p["conflict"]:
            tp += 1
        elif found:
            fp += 1
            errors.append(("false conflict", p, found))
        elif p["conflict"]:
            fn += 1
            errors.append(("missed", p, found))
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(pairs), "conflicts": tp + fn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": precision, "recall": recall, "f1": f1, "errors": errors}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a proportion k/n: with a few dozen pairs, the interval is wide."""
    if n == 0:
        return 0.0, 1.0
    p, d = k / n, 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def verify(pairs: list[dict]) -> int:
    """How many texts are not verbatim (after NFKC, as qa indexes them) in their source document."""
    shared = ROOT.parent / "shared" / "data"
    docs = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "corpus").glob("*.md")}
    for suite in sorted({side["suite"] for p in pairs for side in (p["a"], p["b"])} - {"corpus"}):
        for line in (shared / suite / "corpus.jsonl").open(encoding="utf-8"):
            row = json.loads(line)
            docs[row["_id"]] = row["text"]
    bad = 0
    for p in pairs:
        for side in (p["a"], p["b"]):
            if side["text"] not in unicodedata.normalize("NFKC", docs.get(side["doc_id"], "")):
                bad += 1
                print(f"NOT VERBATIM {p['id']}: {side['doc_id']}: {side['text'][:80]}")
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verify", action="store_true", help="check each text against ../shared/data and corpus/")
    args = ap.parse_args()
    pairs = load()
    if args.verify:
        bad = verify(pairs)
        print(f"verbatim check: {2 * len(pairs) - bad}/{2 * len(pairs)} texts found in their documents\n")
    print("precision and recall with 95% Wilson intervals\n")
    for split in ("dev", "test", "all"):
        s = score([p for p in pairs if split in ("all", p["split"])])
        (p_lo, p_hi), (r_lo, r_hi) = wilson(s["tp"], s["tp"] + s["fp"]), wilson(s["tp"], s["tp"] + s["fn"])
        print(f"{split:4}  pairs {s['pairs']:3}  conflicts {s['conflicts']:3}  tp {s['tp']:2}  fp {s['fp']:2}  "
              f"fn {s['fn']:2}  tn {s['tn']:2}  precision {s['precision']:.3f} [{p_lo:.2f}-{p_hi:.2f}]  "
              f"recall {s['recall']:.3f} [{r_lo:.2f}-{r_hi:.2f}]  f1 {s['f1']:.3f}")
    for split in ("dev", "test"):
        print(f"\nerrors on {split}:")
        for why, p, found in score([p for p in pairs if p["split"] == split])["errors"]:
            got = "; ".join(f"{c.what}: {' vs '.join(c.values)}" for c in found) or "-"
            print(f"  {why:14} {p['id']}: {p.get('what') or p['note']} | detector: {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
