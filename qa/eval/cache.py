"""Suite indexes, cached under ``eval/cache/`` by corpus hash, model and index settings.

The key is a hash of the corpus file's sha256, the embedder's vector id (model, encoder and
precision: `QA_ENCODER=onnx qa eval` never reuses a torch-built cache), the chunking and BM25
parameters and the index format version, so a second run on the same suite reuses the index,
and any change to what the index would hold builds a fresh one next to it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from qa.index.bm25 import BM25Params
from qa.ingest.chunk import ChunkParams
from qa.index.store import FORMAT_VERSION, IndexError_, read_manifest, sha256_file

ROOT = Path(__file__).resolve().parent.parent.parent
CACHE = ROOT / "eval" / "cache"


def index_key(corpus_sha: str, model: str, chunk_params: ChunkParams = ChunkParams(),
              bm25_params: BM25Params = BM25Params(), docs_note: str = "", sentence_vectors: bool = True) -> str:
    spec = {"corpus": corpus_sha, "model": model, "chunking": asdict(chunk_params), "bm25": asdict(bm25_params),
            "format": FORMAT_VERSION, "docs": docs_note}
    if not sentence_vectors:
        spec["sentence_vectors"] = False  # a retrieval-only index is another index
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def cached_index(corpus: Path, embedder, *, name: str = "suite", cache_dir: Path | None = None,
                 chunk_params: ChunkParams = ChunkParams(), bm25_params: BM25Params = BM25Params(),
                 docs=None, docs_note: str = "", progress: Callable[[str, int, int], None] | None = None,
                 corpus_sha: str | None = None, sentence_vectors: bool = True) -> tuple[Path, bool]:
    """The index folder for ``corpus`` (built now if not cached) and whether it was reused.

    ``docs`` (with a ``docs_note`` naming how they were derived, e.g. a --limit) replaces reading
    the corpus file, for suites whose corpus is not a BEIR file or is cut down.
    """
    from qa.index.build import build_index

    corpus_sha = corpus_sha or sha256_file(Path(corpus))
    key = index_key(corpus_sha, embedder.vector_id, chunk_params, bm25_params, docs_note, sentence_vectors)
    out = Path(cache_dir or CACHE) / f"{name}-{key}"
    try:
        m = read_manifest(out)
        if m.get("vector_id") == embedder.vector_id:
            return out, True
    except IndexError_:
        pass
    build_index(Path(corpus), out, embedder, chunk_params, bm25_params, progress=progress, docs=docs,
                sentence_vectors=sentence_vectors)
    return out, False
