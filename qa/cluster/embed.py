"""Embedding a build on a Ray cluster: the same batches as on one machine, run by Ray actors.

`build_index` is unchanged: it hands a `RayEmbedder` the texts to embed, exactly as it hands a local
embedder, and writes the same index (manifest, checksums, atomic swap, reuse of unchanged vectors
by content key). Only `embed` differs: the driver cuts the texts into the batches a local build
would (sorted by length, `batch_size` each), Ray Data sends each batch to an actor of a pool
(`map_batches` over actors: one model load per actor, not per batch), and the rows come back in
order. One batch per call because an encoder's output depends, in its last bits, on which texts
share a padded batch: the same batches make the same vectors as a local build on the same kind of
machine (tests/test_cluster.py checks 1e-5).

Every actor runs the driver's encoder and precision (`QA_ENCODER`, `QA_BF16` in its environment),
and says so if it cannot (a worker without bf16 hardware makes other vectors than the driver, whose
vector id names bf16: mixing them would break content-key reuse). Ray Data restarts an actor
that dies and retries its task (its defaults for actor pools: ``max_restarts`` and
``max_task_retries`` unbounded; an actor whose constructor fails is a user error and is not
restarted, so a worker that cannot load the model fails the build); a build that fails raises,
and the previous index is untouched, since `build_index` writes nothing before every vector exists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qa.embed import Embedder, EmbedderError
from qa.embed.base import normalise

INSTALL = "pip install -e '.[cluster]'"


def connect(address: str) -> None:
    """Join the cluster at ``address``: ``local`` starts one on this machine (in this process),
    ``auto`` finds the one `ray start` runs here, anything else is a ``host:port``."""
    try:
        import ray
    except ImportError:
        raise EmbedderError(f"--ray needs Ray, an optional extra: {INSTALL}") from None
    if ray.is_initialized():
        return
    try:
        if address == "local":  # loopback only: nothing of the build listens beyond this machine
            ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:
            _reachable(address)
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise EmbedderError(f"could not join the Ray cluster at {address!r}: {e}; start one with "
                            "`ray start --head` or use --ray local") from None


def _reachable(address: str, timeout_s: float = 3.0) -> None:
    """A HOST:PORT that does not answer fails in seconds (ray.init would retry it for minutes)."""
    import socket

    host, sep, port = address.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return  # "auto" and ray:// addresses: Ray finds and reports them itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise EmbedderError(f"no Ray cluster answers at {address} ({e.strerror or e}); start one with "
                            "`ray start --head --port PORT` or use --ray local") from None


class _EmbedActor:
    """One model load per actor; each call embeds whole batches, as the driver cut them."""

    def __init__(self, model: str, encoder: str, vector_id: str):
        from qa.embed import load_embedder

        self.embedder = load_embedder(model, encoder, role="index")
        if self.embedder.vector_id != vector_id:
            raise EmbedderError(f"a Ray worker would embed as {self.embedder.vector_id}, the build as {vector_id}: "
                                "give the workers the driver's kind of CPU, or set QA_ENCODER=onnx on both")

    def __call__(self, batch: dict) -> dict:
        vecs = [self.embedder.embed_batch(list(texts)) for texts in batch["texts"]]
        return {"b": batch["b"], "vec": np.stack(vecs)}  # batch_size=1: one batch of the driver a call


class RayEmbedder(Embedder):
    """``local``'s model, encoder and precision, embedded by ``workers`` Ray actors (default: one
    per CPU of the cluster). ``embed_batch`` (one question, a probe) runs locally."""

    def __init__(self, local: Embedder, workers: int | None = None):
        if workers is not None and workers < 1:
            raise ValueError("workers must be >= 1")
        self.local, self.workers = local, workers
        self.name, self.dim, self.batch_size = local.name, local.dim, local.batch_size
        self.encoder, self.precision = local.encoder, local.precision

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.local.embed_batch(texts)

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
              batch_fn: Callable[[Sequence[str]], np.ndarray] | None = None) -> np.ndarray:
        if batch_fn is not None or len(texts) <= self.batch_size:
            return super().embed(texts, progress, batch_fn)  # one batch: not worth a round trip
        import ray
        import ray.data

        batches = self.batches(texts)  # exactly the batches a local build embeds
        workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        env = {"QA_ENCODER": self.encoder, "QA_BF16": "1" if self.precision == "bf16" else "0",
               "OMP_NUM_THREADS": "1"}  # one CPU an actor: torch must not spread over the others'
        ds = ray.data.from_items([{"b": k, "texts": [texts[r] for r in rows]} for k, rows in enumerate(batches)],
                                 override_num_blocks=len(batches))
        done = ds.map_batches(
            _EmbedActor, fn_constructor_kwargs={"model": self.local.name, "encoder": self.encoder,
                                                "vector_id": self.vector_id},
            batch_size=1, concurrency=min(workers, len(batches)), num_cpus=1,
            runtime_env={"env_vars": env})
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row in done.iter_rows():
            rows = batches[int(row["b"])]
            out[rows] = np.asarray(row["vec"], dtype=np.float32).reshape(len(rows), self.dim)
            if progress:
                progress(len(rows))
        return normalise(out)
