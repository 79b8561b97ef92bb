"""Indexing on a Ray cluster (issue 13 part 1): a real local cluster of two nodes (one CPU each,
started and stopped here), the real model in Ray actors, the same index as a local build, and a
worker killed mid-build that Ray retries."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, pids_running, split_bundled_corpus

ray = pytest.importorskip("ray", reason="Ray is the cluster extra: pip install -e '.[cluster]'")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    yield c
    ray.shutdown()
    c.shutdown()


def _same_index(a_dir: Path, b_dir: Path) -> None:
    from qa.index.store import load_index

    a, b = load_index(a_dir), load_index(b_dir)
    fixed = lambda m: {k: v for k, v in m.items() if k not in ("index_id", "files", "versions")}  # noqa: E731
    assert fixed(a.manifest) == fixed(b.manifest)
    assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks]
    assert (a.sentences.as_array() == b.sentences.as_array()).all()
    assert np.abs(np.asarray(a.sentence_vectors) - np.asarray(b.sentence_vectors)).max() <= 1e-5
    assert np.abs(a.vectors.reconstruct_all() - b.vectors.reconstruct_all()).max() <= 1e-5


def test_a_ray_build_is_the_local_build(cluster, tmp_path, real_embedder):
    from qa.cluster.embed import RayEmbedder
    from qa.index.build import build_index

    build_index(CORPUS, tmp_path / "local", real_embedder)
    ticks = []
    build_index(CORPUS, tmp_path / "ray", RayEmbedder(real_embedder, workers=2), reuse=False,
                progress=lambda stage, done, total: ticks.append((done, total)))
    _same_index(tmp_path / "local", tmp_path / "ray")
    assert ticks[-1][0] == ticks[-1][1] and len(ticks) > 2  # progress as on one machine, batch by batch


def test_a_worker_killed_mid_build_is_retried_and_the_index_is_right(cluster, tmp_path, real_embedder):
    from qa.cluster.embed import RayEmbedder
    from qa.index.build import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "many.md").write_text("# Doses\n\n" + "\n\n".join(
        f"Drug number {i} is given at {i % 90 + 10} mg on days {i % 7 + 1} to {i % 7 + 8} of cycle {i}." for i in range(900)))
    build_index(corpus, tmp_path / "local", real_embedder)
    killed = []

    def kill_one_when_embedding(stage, done, total):
        if stage == "embed" and done and not killed and (pids := pids_running(b"_EmbedActor")):
            os.kill(pids[0], signal.SIGKILL)  # one Ray worker process, mid-build
            killed.append(pids[0])

    build_index(corpus, tmp_path / "ray", RayEmbedder(real_embedder, workers=2), reuse=False,
                progress=kill_one_when_embedding)
    assert killed, "no Ray worker was found to kill"
    _same_index(tmp_path / "local", tmp_path / "ray")


def test_without_ray_the_option_says_what_to_install(monkeypatch):
    from qa.cluster.embed import connect
    from qa.embed import EmbedderError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(EmbedderError, match=r"pip install -e '\.\[cluster\]'"):
        connect("local")


def test_a_cluster_that_does_not_answer_is_a_clear_error_in_seconds():
    from qa.cluster.embed import _reachable
    from qa.embed import EmbedderError

    with pytest.raises(EmbedderError, match="no Ray cluster answers at 127.0.0.1:1"):
        _reachable("127.0.0.1:1")


def test_shards_on_ray_actors_search_as_in_one_process(cluster, tmp_path, real_embedder):
    """One Ray actor a shard (qa.cluster.shards.RayPool) gives what threads in this process give."""
    from qa.cluster.shards import RayPool
    from qa.index.shards import build_sharded, open_shards
    from qa.query.sharded import LocalPool, ShardedSearch

    build_sharded(split_bundled_corpus(tmp_path / "corpus"), tmp_path / "idx", real_embedder, 2)
    shards = open_shards(tmp_path / "idx")
    local = ShardedSearch(LocalPool([(str(shards.path(m)), m.doc_rows) for m in shards.members]), real_embedder)
    pool = RayPool(shards, "auto")  # the cluster this module's driver has joined
    try:
        remote = ShardedSearch(pool, real_embedder)
        for q in ("FLT3-ITD AML: what do I add to 7+3?", "infant ALL with KMT2A rearrangement", "marrow on day 14"):
            assert remote.search(q, top_k=10).passages == local.search(q, top_k=10).passages
    finally:
        pool.close()
