"""Ingest: every format, NFKC once, and bad input that is skipped or refused clearly."""

from __future__ import annotations

import json

import pytest

from qa.ingest.corpus import CorpusError, read_corpus
from conftest import CORPUS


def test_bundled_corpus_front_matter_and_sections():
    docs = {d.doc_id: d for d in read_corpus(CORPUS)}
    a = docs["aleukemic-leukemia-treatment"]
    assert a.title == "Aleukemic Leukemia Treatment Approach" and a.date == "2025-12-30"
    assert "mg/m2" in a.text and "²" not in a.text  # NFKC applied once, at ingest
    assert not a.text.startswith("---")
    paths = [s.path for s in a.sections]
    assert ("Aleukemic Leukemia Treatment Approach", "References") in paths
    assert "Dr.Oracle assumes no liability" in a.text  # disclaimer kept
    assert docs["infantile-all"].date is None


def test_seed_bodies_are_verbatim():
    """Every word of each seed's body survives (page furniture aside)."""
    import re

    from conftest import SHARED

    seeds = SHARED / "seeds"
    if not seeds.exists():
        pytest.skip("../shared/seeds not available")
    corpus_words = [w for w in re.findall(r"\S+", " ".join(d.text for d in read_corpus(CORPUS)))
                    if w != "-" and not set(w) <= {"#"}]  # Markdown markers we added
    joined = " ".join(corpus_words)
    import unicodedata
    for seed in seeds.glob("*.txt"):
        text = unicodedata.normalize("NFKC", seed.read_text())
        for para in text.split("\n\n"):
            para = " ".join(para.replace("•", "").split())
            if len(para) > 80 and not para.startswith(("Our Medical A.I.", "Which best describes", "Medical Advisory Board")):
                assert para in joined, para[:80]


def test_html_keeps_headings_drops_scripts(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Page</title><style>p{}</style></head><body><nav>Home</nav>"
        "<h1>Guide</h1><h2>Dosing</h2><p>Give 5 mg.</p><script>alert(1)</script><ul><li>Item one</li></ul></body></html>"
    )
    (d,) = read_corpus(tmp_path)
    assert "alert" not in d.text and "Home" not in d.text
    assert d.title == "Page" and ("Guide", "Dosing") in [s.path for s in d.sections]
    assert "Give 5 mg." in d.text and "- Item one" in d.text


def test_pdf_pages_are_recorded(tmp_path):
    # a minimal two-page PDF with text, written by hand (no PDF writer dependency)
    def page(text):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        return stream
    objs = []
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>")
    for i, text in enumerate(["Page one says dose ten mg.", "Page two says stop."]):
        content_no = 4 + 2 * i
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_no} 0 R "
                    f"/Resources << /Font << /F1 {len(objs) + 3 if i else 7} 0 R >> >> >>".encode())
        s = page(text)
        objs.append(b"<< /Length " + str(len(s)).encode() + b" >>\nstream\n" + s + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    # fix font refs: both pages use object 7
    objs[2] = objs[2].replace(b"/F1 6 0 R", b"/F1 7 0 R")
    objs[4] = objs[4].replace(b"/F1 8 0 R", b"/F1 7 0 R")
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    (tmp_path / "doc.pdf").write_bytes(out)
    (d,) = read_corpus(tmp_path)
    assert "dose ten mg" in d.text and "stop" in d.text
    assert d.page_at(d.text.index("dose")) == 1 and d.page_at(d.text.index("stop")) == 2


def test_beir_jsonl_ids_with_slashes(tmp_path):
    rows = [{"_id": "a/1", "title": "T", "text": "Alpha text here."}, {"_id": "b", "title": "", "text": "Beta."}]
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    docs = read_corpus(tmp_path / "corpus.jsonl")
    assert [d.doc_id for d in docs] == ["a/1", "b"] and docs[0].title == "T"


def test_unreadable_files_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "good.md").write_text("A fine sentence.")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    skipped = []
    docs = read_corpus(tmp_path, on_skip=skipped.append)
    assert [d.doc_id for d in docs] == ["good"]
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in skipped}
    assert "binary" in reasons["binary.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert reasons["empty.md"] == "no text"
    assert "unsupported" in reasons["image.png"]


def test_empty_or_missing_corpus_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        read_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no readable documents"):
        read_corpus(tmp_path)


def test_a_file_that_is_not_utf8_is_read_in_its_encoding_and_says_which(tmp_path):
    text = "Le patient a reçu une dose élevée de méthotrexate à J1, puis à J8."
    (tmp_path / "latin1.txt").write_bytes(text.encode("latin-1"))
    (tmp_path / "utf16.md").write_bytes(("# Dose\n\n" + text).encode("utf-16"))  # with its BOM
    skipped, notes = [], []
    docs = {d.doc_id: d for d in read_corpus(tmp_path, on_skip=skipped.append, on_notice=notes.append)}
    assert text in docs["latin1"].text and text in docs["utf16"].text and not skipped
    assert [(n.path.rsplit("/", 1)[-1], n.message) for n in notes] == [("latin1.txt", "not UTF-8: read as cp1252")]


def test_pypdf_says_nothing_of_its_own_for_a_broken_pdf(tmp_path, capsys, caplog):
    (tmp_path / "good.md").write_text("A fine sentence.")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    skipped = []
    read_corpus(tmp_path, on_skip=skipped.append)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    assert not [r for r in caplog.records if r.name.startswith("pypdf") and r.levelno < 40]
    assert "PDF" in skipped[0].reason


def test_a_junk_or_missing_title_falls_back_to_the_first_heading_or_line(tmp_path):
    (tmp_path / "notes.txt").write_text("\n  Anaphylaxis in adults: first steps\nGive IM adrenaline 0.5 mg.\n")
    (tmp_path / "dka.md").write_text("---\ntitle: dka.html\n---\n# Diabetic ketoacidosis\n\nGive fluids first.\n")
    (tmp_path / "kept.md").write_text("---\ntitle: Sepsis bundle\n---\n# Hour one\n\nTake cultures.\n")
    docs = {d.doc_id: d.title for d in read_corpus(tmp_path)}
    assert docs == {"notes": "Anaphylaxis in adults: first steps", "dka": "Diabetic ketoacidosis",
                    "kept": "Sepsis bundle"}
