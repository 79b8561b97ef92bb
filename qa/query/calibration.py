"""Abstention threshold and the mapping from raw answer score to a calibrated confidence.

The raw score is the abstention model's logit (`qa.query.answer_model`); each model variant carries its
own calibration, fitted by `qa train`. A site may refit the hybrid one on its own gold questions
with `qa eval --calibrate`, which writes a file that ``QA_CALIBRATION`` names, or that a corpus folder
carries as ``qa-calibration.json`` (`qa index` stores it in the index); such a file records
the sha256 of the answer model it was fitted for, and is refused with any other model (a
threshold on another model's logits means nothing). Confidence is a logistic curve
``1 / (1 + exp(-(a * raw + b)))`` (Platt scaling), monotone in the raw score, so the threshold
keeps its meaning.

>>> Calibration(threshold=0.0, a=2.0, b=0.0).confidence(0.0)
0.5
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from qa.config import runtime


@dataclass(frozen=True)
class Calibration:
    threshold: float = 0.0
    a: float = 1.0
    b: float = 0.0
    rule: str = "default, not fitted"
    fitted_on: str = ""
    model_sha: str = ""  # the answer model whose logits this was fitted on ("" = the model's own)

    def confidence(self, raw: float) -> float:
        z = self.a * raw + self.b
        z = max(-60.0, min(60.0, z))
        return round(1.0 / (1.0 + math.exp(-z)), 4)

    @classmethod
    def from_dict(cls, raw: dict) -> Calibration:
        """The fields this version knows; a missing one keeps its default."""
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")


def load_calibration(path: str | Path | None = None) -> Calibration | None:
    """The file at ``path`` or ``QA_CALIBRATION``; None when neither is given (use the model's own)."""
    path = path or runtime().calibration
    if not path:
        return None
    path = Path(path)
    if not path.exists():
        raise ValueError(f"calibration file {path} does not exist (QA_CALIBRATION); unset it to use the model's own")
    try:
        raw = json.loads(path.read_text())
        return Calibration.from_dict(raw)
    except (ValueError, TypeError) as e:
        raise ValueError(f"calibration file {path} is invalid: {e}") from None
