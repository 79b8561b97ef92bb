"""`qa eval compare A.json B.json`: metric deltas side by side, flagged when beyond noise.

A delta is flagged when it exceeds twice its standard error. When both report folders hold
``per_question.jsonl`` and the runs share questions, the error is the paired one: the standard
error of the per-question differences (two runs on the same questions are strongly correlated,
so this sees small real changes). Otherwise it is unpaired, ``2 * sqrt(se_A^2 + se_B^2)`` from
the standard errors each report stores (or the binomial ``sqrt(p (1 - p) / n)``), which is
conservative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

SKIP = {"stderr", "ci95", "n", "latency_ms", "abstention", "n_questions", "n_answerable", "mean_confidence"}


class CompareError(ValueError):
    pass


def load(path: Path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    per_q = path.parent / "per_question.jsonl"
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise CompareError(f"{path}: cannot read ({e.strerror or e})") from None
    except ValueError as e:
        raise CompareError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("modes"), dict):
        raise CompareError(f"{path}: not a qa eval report (no 'modes')")
    data["_per_question"] = {}
    if per_q.is_file():
        try:
            for line in per_q.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                data["_per_question"].setdefault(row["mode"], {})[row["qid"]] = row
        except (ValueError, KeyError, TypeError):
            data["_per_question"] = {}  # unreadable: fall back to the unpaired test
    return data


def _paired(a: dict, b: dict, mode: str, name: str) -> tuple[float, int] | None:
    """(2 * standard error of the per-question differences, n) where both runs have the values."""
    pa, pb = a.get("_per_question", {}).get(mode, {}), b.get("_per_question", {}).get(mode, {})
    diffs = [pb[q][name] - pa[q][name] for q in pa.keys() & pb.keys()
             if isinstance(pa[q].get(name), (int, float)) and isinstance(pb[q].get(name), (int, float))]
    if len(diffs) < 2:
        return None
    n = len(diffs)
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    return 2 * math.sqrt(var / n), n


def _se(m: dict, name: str) -> float | None:
    se = (m.get("stderr") or {}).get(name)
    if se is not None:
        return se
    n, p = (m.get("n") or {}).get(name) or m.get("n_questions"), m.get(name)
    if n and isinstance(p, (int, float)) and 0 <= p <= 1:
        return math.sqrt(max(p * (1 - p), 1e-12) / n)
    return None


def compare(a: dict, b: dict) -> list[dict]:
    rows = []
    for mode in [m for m in a["modes"] if m in b["modes"]]:
        ma, mb = a["modes"][mode], b["modes"][mode]
        for name, va in ma.items():
            vb = mb.get(name)
            if name in SKIP or not isinstance(va, (int, float)) or not isinstance(vb, (int, float)):
                continue
            paired = _paired(a, b, mode, name)
            if paired is not None:
                noise = paired[0]
            else:
                sa, sb = _se(ma, name), _se(mb, name)
                noise = 2 * math.sqrt(sa ** 2 + sb ** 2) if sa is not None and sb is not None else None
            delta = vb - va
            rows.append({"mode": mode, "metric": name, "a": va, "b": vb, "delta": delta, "noise": noise,
                         "paired": paired is not None,
                         "significant": bool(noise is not None and abs(delta) > noise and delta != 0)})
        la, lb = ma.get("latency_ms", {}).get("total", {}), mb.get("latency_ms", {}).get("total", {})
        for p in ("p50", "p95"):
            if p in la and p in lb:
                rows.append({"mode": mode, "metric": f"latency_total_{p}_ms", "a": la[p], "b": lb[p],
                             "delta": lb[p] - la[p], "noise": None, "paired": False, "significant": False})
    return rows


def warnings_for(a: dict, b: dict) -> list[str]:
    out = []
    for key in ("suite", "split", "n_questions"):
        if a.get(key) != b.get(key):
            out.append(f"{key} differs: {a.get(key)} vs {b.get(key)}")
    if a.get("index_id") != b.get("index_id"):
        out.append(f"index differs: {a.get('index_id')} vs {b.get('index_id')}")
    only = set(a["modes"]) ^ set(b["modes"])
    if only:
        out.append("modes in one report only: " + ", ".join(sorted(only)))
    return out
