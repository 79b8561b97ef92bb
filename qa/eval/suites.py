"""Reading gold question suites: BEIR folders (with qa's optional fields) and SQuAD JSON.

BEIR layout::

    corpus.jsonl        {"_id", "title", "text", "url"?, "metadata"?}
    queries.jsonl       {"_id", "text", "evidence"?, "answers"?, "answerable"?, "metadata"?}
    qrels/<split>.tsv   query-id <TAB> corpus-id <TAB> score (header line optional)

``evidence`` is ``[{"doc_id", "text", "start"?}]``: gold spans, ``text`` a substring of the
document's text, ``start`` its character offset where given. A plain BEIR suite (no extra fields)
is read too; it just has document metrics only. Only the queries listed in the split's qrels
belong to the split.

SQuAD JSON (``{"data": [{"title", "paragraphs": [{"context", "document_id"?, "qas": [...]}]}]}``,
COVID-QA's native format) is read as one split: each paragraph becomes a corpus document (written
once as a BEIR ``corpus.jsonl`` under the cache folder, so it indexes like any other suite), each
question is relevant to its paragraph, its answers are gold answers and gold evidence spans, and
``is_impossible`` questions are unanswerable.

Every problem in a suite file is reported as ``SuiteError("<file>:<line>: what is wrong")``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from qa.index.store import sha256_file


class SuiteError(ValueError):
    """A suite file is missing or malformed; the message names the file (and line)."""


@dataclass(frozen=True)
class Evidence:
    doc_id: str
    text: str
    start: int | None = None


@dataclass(frozen=True)
class Query:
    qid: str
    text: str
    evidence: tuple[Evidence, ...] = ()
    answers: tuple[str, ...] = ()
    answerable: bool | None = None  # None: the suite does not say
    metadata: dict = field(default_factory=dict, compare=False)


@dataclass
class Suite:
    name: str
    path: Path
    split: str
    corpus: Path  # a BEIR corpus.jsonl
    queries: list[Query]  # those in the split, in qrels order
    qrels: dict[str, dict[str, int]]  # qid -> doc_id -> relevance (0 kept: judged not relevant)
    files: dict[str, str]  # suite file -> sha256
    splits: tuple[str, ...] = ()
    format: str = "beir"
    warnings: list[str] = field(default_factory=list)

    @property
    def corpus_sha(self) -> str:
        return self.files.get(self.corpus.name) or sha256_file(self.corpus)

    @property
    def has_evidence(self) -> bool:
        return any(q.evidence for q in self.queries)

    @property
    def has_answers(self) -> bool:
        return any(q.answers for q in self.queries)

    @property
    def has_unanswerable(self) -> bool:
        return any(q.answerable is False for q in self.queries) and any(q.answerable for q in self.queries)

    @property
    def judges_answers(self) -> bool:
        """Whether any answer-level metric applies (gold evidence, short answers, or abstention).

        SciFact judges documents only: its eval index skips sentence vectors and its run skips
        composing answers, which no metric would read.
        """
        return self.has_evidence or self.has_answers or self.has_unanswerable

    def answerable(self, q: Query) -> bool:
        """Whether ``q`` is answerable: its own flag, else whether it has gold evidence or relevant docs."""
        if q.answerable is not None:
            return q.answerable
        return bool(q.evidence) or any(v > 0 for v in self.qrels.get(q.qid, {}).values())

    def limit(self, n: int) -> Suite:
        qs = self.queries[:n]
        keep = {q.qid for q in qs}
        return Suite(self.name, self.path, self.split, self.corpus, qs, {k: v for k, v in self.qrels.items() if k in keep},
                     self.files, self.splits, self.format, self.warnings)


# -- BEIR ----------------------------------------------------------------------------------------

def _jsonl(path: Path):
    """(line number, object) for each non-blank line, or SuiteError naming file and line."""
    try:
        f = path.open("rb")
    except OSError as e:
        raise SuiteError(f"{path}: cannot read ({e.strerror or e})") from None
    with f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise SuiteError(f"{path}:{lineno}: not valid JSON ({e})") from None
            if not isinstance(row, dict):
                raise SuiteError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row


def _evidence(raw, where: str) -> tuple[Evidence, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SuiteError(f"{where}: 'evidence' must be a list of {{doc_id, text, start?}}")
    out = []
    for i, e in enumerate(raw):
        if isinstance(e, str):  # bare text: no document named, matched by containment anywhere
            out.append(Evidence("", e))
            continue
        if not isinstance(e, dict) or not isinstance(e.get("text"), str) or not e["text"].strip():
            raise SuiteError(f"{where}: evidence[{i}] needs a non-empty 'text'")
        start = e.get("start")
        if start is not None and (not isinstance(start, int) or isinstance(start, bool) or start < 0):
            raise SuiteError(f"{where}: evidence[{i}].start must be a non-negative integer")
        out.append(Evidence(str(e.get("doc_id") or ""), e["text"], start))
    return tuple(out)


def _query(row: dict, where: str) -> Query:
    if "_id" not in row or not isinstance(row.get("text"), str):
        raise SuiteError(f"{where}: a query needs '_id' and 'text'")
    answers = row.get("answers")
    if answers is None:
        answers = []
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise SuiteError(f"{where}: 'answers' must be a list of strings")
    answerable = row.get("answerable")
    if answerable is not None and not isinstance(answerable, bool):
        raise SuiteError(f"{where}: 'answerable' must be true or false")
    meta = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
    return Query(str(row["_id"]), row["text"], _evidence(row.get("evidence"), where),
                 tuple(a for a in answers if a.strip()), answerable, meta)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise SuiteError(f"{path}: no such qrels file")
    out: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 4:  # TREC style: qid Q0 doc rel
                cols = [cols[0], cols[2], cols[3]]
            if len(cols) != 3:
                raise SuiteError(f"{path}:{lineno}: expected 'query-id<TAB>corpus-id<TAB>score', got {len(cols)} column(s)")
            qid, doc, score = (c.strip() for c in cols)
            try:
                rel = int(float(score))
            except ValueError:
                if lineno == 1 or not out:  # the header line
                    continue
                raise SuiteError(f"{path}:{lineno}: score {score!r} is not a number") from None
            out.setdefault(qid, {})[doc] = rel
    if not out:
        raise SuiteError(f"{path}: no judgements")
    return out


def beir_splits(folder: Path) -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in (folder / "qrels").glob("*.tsv")))


def default_split(folder: Path) -> str:
    splits = beir_splits(folder)
    for s in ("test", "dev", "train"):
        if s in splits:
            return s
    if not splits:
        raise SuiteError(f"{folder / 'qrels'}: no <split>.tsv files")
    return splits[0]


def read_beir(folder: Path, split: str | None = None, check_corpus: bool = True) -> Suite:
    folder = Path(folder)
    corpus, queries_path = folder / "corpus.jsonl", folder / "queries.jsonl"
    for p in (corpus, queries_path):
        if not p.is_file():
            raise SuiteError(f"{p}: missing (a BEIR suite has corpus.jsonl, queries.jsonl and qrels/<split>.tsv)")
    splits = beir_splits(folder)
    split = split or default_split(folder)
    if split not in splits:
        raise SuiteError(f"{folder / 'qrels' / (split + '.tsv')}: no such split (have: {', '.join(splits) or 'none'})")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    qrels = read_qrels(qrels_path)
    queries: dict[str, Query] = {}
    dups: dict[str, list[Query]] = {}
    for lineno, row in _jsonl(queries_path):
        q = _query(row, f"{queries_path}:{lineno}")
        if q.qid in qrels:
            if q.qid in queries:
                dups.setdefault(q.qid, []).append(q)
            else:
                queries[q.qid] = q
    warnings = []
    if dups:
        # Several different questions under one id (MedQuAD reuses ids across sub-documents): keep
        # each as its own question, id#2, id#3..., judged by the qrels rows of that id that name its
        # own evidence documents (all of the id's rows where it has no evidence).
        merged = dict(qrels)
        order = []
        for qid in list(merged):
            if qid not in queries:
                order.append(qid)  # reported as missing below
                continue
            group = [queries[qid]] + dups.get(qid, [])
            for n, q in enumerate(group, start=1):
                new_id = qid if n == 1 else f"{qid}#{n}"
                if len(group) > 1:
                    own = {e.doc_id for e in q.evidence}
                    rel = {d: r for d, r in merged[qid].items() if d in own} or dict(merged[qid])
                    q = Query(new_id, q.text, q.evidence, q.answers, q.answerable, q.metadata)
                    queries[new_id] = q
                    qrels[new_id] = rel
                order.append(new_id)
        qrels = {k: qrels[k] for k in order}
        warnings.append(f"{queries_path}: {sum(len(v) for v in dups.values())} question(s) reuse the id of another "
                        f"question ({len(dups)} ids, e.g. {next(iter(dups))!r}); kept as id#2, id#3, ...")
    missing = [qid for qid in qrels if qid not in queries]
    if missing:
        raise SuiteError(f"{qrels_path}: {len(missing)} query id(s) not in {queries_path.name}, e.g. {missing[0]!r}")
    if check_corpus:
        ids = set()
        for lineno, row in _jsonl(corpus):
            if "_id" not in row or not isinstance(row.get("text", ""), str):
                raise SuiteError(f"{corpus}:{lineno}: a document needs '_id' and a string 'text'")
            ids.add(str(row["_id"]))
        unknown = sorted({d for rels in qrels.values() for d in rels} - ids)
        if unknown:
            raise SuiteError(f"{qrels_path}: {len(unknown)} corpus id(s) not in {corpus.name}, e.g. {unknown[0]!r}")
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in (corpus, queries_path, qrels_path)}
    return Suite(folder.name, folder, split, corpus, [queries[q] for q in qrels], qrels, files, splits, "beir", warnings)


# -- SQuAD ---------------------------------------------------------------------------------------

def read_squad(path: Path, cache_dir: Path, split: str | None = None) -> Suite:
    """A SQuAD-format JSON file as a suite; its contexts are written to ``cache_dir`` as corpus.jsonl."""
    path = Path(path)
    try:
        raw_text = path.read_text(encoding="utf-8")
        raw = json.loads(raw_text)
    except OSError as e:
        raise SuiteError(f"{path}: cannot read ({e.strerror or e})") from None
    except ValueError as e:
        line = getattr(e, "lineno", 0)
        raise SuiteError(f"{path}:{line}: not valid JSON ({getattr(e, 'msg', e)})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise SuiteError(f"{path}:1: not a SQuAD file (expected an object with a 'data' list)")
    docs, queries, qrels = [], [], {}
    seen_docs: dict[str, str] = {}
    for a_i, article in enumerate(raw["data"]):
        title = str(article.get("title") or "") if isinstance(article, dict) else ""
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise SuiteError(f"{path}: data[{a_i}] has no 'paragraphs' list")
        for p_i, para in enumerate(paragraphs):
            where = f"data[{a_i}].paragraphs[{p_i}]"
            if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                raise SuiteError(f"{path}: {where} has no 'context' string")
            context = para["context"]
            doc_id = str(para.get("document_id") or (f"{title}#{p_i}" if title else f"{a_i}-{p_i}"))
            if doc_id in seen_docs and seen_docs[doc_id] != context:
                doc_id = f"{doc_id}#{p_i}"
            if doc_id not in seen_docs:
                seen_docs[doc_id] = context
                docs.append({"_id": doc_id, "title": title, "text": context})
            for q_i, qa in enumerate(para.get("qas") or []):
                qwhere = f"{where}.qas[{q_i}]"
                if not isinstance(qa, dict) or "id" not in qa or not isinstance(qa.get("question"), str):
                    raise SuiteError(f"{path}: {qwhere} needs 'id' and 'question'")
                impossible = bool(qa.get("is_impossible", False))
                answers, evidence = [], []
                for ans in qa.get("answers") or []:
                    if not isinstance(ans, dict) or not isinstance(ans.get("text"), str):
                        raise SuiteError(f"{path}: {qwhere}: each answer needs a 'text'")
                    start = ans.get("answer_start")
                    if isinstance(start, int) and context[start:start + len(ans["text"])] != ans["text"]:
                        start = None  # a misaligned offset: match by containment instead
                    if ans["text"].strip():
                        answers.append(ans["text"])
                        evidence.append(Evidence(doc_id, ans["text"], start if isinstance(start, int) else None))
                qid = str(qa["id"])
                queries.append(Query(qid, qa["question"], tuple(evidence), tuple(dict.fromkeys(answers)),
                                     not impossible and bool(answers)))
                qrels[qid] = {doc_id: 0 if impossible else 1}
    if not queries:
        raise SuiteError(f"{path}: no questions")
    sha = sha256_file(path)
    folder = Path(cache_dir) / f"squad-{sha[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.jsonl"
    body = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    if not corpus.exists() or hashlib.sha256(corpus.read_bytes()).hexdigest() != hashlib.sha256(body.encode()).hexdigest():
        tmp = corpus.with_suffix(".tmp")
        tmp.write_text(body, encoding="utf-8")
        tmp.replace(corpus)
    name = path.stem
    return Suite(name, path, split or "all", corpus, queries, qrels, {path.name: sha, corpus.name: sha256_file(corpus)},
                 (split or "all",), "squad")


def load_suite(path: Path, split: str | None = None, cache_dir: Path | None = None) -> Suite:
    """A BEIR folder or a SQuAD ``.json`` file."""
    from qa.eval.cache import CACHE

    path = Path(path)
    if path.is_dir():
        return read_beir(path, split)
    if path.is_file() and path.suffix.lower() == ".json":
        return read_squad(path, cache_dir or CACHE, split)
    if not path.exists():
        raise SuiteError(f"{path}: no such suite (give a BEIR folder or a SQuAD .json file)")
    raise SuiteError(f"{path}: not a suite (give a BEIR folder or a SQuAD .json file)")
