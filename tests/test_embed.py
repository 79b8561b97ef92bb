"""The embedders: base-class batching and normalisation, and the real model's traced question path."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FakeEmbedder


def test_embed_keeps_order_and_normalises():
    texts = ["a b c", "zeta", "a b c d e f g", ""]
    e = FakeEmbedder()
    e.batch_size = 2  # several batches, sorted by length inside
    out = e.embed(texts)
    assert out.shape == (4, e.dim)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    for i, t in enumerate(texts):
        one = e.embed_batch([t])[0]
        np.testing.assert_allclose(out[i], one / np.linalg.norm(one), rtol=1e-5)


@pytest.mark.slow
def test_traced_question_path_gives_the_eager_vectors(torch_embedder):
    from qa.embed.torch import SentenceTransformerEmbedder

    assert torch_embedder._traced is not None, "the TorchScript question path fell back to eager"
    eager = SentenceTransformerEmbedder(trace=False)
    questions = ["dose?", "FLT3-ITD AML starting 7+3: what do I add, and on which days?",
                 "is ATRA given before the PML-RARA result in suspected APL " * 30]  # > 256 word pieces
    for q in questions:
        a, b = torch_embedder.embed_query(q), eager.embed_query(q)
        assert abs(np.linalg.norm(a) - 1) < 1e-5
        assert float(a @ b) > 0.9999, q
    # and the batch (indexing) path agrees with the question path
    batch = torch_embedder.embed(questions)
    assert all(float(batch[i] @ torch_embedder.embed_query(q)) > 0.9999 for i, q in enumerate(questions))


@pytest.mark.slow
def test_bf16_indexing_batches_stay_within_cosine_of_fp32(real_embedder, monkeypatch):
    """On CPUs with bf16 hardware, indexing batches run in bf16; their vectors must match fp32's."""
    from qa.embed import encoder_for
    from qa.embed.choice import bf16_hardware
    from qa.embed.torch import SentenceTransformerEmbedder

    texts = ["Give ATRA at once in suspected APL.", "Midostaurin 50 mg twice daily on days 8-21.",
             "Infant ALL with KMT2A rearrangement has a poor prognosis. " * 12]
    fp32 = SentenceTransformerEmbedder(trace=False, bf16=False)
    assert fp32.precision == "fp32"
    forced = SentenceTransformerEmbedder(trace=False, bf16=True)  # runs in software where no hardware has it
    assert forced.bf16 and forced.precision == "bf16", "the bf16 probe refused bf16"
    a, b = fp32.embed(texts), forced.embed(texts)
    assert not np.array_equal(a, b)  # it did run in bf16
    assert float((a * b).sum(1).min()) > 0.999
    # the default (QA_BF16 unset) runs bf16 exactly where the CPU multiplies it in hardware
    monkeypatch.delenv("QA_BF16", raising=False)
    assert SentenceTransformerEmbedder(trace=False).precision == ("bf16" if bf16_hardware() else "fp32")
    # and the index fixtures embed with the encoder qa chooses here (int8 ONNX on a CPU without bf16)
    assert real_embedder.encoder == encoder_for("index")
