"""Index durability: builds killed at random moments, and write faults, never lose the old index.

The full counts (20 kills) run with QA_KILL_ROUNDS=20; CI runs fewer to stay quick.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.index.build import build_index
from qa.index.store import load_index
from conftest import ROOT, FakeEmbedder

BUILD = """
import sys, time
sys.path.insert(0, "tests")
from conftest import FakeEmbedder
from qa.index.build import build_index

class Slow(FakeEmbedder):  # a build of ~1.5-2.5 s with start-up, so kills land before, during and after the swap
    def embed_batch(self, texts):
        time.sleep(0.004)
        return super().embed_batch(texts)

build_index(sys.argv[1], sys.argv[2], Slow(), reuse=False)
"""


def _big_corpus(folder: Path, n_docs: int, tag: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_docs):
        body = " ".join(f"Document {i} {tag} sentence {j} about dosing and remission." for j in range(200))
        (folder / f"d{i}.md").write_text(f"# Doc {i}\n\n{body}\n")
    return folder


def test_sigkill_during_build_leaves_old_or_new_index(tmp_path):
    rounds = int(os.environ.get("QA_KILL_ROUNDS", "6"))
    out = tmp_path / "index"
    old = build_index(_big_corpus(tmp_path / "old", 3, "old"), out, FakeEmbedder())
    new_corpus = _big_corpus(tmp_path / "new", 40, "new")
    rng = random.Random(7)
    seen, states = set(), []
    for _ in range(rounds):
        build_index(_big_corpus(tmp_path / "old", 3, "old"), out, FakeEmbedder())  # each round starts from old
        p = subprocess.Popen([sys.executable, "-c", BUILD, str(new_corpus), str(out)], cwd=ROOT)
        time.sleep(rng.uniform(0.2, 3.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        data = load_index(out)  # must load: old or new, never half
        seen.add(data.index_id)
        assert data.index_id == old.index_id or len(data.docs) == 40
        states.append("old" if data.index_id == old.index_id else "new")
    assert "old" in states  # some kill landed before the new index was swapped in (else nothing was tested)
    print(f"\n{rounds} builds killed: all loaded afterwards, {states.count('old')} old index, {states.count('new')} new")
    # the next build cleans every leftover
    assert len(load_index(out).docs) == (40 if states[-1] == "new" else 3)  # the last round decides
    assert len(build_index(new_corpus, out, FakeEmbedder()).index_id) == 16 and len(load_index(out).docs) == 40
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".index.")]
    assert len(leftovers) == 1  # only the live target the symlink points at
    assert out.is_symlink() and (out.parent / leftovers[0]).resolve() == out.resolve()


@pytest.mark.parametrize("nth", range(1, 18))
def test_enospc_on_nth_write_keeps_previous_index(tmp_path, corpus_copy, monkeypatch, nth):
    out = tmp_path / "index"
    first = build_index(corpus_copy, out, FakeEmbedder())
    (corpus_copy / "extra.md").write_text("A new document with one new sentence.")
    calls = {"n": 0}
    real_open = os.open

    def failing_open(path, flags, *a, **kw):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and ".index." in str(path):
            calls["n"] += 1
            if calls["n"] == nth:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, flags, *a, **kw)

    import builtins
    real_builtin_open = builtins.open

    def failing_builtin_open(file, mode="r", *a, **kw):
        if any(m in mode for m in "wax+") and ".index." in str(file):
            calls["n"] += 1
            if calls["n"] == nth:
                raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real_builtin_open(file, mode, *a, **kw)

    import io
    import pathlib

    real_path_open = pathlib.Path.open

    def failing_path_open(self, mode="r", *a, **kw):
        if any(m in mode for m in "wax+") and ".index." in str(self):
            calls["n"] += 1
            if calls["n"] == nth:
                raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_path_open(self, mode, *a, **kw)

    monkeypatch.setattr(os, "open", failing_open)
    monkeypatch.setattr(builtins, "open", failing_builtin_open)
    monkeypatch.setattr(io, "open", failing_builtin_open)
    monkeypatch.setattr(pathlib.Path, "open", failing_path_open)
    try:
        build_index(corpus_copy, out, FakeEmbedder())
        failed = False
    except OSError as e:
        failed = True
        assert e.errno == errno.ENOSPC
    monkeypatch.undo()
    data = load_index(out)
    print(f"nth={nth} writes={calls['n']} failed={failed}")
    if failed:
        assert data.index_id == first.index_id
    else:
        assert len(data.docs) == 3  # N beyond the number of writes: the build simply succeeded


def test_a_failing_faiss_write_keeps_previous_index(tmp_path, corpus_copy, monkeypatch):
    """FAISS writes from C (fwrite), past the Python opens the test above faults: fail that write half-way."""
    import faiss

    out = tmp_path / "index"
    first = build_index(corpus_copy, out, FakeEmbedder())
    (corpus_copy / "extra.md").write_text("A new document with one new sentence.")

    def half_written(index, path, *flags):
        Path(path).write_bytes(b"IxFI" + bytes(96))  # a torn file, then the error
        raise RuntimeError(f"Error in faiss::write_index: fwrite failed on {path} (No space left on device)")

    monkeypatch.setattr(faiss, "write_index", half_written)
    with pytest.raises(RuntimeError, match="No space left"):
        build_index(corpus_copy, out, FakeEmbedder())
    monkeypatch.undo()
    data = load_index(out)  # the previous index, whole
    assert data.index_id == first.index_id and "extra" not in {d.doc_id for d in data.docs}
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".index.")]
    assert len(leftovers) == 1, leftovers  # the torn build was removed
