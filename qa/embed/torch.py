"""The torch encoder: sentence-transformers on the CPU, questions through a TorchScript trace on
threads of their own, index batches in bfloat16 where the CPU has it in hardware."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from qa.config import Runtime
import qa.embed.trace_cache as trace_cache
from qa.embed.base import DEFAULT_MODEL, Embedder, EmbedderError
from qa.embed.choice import bf16_hardware
from qa.embed.model import mean_pooled, resolve_model_path

DEFAULT_CACHE: Path = Runtime.model_fields["onnx_cache"].default  # QA_ONNX_CACHE, read by load_embedder


def _load_st(path: str, name: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except Exception as e:  # many loader errors; the user needs to know which model failed
        raise EmbedderError(f"cannot load model {name!r}: {type(e).__name__}: {e}") from None


def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)


class SentenceTransformerEmbedder(Embedder):
    """``bf16``: None or "auto" probes the CPU (QA_BF16 is read by load_embedder), "0"/"1" or a bool
    decide. ``cache_dir``: where the question trace is kept (`qa.embed.trace_cache`); None: never.

    What a process needs is loaded when it first needs it: answering questions needs only the
    cached trace and the fast tokenizer (0.1 s); sentence-transformers (3 s to import, the model
    again in memory) loads on the first index batch, or when there is no usable trace to load.
    """

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, threads: int | None = None,
                 trace: bool = True, bf16: bool | str | None = None, cache_dir: Path | None = DEFAULT_CACHE):
        self.name, self.batch_size = model, batch_size
        self._path = resolve_model_path(model)
        if not Path(self._path).exists() and "/" not in model:
            raise EmbedderError(f"model not found: {model} (give a local sentence-transformers folder)")
        if threads:
            import torch

            torch.set_num_threads(threads)
        self._st, self._st_lock = None, threading.Lock()
        self._bf16_setting = bf16 if isinstance(bf16, str) else "auto" if bf16 is None else str(int(bf16))
        self._bf16: bool | None = None  # decided on first use: only indexing needs the probe
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
        self._cached = trace_cache.load(cache_dir, self._path) if trace and cache_dir else None
        if self._cached is not None:
            self.dim, self.max_seq_length = self._cached.dim, self._cached.max_seq_length
            self._traced = self._cached.traced
            return
        st = self.model  # no usable cached trace: load sentence-transformers now
        get_dim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        self.dim, self.max_seq_length = int(get_dim()), int(st.max_seq_length)
        self._traced = self._trace_query_model() if trace else None
        if self._traced is not None and cache_dir:
            trace_cache.save(cache_dir, self._path, self._traced, self.dim, self.max_seq_length,
                             self._encode([trace_cache.PROBE])[0])

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use."""
        with self._st_lock:
            if self._st is None:
                self._st = _load_st(self._path, self.name)
            return self._st

    @property
    def bf16(self) -> bool:
        if self._bf16 is None:
            self._bf16 = self._use_bf16(self._bf16_setting)
        return self._bf16

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
        if self._cached is not None:
            return self._cached.encode(text)
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
        if setting == "auto" and not bf16_hardware():
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
