"""Degenerate corpora: clear messages or correct indexes, never a crash."""

from __future__ import annotations

import pytest

from qa.index.build import build_index
from qa.ingest.corpus import CorpusError
from qa.index.store import load_index
from conftest import FakeEmbedder


def build(tmp_path, files: dict[str, bytes]):
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, data in files.items():
        (corpus / name).write_bytes(data)
    skipped = []
    stats = build_index(corpus, tmp_path / "idx", FakeEmbedder(), on_skip=skipped.append)
    return stats, skipped, load_index(tmp_path / "idx")


@pytest.mark.parametrize("files", [
    {"empty.md": b""},
    {"blank.md": b"   \n\n\t  \n"},
    {"a.md": b"", "b.txt": b" \n"},
])
def test_nothing_readable_is_a_clear_error(tmp_path, files):
    with pytest.raises(CorpusError, match="no readable documents"):
        build(tmp_path, files)


def test_one_document_one_sentence(tmp_path):
    stats, _, data = build(tmp_path, {"one.md": b"Give ATRA."})
    assert (stats.documents, stats.chunks, stats.sentences) == (1, 1, 1)
    assert data.sentence_text(0) == "Give ATRA."


def test_one_very_long_line_is_chunked_within_bounds(tmp_path):
    line = ("word " * 300_000).encode()  # 1.5 MB, no punctuation, no newline
    stats, _, data = build(tmp_path, {"long.txt": line})
    assert stats.chunks > 100
    assert int((data.sentences.end - data.sentences.start).max()) <= 2000


def test_ten_megabytes_in_one_file(tmp_path):
    para = "The induction dose is 100 mg/m2 on days 1-7. Review at day 14 with a marrow.\n\n"
    text = (para * (10_000_000 // len(para))).encode()
    stats, _, data = build(tmp_path, {"big.md": text})
    assert stats.sentences > 200_000 and len(data.docs[0].text) >= 9_900_000


def test_duplicate_documents_and_bad_bytes(tmp_path):
    same = b"# Guide\n\nGive ATRA at once in suspected APL.\n"
    # bad.txt: not UTF-8, so read in the encoding found (cp1252) rather than skipped (issue 17);
    # bytes that fit no text encoding are still skipped, saying so
    stats, skipped, data = build(tmp_path, {"a.md": same, "b.md": same, "bad.txt": b"caf\xe9 au lait \xe0 J1",
                                            "worse.txt": bytes(range(128, 256)) * 4})
    assert {d.doc_id for d in data.docs} == {"a", "b", "bad"}
    assert "café au lait à J1" in next(d.text for d in data.docs if d.doc_id == "bad")
    assert len({c.chunk_id for c in data.chunks}) == 3  # ids include the document id
    assert [s.reason for s in skipped if "worse" in s.path] != []


def test_text_repeated_in_the_corpus_is_embedded_once(tmp_path):
    class Counting(FakeEmbedder):
        seen: list[str] = []

        def embed_batch(self, texts):
            self.seen.extend(texts)
            return super().embed_batch(texts)

    corpus = tmp_path / "c"
    corpus.mkdir()
    same = "# Guide\n\nGive ATRA at once in suspected APL. Check the fibrinogen.\n"
    (corpus / "a.md").write_text(same)
    (corpus / "b.md").write_text(same)
    (corpus / "c.md").write_text("# Other\n\nCheck the fibrinogen. Transfuse platelets.\n")
    emb = Counting()
    stats = build_index(corpus, tmp_path / "idx", emb)
    data = load_index(tmp_path / "idx")
    assert len(emb.seen) == len(set(emb.seen)) == stats.embedded
    assert stats.reused == 0 and stats.copies > 0
    assert stats.embedded + stats.copies == stats.chunks + stats.sentences
    # every row still has its vector: both copies of "Check the fibrinogen." carry the same one
    rows = [i for i in range(len(data.sentences)) if data.sentence_text(i) == "Check the fibrinogen."]
    assert len(rows) == 3
    assert all((data.sentence_vectors[r] == data.sentence_vectors[rows[0]]).all() for r in rows)
    assert (abs(data.vectors.reconstruct_all()[0] - data.vectors.reconstruct_all()[1]) < 1e-6).all()
