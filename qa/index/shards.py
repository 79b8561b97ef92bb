"""A sharded index: documents hashed to S shards, each an ordinary qa index, and a file saying so.

For corpora beyond one machine's RAM or disk: each shard can be loaded by its own process (a Ray
actor, `qa.cluster.shards`) and searched in parallel; `qa.query.sharded` merges their top lists.

Layout (``out`` is a symlink swapped atomically, as for one index)::

    shards.json     format, the hash rule, the corpus's BM25 statistics' digest, and per shard its
                    folder, index_id and the corpus rows of its documents (for tie-breaking as the
                    unsharded index does)
    shard-0/ ...    ordinary qa indexes (each with its own checksummed manifest)

Two decisions make the sharded answers the unsharded ones:

- a document goes to ``sha256(doc_id) mod S``: stable across processes and machines (Python's own
  ``hash`` of a string is salted per process), and a document's chunks stay together;
- every shard's BM25 is scored with the *whole corpus's* statistics (`CorpusStats`: chunk count,
  average length, document frequencies), not its own, so a shard's scores equal the unsharded
  index's and top lists merge by score. Dense scores are per vector and need nothing shared.

>>> [shard_of(d, 3) for d in ("doc-1", "doc-2", "doc-3")]
[1, 2, 0]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.embed import Embedder
from qa.index.build import BuildStats, build_index, corpus_stats
from qa.index.store import IndexError_, MANIFEST, clean_leftovers, new_build_dir, publish, read_manifest
from qa.ingest.chunk import ChunkParams
from qa.ingest.corpus import CorpusError, read_corpus
from qa.types import Document

SHARDS_FILE = "shards.json"
FORMAT = 1
MAX_SHARDS = 1024


def shard_of(doc_id: str, n_shards: int) -> int:
    """The shard a document belongs to: its id's sha256, mod the shard count."""
    return int.from_bytes(hashlib.sha256(doc_id.encode()).digest()[:8], "big") % n_shards


def is_sharded(folder: Path) -> bool:
    return (Path(folder) / SHARDS_FILE).is_file()


@dataclass(frozen=True)
class Member:
    """One shard: its folder (relative to the sharded index), index_id and its documents' corpus rows."""

    folder: str
    index_id: str
    doc_rows: tuple[int, ...]


@dataclass(frozen=True)
class ShardSet:
    root: Path
    members: tuple[Member, ...]
    bm25_corpus: dict

    def path(self, member: Member) -> Path:
        return self.root / member.folder


def split_docs(docs: list[Document], n_shards: int) -> list[list[int]]:
    """The corpus rows of each shard's documents, in corpus order."""
    parts: list[list[int]] = [[] for _ in range(n_shards)]
    for row, d in enumerate(docs):
        parts[shard_of(d.doc_id, n_shards)].append(row)
    return parts


def build_sharded(corpus: Path, out: Path, embedder: Embedder, n_shards: int,
                  chunk_params: ChunkParams = ChunkParams(), reuse: bool = True,
                  progress: Callable[[str, int, int], None] | None = None, on_skip=None, on_notice=None,
                  reuse_from: Path | None = None) -> list[BuildStats]:
    """Build ``corpus`` as ``n_shards`` shards at ``out``; the previous index at ``out`` (sharded or
    not) keeps serving until the whole set is written. ``reuse_from``: an index (sharded or not)
    whose vectors to reuse by content key, besides the one at ``out``."""
    if not 1 <= n_shards <= MAX_SHARDS:
        raise ValueError(f"--shards must be between 1 and {MAX_SHARDS}")
    out = Path(out)
    skipped = []
    docs = read_corpus(Path(corpus), on_skip=lambda s: (skipped.append(s), on_skip and on_skip(s)),
                       on_notice=on_notice)
    parts = split_docs(docs, n_shards)
    if any(not p for p in parts):
        raise CorpusError(f"{len(docs)} documents leave a shard empty at --shards {n_shards}; use fewer shards")
    stats = None
    for rows in parts:  # counts add: each shard's own, merged (where its documents are, on a cluster)
        part = corpus_stats([docs[r] for r in rows], chunk_params)
        stats = part if stats is None else stats.merge(part)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out)
    tmp = new_build_dir(out)
    results, members = [], []
    try:
        for s, rows in enumerate(parts):
            folder = f"shard-{s}"
            previous = [p for p in (_member_dir(out, folder), _member_dir(reuse_from, folder)) if p]
            res = build_index(corpus, tmp / folder, embedder, chunk_params, reuse=reuse and bool(previous),
                              docs=[docs[r] for r in rows], bm25_stats=stats,
                              reuse_from=previous[0] if previous else None,
                              progress=(lambda stage, done, total, s=s: progress(f"shard {s + 1}/{n_shards} {stage}",
                                                                                done, total)) if progress else None)
            results.append(res)
            members.append({"folder": folder, "index_id": res.index_id, "doc_rows": rows})
        _write_json(tmp / SHARDS_FILE, {
            "format": FORMAT, "shards": n_shards, "hash": "sha256(doc_id) mod shards",
            "bm25_corpus": {"chunks": stats.n_docs, "sha256": stats.sha256()}, "members": members})
        publish(tmp, out, uuid.uuid4().hex[:12])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    clean_leftovers(out)
    results[0].skipped.extend(skipped)
    return results


def summary(results: list[BuildStats]) -> BuildStats:
    """The shards' build figures added up; ``index_id`` is every shard's, joined."""
    out = BuildStats(index_id="+".join(r.index_id for r in results))
    for r in results:
        for name in ("documents", "chunks", "sentences", "embedded", "reused", "copies"):
            setattr(out, name, getattr(out, name) + getattr(r, name))
        out.skipped.extend(r.skipped)
        for stage, sec in r.seconds.items():
            out.seconds[stage] = out.seconds.get(stage, 0.0) + sec
    return out


def _member_dir(index: Path | None, folder: str) -> Path | None:
    """Where a previous index's vectors for shard ``folder`` are: its shard, or the whole index."""
    if index is None or not Path(index).exists():
        return None
    index = Path(index)
    if is_sharded(index):
        return index / folder if (index / folder / MANIFEST).exists() else None
    return index if (index / MANIFEST).exists() else None


def _write_json(path: Path, body: dict) -> None:
    with path.open("w") as f:
        json.dump(body, f, indent=1)
        f.flush()
        os.fsync(f.fileno())


def open_shards(folder: Path) -> ShardSet:
    """Read ``shards.json`` and check every shard's manifest names the index_id it lists."""
    folder = Path(folder)
    try:
        body = json.loads((folder / SHARDS_FILE).read_text())
    except (OSError, ValueError) as e:
        raise IndexError_(f"{folder} is not a readable sharded index ({e}); rebuild it with qa index --shards") from None
    if body.get("format") != FORMAT:
        raise IndexError_(f"{folder}: sharded index format {body.get('format')!r}, this qa reads {FORMAT}; rebuild it")
    members = tuple(Member(m["folder"], m["index_id"], tuple(m["doc_rows"])) for m in body["members"])
    for m in members:
        if os.sep in m.folder or m.folder.startswith("."):
            raise IndexError_(f"{folder}: shard folder {m.folder!r} is outside the index")
        got = read_manifest(folder / m.folder).get("index_id")
        if got != m.index_id:
            raise IndexError_(f"{folder}/{m.folder} holds index {got}, shards.json names {m.index_id}; rebuild it")
    return ShardSet(folder, members, body["bm25_corpus"])
