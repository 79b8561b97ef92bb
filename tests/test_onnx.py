"""The int8 ONNX encoder stays within cosine 0.98 of the torch model on real text."""

from __future__ import annotations

import numpy as np
import pytest

from qa.ingest.corpus import read_corpus
from qa.ingest.chunk import units
from conftest import CORPUS


@pytest.mark.slow
def test_onnx_vectors_match_torch(torch_embedder, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("QA_ONNX_CACHE", str(tmp_path / "onnx"))
    from qa.embed import load_embedder

    onnx = load_embedder(encoder="onnx")
    doc = read_corpus(CORPUS)[0]
    texts = [doc.text[u.start:u.end] for u in units(doc)][:40] + ["FLT3-ITD AML: what to add to 7+3?"]
    cos = np.sum(onnx.embed(texts) * torch_embedder.embed(texts), axis=1)
    assert cos.min() >= 0.98, cos.min()
    # one model (an index built by either answers questions from either), but never each other's vectors
    assert onnx.dim == torch_embedder.dim and onnx.name == torch_embedder.name
    assert onnx.vector_id != torch_embedder.vector_id and onnx.vector_id.endswith("|onnx|int8")


def test_the_export_cache_key_covers_every_byte_of_the_weights(tmp_path):
    """Two checkpoints that share their first MiB (a fine-tune of the same base) get two exports."""
    from qa.embed.model import weights_hash

    a, b = tmp_path / "a", tmp_path / "b"
    for d, last in ((a, b"\x00"), (b, b"\x01")):
        d.mkdir()
        (d / "model.safetensors").write_bytes(b"\x07" * (3 << 20) + last)
    assert weights_hash(a) != weights_hash(b)


@pytest.mark.slow
def test_a_failed_export_is_one_clear_error_and_leaves_no_file(tmp_path):
    """The export runs in a child process; its failure comes back as one EmbedderError."""
    pytest.importorskip("onnxruntime")
    from qa.embed.base import EmbedderError
    from qa.embed.onnx import export_int8

    target = tmp_path / "onnx" / "model-int8.onnx"
    with pytest.raises(EmbedderError, match="building the int8 ONNX encoder failed: .*QA_ENCODER=torch"):
        export_int8(str(tmp_path / "no-such-model"), target)
    assert not target.exists()
