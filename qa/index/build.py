"""Building an index: read, chunk, embed (reusing stored vectors), BM25, FAISS, write.

Re-indexing reuses every vector whose embedded text is unchanged (keyed by a hash of model name
and text), so an unchanged corpus re-indexes in seconds and a changed document is re-embedded
alone.
"""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from qa.index.bm25 import BM25Index, BM25Params, CorpusStats, tokenize
from qa.ingest.chunk import ChunkParams, chunk
from qa.ingest.corpus import CALIBRATION_FILE, CorpusError, Notice, Skipped, read_corpus
from qa.embed import Embedder
from qa.index.store import IndexData, IndexError_, load_index, write_index
from qa.types import SECTION_SEP, Chunk, Document, SentenceTable, section_label
from qa.index.vectors import VectorIndex
from qa.index.vocabulary import Vocabulary
from qa.ingest.references import References

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildStats:
    index_id: str = ""
    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    embedded: int = 0  # distinct texts the model embedded
    reused: int = 0  # vectors taken from the previous index
    copies: int = 0  # texts repeated within the corpus, given their first copy's vector
    skipped: list[Skipped] = field(default_factory=list)
    calibration: str = ""  # what the corpus's own calibration was fitted on, when it carries one
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def chunk_embed_text(doc: Document, c: Chunk, text: str) -> str:
    """What the embedder and BM25 see for a chunk: title and heading path, then the text."""
    head = SECTION_SEP.join(p for p in (doc.title, section_label(doc.title, c.section)) if p)
    return f"{head}\n{text}" if head else text


def _key(model: str, text: str) -> bytes:
    return hashlib.sha256(f"{model}\x00{text}".encode()).digest()[:16]


def _key_array(keys: list[bytes]) -> np.ndarray:
    # uint8 rows, not numpy "S16": S-strings drop trailing NUL bytes, which corrupts some digests
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("qa", "sentence-transformers", "torch", "faiss-cpu", "bm25s", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def sentence_contexts(doc: Document, units) -> list[str]:
    """What the embedder sees for each answer unit: the unit, after the words that frame it.

    A list item is read after its lead-in ("Risk groups are based on: | age"), so a bare item still
    matches a question about what it lists. Only the embedding gets this context; citations quote
    the unit alone. (Prefixing every sentence with its heading path was tried: it lowered the
    cosine of good answers by ~0.15 and made the flagship FLT3 question abstain.)
    """
    out, lead = [], ""
    for u in units:
        text = doc.text[u.start:u.end]
        if u.kind == "item":
            out.append(f"{lead} {text}" if lead else text)
        else:
            out.append(text)
            lead = text if text.endswith(":") else ""
    return out


def _split(docs: list[Document], params: ChunkParams):
    chunks: list[Chunk] = []
    sent_rows: list[tuple[int, int, int, int]] = []
    contexts: list[str] = []
    for d_row, doc in enumerate(docs):
        units, raws = chunk(doc, params)
        base_sent = len(sent_rows)
        first_chunk = {}
        for rc in raws:
            c_row = len(chunks)
            for u in range(rc.unit_lo, rc.unit_hi):
                first_chunk.setdefault(u, c_row)
            chunks.append(Chunk(rc.chunk_id, d_row, rc.start, rc.end, rc.section, rc.page,
                                base_sent + rc.unit_lo, base_sent + rc.unit_hi))
        for u_i, u in enumerate(units):
            sent_rows.append((d_row, u.start, u.end, first_chunk[u_i]))
        contexts.extend(sentence_contexts(doc, units))
    sentences = SentenceTable.from_rows(sent_rows)
    return chunks, sentences, contexts


def corpus_stats(docs: list[Document], chunk_params: ChunkParams = ChunkParams()) -> CorpusStats:
    """BM25's corpus statistics of ``docs``, chunked and tokenized as `build_index` does."""
    chunks, _, _ = _split(docs, chunk_params)
    return CorpusStats.of([tokenize(chunk_embed_text(docs[c.doc], c, docs[c.doc].text[c.start:c.end])) for c in chunks])


class _Reuse:
    """Vectors of a previous index, by content key."""

    def __init__(self, previous: IndexData | None, vector_id: str):
        self.table: dict[bytes, np.ndarray] = {}
        if previous is None or previous.manifest.get("vector_id") != vector_id:
            return  # keys hash the vector id too: this only skips reading vectors that cannot match
        chunk_vecs = previous.vectors.reconstruct_all()
        for keys, vecs in ((previous.chunk_keys, chunk_vecs), (previous.sentence_keys, previous.sentence_vectors)):
            for k, v in zip(keys, vecs):
                self.table[k.tobytes()] = v

    def vectors(self, embedder: Embedder, texts: list[str], keys: list[bytes], tick) -> tuple[np.ndarray, int, int]:
        """(vectors, texts embedded, copies): each distinct text missing from the table is embedded once."""
        out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        todo: dict[bytes, list[int]] = {}
        for i, k in enumerate(keys):
            v = self.table.get(k)
            if v is not None and len(v) == embedder.dim:
                out[i] = v
            else:
                todo.setdefault(k, []).append(i)
        tick(len(texts) - sum(map(len, todo.values())))
        if todo:
            groups = list(todo.values())
            vecs = embedder.embed([texts[g[0]] for g in groups], progress=tick)
            for g, v in zip(groups, vecs):
                out[g] = v
            tick(sum(map(len, groups)) - len(groups))  # the copies, once their original is done
        return out, len(todo), sum(map(len, todo.values())) - len(todo)


def _previous(out: Path) -> IndexData | None:
    try:
        return load_index(out)
    except IndexError_:
        return None  # nothing to reuse: a missing, old or corrupt index is simply rebuilt


def _manifest(embedder: Embedder, chunk_params: ChunkParams, bm25_params: BM25Params, vectors: VectorIndex,
              sentence_vectors: bool, data: IndexData, bm25_stats: CorpusStats | None = None) -> dict:
    extra = {}
    if bm25_stats is not None:  # this index's BM25 scores are those of a larger corpus (one shard of it)
        extra["bm25_corpus"] = {"chunks": bm25_stats.n_docs, "sha256": bm25_stats.sha256()}
    return extra | {
        "model": embedder.name,
        "dim": embedder.dim,
        "embed_precision": embedder.precision,
        "encoder": embedder.encoder,
        "vector_id": embedder.vector_id,  # every vector's key includes it: reused only by the same encoder
        "chunking": asdict(chunk_params),
        "bm25": asdict(bm25_params),
        "vector_index": vectors.kind,
        "vector_storage": vectors.storage,
        "sentence_vectors": sentence_vectors,
        "counts": {"documents": len(data.docs), "chunks": len(data.chunks), "sentences": len(data.sentences)},
        "versions": _versions(),
    }


def corpus_calibration(corpus: Path) -> dict | None:
    """The corpus folder's own calibration (its ``qa-calibration.json``), checked, as a dict for the
    manifest; None when it has none. A bad file fails the build, which names it."""
    from qa.query.calibration import load_calibration

    path = corpus / CALIBRATION_FILE
    if not corpus.is_dir() or not path.is_file():
        return None
    try:
        return asdict(load_calibration(path))
    except ValueError as e:
        raise CorpusError(f"{e}; fix or remove it (it is the corpus's own abstention calibration)") from None


def build_index(corpus: Path, out: Path, embedder: Embedder, chunk_params: ChunkParams = ChunkParams(),
                bm25_params: BM25Params = BM25Params(), progress: Progress | None = None,
                on_skip: Callable[[Skipped], None] | None = None, on_notice: Callable[[Notice], None] | None = None,
                reuse: bool = True, docs: list[Document] | None = None, sentence_vectors: bool = True,
                bm25_stats: CorpusStats | None = None, reuse_from: Path | None = None) -> BuildStats:
    """Build the index of ``corpus`` (or of ``docs``) at ``out``.

    ``bm25_stats``: score BM25 with these corpus statistics instead of the texts' own (a shard of a
    sharded index, `qa.index.shards`). ``reuse_from``: the index whose vectors to reuse, when it is
    not the one at ``out``.

    ``sentence_vectors=False`` builds a retrieval-only index: chunks, BM25 and FAISS, but no vector
    per sentence, which is half or more of the embedding work. `qa eval` builds one for suites that
    judge documents only (SciFact); answers from it are scored without the cosine term, as in bm25
    mode.
    """
    stats, t = BuildStats(), time.perf_counter()
    tick = progress or (lambda stage, done, total: None)

    def lap(stage: str):
        nonlocal t
        now = time.perf_counter()
        stats.seconds[stage] = stats.seconds.get(stage, 0.0) + now - t
        t = now

    def skipped(s: Skipped):
        stats.skipped.append(s)
        if on_skip:
            on_skip(s)

    docs_given = docs
    docs = docs if docs is not None else read_corpus(Path(corpus), on_skip=skipped, on_notice=on_notice)
    lap("read")
    chunks, sentences, sent_texts = _split(docs, chunk_params)
    if not chunks:
        raise CorpusError(f"nothing to index in {corpus}: the documents hold no sentences")
    lap("chunk")
    chunk_texts = [chunk_embed_text(docs[c.doc], c, docs[c.doc].text[c.start:c.end]) for c in chunks]
    chunk_keys = [_key(embedder.vector_id, x) for x in chunk_texts]
    sent_keys = [_key(embedder.vector_id, x) for x in sent_texts]
    lap("split")

    previous = _previous(Path(reuse_from or out)) if reuse else None
    reuse_table = _Reuse(previous, embedder.vector_id)
    del previous
    if not sentence_vectors:
        sent_texts = []
    total, done = len(chunk_texts) + len(sent_texts), 0

    def embed_tick(n: int):
        nonlocal done
        done += n
        tick("embed", done, total)

    chunk_vecs, n1, c1 = reuse_table.vectors(embedder, chunk_texts, chunk_keys, embed_tick)
    sent_vecs, n2, c2 = reuse_table.vectors(embedder, sent_texts, sent_keys[:len(sent_texts)], embed_tick)
    del reuse_table
    stats.embedded, stats.copies = n1 + n2, c1 + c2
    stats.reused = total - stats.embedded - stats.copies
    lap("embed")

    bm25 = BM25Index.build([tokenize(x) for x in chunk_texts], bm25_params, stats=bm25_stats)
    lap("bm25")
    vectors = VectorIndex.build(chunk_vecs)
    lap("faiss")

    data = IndexData(docs, chunks, sentences, sent_vecs, _key_array(sent_keys), _key_array(chunk_keys),
                     vectors, bm25, vocabulary=Vocabulary.build(docs),
                     references=References.build(docs))
    manifest = _manifest(embedder, chunk_params, bm25_params, vectors, sentence_vectors, data, bm25_stats)
    calibration = corpus_calibration(Path(corpus)) if docs_given is None else None
    if calibration is not None:
        manifest["calibration"] = calibration
        stats.calibration = calibration["fitted_on"] or CALIBRATION_FILE
    stats.index_id = write_index(Path(out), data, manifest)
    lap("write")
    stats.documents, stats.chunks, stats.sentences = len(docs), len(chunks), len(sentences)
    return stats
