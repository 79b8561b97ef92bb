"""An int8 ONNX encoder for all-MiniLM-L6-v2 (or any BERT-style sentence-transformers model).

Built locally from the installed model, never downloaded: the torch model is exported with
``torch.onnx.export(..., dynamo=True)`` (mean pooling included in the graph), then its MatMul
weights are quantised to int8 *per channel* (per-tensor quantisation fell to cosine 0.95 against
fp32; per channel keeps ~0.99). The file is cached under ``QA_ONNX_CACHE`` (default
``~/.cache/qa/onnx``), keyed by a hash of the model's weights, so it is built once per machine.

Questions use it by default (`qa.embed.choice`): 1.8 ms p50 a MedQuAD question on one thread of
the Xeon against 5.9-6.6 ms for the traced torch model, vectors cosine >= 0.99 to torch's. Indexes
use it where the CPU has no bf16 hardware; ``QA_ENCODER=onnx`` (or ``--encoder onnx``) forces it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.config import Runtime, apply_process_env
from qa.embed.base import DEFAULT_MODEL, Embedder, EmbedderError
from qa.embed.model import mean_pooled, resolve_model_path, weights_hash


log = logging.getLogger("qa.embed")
MISSING = "the onnx encoder needs onnx and onnxruntime: run .venv/bin/pip install -e . again, or use QA_ENCODER=torch"
DEFAULT_CACHE: Path = Runtime.model_fields["onnx_cache"].default  # QA_ONNX_CACHE, read by load_embedder


def export_int8(model: str, target: Path) -> Path:
    """Export ``model`` to ONNX with mean pooling, quantise per channel, write ``target``.

    Once a machine (~14 s on the Xeon), in a child process: a server or `qa ask` that only
    answers never loads torch for it, and the exporter's source parsing (onnxscript calls
    ``ast.parse``) cannot trip over a long-lived interpreter's state (CPython 3.11's spurious
    "AST constructor recursion depth mismatch", gh-106905, seen in the test suite). The exporter's
    and quantiser's chatter stays in the child; one line here says what runs.
    """
    import subprocess
    import sys

    log.warning("qa: building the int8 ONNX encoder for this machine, once (~15 s) -> %s", target)
    r = subprocess.run([sys.executable, "-m", "qa.embed.onnx", model, str(target)], capture_output=True, text=True)
    if r.returncode != 0 or not target.exists():
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        raise EmbedderError(f"building the int8 ONNX encoder failed: {' / '.join(tail) or f'exit {r.returncode}'}; "
                            "use QA_ENCODER=torch QA_QUESTION_ENCODER=torch meanwhile")
    return target


def _export_quietly(model: str, target: Path) -> Path:
    """The export itself (the child's work), with the exporter's loggers and warnings silenced."""
    import warnings

    import torch  # noqa: F401  (first: torch sets its loggers' levels when it loads)
    from transformers.utils import logging as hf_logging

    # onnxruntime.quantization logs its advice on the root logger, the exporter on torch's
    loggers = [logging.getLogger(name) for name in ("", "torch", "torch.onnx", "transformers")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    hf_logging.disable_progress_bar()  # "Loading weights" of the one model load
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _export(model, target)
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
        hf_logging.enable_progress_bar()


def _export(model: str, target: Path) -> Path:
    apply_process_env()
    import torch
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:  # it imports onnx
        raise EmbedderError(MISSING) from None
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(resolve_model_path(model), device="cpu", local_files_only=True)
    pooled, tok = mean_pooled(st[0].auto_model), st.tokenizer
    enc = tok(["a short text", "a slightly longer text for export"], padding=True, return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_suffix(".fp32.onnx")
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    torch.onnx.export(pooled, (enc["input_ids"], enc["attention_mask"]), str(fp32), dynamo=True,
                      input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                      dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                      verbose=False)
    tmp = target.with_suffix(f".tmp{os.getpid()}.onnx")
    quantize_dynamic(str(fp32), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul"])
    os.replace(tmp, target)
    for leftover in target.parent.glob(fp32.name + "*"):
        leftover.unlink(missing_ok=True)
    fp32.unlink(missing_ok=True)
    return target


class OnnxEmbedder(Embedder):
    precision = "int8"
    encoder = "onnx"
    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64, threads: int = 1,
                 cache_dir: Path = DEFAULT_CACHE):
        try:
            import onnxruntime  # noqa: F401  (onnx itself only for the export, `_export`)
            from tokenizers import Tokenizer
        except ImportError:
            raise EmbedderError(MISSING) from None
        model_dir = Path(resolve_model_path(model))
        if not (model_dir / "tokenizer.json").exists():
            raise EmbedderError(f"the onnx encoder needs a local model folder with tokenizer.json: {model}")
        self.path = Path(cache_dir) / f"{model_dir.name}-{weights_hash(model_dir)}-int8.onnx"
        # one thread answers a single question fastest (and questions run side by side, one per
        # worker: ONNX Runtime's run() is thread-safe); indexing batches use every core
        self.session = self._open(model, threads)
        self._batch_session = None
        self._batch_lock = threading.Lock()
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(256)
        self.tokenizer.enable_padding()
        self.name, self.batch_size = model, batch_size
        self.dim = int(self.session.get_outputs()[0].shape[-1] or 384)

    def _open(self, model: str, n_threads: int):
        """A session on the cached export, exporting first when there is none; a cached file that
        will not load (truncated, from another onnx version) is exported again, once."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = n_threads
        for attempt in (1, 2):
            if not self.path.exists():
                export_int8(model, self.path)
            try:
                return ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
            except Exception as e:  # onnxruntime raises its own exception types
                if attempt == 2:
                    raise EmbedderError(f"the int8 ONNX encoder at {self.path} does not load: {e}") from None
                self.path.unlink(missing_ok=True)

    def _batches(self):
        if self._batch_session is None:  # made on first use: a process that only answers never needs it
            self._batch_session = self._open(self.name, os.cpu_count() or 1)
        return self._batch_session

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Each question alone, as `embed_query` encodes it: int8 activations are quantised per run,
        so a question batched with others would get a slightly different vector than in `qa ask`."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            return self.embed(texts, batch_fn=lambda batch: np.stack(
                list(pool.map(lambda t: self.embed_batch([t])[0], batch))))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        encs = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if len(texts) == 1:
            return self.session.run(None, feeds)[0].astype(np.float32)
        with self._batch_lock:  # one all-core batch at a time: two would only fight for the cores
            return self._batches().run(None, feeds)[0].astype(np.float32)


if __name__ == "__main__":  # the child `export_int8` runs: python -m qa.embed.onnx MODEL TARGET
    import sys

    try:
        _export_quietly(sys.argv[1], Path(sys.argv[2]))
    except EmbedderError as e:
        sys.exit(str(e))
