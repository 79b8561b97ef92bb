"""Which encoder runs the model, for each of its two jobs, chosen by a probe of this machine.

Questions and index batches want different things, so each has its own setting (``auto`` by
default) and its own measured reason (benchmarks/question_encoders.py prints both on a machine):

- **questions** (``QA_QUESTION_ENCODER``) are one short text at a time: latency. int8 ONNX Runtime
  on one thread took 1.8 ms p50 / 2.5 ms p95 a MedQuAD question on the Xeon with AMX, against
  5.9-6.6 / 7.8-8.3 ms for the traced torch fp32 model in the same run; an earlier session measured
  int8 ONNX 2-5x faster than torch on an AMD EPYC without AVX-512 too. Its vectors are cosine
  0.991-0.995 to torch's, so a torch-built index is searched with them (SciFact nDCG@10 0.728 vs
  0.731 asked that way). A process that only answers then never imports torch. ``auto`` is ONNX
  whenever onnxruntime is installed.
- **index batches** (``QA_ENCODER``) are throughput: torch in bfloat16 where the CPU multiplies
  it in hardware (AMX or AVX512-BF16: 566 sentences/s against 294 in fp32 here), else int8 ONNX
  (an EPYC: torch fp32 there is several times slower). The manifest records the choice, and a
  vector is reused only by the same encoder and precision (`Embedder.vector_id`).

>>> choose("question", "torch", flags=set())
'torch'
>>> choose("index", "auto", flags={"avx2", "amx_bf16"})
'torch'
>>> choose("index", "auto", flags={"avx2"}, onnx_installed=True)
'onnx'
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROLES = ("question", "index")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
# the flags that change qa's speed, as benchmarks and eval reports print them
SPEED_FLAGS = (*BF16_FLAGS, "avx512f", "avx2")


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))


def bf16_hardware(flags: set[str] | None = None) -> bool:
    """The CPU multiplies bfloat16 in hardware (AMX or AVX512-BF16): the one test of it."""
    return any(f in (cpu_flags() if flags is None else flags) for f in BF16_FLAGS)


def onnx_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def choose(role: str, setting: str, flags: set[str] | None = None, onnx_installed: bool | None = None) -> str:
    """``torch`` or ``onnx`` for ``role``; a setting other than ``auto`` is taken as it is."""
    if role not in ROLES:
        raise ValueError(f"unknown encoder role {role!r}; one of {', '.join(ROLES)}")
    if setting != "auto":
        return setting
    onnx_ok = onnx_available() if onnx_installed is None else onnx_installed
    if not onnx_ok:
        return "torch"
    if role == "question":
        return "onnx"
    return "torch" if bf16_hardware(flags) else "onnx"
