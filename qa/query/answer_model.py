"""The answerer's fitted weights: a sentence scorer and an abstention model, saved as checked JSON.

Two variants, chosen by what the question had: ``hybrid`` (a question vector: cosine features
present) and ``lexical`` (mode ``bm25``, or a failed or slow embedder: cosine features absent),
so degraded answers never reuse a threshold fitted on hybrid scores.

Each variant holds
- ``scorer``: a model over `qa.query.features.SENTENCE_FEATURES` whose logit ranks sentences: a
  linear model fitted listwise (softmax over a question's candidates), or boosted trees
  (`qa.query.trees`, stored as plain tables; ``kind: trees``), whichever `qa train` was told to fit;
- ``abstainer``: a logistic model over `qa.query.features.QUESTION_FEATURES`; its logit ``z`` is the
  answer's ``raw_score``;
- ``calibration``: ``confidence = sigmoid(a*z + b)`` (Platt scaling on a calibration split) and the
  threshold on ``z`` below which qa abstains, chosen by a stated risk-control rule.

The file is versioned and carries the sha256 of its canonical content; `load_model` refuses a file
whose hash, version or feature names do not match this code (no pickle anywhere). Version 2 added
the tree scorer; a version 1 file (linear scorers only) still loads.

>>> m = LinearModel(("a", "b"), (0.0, 1.0), (1.0, 2.0), (2.0, -1.0), 0.5)
>>> float(m.logits(np.array([[1.0, 3.0]], dtype=np.float32))[0])
1.5
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa.query.calibration import Calibration
from qa.query.features import QUESTION_FEATURES, SENTENCE_FEATURES
from qa.query.trees import KIND as TREES, TreeEnsemble, TreeError

FORMAT = "qa-answer-model"
VERSION = 2
READS = (1, 2)  # version 1: linear scorers only
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "models" / "answer-model.json"
VARIANTS = ("hybrid", "lexical")


class ModelError(ValueError):
    """The answer model file is missing, damaged or fitted for other code; the message says what to do."""


@dataclass(frozen=True)
class LinearModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float = 0.0

    def __post_init__(self):
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.weights) == n):
            raise ModelError("model arrays differ in length from its feature list")
        object.__setattr__(self, "_w", np.asarray(self.weights, np.float32) / np.asarray(self.scale, np.float32))
        object.__setattr__(self, "_b", float(self.bias - np.dot(self._w, np.asarray(self.mean, np.float32))))

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Standardise with the fitted mean/scale, then the linear score (folded into one dot)."""
        return x @ self._w + self._b if len(x) else np.zeros(0, np.float32)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> LinearModel:
        return cls(tuple(d["features"]), tuple(d["mean"]), tuple(d["scale"]), tuple(d["weights"]), float(d["bias"]))


def scorer_from_dict(d: dict) -> LinearModel | TreeEnsemble:
    """A stored scorer by its ``kind`` (none: linear, as every version 1 file)."""
    return TreeEnsemble.from_dict(d) if d.get("kind") == TREES else LinearModel.from_dict(d)


@dataclass(frozen=True)
class Variant:
    scorer: LinearModel | TreeEnsemble
    abstainer: LinearModel
    calibration: Calibration

    def to_dict(self) -> dict:
        return {"scorer": self.scorer.to_dict(), "abstainer": self.abstainer.to_dict(),
                "calibration": asdict(self.calibration)}

    @classmethod
    def from_dict(cls, d: dict) -> Variant:
        return cls(scorer_from_dict(d["scorer"]), LinearModel.from_dict(d["abstainer"]),
                   Calibration(**d["calibration"]))


@dataclass(frozen=True)
class AnswerModel:
    variants: dict[str, Variant]
    info: dict = field(default_factory=dict)  # data card summary, metrics, seed: for people, not code
    version: int = VERSION  # as loaded: a version 1 file keeps its hash (which calibrations name)

    def variant(self, has_vector: bool) -> Variant:
        return self.variants["hybrid" if has_vector else "lexical"]

    def with_calibration(self, name: str, cal: Calibration) -> AnswerModel:
        v = self.variants[name]
        return AnswerModel({**self.variants, name: Variant(v.scorer, v.abstainer, cal)}, self.info, self.version)

    def content(self) -> dict:
        return {"format": FORMAT, "version": self.version,
                "variants": {k: v.to_dict() for k, v in self.variants.items()}, "info": self.info}

    @property
    def sha256(self) -> str:
        return _digest(self.content())

    def save(self, path: Path) -> None:
        body = self.content()
        body["sha256"] = _digest(body)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=1) + "\n")
        tmp.replace(path)


# For collecting training data: an engine that retrieves and computes features, never answers.
UNFITTED = AnswerModel({}, {"note": "no variants: training-data collection only"})


def _digest(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load_model(path: str | Path | None = None) -> AnswerModel:
    path = Path(path or DEFAULT_PATH)
    refit = "refit it with `qa train` (see docs/eval.md)"
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"answer model not found: {path}; {refit}") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"answer model {path} is unreadable ({e}); {refit}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ModelError(f"{path} is not a qa answer model; {refit}")
    if body.get("version") not in READS:
        raise ModelError(f"{path} is answer model version {body.get('version')}, this qa reads "
                         f"{', '.join(map(str, READS))}; {refit}")
    stated = body.pop("sha256", None)
    if stated != _digest(body):
        raise ModelError(f"answer model {path} fails its checksum (edited or damaged); {refit}")
    try:
        variants = {k: Variant.from_dict(body["variants"][k]) for k in VARIANTS}
    except (KeyError, TypeError, ValueError, TreeError) as e:
        raise ModelError(f"answer model {path} is incomplete ({e}); {refit}") from None
    for name, v in variants.items():
        if v.scorer.features != SENTENCE_FEATURES or v.abstainer.features != QUESTION_FEATURES:
            raise ModelError(f"answer model {path} ({name}) was fitted for other features than this qa computes; {refit}")
    return AnswerModel(variants, body.get("info", {}), body["version"])
