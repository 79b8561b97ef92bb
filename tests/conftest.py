"""Shared fixtures. Logic tests use `FakeEmbedder`; tests marked `slow` use the real model."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.embed import Embedder

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


def pytest_configure(config):
    """The encoder cache (ONNX export, question trace) in a temp dir of the run, shared by the
    run's processes (`qa serve` subprocesses inherit it), never the user's ~/.cache."""
    import os
    import tempfile

    if "QA_ONNX_CACHE" not in os.environ:
        os.environ["QA_ONNX_CACHE"] = tempfile.mkdtemp(prefix="qa-test-encoder-cache-")
    # the feedback store of every app and `qa serve` the tests start: a temp file, never ./feedback/
    if "QA_FEEDBACK_DB" not in os.environ:
        os.environ["QA_FEEDBACK_DB"] = str(Path(tempfile.mkdtemp(prefix="qa-test-feedback-")) / "qa.sqlite3")


_EXIT_STATUS = {}


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """After a run that imported Ray (tests/test_cluster*.py), leave with pytest's own status and
    skip the interpreter's teardown. A passing run on an AMD EPYC exited with SIGSEGV after its
    summary (2026-12-08, rc 139). dmesg showed a jump into heap memory holding Ray's gRPC method
    name ".../GetAllResourceUsage": a Ray thread outliving ray.shutdown(). The results are already
    reported by then; only the crash is skipped. (`qa index corpus --ray local` exited 0 in the two
    runs tried the same day.)"""
    import os
    import sys

    ray = sys.modules.get("ray")
    if ray is None or "status" not in _EXIT_STATUS:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS["status"])


SHARED = ROOT.parent / "shared"


class FakeEmbedder(Embedder):
    """Deterministic bag-of-words hashing: texts sharing words get similar vectors. No model."""

    name = "fake-hash-64"
    dim = 64

    def embed_batch(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                h = int.from_bytes(hashlib.md5(w.encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0 if (h >> 8) & 1 else -1.0
            if not out[i].any():
                out[i, 0] = 1.0
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    """The real model through the encoder qa chooses for index batches on this machine (torch in
    bf16 where the CPU has it, else int8 ONNX): what `qa index` and the fixtures below build with."""
    from qa.embed import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def torch_embedder(real_embedder):
    """The real model in PyTorch whatever this machine chooses: the reference other encoders match."""
    from qa.embed.torch import SentenceTransformerEmbedder

    return real_embedder if isinstance(real_embedder, SentenceTransformerEmbedder) else SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory, real_embedder) -> Path:
    """The bundled corpus indexed once with the real model, for read-only tests."""
    from qa.index.build import build_index

    out = tmp_path_factory.mktemp("idx") / "default"
    build_index(CORPUS, out, real_embedder)
    return out


BUNDLED_CALIBRATION = ROOT / "corpus" / "qa-calibration.json"  # the bundled corpus's own, stored in its index


@pytest.fixture(scope="session")
def engine(bundled_index, real_embedder):
    """The bundled corpus as ./run.sh serves it: the answer model with the corpus's own calibration."""
    from qa.query.calibration import load_calibration
    from qa.query.engine import Engine

    return Engine.load(bundled_index, real_embedder, calibration=load_calibration(BUNDLED_CALIBRATION))


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    return dst


def shared_suite(name: str) -> Path:
    path = SHARED / "data" / name
    if not path.exists():
        pytest.skip(f"../shared/data/{name} is not available")
    return path


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory) -> Path:
    """The bundled corpus indexed once with `FakeEmbedder`, for read-only service tests."""
    from qa.index.build import build_index

    out = tmp_path_factory.mktemp("fake-idx") / "idx"
    build_index(CORPUS, out, FakeEmbedder())
    return out


@pytest.fixture(scope="session")
def fake_engine(fake_index):
    from qa.query.engine import Engine

    return Engine.load(fake_index, FakeEmbedder())


def pids_running(marker: bytes) -> list[int]:
    """Processes whose command line holds ``marker`` (a Ray actor's or replica's name)."""
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if marker in (p / "cmdline").read_bytes():
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


def split_bundled_corpus(out: Path) -> Path:
    """The bundled guideline as one document per '## ' section (19 of them), written to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(CORPUS.glob("*.md")):
        for i, part in enumerate(re.split(r"(?m)^(?=## )", f.read_text())):
            if len(part.strip()) >= 80:
                (out / f"{f.stem}-{i:02d}.md").write_text(part)
    return out
