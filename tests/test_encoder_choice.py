"""Which encoder answers questions and which builds indexes (issue 15: portable defaults), with the
real model: the choice is the machine's, the index keeps what built it, and an index built by one
encoder answers questions encoded by the other."""

from __future__ import annotations

import numpy as np
import pytest

from qa.embed import encoder_for, load_embedder
from qa.embed.choice import choose
from qa.query.engine import Engine


@pytest.mark.parametrize("flags,index", [({"avx2", "amx_bf16"}, "torch"), ({"avx2", "avx512_bf16"}, "torch"),
                                         ({"avx2"}, "onnx"), (set(), "onnx")])
def test_the_probe_picks_bf16_torch_only_where_the_cpu_multiplies_bf16(flags, index):
    assert choose("index", "auto", flags=flags, onnx_installed=True) == index
    assert choose("question", "auto", flags=flags, onnx_installed=True) == "onnx"
    assert choose("index", "auto", flags=flags, onnx_installed=False) == "torch"
    assert choose("index", "onnx", flags=flags, onnx_installed=True) == "onnx"  # a setting is obeyed


def test_an_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown encoder role"):
        choose("rerank", "auto")


@pytest.mark.slow
def test_an_index_answers_with_the_question_encoder_of_this_machine(bundled_index, monkeypatch):
    monkeypatch.delenv("QA_QUESTION_ENCODER", raising=False)
    e = Engine.load(bundled_index)
    assert e.embedder.encoder == encoder_for("question")
    assert e.data.manifest["encoder"] == encoder_for("index")  # built by conftest with the index default
    a = e.ask("FLT3-ITD AML starting 7+3: what do I add, and on which days?")
    assert not a.abstained and "midostaurin" in a.citations[0].text


@pytest.mark.slow
def test_onnx_questions_in_a_batch_equal_questions_asked_alone():
    onnx = load_embedder(encoder="onnx", role="question")
    qs = ["midostaurin days?", "What is the intrathecal methotrexate dose for a toddler with ALL?", "ATRA"]
    alone = np.stack([onnx.embed_query(q) for q in qs])
    assert np.allclose(onnx.embed_queries(qs), alone, atol=1e-6)  # eval scores what qa ask would see
    torch_vecs = load_embedder(encoder="torch").embed_queries(qs)
    assert (alone * torch_vecs).sum(1).min() > 0.98  # either searches an index built by the other
