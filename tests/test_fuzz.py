"""Fuzzing the two ways input reaches qa (issue 14): a corpus file, and a request.

Ingest: any front matter (anchors and aliases, any YAML type), Markdown and HTML structure, four
encodings, sizes up to ~100 kB. Each file is read or skipped with a reason, never raises, never
amplifies (what comes out is bounded by what went in: the alias bomb was a 9,000x amplification)
and stays within a memory bound; every offset indexes the stored text.

Questions: any Unicode string (lone surrogates included) and any JSON value in any field. Never a
500, never a traceback, always the one error shape, and every citation is the stored text.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, FakeEmbedder
from qa.index.build import build_index
from qa.ingest.chunk import chunk
from qa.ingest.corpus import read_corpus
from qa.ingest.frontmatter import FIELD_LIMITS
from qa.query.engine import Engine
from qa.service.app import create_app
from qa.service.settings import Settings

MAX_PEAK_BYTES = 64 * 2**20  # per file; reading the 434-byte alias bomb peaked at ~2 GB
AMPLIFICATION = 4  # stored text + title may be at most this many times the file's characters (+1 kB)

# -- ingest ---------------------------------------------------------------------------------

scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True),
                   st.text(max_size=40), st.dates().map(str))
yaml_value = st.recursive(scalar.map(json.dumps), lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.dictionaries(st.sampled_from(["a", "b", "href"]), inner, max_size=3).map(
        lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}")), max_leaves=8)


@st.composite
def front_matter(draw) -> str:
    lines, anchors = [], []
    for key in draw(st.lists(st.sampled_from([*FIELD_LIMITS, "tags", "x"]), max_size=6)):
        value = draw(yaml_value)
        if anchors and draw(st.booleans()):
            value = "[" + ", ".join(f"*{a}" for a in draw(st.lists(st.sampled_from(anchors), min_size=1, max_size=9))) + "]"
        if draw(st.booleans()):
            anchors.append(f"a{len(anchors)}")
            value = f"&{anchors[-1]} {value}"
        lines.append(f"{key}: {value}")
    return "---\n" + "\n".join(lines) + "\n---\n" if lines or draw(st.booleans()) else ""


block = st.one_of(
    st.text(min_size=1, max_size=200).map(lambda t: t + "\n"),
    st.tuples(st.integers(1, 7), st.text(max_size=60)).map(lambda h: "#" * h[0] + " " + h[1] + "\n"),
    st.lists(st.text(max_size=60), min_size=1, max_size=5).map(lambda items: "".join(f"- {i}\n" for i in items)),
    st.sampled_from(["Give 1.5 mg/m2 on days 1-3.\n", "| a | b |\n|---|---|\n", "```\ncode\n```\n", "\n\n",
                     "<b>bold</b> <script>x()</script>\n"]),
)


@st.composite
def markdown_file(draw) -> bytes:
    text = draw(front_matter()) + "".join(draw(st.lists(block, max_size=12)))
    text *= draw(st.sampled_from([1, 1, 1, 40]))  # now and then a large file
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


html_file = st.lists(st.one_of(
    st.text(max_size=80),
    st.sampled_from(["<h1>T</h1>", "<h2>", "</h3>", "<title>", "</title>", "<script>alert(1)</script>",
                     "<style>p{}</style>", "<p>", "<li>", "<!--", "-->", "<![CDATA[", "&amp;", "&#0;", "&#x110000;"]),
), max_size=30).map(lambda parts: "".join(parts).encode("utf-8", errors="replace"))


def _read_one(tmp_path, name: str, raw: bytes):
    for p in tmp_path.iterdir():
        p.unlink()
    (tmp_path / "anchor.md").write_text("# Anchor\n\nA sentence that is always readable.\n")
    (tmp_path / name).write_bytes(raw)
    skipped = []
    tracemalloc.start()
    try:
        docs = read_corpus(tmp_path, on_skip=skipped.append)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return docs, skipped, peak


def _check_documents(docs, raw: bytes) -> None:
    for d in docs:
        assert len(d.text) + len(d.title) <= AMPLIFICATION * len(raw) + 1024, (len(raw), len(d.text), len(d.title))
        for value, field in ((d.title, "title"), (d.source, "source"), (d.date, "date"), (d.url, "url")):
            assert value is None or isinstance(value, str), (field, value)
        for s in d.sections:
            assert 0 <= s.start <= s.end <= len(d.text)
        units, raws = chunk(d)
        for u in units:
            assert 0 <= u.start < u.end <= len(d.text)
        for c in raws:
            assert 0 <= c.start < c.end <= len(d.text)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=markdown_file())
def test_any_markdown_file_is_read_or_skipped_within_bounds(tmp_path, raw):
    docs, skipped, peak = _read_one(tmp_path, "doc.md", raw)
    assert "anchor" in {d.doc_id for d in docs}
    assert all(s.reason and "\n" not in s.reason for s in skipped)
    assert peak <= MAX_PEAK_BYTES, peak
    _check_documents(docs, raw)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=html_file)
def test_any_html_file_is_read_or_skipped_within_bounds(tmp_path, raw):
    docs, skipped, peak = _read_one(tmp_path, "page.html", raw)
    assert peak <= MAX_PEAK_BYTES, peak
    _check_documents(docs, raw)


# -- questions ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz-idx") / "idx"
    build_index(CORPUS, out, FakeEmbedder())
    engine = Engine.load(out, FakeEmbedder())
    return TestClient(create_app(Settings(rate_limit_per_minute=0), engine=engine)), engine


# every code point, with the ones that broke something before drawn often: lone surrogates, line
# separators, fullwidth forms, a BOM, NUL
any_char = st.one_of(st.characters(exclude_categories=()), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
                     st.sampled_from(["\u2028", "\x85", "\ufeff", "\x00", "Ｆ", "３", "é", "文"]))


def any_text(max_size: int):
    """st.text() drops lone surrogates whatever its alphabet; joining characters keeps them."""
    return st.one_of(st.lists(any_char, max_size=max_size).map("".join),
                     st.text(max_size=max_size).map(lambda t: t + " dose"))  # with letters: reaches the answerer
json_value = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                    any_text(30)),
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                          max_leaves=10)
ask_body = st.one_of(
    st.fixed_dictionaries({"question": any_text(300)}),
    st.fixed_dictionaries({"question": any_text(80)},
                          optional={"top_k": json_value, "max_sentences": json_value, "mode": json_value,
                                    "filters": json_value, "extra": json_value}),
    json_value,
)


def _check_reply(r, engine) -> None:
    assert r.status_code in (200, 400, 413, 422), (r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    body = r.json()
    if r.status_code != 200:
        assert set(body) == {"error"} and {"code", "message", "request_id"} <= set(body["error"]), body
        return
    for c in body["citations"]:
        doc = engine.document(c["doc_id"])
        assert doc.text[c["start"]:c["end"]] == c["text"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ask_body)
def test_any_json_to_ask_is_answered_or_refused_in_the_error_shape(api, body):
    client, engine = api
    raw = json.dumps(body)  # ensure_ascii: a lone surrogate travels as its \\ud800 escape
    _check_reply(client.post("/v1/ask", content=raw, headers={"content-type": "application/json"}), engine)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc_id=any_text(40))
def test_any_document_id_is_found_or_a_clean_404(api, doc_id):
    client, _ = api
    r = client.get("/v1/documents/" + "".join(f"%{b:02X}" for b in doc_id.encode("utf-8", "surrogatepass")))
    assert r.status_code in (200, 404), (r.status_code, r.text[:200])
    assert "Traceback" not in r.text and ("error" in r.json() or "doc_id" in r.json())
