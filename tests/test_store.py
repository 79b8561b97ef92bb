"""The on-disk index: checksums, versions, model mismatch, reuse, atomic swap, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from qa.index.build import build_index
from qa.ingest.corpus import CorpusError
from qa.query.engine import Engine
from qa.index.store import MANIFEST, IndexCorrupt, IndexError_, load_index
from conftest import FakeEmbedder


@pytest.fixture
def built(tmp_path, corpus_copy, fake_embedder):
    out = tmp_path / "index" / "default"
    stats = build_index(corpus_copy, out, fake_embedder)
    return out, stats


def test_build_and_load(built):
    out, stats = built
    data = load_index(out)
    assert data.index_id == stats.index_id and len(data.chunks) == stats.chunks
    for i in range(len(data.sentences)):
        sent = data.sentences[i]
        assert data.chunks[sent.chunk].start <= sent.start and sent.end <= data.chunks[sent.chunk].end
    for c in data.chunks:
        assert data.docs[c.doc].text[c.start:c.end] == data.chunk_text(c)


def test_every_file_is_checksummed_and_corruption_is_named(built):
    out, _ = built
    manifest = json.loads((out / MANIFEST).read_text())
    for name in manifest["files"]:
        path = out / name
        original = path.read_bytes()
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        path.write_bytes(bytes(flipped))
        with pytest.raises(IndexCorrupt, match=f"index corrupt: {re.escape(name)}"):
            load_index(out)
        path.write_bytes(original[: len(original) // 2])
        with pytest.raises(IndexCorrupt, match=f"index corrupt: {re.escape(name)}"):
            load_index(out)
        path.write_bytes(original)
    load_index(out)


def test_unknown_version_and_other_model_are_refused(built):
    out, _ = built
    with pytest.raises(IndexError_, match="built with model 'fake-hash-64'.*qa index"):
        load_index(out, expect_model="all-MiniLM-L6-v2")
    with pytest.raises(IndexError_, match="dimension"):
        load_index(out, expect_dim=384)
    m = json.loads((out / MANIFEST).read_text())
    m["format_version"] = 99
    (out / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(IndexError_, match="version 99.*qa index"):
        load_index(out)


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexError_, match="qa index"):
        load_index(tmp_path / "none")


def test_rebuild_reuses_vectors_and_reembeds_only_the_changed_document(built, corpus_copy, fake_embedder):
    out, first = built
    again = build_index(corpus_copy, out, fake_embedder)
    assert again.embedded == 0 and again.reused == first.embedded + first.copies
    assert again.index_id == first.index_id  # deterministic: same corpus, same index
    def chunk_ids(doc_id: str) -> list[str]:
        data = load_index(out)
        return [c.chunk_id for c in data.chunks if data.docs[c.doc].doc_id == doc_id]

    untouched_before, changed_before = chunk_ids("aleukemic-leukemia-treatment"), chunk_ids("infantile-all")
    doc = corpus_copy / "infantile-all.md"
    doc.write_text(doc.read_text().replace("Infantile ALL is rare,", "Infantile ALL is very rare,"))
    third = build_index(corpus_copy, out, fake_embedder)
    assert 0 < third.embedded < 10 and third.index_id != first.index_id
    assert untouched_before and chunk_ids("aleukemic-leukemia-treatment") == untouched_before  # kept its ids
    assert chunk_ids("infantile-all") != changed_before  # the edited chunk got a new id (ids hash the text)
    assert third.chunks == first.chunks


def test_two_builds_are_identical(tmp_path, corpus_copy, fake_embedder):
    a, b = tmp_path / "a", tmp_path / "b"
    build_index(corpus_copy, a, fake_embedder, reuse=False)
    build_index(corpus_copy, b, fake_embedder, reuse=False)
    assert (a / MANIFEST).read_text() == (b / MANIFEST).read_text()
    da, db = load_index(a), load_index(b)
    assert [c.chunk_id for c in da.chunks] == [c.chunk_id for c in db.chunks]
    np.testing.assert_allclose(da.sentence_vectors, db.sentence_vectors, atol=1e-6)


def test_failed_build_leaves_previous_index(built, tmp_path, fake_embedder, monkeypatch):
    out, stats = built

    class Boom(FakeEmbedder):
        def embed_batch(self, texts):
            raise OSError(28, "No space left on device")

    bad = tmp_path / "corpus2"
    bad.mkdir()
    (bad / "x.md").write_text("A brand new sentence that needs embedding.")
    with pytest.raises(OSError):
        build_index(bad, out, Boom())
    assert load_index(out).index_id == stats.index_id
    assert not [p for p in out.parent.iterdir() if "build-" in p.name]  # no half-built leftovers


def test_corpus_without_sentences_is_refused(tmp_path, fake_embedder):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "h.md").write_text("# Only a heading\n")
    with pytest.raises(CorpusError, match="nothing to index"):
        build_index(tmp_path / "c", tmp_path / "out", fake_embedder)


def test_engine_refuses_index_of_another_model(built, fake_embedder):
    out, _ = built

    class Other(FakeEmbedder):
        name = "other-model"

    with pytest.raises(IndexError_, match="other-model"):
        Engine.load(out, Other())


def test_no_pickle_in_the_package():
    root = Path(__file__).resolve().parent.parent / "qa"
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|joblib|dill)\b", text, re.M), path
        assert "allow_pickle=True" not in text, path


_BUILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from conftest import FakeEmbedder
from qa.index.build import build_index
print(build_index(Path(sys.argv[1]), Path(sys.argv[2]), FakeEmbedder(), reuse=False).index_id)
"""


def test_builds_in_two_processes_are_byte_identical(tmp_path, corpus_copy):
    """String hashing differs per process (PYTHONHASHSEED): nothing written may depend on it."""
    import os
    import subprocess
    import sys

    ids, outs = [], []
    for seed in ("1", "2"):
        out = tmp_path / f"idx{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-c", _BUILD, str(corpus_copy), str(out), str(Path(__file__).parent)],
                           env=env, capture_output=True, text=True, check=True)
        ids.append(r.stdout.strip().splitlines()[-1])
        outs.append(out.resolve())
    assert ids[0] == ids[1]
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    for f in files:
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f


def test_vectors_of_another_encoder_or_precision_are_never_reused(tmp_path, corpus_copy, fake_embedder):
    """An int8 ONNX rebuild over a torch-built index re-embeds everything, and says so in the manifest."""

    class Int8(FakeEmbedder):
        encoder, precision = "onnx", "int8"

    out = tmp_path / "idx"
    first = build_index(corpus_copy, out, fake_embedder)
    again = build_index(corpus_copy, out, Int8())
    assert first.embedded > 0 and again.reused == 0 and again.embedded == first.embedded
    m = load_index(out).manifest
    assert m["vector_id"] == "fake-hash-64|onnx|int8" and m["encoder"] == "onnx" and m["embed_precision"] == "int8"
    assert build_index(corpus_copy, out, Int8()).reused == first.embedded + first.copies  # same encoder: all reused


def test_the_eval_cache_keys_on_the_encoder_too(tmp_path):
    from qa.eval.cache import index_key

    torch_key = index_key("sha", FakeEmbedder().vector_id)

    class Int8(FakeEmbedder):
        encoder, precision = "onnx", "int8"

    assert index_key("sha", Int8().vector_id) != torch_key
