"""Abstention threshold and the mapping from raw answer score to a calibrated confidence.

`qa eval --calibrate` fits both on a dev split and writes them as JSON; `qa ask` and the API read
the file named by ``QA_CALIBRATION`` or, by default, ``qa/calibration.json`` shipped with the
package. Confidence is a logistic curve ``1 / (1 + exp(-(a * raw + b)))`` (Platt scaling), so it
is monotone in the raw score and the threshold keeps its meaning.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class Calibration:
    threshold: float = 0.36
    a: float = 10.0
    b: float = -3.6
    rule: str = "default, not fitted"
    fitted_on: str = ""

    def confidence(self, raw: float) -> float:
        z = self.a * raw + self.b
        z = max(-60.0, min(60.0, z))
        return round(1.0 / (1.0 + math.exp(-z)), 4)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")


def load_calibration(path: str | Path | None = None) -> Calibration:
    path = Path(path or os.environ.get("QA_CALIBRATION") or DEFAULT_PATH)
    if not path.exists():
        return Calibration()
    try:
        raw = json.loads(path.read_text())
        return Calibration(**{k: raw[k] for k in ("threshold", "a", "b", "rule", "fitted_on") if k in raw})
    except (ValueError, TypeError) as e:
        raise ValueError(f"calibration file {path} is invalid: {e}") from None
