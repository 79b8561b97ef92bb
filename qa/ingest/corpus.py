"""Reading source files into `Document`s.

Formats: Markdown (with optional YAML front matter), plain text, HTML (headings kept as
Markdown headings, scripts and styles dropped), PDF (text per page; pages recorded so citations
carry a page number) and BEIR ``corpus.jsonl`` (one document a line).

Text is normalised with NFKC exactly once, here; every offset downstream refers to that text.
A file that cannot be read is skipped with a one-line warning; the caller decides whether an
empty result is an error.
"""

from __future__ import annotations

import json
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.ingest.frontmatter import checked_fields, split_front_matter
from qa.types import Document, Section

SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".jsonl")
# a corpus folder may carry the calibration fitted on its own gold questions (`qa eval --calibrate`);
# `qa index` stores it in the index, so every `qa ask` and `qa serve` of that index uses it
CALIBRATION_FILE = "qa-calibration.json"


class CorpusError(Exception):
    """The corpus as a whole is unusable (missing, empty)."""


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Notice:
    """A file that was read, with something the user should know (the encoding it was read in)."""

    path: str
    message: str


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)


def sections_of(text: str) -> tuple[Section, ...]:
    """Sections from Markdown heading lines: each runs from after its heading to the next one.

    >>> [s.path for s in sections_of("# A\\nx\\n## B\\ny\\n# C\\n")]
    [('A',), ('A', 'B'), ('C',)]
    """
    heads = [(m.start(), m.end(), len(m.group(1)), m.group(2).strip()) for m in _HEADING.finditer(text)]
    out, stack = [], []
    for i, (_, h_end, level, title) in enumerate(heads):
        stack = [s for s in stack if s[0] < level] + [(level, title)]
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        out.append(Section(h_end, end, tuple(t for _, t in stack)))
    return tuple(out)


class DecodedAs(UserWarning):
    """A text file that was not UTF-8 and was read in the encoding the message names."""


def _check_text(raw: bytes, path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with a BOM, else the encoding
    charset-normalizer finds (a `DecodedAs` warning names it, and `read_corpus` reports it)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("not valid UTF-16 despite its byte-order mark") from None
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bad = e.start
    from charset_normalizer import from_bytes

    found = from_bytes(raw[:1_000_000])  # the first MB decides: detection is slow on huge files
    best = found.best()
    if best is not None:  # a tie (short texts: cp1250 = cp1252 = ...) goes to cp1252, the likeliest by far
        ties = [m for m in found if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        best = next((m for m in ties if m.encoding == "cp1252"), best)
    if best is None or best.encoding.replace("-", "_") in ("utf_8", "ascii"):
        raise ValueError(f"not UTF-8 (byte {bad}) and no other text encoding fits")
    try:
        text = raw.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        raise ValueError(f"not UTF-8 (byte {bad}), nor {best.encoding} throughout") from None
    warnings.warn(DecodedAs(f"not UTF-8: read as {best.encoding}"), stacklevel=2)
    return text


_JUNK_TITLE = re.compile(r"^(?:[\w.~-]+\.(?:html?|pdf|docx?|txt|md|rtf)|untitled(?: document)?|microsoft word.*|)$", re.I)
TITLE_MAX = 120


def _title(given, sections, text: str, fallback: str) -> str:
    """The given title unless it is junk (a file name such as "dka.html", "Untitled", empty); then
    the first heading, then the first line of text (cut at a word near TITLE_MAX), then the file name.

    >>> _title("dka.html", (), "Diabetic ketoacidosis in adults. Give fluids first.", "dka")[:31]
    'Diabetic ketoacidosis in adults'
    """
    given = " ".join(str(given or "").split())
    if not _JUNK_TITLE.match(given):
        return given
    if sections:
        return sections[0].path[0]
    first = next((line.strip() for line in text.splitlines() if any(ch.isalnum() for ch in line)), "")
    if len(first) > TITLE_MAX:
        first = first[:TITLE_MAX].rsplit(" ", 1)[0] + "…"
    return first or fallback


def _doc(doc_id: str, body: str, meta: dict, fallback_title: str, pages=(), markdown: bool = True) -> Document:
    text = nfkc(body.lstrip("\n"))
    date = meta.get("date")
    sections = sections_of(text) if markdown else ()  # plain text: "# of cycles: 4" is no heading
    title = _title(meta.get("title"), sections, text, fallback_title)
    return Document(
        doc_id=doc_id,
        text=text,
        title=nfkc(title),
        source=nfkc(str(meta.get("source") or "")),
        date=str(date) if date else None,
        url=meta.get("url") or None,
        pages=tuple(pages),
        sections=sections,
    )


def read_markdown(path: Path, doc_id: str) -> Iterator[Document]:
    meta, body = split_front_matter(_check_text(path.read_bytes(), path))
    yield _doc(doc_id, body, meta, path.stem, markdown=path.suffix.lower() != ".txt")


def read_html(path: Path, doc_id: str) -> Iterator[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_check_text(path.read_bytes(), path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    lines = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "td", "blockquote"]):
        if el.find(["p", "li", "h1", "h2", "h3", "h4", "h5", "h6"]):
            continue  # a container: its children carry the text
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name[0] == "h":
            lines.append("#" * int(el.name[1]) + " " + text)
        elif el.name == "li":
            lines.append("- " + text)
        else:
            lines.append(text)
    yield _doc(doc_id, "\n\n".join(lines) + "\n", {"title": title}, path.stem)


def read_pdf(path: Path, doc_id: str) -> Iterator[Document]:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # "invalid pdf header" etc.: qa's skip line says it

    try:
        reader = PdfReader(str(path))
        texts = [nfkc(page.extract_text() or "") for page in reader.pages]
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except Exception as e:  # pypdf raises many types for broken files
        raise ValueError(f"unreadable PDF ({type(e).__name__})") from None
    body, pages = "", []
    for n, t in enumerate(texts, start=1):
        t = t.strip()
        if t:
            pages.append((len(body), len(body) + len(t), n))
            body += t + "\n\n"
    yield _doc(doc_id, body, {"title": meta_title}, path.stem, pages)


def read_beir(path: Path, doc_id: str) -> Iterator[Document]:
    """BEIR ``corpus.jsonl``: ids are the ``_id`` field as is (they may contain ``/``)."""
    with path.open("rb") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                _id, text = str(row["_id"]), row.get("text") or ""
                if not isinstance(text, str):
                    raise TypeError(f"text must be a string, not {type(text).__name__}")
                meta = dict(row.get("metadata") or {})
                meta.update(title=row.get("title") or "", url=row.get("url") or meta.get("url"))
                meta = checked_fields(meta)
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"line {lineno}: not a BEIR document ({e})") from None
            yield _doc(_id, text + "\n", meta, _id)


READERS: dict[str, Callable[[Path, str], Iterator[Document]]] = {
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".txt": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".jsonl": read_beir,
}


def corpus_files(root: Path) -> list[Path]:
    if not root.exists():
        raise CorpusError(f"corpus not found: {root}")
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith(".") and p != root / CALIBRATION_FILE)


def read_corpus(root: Path, on_skip: Callable[[Skipped], None] | None = None,
                on_notice: Callable[[Notice], None] | None = None) -> list[Document]:
    """All documents under ``root`` (a folder or one file), in a stable order.

    Unreadable files are reported to ``on_skip`` and left out; an empty result raises
    `CorpusError`, because an index of nothing would answer every question with silence.
    """
    root = Path(root)
    docs: list[Document] = []
    seen: set[str] = set()
    for path in corpus_files(root):
        reader = READERS.get(path.suffix.lower())
        rel = path.relative_to(root) if root.is_dir() else Path(path.name)
        if reader is None:
            if on_skip:
                on_skip(Skipped(str(path), f"unsupported file type '{path.suffix}'"))
            continue
        doc_id = rel.with_suffix("").as_posix()
        try:
            with warnings.catch_warnings(record=True) as caught:  # pypdf's and ours, one file at a time
                warnings.simplefilter("always")
                found = [d for d in reader(path, doc_id) if d.text.strip()]
            for w in caught:
                if isinstance(w.message, DecodedAs) and on_notice:
                    on_notice(Notice(str(path), str(w.message)))
        except (ValueError, OSError) as e:
            if on_skip:
                on_skip(Skipped(str(path), str(e)))
            continue
        if not found and on_skip:
            on_skip(Skipped(str(path), "no text"))
        for d in found:
            if d.doc_id in seen:
                if on_skip:
                    on_skip(Skipped(f"{path}:{d.doc_id}", "duplicate document id"))
                continue
            seen.add(d.doc_id)
            docs.append(d)
    if not docs:
        raise CorpusError(f"no readable documents in {root} (readable types: {', '.join(SUFFIXES)})")
    return docs
