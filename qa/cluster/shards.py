"""A sharded index's shards as Ray actors: one actor per shard, each loading its index once.

`qa.query.sharded.ShardedSearch` calls a pool's ``call`` (every shard) and ``call_one`` (one shard);
this pool runs them on actors spread over the cluster's nodes, so a shard's memory is on its node,
not the coordinator's. Each shard folder must be readable where its actor runs (shared storage, or
the same machine). An actor that dies is restarted by Ray and its call retried (``max_restarts``,
``max_task_retries``); a shard that still does not answer within ``timeout_s`` fails the question
with a message that names it, rather than returning the other shards' hits as if they were all.
"""

from __future__ import annotations

from qa.cluster.embed import connect
from qa.index.shards import ShardSet
from qa.query.retrieve import RetrievalError


class RayPool:
    def __init__(self, shards: ShardSet, address: str, retries: int = 3, timeout_s: float = 30.0):
        import ray

        from qa.query.sharded import Shard

        connect(address)
        self._ray, self.timeout_s = ray, timeout_s
        actor = ray.remote(Shard).options(num_cpus=0, max_restarts=retries, max_task_retries=retries,
                                          scheduling_strategy="SPREAD")
        self.actors = [actor.remote(str(shards.path(m)), m.doc_rows) for m in shards.members]

    def _get(self, refs: list, names: list[int]):
        try:
            return self._ray.get(refs, timeout=self.timeout_s)
        except self._ray.exceptions.GetTimeoutError:
            raise RetrievalError(f"shard(s) {names} did not answer within {self.timeout_s:.0f} s") from None
        except self._ray.exceptions.RayError as e:
            raise RetrievalError(f"a shard failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None

    def call(self, method: str, *args) -> list:
        refs = [getattr(a, method).remote(*args) for a in self.actors]
        return self._get(refs, list(range(len(self.actors))))

    def call_one(self, shard: int, method: str, *args):
        return self._get([getattr(self.actors[shard], method).remote(*args)], [shard])[0]

    def close(self) -> None:
        for a in self.actors:
            self._ray.kill(a)
