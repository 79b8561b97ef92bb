"""The chat widget in headless Chromium, embedded cross-origin from a real `qa serve`.

The API runs in a uvicorn subprocess on one port; the host page is served by http.server on
another (a different origin, allowed through QA_CORS_ORIGINS). Screenshots go to test-artifacts/.
Needs Debian's chromium at /usr/bin/chromium (scripts/setup.sh installs it); skipped without it.
"""

from __future__ import annotations

import functools
import json
import http.server
import threading
from pathlib import Path

import httpx
import pytest

from test_load_smoke import ROOT, RealServer
from conftest import BUNDLED_CALIBRATION

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FLT3 = "FLT3-ITD AML starting 7+3: what do I add, and on which days?"

pytestmark = [
    pytest.mark.slow, pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

# Host-page CSS that would wreck the widget if it could reach inside, and a control button that
# must keep the host's look (the widget's CSS must not leak out).
HOST_CSS = """
* { font-family: "Comic Sans MS", cursive !important; letter-spacing: 3px !important; }
button, div, section, p, textarea, mark { color: red !important; background: lime !important; display: none !important; }
#host-button { display: inline-block !important; font-size: 20px; }
"""


def host_page(api: str, attrs: str = "") -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Ward intranet</title>
<style>{HOST_CSS}</style></head>
<body><h1>Ward intranet</h1><a href="#top" id="first-link">Rotas</a>
<button id="host-button">Host button</button>
<script src="{api}/widget.js" data-endpoint="{api}" {attrs} defer></script>
</body></html>"""


class HostSite:
    """A static site on its own port: the page that embeds the widget."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("host-site")
    (folder / "favicon.ico").write_bytes(b"")
    s = HostSite(folder)
    s.folder = folder
    yield s
    s.close()


@pytest.fixture(scope="module")
def api(bundled_index, site, tmp_path_factory):
    with RealServer(bundled_index, tmp_path_factory.mktemp("logs"), cors_origins=site.origin,
                    rate_limit_per_minute=600, rate_limit_burst=100, calibration=BUNDLED_CALIBRATION) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = ctx.new_page()
    pg.problems = []
    pg.on("pageerror", lambda e: pg.problems.append(f"pageerror: {e}"))
    pg.on("console", lambda m: m.type == "error" and pg.problems.append(f"console: {m.text}"))
    yield pg
    ctx.close()


def write_host(site, name: str, api_url: str, attrs: str = "") -> str:
    (site.folder / name).write_text(host_page(api_url, attrs))
    return f"{site.origin}/{name}"


def shadow_eval(page, js: str):
    """Evaluate `js` (an expression using `root`, the widget's shadow root)."""
    return page.evaluate(f"() => {{ const root = document.querySelector('qa-widget').shadowRoot; return ({js}); }}")


def focused_class(page) -> str:
    return page.evaluate("""() => { const h = document.querySelector('qa-widget');
        const a = h && h.shadowRoot.activeElement; return a ? (a.className || a.tagName.toLowerCase()) : ''; }""")


def ask(page, question: str):
    """Type QUESTION, press Enter, wait for the reply (answer or error) to replace the loading state."""
    replies = "document.querySelector('qa-widget').shadowRoot.querySelectorAll('.msg.bot:not(.loading)').length"
    before = page.evaluate(f"() => {replies}")
    page.locator("qa-widget textarea").fill(question)
    page.locator("qa-widget textarea").press("Enter")
    # a function, not a bare expression: the demo page's CSP forbids eval
    page.wait_for_function(f"(n) => {replies} > n", arg=before, timeout=30_000)


# -- the main flow -----------------------------------------------------------------------------

def test_cross_origin_embed_answers_and_opens_a_citation(page, api, site):
    url = write_host(site, "index.html", api.url, 'data-title="Ask the guidelines" data-accent="#7a1fa2"')
    assert not url.startswith(api.url)  # a real cross-origin embed
    origins = []
    page.on("response", lambda r: "/v1/" in r.url and origins.append(r.headers.get("access-control-allow-origin")))
    page.goto(url)
    launcher = page.locator("qa-widget .launcher")
    launcher.wait_for()
    assert "Ask the guidelines" in launcher.inner_text()
    # the host's hostile CSS does not reach inside, and the widget's CSS does not leak out
    style = shadow_eval(page, """(() => { const s = getComputedStyle(root.querySelector('.launcher'));
        return {display: s.display, bg: s.backgroundColor, spacing: s.letterSpacing, font: s.fontFamily}; })()""")
    assert style["display"] == "flex" and style["bg"] == "rgb(122, 31, 162)"
    assert "Comic" not in style["font"] and style["spacing"] in ("normal", "0px")
    assert page.evaluate("getComputedStyle(document.getElementById('host-button')).letterSpacing") == "3px"

    launcher.click()
    assert focused_class(page) == "textarea" or "textarea" in focused_class(page)
    notice = page.locator("qa-widget .notice").inner_text()
    assert "quotes from the indexed sources" in notice and "clinical use" in notice
    page.locator("qa-widget textarea").fill(FLT3)
    # the loading state must show; an answer can now replace it within ~20 ms, faster than a
    # locator polls, so a MutationObserver records that it was put in the thread
    page.evaluate("""() => {
        window.__qaSawLoading = false;
        new MutationObserver(records => { for (const r of records) for (const n of r.addedNodes)
            if (n.classList && n.classList.contains('loading')) window.__qaSawLoading = true; })
          .observe(document.querySelector('qa-widget').shadowRoot, {childList: true, subtree: true});
    }""")
    page.locator("qa-widget textarea").press("Enter")
    answer = page.locator("qa-widget .msg.answer").last
    answer.wait_for(timeout=30_000)
    assert page.evaluate("window.__qaSawLoading"), "no loading state was shown before the answer"
    text = answer.inner_text()
    assert "midostaurin 50 mg orally twice daily" in text
    chips = answer.locator(".chip")
    assert chips.count() >= 1 and chips.first.inner_text() == "1"
    assert origins and all(o == site.origin for o in origins)
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "widget-answer.png"))
    live = shadow_eval(page, "root.querySelector('[aria-live]').textContent")
    assert "midostaurin" in live

    # the chip opens the cited sentence, highlighted in its passage, fetched by offsets
    d = httpx.post(api.url + "/v1/ask", json={"question": FLT3}).json()
    cit = next(c for c in d["citations"] if "midostaurin 50 mg orally twice daily" in c["text"])
    answer.locator(f'.chip[data-cite="{cit["id"]}"]').click()
    mark = page.locator("qa-widget .source mark")
    mark.wait_for(timeout=10_000)
    assert mark.inner_text() == cit["text"]
    assert mark.is_visible()
    assert cit["title"] in page.locator("qa-widget .source h3").inner_text()
    meta = page.locator("qa-widget .source .meta").inner_text()
    assert cit["section"] in meta and (cit["date"] or "No date") in meta
    passage = page.locator("qa-widget .source .passage").inner_text()
    assert len(passage) > len(cit["text"]) + 50  # context around the sentence
    page.screenshot(path=str(ARTIFACTS / "widget-citation.png"))
    assert not page.problems, page.problems
    assert '"status": 500' not in api.log()


def test_keyboard_only(page, api, site):
    page.goto(write_host(site, "keyboard.html", api.url))
    page.locator("qa-widget .launcher").wait_for()
    for _ in range(6):  # Tab from the top of the page to the launcher
        page.keyboard.press("Tab")
        if "launcher" in focused_class(page):
            break
    assert "launcher" in focused_class(page)
    ring = shadow_eval(page, "getComputedStyle(root.activeElement).outlineStyle")
    assert ring not in ("none", ""), "focus ring must be visible"
    page.keyboard.press("Enter")
    assert focused_class(page) == "textarea"
    assert shadow_eval(page, "root.querySelector('.launcher').getAttribute('aria-expanded')") == "true"
    page.keyboard.type("IT methotrexate dose for a 2 year old?")
    page.keyboard.press("Enter")
    page.locator("qa-widget .msg.answer").wait_for(timeout=30_000)
    assert "2 years = 10 mg" in page.locator("qa-widget .msg.answer").inner_text()
    assert focused_class(page) == "textarea"  # ready for the next question
    page.keyboard.press("Shift+Tab")  # back onto the feedback buttons, then the last citation chip
    assert "fb down" in focused_class(page)
    for _ in range(4):
        page.keyboard.press("Shift+Tab")
        if "chip" in focused_class(page):
            break
    assert "chip" in focused_class(page)
    chip = shadow_eval(page, "root.activeElement.dataset.cite")
    ring = shadow_eval(page, "getComputedStyle(root.activeElement).outlineStyle")
    assert ring not in ("none", "")
    page.keyboard.press("Enter")
    page.locator("qa-widget .source mark").wait_for(timeout=10_000)
    assert focused_class(page) == "h3" or shadow_eval(page, "root.activeElement.tagName") == "H3"
    page.screenshot(path=str(ARTIFACTS / "widget-keyboard-source.png"))
    page.keyboard.press("Escape")  # closes the source view, focus back on the chip
    assert shadow_eval(page, "root.querySelector('.source').hidden")
    assert "chip" in focused_class(page) and shadow_eval(page, "root.activeElement.dataset.cite") == chip
    page.keyboard.press("Escape")  # closes the panel, focus back on the launcher
    assert shadow_eval(page, "root.querySelector('.panel').hidden")
    assert "launcher" in focused_class(page)
    assert not page.problems, page.problems


def test_the_widget_shows_how_a_misspelled_question_was_read(page, api, site):
    page.goto(write_host(site, "read-as.html", api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    ask(page, "midostaurn days with 7+3?")
    read_as = page.locator("qa-widget .msg.answer .read-as").last
    assert read_as.inner_text() == "Read as: midostaurn \u2192 midostaurin"
    assert not page.problems, page.problems


def test_abstains_plainly_and_lists_closest_passages(page, api, site):
    page.goto(write_host(site, "abstain.html", api.url, 'data-open="true" data-position="bottom-left"'))
    page.locator("qa-widget .panel").wait_for()
    box = page.locator("qa-widget .launcher").bounding_box()
    assert box["x"] < 640  # bottom-left
    ask(page, "warfarin reversal before surgery")
    msg = page.locator("qa-widget .msg.answer.abstained")
    assert "The indexed sources do not answer this question." in msg.inner_text()
    items = msg.locator(".passages li")
    assert items.count() >= 1
    items.first.locator("button").click()
    page.locator("qa-widget .source mark").wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "widget-abstained.png"))
    assert not page.problems, page.problems


def test_phone_sized_viewport(browser, api, site):
    ctx = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True,
                              device_scale_factor=2)
    page = ctx.new_page()
    try:
        page.goto(write_host(site, "phone.html", api.url))
        page.locator("qa-widget .launcher").tap()
        panel = page.locator("qa-widget .panel")
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0 and box["width"] <= 375 and box["height"] <= 667
        assert box["width"] >= 360  # uses the whole width
        ask(page, "leukapheresis ok in suspected APL?")
        assert "leukapheresis" in page.locator("qa-widget .msg.answer").inner_text().lower()
        send = page.locator("qa-widget .send").bounding_box()
        assert send["height"] >= 44 and send["x"] + send["width"] <= 375
        page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
        page.locator("qa-widget .close").tap()
        assert page.locator("qa-widget .launcher").is_visible()
    finally:
        ctx.close()


def test_demo_page_runs_under_its_strict_csp(page, api):
    violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    page.goto(api.url + "/")
    page.evaluate("document.addEventListener('securitypolicyviolation', e => (window.__csp = (window.__csp || []).concat(e.violatedDirective)))")
    assert page.locator("qa-widget .panel").is_hidden()  # the demo no longer opens over its own text
    assert page.locator("a[href='/docs']").count() == 0  # Swagger UI needs a CDN: a blank page offline
    page.locator("qa-widget .launcher").click()
    page.locator("qa-widget .panel").wait_for()
    ask(page, "how often is KMT2A rearranged in infant ALL")
    assert "80%" in page.locator("qa-widget .msg.answer").inner_text()
    assert not violations and not page.evaluate("window.__csp"), violations
    assert not page.problems, page.problems


# -- untrusted corpus text -----------------------------------------------------------------------

HOSTILE = """---
title: "Zanubrutinib <b>handbook</b>"
source: "Untrusted test source"
date: "2024-05-01"
url: "javascript:window.__xss=1"
---

# Zanubrutinib handbook

## Dosing

The usual zanubrutinib dose is 160 mg twice daily <script>window.__xss=1</script> with or without food.

Zanubrutinib tablets are swallowed whole with water <img src=x onerror="window.__xss=1"> and never chewed.

## Storage

Store zanubrutinib capsules at room temperature <svg onload="window.__xss=1"> away from moisture.

## Interactions

Check zanubrutinib interactions in the [zanubrutinib label](javascript:window.__xss=1) before starting strong CYP3A inhibitors.
"""
SAFE = """---
title: "Acalabrutinib notes"
date: "2023-01-01"
url: "https://example.org/acalabrutinib"
---

# Acalabrutinib notes

Acalabrutinib is taken at 100 mg every 12 hours for chronic lymphocytic leukemia.
"""
# URLs a hostile corpus may give a document (issue 14): each must show no link at all
HOSTILE_URLS = {
    "ibrutinib": "JaVaScRiPt:window.__xss=1",
    "venetoclax": " javascript:window.__xss=1",
    "obinutuzumab": "data:text/html,<script>window.__xss=1</script>",
    "rituximab": "//evil.example/x",
    "idelalisib": "vbscript:msgbox(1)",
}
PAYLOADS = {
    "What is the zanubrutinib dose?": "<script>window.__xss=1</script>",
    "how should zanubrutinib tablets be swallowed?": '<img src=x onerror="window.__xss=1">',
    "how to store zanubrutinib": '<svg onload="window.__xss=1">',
    "zanubrutinib interactions label CYP3A": "[zanubrutinib label](javascript:window.__xss=1)",
}


@pytest.fixture(scope="module")
def xss_api(real_embedder, site, tmp_path_factory):
    from qa.index.build import build_index

    corpus = tmp_path_factory.mktemp("xss-corpus")
    (corpus / "hostile.md").write_text(HOSTILE)
    (corpus / "safe.md").write_text(SAFE)
    for drug, url in HOSTILE_URLS.items():
        (corpus / f"{drug}.md").write_text(f"---\ntitle: {drug.title()} notes\nurl: {json.dumps(url)}\n---\n\n"
                                           f"# {drug.title()} notes\n\n{drug.title()} is given as directed by the "
                                           f"{drug} label for lymphoma.\n")
    out = tmp_path_factory.mktemp("xss-idx") / "idx"
    build_index(corpus, out, real_embedder)
    with RealServer(out, tmp_path_factory.mktemp("logs"), cors_origins=site.origin, rate_limit_per_minute=0) as s:
        yield s


def test_corpus_markup_is_shown_as_text_and_never_runs(page, xss_api, site):
    page.goto(write_host(site, "xss.html", xss_api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    for question, payload in PAYLOADS.items():
        ask(page, question)
        answer = page.locator("qa-widget .msg.answer").last
        assert payload in answer.inner_text(), (question, answer.inner_text())
        answer.locator(".chip").first.click()  # the source view renders the whole passage too
        page.locator("qa-widget .source mark").wait_for(timeout=10_000)
        assert payload in page.locator("qa-widget .source .passage").inner_text()
        assert "Zanubrutinib <b>handbook</b>" in page.locator("qa-widget .source h3").inner_text()
        # javascript: URL from the document metadata: no link at all
        assert page.locator("qa-widget .source a").count() == 0
        page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "widget-xss.png"))
    assert page.evaluate("typeof window.__xss") == "undefined"
    found = shadow_eval(page, "root.querySelectorAll('script, img, svg, iframe, object, embed, b, [onerror], [onload]').length")
    assert found == 0
    assert shadow_eval(page, "[...root.querySelectorAll('a')].filter(a => !/^https?:/.test(a.href)).length") == 0
    assert page.evaluate("document.querySelectorAll('body img, body svg').length") == 0
    assert not page.problems, page.problems


def test_source_links_are_http_only_and_noopener(page, xss_api, site):
    page.goto(write_host(site, "links.html", xss_api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    # well above the general threshold (raw ~3.1): "acalabrutinib dose" sat on it (1.354 against
    # 1.354 with torch question vectors, 1.305 with int8 ONNX ones), and this test is about links
    ask(page, "How often is acalabrutinib taken for chronic lymphocytic leukemia?")
    page.locator("qa-widget .msg.answer .chip").first.click()
    link = page.locator("qa-widget .source a.source-link")
    link.wait_for(timeout=10_000)
    assert link.get_attribute("href") == "https://example.org/acalabrutinib"
    assert link.get_attribute("rel") == "noopener noreferrer" and link.get_attribute("target") == "_blank"


def test_hostile_source_urls_never_become_links(page, xss_api, site):
    page.goto(write_host(site, "urls.html", xss_api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    for drug in HOSTILE_URLS:
        ask(page, f"how is {drug} given for lymphoma")
        page.locator("qa-widget .msg.answer >> nth=-1 >> .chip").first.click()
        page.locator("qa-widget .source mark").wait_for(timeout=10_000)
        assert f"{drug.title()} notes" in page.locator("qa-widget .source h3").inner_text()
        assert page.locator("qa-widget .source a").count() == 0, drug
        page.keyboard.press("Escape")
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert not page.problems, page.problems


def test_screenshot_for_readme_exists():
    """docs/widget.png (committed) shows the widget answering a question."""
    png = ROOT / "docs" / "widget.png"
    if not png.exists() and (ARTIFACTS / "widget-answer.png").exists():
        pytest.skip("copy test-artifacts/widget-answer.png to docs/widget.png")
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"



# -- after a hot reload: the source view never shows another index's text as the citation -----------

V1 = {"adrenaline.md": "# Anaphylaxis\n\nGive adrenaline 0.5 mg IM into the outer thigh. Repeat it after 5 minutes.\n",
      "aspirin.md": "# Chest pain\n\nGive aspirin 300 mg chewed for suspected myocardial infarction.\n"}


def _serve_corpus(folder: Path, out: Path, files: dict[str, str], embedder) -> None:
    from qa.index.build import build_index

    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    build_index(folder, out, embedder)


def _ask(page, question: str):
    n = page.locator("qa-widget .msg.answer").count()
    page.locator("qa-widget textarea").fill(question)
    page.locator("qa-widget textarea").press("Enter")
    page.wait_for_function(f"() => document.querySelector('qa-widget').shadowRoot"
                           f".querySelectorAll('.msg.answer').length > {n}", timeout=30_000)
    return page.locator("qa-widget .msg.answer").last


def test_sources_after_a_reload_come_from_the_answering_index(page, site, tmp_path, real_embedder):
    import json as _json

    from qa.query.answer_model import load_model

    corpus, out = tmp_path / "corpus", tmp_path / "served"
    _serve_corpus(corpus, out, V1, real_embedder)
    cal = tmp_path / "cal.json"  # answer everything: this test is about the source view, not abstention
    cal.write_text(_json.dumps({"threshold": -99.0, "a": 1.0, "b": 0.0, "model_sha": load_model().sha256}))
    token = "reload-token-for-the-browser-test"
    with RealServer(out, tmp_path, cors_origins=site.origin, admin_token=token, calibration=cal,
                    rate_limit_per_minute=600, rate_limit_burst=100) as api:
        page.goto(write_host(site, "reload.html", api.url))
        page.locator("qa-widget .launcher").click()
        mark, passage = page.locator("qa-widget .source mark"), page.locator("qa-widget .source .passage")

        first = _ask(page, "adrenaline dose IM")
        first.locator(".chip").first.click()
        mark.wait_for(timeout=10_000)
        assert mark.inner_text().startswith("Give adrenaline 0.5 mg")  # the document is now cached
        back = page.locator("qa-widget .source .back")
        back.click()

        def reload_to(files):
            _serve_corpus(corpus, out, files, real_embedder)
            r = httpx.post(api.url + "/v1/admin/reload", headers={"authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.json()["changed"], r.text

        # 1. same document, new text before the cited sentence: its offsets moved
        v2 = dict(V1, **{"adrenaline.md": V1["adrenaline.md"].replace("Give", "Call for help first. Give")})
        reload_to(v2)
        second = _ask(page, "adrenaline dose IM")
        second.locator(".chip").first.click()
        page.wait_for_function("() => document.querySelector('qa-widget').shadowRoot"
                               ".querySelector('.source .passage').textContent.includes('Call for help first')",
                               timeout=10_000)  # fetched again for the new index, not the cached old text
        assert mark.inner_text().startswith("Give adrenaline 0.5 mg")
        back.click()

        # 2. an answer from the previous index whose sentence the new index no longer holds
        old_answer = _ask(page, "aspirin dose chest pain")
        assert "300 mg" in old_answer.inner_text()
        reload_to(dict(v2, **{"aspirin.md": V1["aspirin.md"].replace("300 mg", "150 mg")}))
        old_answer.locator(".chip").first.click()
        page.wait_for_function("() => document.querySelector('qa-widget').shadowRoot"
                               ".querySelector('.source .passage').textContent.includes('has changed')",
                               timeout=10_000)
        assert "300 mg" in mark.inner_text() and "150 mg" not in passage.inner_text()  # the quote, never a guess
    assert not page.problems, page.problems


# -- document ids are data, not paths (issue 14) ----------------------------------------------------

# id -> (title, text, a question that cites it). `a/b/../c` and `a/c` are different documents: a
# widget that puts the id in a URL path has the browser resolve the first to the second.
ODD_DOCS = {
    "a/b/../c": ("Imatinib dosing", "Imatinib is taken at 400 mg once daily with food. "
                 "Check the blood count every week at first.", "imatinib dose"),
    "a/c": ("Dasatinib dosing", "Dasatinib is taken at 100 mg once daily. Watch for pleural effusion.",
            "dasatinib dose"),
    "./x": ("Hydroxyurea notes", "Hydroxyurea lowers a very high white cell count before induction. "
            "Give it with allopurinol.", "what does hydroxyurea do before induction"),
    "..": ("Rasburicase notes", "Rasburicase clears uric acid in tumour lysis syndrome. "
           "Avoid it in G6PD deficiency.", "rasburicase in tumour lysis syndrome"),
    "100%": ("Vincristine notes", "Vincristine is never given intrathecally because that route is fatal. "
             "Give it intravenously only.", "can vincristine be given intrathecally"),
    "q?x=1": ("Pegaspargase notes", "Pegaspargase can cause pancreatitis and thrombosis. "
              "Check fibrinogen during treatment.", "pegaspargase pancreatitis"),
    "h#frag": ("Tretinoin notes", "Tretinoin is started at once when promyelocytic leukemia is suspected. "
               "Do not wait for genetic confirmation.", "when to start tretinoin"),
    "x+y&z=1": ("Filgrastim notes", "Filgrastim shortens neutropenia after chemotherapy. "
                "It is given by subcutaneous injection.", "filgrastim neutropenia"),
    "with space": ("Mesna notes", "Mesna protects the bladder during ifosfamide treatment. "
                   "Give it with every ifosfamide dose.", "mesna ifosfamide bladder"),
    "naïve/ü文": ("Blinatumomab notes", "Blinatumomab causes cytokine release syndrome in some patients. "
                 "Start it in hospital.", "blinatumomab cytokine release syndrome"),
    # an id is text in the page too: markup in it must show as text and never run
    '<img src=x onerror="window.__xss=1">': ("Allopurinol notes", "Allopurinol prevents urate nephropathy. "
                                              "Start it before chemotherapy.", "allopurinol urate nephropathy"),
}


@pytest.fixture(scope="module")
def odd_ids_api(real_embedder, site, tmp_path_factory):
    import json as _json

    from qa.index.build import build_index
    from qa.query.answer_model import load_model

    corpus = tmp_path_factory.mktemp("odd-ids-corpus")
    (corpus / "corpus.jsonl").write_text("".join(_json.dumps({"_id": i, "title": t, "text": x}) + "\n"
                                                 for i, (t, x, _) in ODD_DOCS.items()))
    out = tmp_path_factory.mktemp("odd-ids-idx") / "idx"
    build_index(corpus, out, real_embedder)
    cal = corpus / "cal.json"  # answer everything: this test is about the source view, not abstention
    cal.write_text(_json.dumps({"threshold": -99.0, "a": 1.0, "b": 0.0, "model_sha": load_model().sha256}))
    with RealServer(out, tmp_path_factory.mktemp("logs"), cors_origins=site.origin, calibration=cal,
                    rate_limit_per_minute=0) as s:
        yield s


def _cite_in_widget(page, question: str, doc_id: str) -> dict:
    """Ask in the widget; the citation of DOC_ID from the widget's own /v1/ask reply."""
    with page.expect_response(lambda r: r.url.endswith("/v1/ask") and r.request.method == "POST") as reply:
        ask(page, question)
    cites = reply.value.json()["citations"]
    cit = next((c for c in cites if c["doc_id"] == doc_id), None)
    assert cit, (question, doc_id, [c["doc_id"] for c in cites])
    return cit


def test_source_view_shows_the_cited_document_for_ids_that_look_like_paths(page, odd_ids_api, site):
    page.goto(write_host(site, "odd-ids.html", odd_ids_api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    title, mark = page.locator("qa-widget .source h3"), page.locator("qa-widget .source mark")
    passage = page.locator("qa-widget .source .passage")
    seen, want = {}, {}
    for doc_id, (doc_title, text, question) in ODD_DOCS.items():
        cit = _cite_in_widget(page, question, doc_id)
        page.locator(f'qa-widget .msg.answer >> nth=-1 >> .chip[data-cite="{cit["id"]}"]').click()
        # wait for the fetch to settle, not just for a mark: the error view marks the quote too
        page.wait_for_function("() => { const p = document.querySelector('qa-widget').shadowRoot"
                               ".querySelector('.source .passage').textContent; return !p.startsWith('Loading'); }",
                               timeout=10_000)
        # the document's own title and whole text, not another document, an error, or a quote-only
        # view; the highlight is the cited sentence
        seen[doc_id] = (title.inner_text(), passage.inner_text().strip(), mark.inner_text())
        want[doc_id] = (doc_title, text, cit["text"])
        page.keyboard.press("Escape")
    assert seen == want
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert not page.problems, page.problems


def test_a_question_over_the_limit_keeps_its_text_and_shows_a_counter(page, api, site):
    page.goto(write_host(site, "limit.html", api.url, 'data-open="true" data-max-chars="40"'))
    page.locator("qa-widget .panel").wait_for()
    long_q = "What is the intrathecal methotrexate dose for a two year old child?"
    page.locator("qa-widget textarea").fill(long_q)
    page.locator("qa-widget textarea").press("Enter")
    assert page.locator("qa-widget textarea").input_value() == long_q  # nothing typed is lost
    counter = page.locator("qa-widget .counter")
    assert counter.inner_text().startswith(f"{len(long_q)} / 40") and "over" in counter.get_attribute("class")
    assert page.locator("qa-widget .msg.user").count() == 0  # not sent
    assert not page.problems, page.problems


def open_and_ask(page, api, site, name: str, last: str) -> None:
    """An open panel with a thread long enough to scroll: two answers, then ``last``."""
    page.goto(write_host(site, name, api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    for q in ("FLT3-ITD AML going into 7+3: what do I add?", "IT methotrexate dose by age?", last):
        ask(page, q)


def test_each_answer_is_shown_from_its_start(page, api, site):
    open_and_ask(page, api, site, "scroll.html", "warfarin reversal before surgery")
    top = page.evaluate("""() => { const r = document.querySelector('qa-widget').shadowRoot;
        const t = r.querySelector('.thread'), m = r.querySelectorAll('.msg.bot');
        return m[m.length - 1].getBoundingClientRect().top - t.getBoundingClientRect().top; }""")
    assert 0 <= top <= 20, top  # the last answer's first line (here a refusal's headline) is in view
    assert not page.problems, page.problems


def test_opening_a_citation_never_scrolls_the_panel_itself(page, api, site):
    open_and_ask(page, api, site, "panel-scroll.html", "how often is KMT2A rearranged in infant ALL")
    page.evaluate("() => { document.querySelector('qa-widget').shadowRoot.querySelector('.thread').scrollTop = 0; }")
    page.locator("qa-widget .msg.answer .chip").first.click()
    page.locator("qa-widget .source mark").wait_for(timeout=10_000)
    page.keyboard.press("Escape")  # back to the thread
    state = page.evaluate("""() => { const r = document.querySelector('qa-widget').shadowRoot;
        const p = r.querySelector('.panel'), h = r.querySelector('header');
        return [p.scrollTop, h.getBoundingClientRect().top - p.getBoundingClientRect().top]; }""")
    assert state[0] == 0 and 0 <= state[1] <= 2, state  # the title bar and its close button stay in place
    assert not page.problems, page.problems


def test_the_sources_own_reference_numbers_are_shown_as_its_references(page, api, site):
    """Issue 16 parts 2 and 6: "...to the standard 7+3 regimen 4, 5" keeps the source's numbers in
    the sentence, styled apart from qa's chips, with the source's reference list entries below."""
    page.goto(write_host(site, "source-refs.html", api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    ask(page, FLT3)
    answer = page.locator("qa-widget .msg.answer").last
    sentence = answer.locator(".sentence", has_text="midostaurin 50 mg orally twice daily").first
    marker = sentence.locator(".srcref")
    assert marker.inner_text() == "4, 5"
    assert sentence.inner_text().replace("\n", "").startswith("For FLT3-mutated AML, add midostaurin")
    chip_style = shadow_eval(page, "getComputedStyle(root.querySelector('.chip')).borderStyle")
    marker_style = shadow_eval(page, "getComputedStyle(root.querySelector('.srcref')).verticalAlign")
    assert chip_style == "solid" and marker_style == "super"  # the source's numbers never look like qa's
    items = answer.locator(".srcrefs li").all_inner_texts()
    assert items[0].startswith("Source\u2019s reference 4: Guideline") and "Acute Myeloid Leukemia" in items[0]
    assert items[1] == "Source\u2019s reference 5: cited by the source, not in its reference list"
    page.screenshot(path=str(ARTIFACTS / "widget-source-refs.png"))
    assert not page.problems, page.problems


def test_a_follow_up_is_asked_with_the_threads_questions(page, api, site):
    """Issue 16 part 5: the widget sends the thread's earlier questions; the answer says how the
    follow-up was searched."""
    page.goto(write_host(site, "follow-up.html", api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    sent = []
    page.on("request", lambda r: r.url.endswith("/v1/ask") and r.method == "POST" and sent.append(r.post_data_json))
    ask(page, "AML with FLT3-ITD: induction?")
    ask(page, "and the midostaurin days?")
    assert sent[0]["history"] == [] and sent[1]["history"] == ["AML with FLT3-ITD: induction?"]
    last = page.locator("qa-widget .msg.answer").last
    resolved = last.locator(".resolved").inner_text()
    assert resolved.startswith("Searched with the earlier question: \u201cand the midostaurin days? ") and "FLT3-ITD" in resolved
    assert "days 8-21" in last.locator(".sentence").first.inner_text()
    assert page.locator("qa-widget .msg.answer").first.locator(".resolved").count() == 0  # the first stood alone
    assert not page.problems, page.problems


def test_a_reader_rates_an_answer_and_the_store_keeps_it(page, api, site):
    """Issue 16 part 4: "Not helpful" opens an optional comment; sending it records the rating
    against the answer's id in the server's feedback store (a real SQLite file)."""
    import os
    import sqlite3

    page.goto(write_host(site, "feedback.html", api.url, 'data-open="true"'))
    page.locator("qa-widget .panel").wait_for()
    answers = []
    page.on("response", lambda r: r.url.endswith("/v1/ask") and r.status == 200 and answers.append(r.json()))
    ask(page, FLT3)
    box = page.locator("qa-widget .msg.answer").last
    box.locator(".fb.down").click()
    box.locator(".fb-comment input").fill("wanted the consolidation days too")
    box.locator(".fb-comment button").click()
    status = box.locator(".fb-status")
    page.wait_for_function("() => document.querySelector('qa-widget').shadowRoot"
                           ".querySelector('.fb-status').textContent.startsWith('Thank you')", timeout=10_000)
    assert box.locator(".fb.down").get_attribute("aria-pressed") == "true" and box.locator(".fb.up").is_disabled()
    assert status.inner_text() == "Thank you: your feedback was recorded."
    with sqlite3.connect(os.environ["QA_FEEDBACK_DB"]) as db:
        row = db.execute("SELECT rating, comment FROM feedback WHERE answer_id = ?", (answers[-1]["answer_id"],)).fetchone()
    assert row == ("down", "wanted the consolidation days too")
    assert not page.problems, page.problems


def test_sources_that_disagree_are_shown_with_a_notice(page, site, tmp_path, real_embedder):
    """Issue 16 part 3: two sources give different daunorubicin doses; the widget quotes both and
    says "Sources differ" above them, never one value alone."""
    import json as _json

    from qa.query.answer_model import load_model

    corpus, out = tmp_path / "corpus", tmp_path / "served"
    _serve_corpus(corpus, out, {
        "a.md": "# Induction\n\nGive daunorubicin 60 mg/m2 IV on days 1-3 with cytarabine for induction.\n",
        "b.md": "# AML induction\n\nGive daunorubicin 90 mg/m2 IV on days 1-3 with cytarabine for induction.\n"},
        real_embedder)
    cal = tmp_path / "cal.json"  # answer everything: this test is about the notice, not abstention
    cal.write_text(_json.dumps({"threshold": -99.0, "a": 1.0, "b": 0.0, "model_sha": load_model().sha256}))
    with RealServer(out, tmp_path, cors_origins=site.origin, calibration=cal, rate_limit_per_minute=600,
                    rate_limit_burst=100) as api:
        page.goto(write_host(site, "conflict.html", api.url, 'data-open="true"'))
        page.locator("qa-widget .panel").wait_for()
        ask(page, "daunorubicin dose for induction?")
        box = page.locator("qa-widget .msg.answer").last
        notice = box.locator(".conflict").inner_text()
        assert notice.startswith("Sources differ on daunorubicin dose: ") and notice.endswith("; see [1] and [2].")
        assert "60 mg/m2" in notice and "90 mg/m2" in notice
        sentences = box.locator(".sentence").all_inner_texts()
        assert any("60 mg/m2" in t for t in sentences) and any("90 mg/m2" in t for t in sentences)
        page.screenshot(path=str(ARTIFACTS / "widget-conflict.png"))
    assert not page.problems, page.problems
