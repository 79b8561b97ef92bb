"""The question encoder's TorchScript trace, kept on disk so a new process does not trace again.

Tracing, freezing and optimising MiniLM took 8.6 s of every cold `qa ask` on an AMD EPYC (10 s
here under load); loading the saved trace takes 0.05 s. An entry is two files in the encoder
cache (``QA_ONNX_CACHE``), named by the model folder, a digest of every weight byte, the torch
version and the CPU (a frozen, optimised trace may hold CPU-specific kernels):

    <model>-<weights>-torch<version>-<cpu>.pt     torch.jit.save of the frozen trace
    <model>-<weights>-torch<version>-<cpu>.json   {"format": 1, "sha256", "dim", "max_seq_length", "probe"}

On load the .pt must match its sha256, and the trace, fed by the model's own fast tokenizer, must
give the probe question's vector that sentence-transformers gave when the entry was made (cosine
> 0.9999): a stale, foreign or corrupt entry is rebuilt, never used. Writes are atomic (a temporary
name, then a rename), and a cache that cannot be written only costs the next start its trace.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.embed.model import cpu_tag, weights_hash

FORMAT = 1
PROBE = "FLT3-ITD AML starting 7+3: what do I add, and on which days?"


@dataclass
class CachedTrace:
    traced: object  # a torch.jit.ScriptModule: (input_ids, attention_mask) -> sentence vector
    tokenizer: object  # a tokenizers.Tokenizer, truncating at max_seq_length, no padding
    dim: int
    max_seq_length: int

    def encode(self, text: str) -> np.ndarray:
        import torch

        enc = self.tokenizer.encode(text)
        with torch.inference_mode():
            out = self.traced(torch.tensor([enc.ids]), torch.tensor([enc.attention_mask]))
        return out.numpy()[0].astype(np.float32, copy=False)


def entry(cache_dir: Path, model_dir: Path) -> tuple[Path, Path]:
    """The entry's (.pt, .json) files; names hold dots (torch 2.13.0), so never with_suffix."""
    import torch

    version = torch.__version__.replace("+", "_")
    stem = f"{Path(model_dir).name}-{weights_hash(Path(model_dir))}-torch{version}-{cpu_tag()}"
    return Path(cache_dir) / f"{stem}.pt", Path(cache_dir) / f"{stem}.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def fast_tokenizer(model_dir: Path, max_seq_length: int):
    """The model's tokenizer.json through `tokenizers`, as sentence-transformers tokenizes one text."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tok.enable_truncation(max_seq_length)
    tok.no_padding()
    return tok


def load(cache_dir: Path, model_dir: Path) -> CachedTrace | None:
    """The cached trace for this model, torch and CPU, checked; None when there is none fit to use."""
    pt, js = entry(cache_dir, model_dir)
    try:
        meta = json.loads(js.read_text())
        if meta.get("format") != FORMAT or _sha256(pt) != meta.get("sha256"):
            return None
        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated in favour of torch.export
            traced = torch.jit.load(str(pt), map_location="cpu")
        cached = CachedTrace(traced,
                             fast_tokenizer(model_dir, int(meta["max_seq_length"])), int(meta["dim"]),
                             int(meta["max_seq_length"]))
        a, b = cached.encode(PROBE), np.asarray(meta["probe"], dtype=np.float32)
        if float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12) <= 0.9999:
            return None
        return cached
    except Exception:  # noqa: BLE001  (missing, unreadable, foreign: trace again)
        return None


def save(cache_dir: Path, model_dir: Path, traced, dim: int, max_seq_length: int, probe: np.ndarray) -> bool:
    """Write an entry (``probe``: sentence-transformers' own vector for PROBE); False if it could not."""
    import torch

    (pt, js), tmp = entry(cache_dir, model_dir), None
    try:
        pt.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=pt.parent, prefix=".trace-", suffix=".pt")
        os.close(fd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(traced, tmp)
        meta = {"format": FORMAT, "sha256": _sha256(Path(tmp)), "dim": dim, "max_seq_length": max_seq_length,
                "probe": [float(x) for x in probe]}
        os.replace(tmp, pt)  # the .pt first: a .json names only a complete .pt
        tmp = str(js) + ".tmp"
        Path(tmp).write_text(json.dumps(meta))
        os.replace(tmp, js)
        return True
    except OSError:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        return False
