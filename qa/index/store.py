"""The index on disk: a versioned, checksummed folder, written atomically, with no pickle.

Layout (every file listed with its sha256 in ``manifest.json``, which is written last)::

    manifest.json        format version, index_id, model + dim, parameters, versions, file hashes
    documents.jsonl      one document a line: metadata and the normalised text
    chunks.jsonl         one chunk a line: id, document row, offsets, section, page, sentence range
    sentences.npy        int64 (n, 4): document row, start, end, first chunk (a `SentenceTable`)
    sentence_vectors.npy float32 (n, dim), unit length; (0, dim) in a retrieval-only index
    sentence_keys.npy    uint8 (n, 16): content hash of each sentence's embedded text (vector reuse)
    chunk_keys.npy       uint8 (n, 16): the same for chunks (their vectors live in dense.faiss)
    dense.faiss          FAISS inner-product index over chunk vectors (float16 since 2026-12-03)
    vocabulary.json      the corpus's abbreviations (where each is defined) and word counts
    references.json      each document's own reference list (qa.ingest.references)
    bm25/                the bm25s index (json + npy, saved with allow_pickle=False)

`write_index` builds into a hidden sibling folder, fsyncs every file, writes the manifest last,
then swaps a symlink at the index path with one atomic rename: a reader sees the old index or the
new one, never half of one, and a build killed at any point leaves the old index serving.
`load_index` checks every file's hash before numpy, FAISS or bm25s parse a byte of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.index.bm25 import BM25Index, BM25Params
from qa.types import Chunk, Document, Section, SentenceTable
from qa.index.vectors import VectorIndex
from qa.index.vocabulary import FILE as VOCABULARY_FILE, Vocabulary
from qa.ingest.references import FILE as REFERENCES_FILE, References

FORMAT_VERSION = 4  # 3: list items are embedded after their lead-in sentence; 4: keys include encoder and precision
MANIFEST = "manifest.json"


class IndexError_(Exception):
    """The index cannot be used; the message says what to do."""


class IndexCorrupt(IndexError_):
    pass


@dataclass
class IndexData:
    """Everything an index holds, in memory."""

    docs: list[Document]
    chunks: list[Chunk]
    sentences: SentenceTable  # doc, start, end, chunk: named int64 columns
    sentence_vectors: np.ndarray
    sentence_keys: np.ndarray
    chunk_keys: np.ndarray
    vectors: VectorIndex
    bm25: BM25Index
    manifest: dict[str, Any] = field(default_factory=dict)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)  # abbreviations and words of the corpus
    references: References = field(default_factory=References)  # the documents' own reference lists

    @property
    def index_id(self) -> str:
        return self.manifest.get("index_id", "")

    @property
    def has_sentence_vectors(self) -> bool:
        """False for a retrieval-only index (built for suites that judge documents only)."""
        return len(self.sentence_vectors) == len(self.sentences)

    def sentence_text(self, i: int) -> str:
        sent = self.sentences[i]
        d, s, e = sent.doc, sent.start, sent.end
        return self.docs[d].text[s:e]

    def chunk_text(self, c: Chunk) -> str:
        return self.docs[c.doc].text[c.start:c.end]


# -- writing -----------------------------------------------------------------------------------

def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def _doc_row(d: Document) -> dict[str, Any]:
    row = d.meta()
    row["text"] = d.text
    return row


def _chunk_row(c: Chunk) -> list:
    return [c.chunk_id, c.doc, c.start, c.end, list(c.section), c.page, c.sent_lo, c.sent_hi]


def _write_files(folder: Path, data: IndexData) -> None:
    _write_jsonl(folder / "documents.jsonl", (_doc_row(d) for d in data.docs))
    _write_jsonl(folder / "chunks.jsonl", (_chunk_row(c) for c in data.chunks))
    np.save(folder / "sentences.npy", data.sentences.as_array(), allow_pickle=False)
    np.save(folder / "sentence_vectors.npy", data.sentence_vectors.astype(np.float32), allow_pickle=False)
    np.save(folder / "sentence_keys.npy", data.sentence_keys.astype(np.uint8), allow_pickle=False)
    np.save(folder / "chunk_keys.npy", data.chunk_keys.astype(np.uint8), allow_pickle=False)
    data.vectors.save(folder / "dense.faiss")
    data.vocabulary.save(folder / VOCABULARY_FILE)
    data.references.save(folder / REFERENCES_FILE)
    (folder / "bm25").mkdir()
    data.bm25.save(folder / "bm25")


def _hidden_prefix(out: Path) -> str:
    return f".{out.name}."


def clean_leftovers(out: Path) -> list[Path]:
    """Remove build folders next to ``out`` that the live index does not point at."""
    parent = out.parent
    if not parent.exists():
        return []
    live = out.resolve() if out.is_symlink() else None
    removed = []
    for p in parent.glob(_hidden_prefix(out) + "*"):
        if live is not None and p.resolve() == live:
            continue
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
        else:
            shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def write_index(out: Path, data: IndexData, manifest: dict[str, Any]) -> str:
    """Write ``data`` and point ``out`` at it atomically. Returns the index_id."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out)
    tmp = new_build_dir(out)
    try:
        _write_files(tmp, data)
        files = {}
        for p in sorted(q for q in tmp.rglob("*") if q.is_file()):
            _fsync_file(p)
            files[p.relative_to(tmp).as_posix()] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        _fsync_dir(tmp / "bm25")
        index_id = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
        manifest = dict(manifest, format_version=FORMAT_VERSION, index_id=index_id, files=files)
        with (tmp / MANIFEST).open("w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, out, f"{index_id}-{uuid.uuid4().hex[:6]}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    clean_leftovers(out)
    return index_id


def new_build_dir(out: Path) -> Path:
    """A hidden sibling of ``out`` to build in (`clean_leftovers` removes it if the build dies)."""
    tmp = out.parent / f"{_hidden_prefix(out)}build-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def publish(tmp: Path, out: Path, name: str) -> None:
    """Make the finished build folder ``tmp`` the index at ``out``: fsync, rename it to its final
    hidden name, then swap the link. Before the swap a reader sees the old index, after it the new."""
    _fsync_dir(tmp)
    final = out.parent / f"{_hidden_prefix(out)}{name}"
    os.rename(tmp, final)
    swap_link(out, final)


def swap_link(out: Path, target: Path) -> None:
    """Point the symlink ``out`` at ``target`` (a sibling folder) in one atomic rename."""
    if out.exists() and not out.is_symlink():
        if not any((out / name).exists() for name in (MANIFEST, "shards.json")) and any(out.iterdir()):
            raise IndexError_(f"{out} exists and is not a qa index; choose another --out")
        shutil.rmtree(out)  # an index folder from an older layout, or an empty folder
    link = out.parent / f"{_hidden_prefix(out)}link-{uuid.uuid4().hex[:8]}"
    os.symlink(target.name, link)
    os.replace(link, out)
    _fsync_dir(out.parent)


# -- reading -----------------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.exists() and (folder / "shards.json").exists():
        raise IndexError_(f"{folder} is a sharded index (qa index --shards): its shards answer retrieval "
                          "through qa.query.sharded; qa ask and qa serve read an ordinary index (docs/indexing.md)")
    if not path.exists():
        raise IndexError_(f"no index at {folder}: build one with `qa index <corpus> --out {folder}`")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, OSError):
        raise IndexCorrupt(f"index corrupt: {MANIFEST} is unreadable; rebuild with `qa index`") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise IndexError_(
            f"index format version {version!r} is not supported (this qa reads version {FORMAT_VERSION}); "
            f"rebuild it with `qa index <corpus> --out {folder}`"
        )
    return manifest


def _inside(root: Path, name: str) -> bool:
    """``name`` is a file under ``root``, by name and after links: a manifest is data, and one that
    names ``../../etc/hostname`` with its right hash must not make qa read (and confirm) it."""
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        return False
    try:
        return (root / rel).resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop
        return False


def verify_files(folder: Path, manifest: dict[str, Any], only: tuple[str, ...] | None = None) -> None:
    """Every file the manifest lists is inside the index, present, and matches its size and sha256;
    ``only``: just those of these names that it lists (a command that reads one small file)."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise IndexCorrupt("index corrupt: manifest lists no files; rebuild with `qa index`")
    root = folder.resolve()
    for name, info in files.items():
        if only is not None and name not in only:
            continue
        path = folder / name
        if not isinstance(name, str) or not isinstance(info, dict) or not _inside(root, name):
            raise IndexCorrupt(f"index corrupt: the manifest names a file outside the index ({name!r}); "
                               "rebuild with `qa index`")
        if not path.is_file():
            raise IndexCorrupt(f"index corrupt: {name} is missing; rebuild with `qa index`")
        if path.stat().st_size != info.get("bytes") or sha256_file(path) != info.get("sha256"):
            raise IndexCorrupt(f"index corrupt: {name} does not match its checksum; rebuild with `qa index`")


def _read_docs(path: Path) -> list[Document]:
    docs = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            docs.append(Document(
                doc_id=r["doc_id"], text=r["text"], title=r["title"], source=r["source"], date=r["date"],
                url=r["url"], pages=tuple(tuple(p) for p in r["pages"]),
                sections=tuple(Section(a, b, tuple(p)) for a, b, p in r["sections"]),
            ))
    return docs


def _read_chunks(path: Path) -> list[Chunk]:
    with path.open(encoding="utf-8") as f:
        return [Chunk(r[0], r[1], r[2], r[3], tuple(r[4]), r[5], r[6], r[7]) for r in map(json.loads, f)]


def load_index(folder: Path, expect_model: str | None = None, expect_dim: int | None = None) -> IndexData:
    folder = Path(folder).resolve()
    manifest = read_manifest(folder)
    if expect_model and manifest.get("model") != expect_model:
        raise IndexError_(
            f"index at {folder} was built with model {manifest.get('model')!r}, but qa is set to use "
            f"{expect_model!r}; rebuild it with `qa index` or set QA_MODEL={manifest.get('model')}"
        )
    if expect_dim and manifest.get("dim") != expect_dim:
        raise IndexError_(f"index dimension {manifest.get('dim')} != model dimension {expect_dim}; rebuild with `qa index`")
    verify_files(folder, manifest)
    try:
        data = IndexData(
            docs=_read_docs(folder / "documents.jsonl"),
            chunks=_read_chunks(folder / "chunks.jsonl"),
            sentences=SentenceTable.from_array(np.load(folder / "sentences.npy", allow_pickle=False)),
            # memory-mapped: a question reads the rows of its candidate sentences only, so a server
            # holds the pages it touches, not all of it (262 MB of float32 at MedQuAD's 170k sentences)
            sentence_vectors=np.load(folder / "sentence_vectors.npy", mmap_mode="r", allow_pickle=False),
            sentence_keys=np.load(folder / "sentence_keys.npy", allow_pickle=False),
            chunk_keys=np.load(folder / "chunk_keys.npy", allow_pickle=False),
            vectors=VectorIndex.load(folder / "dense.faiss"),
            bm25=BM25Index.load(folder / "bm25", BM25Params(**manifest["bm25"]), manifest["counts"]["chunks"]),
            manifest=manifest,
            vocabulary=Vocabulary.load(folder / VOCABULARY_FILE),  # none in an index built before it existed
            references=References.load(folder / REFERENCES_FILE),  # likewise
        )
    except (ValueError, KeyError, TypeError, RuntimeError, OSError) as e:
        raise IndexCorrupt(f"index corrupt: {type(e).__name__}: {e}; rebuild with `qa index`") from None
    check_alignment(data)
    return data


def check_alignment(data: IndexData) -> None:
    m, n_chunks, n_sent = data.manifest, len(data.chunks), len(data.sentences)
    problems = []
    if m["counts"] != {"documents": len(data.docs), "chunks": n_chunks, "sentences": n_sent}:
        problems.append("counts differ from the manifest")
    if data.vectors.size != n_chunks or data.bm25.n_docs != n_chunks or len(data.chunk_keys) != n_chunks:
        problems.append("chunks, vectors and BM25 documents do not line up")
    n_vec = n_sent if m.get("sentence_vectors", True) else 0  # 0: a retrieval-only index
    if data.sentence_vectors.shape != (n_vec, m["dim"]) or len(data.sentence_keys) != n_sent:
        problems.append("sentences and sentence vectors do not line up")
    if data.vectors.dim != m["dim"]:
        problems.append("vector dimension differs from the manifest")
    if problems:
        raise IndexCorrupt("index corrupt: " + "; ".join(problems) + "; rebuild with `qa index`")
