"""What every embedder is: the `Embedder` base class and its error.

`Embedder` has one method to implement, `embed_batch`; `embed` adds batching, a progress
callback and unit normalisation, so vectors can go straight into an inner-product FAISS index.
The torch encoder (`qa.embed.torch`) and the ONNX one (`qa.embed.onnx`) both build on this module
and `qa.embed.model`, and on nothing of each other's; `qa.embed.load_embedder` picks one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class EmbedderError(Exception):
    pass


def normalise(out: np.ndarray) -> np.ndarray:
    """Rows to unit length in place (an all-zero row stays zero), for inner-product search."""
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


class Embedder(ABC):
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

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Raw (unnormalised) float32 vectors, one row per text."""

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
              batch_fn: Callable[[Sequence[str]], np.ndarray] | None = None) -> np.ndarray:
        batch_fn = batch_fn or self.embed_batch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for rows in self.batches(texts):
            out[rows] = batch_fn([texts[r] for r in rows])
            if progress:
                progress(len(rows))
        return normalise(out)

    def batches(self, texts: Sequence[str]) -> list[list[int]]:
        """The rows of each batch `embed` runs: batches of similar length waste little padding, so
        sort by length, cut every ``batch_size``; rows are put back in order afterwards."""
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many questions at once (`qa eval`), in fp32 as `embed_query` encodes them.

        The same vectors up to float rounding (batches are padded and run eagerly, a question alone
        through the trace): cosine > 0.9999, which can flip an exact tie between two passages.
        """
        return self.embed(texts)
