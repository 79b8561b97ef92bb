"""A hostile corpus (issue 14): front matter that inflates or carries the wrong types, BEIR rows
with the wrong types. Each file is skipped with one line saying why, or read as bounded text;
nothing reaches the index that would break the API's schema."""

from __future__ import annotations

import json

import pytest

from qa.ingest.corpus import read_corpus


def _read(tmp_path, name: str, text: str):
    (tmp_path / "good.md").write_text("# Good\n\nA fine sentence.\n")
    (tmp_path / name).write_text(text)
    skipped = []
    docs = read_corpus(tmp_path, on_skip=skipped.append)
    return {d.doc_id: d for d in docs}, {s.path.rsplit("/", 1)[-1]: s.reason for s in skipped}


def _alias_bomb(width: int = 9, depth: int = 5) -> str:
    lines = ["---", 'l0: &l0 ["xxxxxxxxxxxxxxxx"]']
    for i in range(1, depth + 1):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * width) + "]")
    lines += [f"title: *l{depth}", "---", "# Body", "", "A sentence.", ""]
    return "\n".join(lines)


def test_yaml_aliases_are_refused_not_expanded(tmp_path):
    text = _alias_bomb()
    assert len(text.encode()) < 600  # a small file: expanded, its title was millions of characters
    docs, skipped = _read(tmp_path, "bomb.md", text)
    assert "bomb" not in docs and "good" in docs
    assert "alias" in skipped["bomb.md"]


@pytest.mark.parametrize("field, value, says", [
    ("url", "{href: 'https://example.org'}", "'url' must be text, not a mapping"),
    ("url", "12345", "'url' must be text, not a number"),
    ("title", "[a, b]", "'title' must be text, not a list"),
    ("source", "true", "'source' must be text, not true/false"),
    ("date", "[2024]", "'date' must be text, not a list"),
    ("title", "'" + "t" * 1001 + "'", "'title' is 1,001 characters"),
    ("url", "'https://e.org/" + "u" * 2100 + "'", "'url' is 2,114 characters"),
])
def test_shown_front_matter_fields_must_be_short_strings(tmp_path, field, value, says):
    docs, skipped = _read(tmp_path, "bad.md", f"---\n{field}: {value}\n---\n# Body\n\nA sentence.\n")
    assert "bad" not in docs
    assert says in skipped["bad.md"]


def test_good_front_matter_still_reads_and_a_yaml_date_is_its_iso_text(tmp_path):
    docs, skipped = _read(tmp_path, "ok.md", "---\ntitle: AML\nsource: NCCN\ndate: 2024-05-01\n"
                                            "url: https://example.org/aml\nextra: {any: [thing]}\n---\n# B\n\nText.\n")
    d = docs["ok"]
    assert (d.title, d.source, d.date, d.url) == ("AML", "NCCN", "2024-05-01", "https://example.org/aml")
    assert not skipped


def test_front_matter_past_its_size_bound_is_refused(tmp_path):
    big = "---\n" + "".join(f"k{i}: {'v' * 60}\n" for i in range(400)) + "---\n# B\n\nText.\n"
    docs, skipped = _read(tmp_path, "big.md", big)
    assert "big" not in docs and "longer than" in skipped["big.md"]


@pytest.mark.parametrize("row, says", [
    ({"_id": "d1", "title": "T", "text": "Body.", "url": 12345}, "'url' must be text"),
    ({"_id": "d1", "title": ["a"], "text": "Body."}, "'title' must be text"),
    ({"_id": "d1", "title": "T", "text": 5}, "text must be a string"),
    ({"_id": "d1", "title": "T", "text": "Body.", "metadata": {"source": {"x": 1}}}, "'source' must be text"),
])
def test_beir_rows_with_wrong_types_are_refused_with_their_line(tmp_path, row, says):
    lines = [json.dumps({"_id": "d0", "title": "Fine", "text": "Fine text."}), json.dumps(row)]
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "good.md").write_text("# Good\n\nA fine sentence.\n")
    skipped = []
    docs = read_corpus(tmp_path, on_skip=skipped.append)
    assert [d.doc_id for d in docs] == ["good"]
    assert "line 2" in skipped[0].reason and says in skipped[0].reason
