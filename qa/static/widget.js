/*!
 * qa chat widget: answers clinical questions with sentences quoted verbatim from indexed sources.
 *
 * Embed with one tag (nothing else is needed):
 *   <script src="https://qa.example.org/widget.js" data-endpoint="https://qa.example.org" defer></script>
 * Optional: data-title, data-placeholder, data-accent (a CSS colour), data-position
 * ("bottom-right" | "bottom-left"), data-open ("true" opens the panel on load), data-max-chars
 * (the server's QA_MAX_QUESTION_CHARS when a site changes it; 1000 by default).
 *
 * Plain JS, no build step. It lives in a shadow root, so the host page's CSS cannot reach it and
 * its CSS cannot leak out. Corpus text is untrusted: it is only ever inserted with textContent or
 * as created text nodes, never as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src)) return all[i];
    }
    return null;
  })();
  if (!script || document.querySelector("qa-widget")) return;

  var data = script.dataset || {};
  var scriptUrl = new URL(script.src, document.baseURI);
  var endpoint = new URL(data.endpoint || scriptUrl.origin, scriptUrl).href.replace(/\/+$/, "");
  var TITLE = data.title || "Ask the clinical sources";
  var PLACEHOLDER = data.placeholder || "Type a clinical question";
  var POSITION = data.position === "bottom-left" ? "left" : "right";
  var ACCENT = "#0b5cad";
  if (data.accent && window.CSS && CSS.supports && CSS.supports("color", data.accent)) ACCENT = data.accent;
  var OPEN_ON_LOAD = /^(true|1|yes|open)$/i.test(data.open || "");
  var NOTICE = "Answers are quotes from the indexed sources; check them before clinical use.";
  var CONTEXT_CHARS = 700;
  // the server's QA_MAX_QUESTION_CHARS (default 1000); a site that changes it says so here
  var MAX_CHARS = Math.max(1, parseInt(data.maxChars, 10) || 1000);

  var CSS_TEXT = [
    ":host{all:initial;}",
    // all:initial first: inherited host-page styles (letter-spacing, line-height, ...) stop here
    ".root{all:initial;--qa-accent:" + ACCENT + ";display:block;position:fixed;bottom:20px;z-index:2147483000;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;}",
    ".root.right{right:20px;}.root.left{left:20px;}",
    "*,*::before,*::after{box-sizing:border-box;}",
    "button,textarea,a{font:inherit;}",
    ":focus-visible{outline:3px solid var(--qa-accent);outline-offset:2px;}",
    "textarea:focus-visible{outline-offset:0;}",
    ".sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0;}",
    ".launcher{display:flex;align-items:center;gap:8px;border:0;border-radius:999px;padding:12px 18px;background:var(--qa-accent);color:#fff;font-weight:600;cursor:pointer;box-shadow:0 4px 16px rgba(0,0,0,.25);}",
    ".launcher:focus-visible{outline-color:#1b1f24;outline-offset:3px;}",
    ".launcher .icon{font-size:18px;line-height:1;}",
    ".panel{position:fixed;bottom:84px;width:400px;max-width:calc(100vw - 24px);height:600px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;border:1px solid #c9d1d9;border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.25);overflow:hidden;}",
    ".root.right .panel{right:20px;}.root.left .panel{left:20px;}",
    ".panel[hidden],.source[hidden],[hidden]{display:none!important;}",
    "header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:var(--qa-accent);color:#fff;}",
    "h2{flex:1;margin:0;font-size:16px;font-weight:650;}",
    ".icon-btn{border:0;background:transparent;color:inherit;cursor:pointer;font-size:20px;line-height:1;padding:4px 8px;border-radius:6px;}",
    "header .icon-btn:focus-visible{outline-color:#fff;outline-offset:0;}",
    ".notice{margin:0;padding:6px 12px;font-size:12.5px;background:#fff7e0;color:#4d3b00;border-bottom:1px solid #eadca8;}",
    ".body{position:relative;flex:1;min-height:0;display:flex;flex-direction:column;}",
    ".thread{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;}",
    ".empty{color:#57606a;font-size:14px;margin:auto 0;text-align:center;}",
    ".msg{max-width:100%;border-radius:10px;padding:8px 10px;overflow-wrap:anywhere;}",
    ".msg.user{align-self:flex-end;max-width:85%;background:#e7eef7;white-space:pre-wrap;}",
    ".msg.bot{align-self:stretch;background:#f6f8fa;border:1px solid #d8dee4;}",
    ".msg.error{background:#fff0f0;border:1px solid #f3b9b9;color:#7a1010;}",
    ".msg.loading{color:#57606a;font-style:italic;}",
    ".sentence{margin:0 0 6px;}",
    ".chip{display:inline-flex;align-items:center;justify-content:center;min-width:24px;height:22px;margin-left:4px;padding:0 6px;border:1px solid var(--qa-accent);border-radius:11px;background:#fff;color:var(--qa-accent);font-size:12.5px;font-weight:700;cursor:pointer;vertical-align:baseline;}",
    ".chip:hover{background:var(--qa-accent);color:#fff;}",
    ".srcref{font-size:11px;color:#57606a;vertical-align:super;line-height:0;padding:0 1px;border-bottom:1px dotted #8c959f;cursor:help;}",
    ".srcrefs{margin:-2px 0 8px 10px;padding:0;list-style:none;font-size:12px;color:#57606a;}",
    ".srcrefs li{margin:1px 0;}.srcrefs a{color:inherit;}",
    ".conflict{margin:0 0 8px;padding:6px 8px;border-left:3px solid #b35900;background:#fff4e5;color:#4d2600;font-size:13px;font-weight:600;}",
    ".feedback{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin:6px 0 0;font-size:12.5px;color:#57606a;}",
    ".fb{border:1px solid #c9d1d9;background:#fff;border-radius:12px;padding:2px 10px;font-size:12.5px;cursor:pointer;color:#1b1f24;}",
    ".fb[aria-pressed=true]{border-color:var(--qa-accent);color:var(--qa-accent);font-weight:650;}",
    ".fb:disabled{cursor:default;}",
    ".fb-comment{display:flex;gap:6px;width:100%;}.fb-comment input{flex:1;min-width:0;padding:4px 8px;border:1px solid #8c959f;border-radius:6px;font-size:13px;}",
    ".sources{margin:6px 0 0;padding:0;list-style:none;font-size:12.5px;color:#57606a;}",
    ".sources li{margin:2px 0;}",
    ".meta{font-size:12.5px;color:#57606a;margin:4px 0 0;}",
    ".abstain{margin:0 0 6px;font-weight:650;}",
    ".passages{margin:4px 0 0;padding-left:20px;}",
    ".passages li{margin:0 0 8px;}",
    ".link-btn{border:0;background:none;padding:0;color:var(--qa-accent);text-decoration:underline;cursor:pointer;text-align:left;}",
    ".quote{display:block;margin:2px 0 0;color:#3d444d;font-size:13.5px;}",
    ".source{position:absolute;inset:0;background:#fff;display:flex;flex-direction:column;}",
    ".source-head{display:flex;align-items:flex-start;gap:6px;padding:10px 12px;border-bottom:1px solid #d8dee4;}",
    ".source-head .titles{flex:1;min-width:0;}",
    "h3{margin:0;font-size:15px;}",
    ".back{border:1px solid #c9d1d9;background:#fff;border-radius:6px;padding:3px 8px;cursor:pointer;font-size:13px;}",
    ".source-link{display:inline-block;margin-top:4px;font-size:13px;color:var(--qa-accent);}",
    ".passage{flex:1;overflow-y:auto;margin:0;padding:12px;white-space:pre-line;font-size:14px;overflow-wrap:anywhere;}",
    "mark{background:#ffe27a;color:#1b1f24;padding:0 1px;border-radius:2px;}",
    "form.ask{position:relative;display:flex;gap:8px;padding:10px 12px 14px;border-top:1px solid #d8dee4;background:#fff;}",
    ".counter{position:absolute;right:14px;bottom:2px;font-size:11px;color:#57606a;}.counter.over{color:#a40e26;font-weight:600;}",
    "textarea{flex:1;resize:none;min-height:44px;max-height:120px;padding:8px 10px;border:1px solid #8c959f;border-radius:8px;font-size:16px;color:#1b1f24;background:#fff;}",
    ".send{border:0;border-radius:8px;padding:0 16px;background:var(--qa-accent);color:#fff;font-weight:600;cursor:pointer;min-height:44px;}",
    ".send:disabled{opacity:.6;cursor:default;}",
    "@media (max-width:520px){.root{bottom:12px;}.root.right{right:12px;}.root.left{left:12px;}",
    ".panel{position:fixed;top:0;left:0!important;right:0!important;bottom:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0;border:0;}",
    ".root.open .launcher{display:none;}}",
    "@media (prefers-reduced-motion:no-preference){.msg.loading::after{content:'';display:inline-block;width:1em;animation:qa-dots 1.2s steps(4,end) infinite;overflow:hidden;vertical-align:bottom;}}",
    "@keyframes qa-dots{from{width:0}to{width:1em}}"
  ].join("\n");

  // -- small DOM helpers: text only, never HTML ----------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null || attrs[k] === false) continue;
        if (k === "text") node.textContent = attrs[k];
        else if (k === "class") node.className = attrs[k];
        else node.setAttribute(k, attrs[k] === true ? "" : String(attrs[k]));
      }
    }
    (children || []).forEach(function (c) {
      if (c == null) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function safeUrl(url) {
    if (!url) return null;
    try {
      var u = new URL(String(url));
      return (u.protocol === "http:" || u.protocol === "https:") ? u.href : null;
    } catch (e) { return null; }
  }
  // Python counts code points, JS strings count UTF-16 units: convert offsets when the text has astral characters.
  function unitOffset(text, cp) {
    if (!/[\uD800-\uDFFF]/.test(text)) return cp;
    var i = 0, n = 0;
    while (i < text.length && n < cp) {
      var c = text.charCodeAt(i);
      i += (c >= 0xD800 && c <= 0xDBFF && i + 1 < text.length) ? 2 : 1;
      n++;
    }
    return i;
  }
  function label(title, section) { return section ? title + " \u203a " + section : title; }

  // -- build the widget ----------------------------------------------------------------------
  var host = document.createElement("qa-widget");
  var shadow = host.attachShadow({ mode: "open" });
  if (shadow.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.appendChild(el("style", { text: CSS_TEXT }));
  }

  var live = el("div", { class: "sr-only", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  var launcher = el("button", { type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": "qa-panel", "aria-haspopup": "dialog" },
    [el("span", { class: "icon", "aria-hidden": "true", text: "?" }), el("span", { text: TITLE })]);
  var closeBtn = el("button", { type: "button", class: "icon-btn close", "aria-label": "Close", title: "Close (Esc)", text: "\u00d7" });
  var thread = el("div", { class: "thread", "aria-label": "Questions and answers", role: "region", tabindex: "-1" },
    [el("p", { class: "empty", text: "Ask a question; the answer quotes the indexed sources, with numbered citations." })]);
  var sourceTitle = el("h3", { id: "qa-source-title", tabindex: "-1" });
  var sourceMeta = el("p", { class: "meta" });
  var sourceLinkWrap = el("div");
  var backBtn = el("button", { type: "button", class: "back", text: "\u2190 Back", "aria-label": "Back to the answer" });
  var passage = el("p", { class: "passage" });
  var source = el("section", { class: "source", role: "region", "aria-labelledby": "qa-source-title", hidden: true }, [
    el("div", { class: "source-head" }, [backBtn, el("div", { class: "titles" }, [sourceTitle, sourceMeta, sourceLinkWrap])]),
    passage
  ]);
  var input = el("textarea", { id: "qa-input", rows: "2", placeholder: PLACEHOLDER, autocomplete: "off", "aria-describedby": "qa-notice", enterkeyhint: "send" });
  var sendBtn = el("button", { type: "submit", class: "send", text: "Ask" });
  var counter = el("span", { class: "counter", id: "qa-counter" });  // announce() speaks for it
  var form = el("form", { class: "ask", novalidate: true }, [el("label", { class: "sr-only", for: "qa-input", text: "Your question" }), input, sendBtn, counter]);
  var panel = el("section", { class: "panel", id: "qa-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "qa-title", hidden: true }, [
    el("header", null, [el("h2", { id: "qa-title", text: TITLE }), closeBtn]),
    el("p", { class: "notice", id: "qa-notice", text: NOTICE }),
    el("div", { class: "body" }, [thread, source]),
    form
  ]);
  var root = el("div", { class: "root " + POSITION }, [launcher, panel, live]);
  shadow.appendChild(root);

  var busy = false;
  var asked = []; // this thread's answered questions, oldest first
  var docs = {}; // doc_id -> Promise of the document
  var returnFocus = null;
  var view = 0; // which source-view request is current

  function announce(text) {
    live.textContent = "";
    setTimeout(function () { live.textContent = text; }, 50);
  }
  function isOpen() { return !panel.hidden; }
  function open(noFocus) {
    panel.hidden = false;
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    if (!noFocus) input.focus();
  }
  function close() {
    closeSource(false);
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  function scrollDown() { thread.scrollTop = thread.scrollHeight; }
  // an answer is read from its start (a refusal's headline first), not from its bottom
  function scrollToStart(node) {
    thread.scrollTop += node.getBoundingClientRect().top - thread.getBoundingClientRect().top - 8;
  }
  function updateCounter() {
    var n = input.value.length;
    counter.textContent = n > MAX_CHARS * 0.8 ? n + " / " + MAX_CHARS : "";
    counter.classList.toggle("over", n > MAX_CHARS);
  }
  input.addEventListener("input", updateCounter);

  launcher.addEventListener("click", function () { if (isOpen()) close(); else open(); });
  closeBtn.addEventListener("click", close);
  backBtn.addEventListener("click", function () { closeSource(true); });
  root.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || !isOpen()) return;
    e.preventDefault();
    e.stopPropagation();
    if (!source.hidden) closeSource(true); else close();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });

  // -- asking --------------------------------------------------------------------------------
  function errorMessage(status, body) {
    var msg = body && body.error && typeof body.error.message === "string" ? body.error.message : null;
    if (status === 429) return "Too many questions in a short time; wait a moment and ask again.";
    if (status === 503) return msg || "The service is busy or still starting; try again in a moment.";
    return msg || ("The service answered with an error (" + status + ").");
  }

  function submit() {
    var q = input.value.trim();
    if (!q || busy) return;
    if (q.length > MAX_CHARS) {  // the text stays, so nothing typed is lost
      updateCounter();
      counter.textContent = q.length + " / " + MAX_CHARS + ": shorten the question";
      announce("The question is longer than " + MAX_CHARS + " characters; shorten it.");
      return;
    }
    var empty = thread.querySelector(".empty");
    if (empty) empty.remove();
    thread.appendChild(el("div", { class: "msg user" }, [el("span", { class: "sr-only", text: "You asked: " }), q]));
    input.value = "";
    updateCounter();
    var loading = el("div", { class: "msg bot loading", text: "Searching the sources" });
    thread.appendChild(loading);
    thread.setAttribute("aria-busy", "true");
    busy = true;
    sendBtn.disabled = true;
    announce("Searching the sources\u2026");
    scrollDown();
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, 30000);
    fetch(endpoint + "/v1/ask", {
      method: "POST", mode: "cors", credentials: "omit", signal: ctrl ? ctrl.signal : undefined,
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ question: q, history: asked.slice(-5) })
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        if (!res.ok || !body) throw new Error(errorMessage(res.status, body));
        return body;
      });
    }).then(function (answer) {
      asked.push(q);  // the thread's questions: a follow-up ("and the days?") is read with them
      var box = renderAnswer(answer);
      loading.replaceWith(box);
      return box;
    }, function (err) {
      var text = err && err.name === "AbortError" ? "The service took too long to answer; try again."
        : (err instanceof TypeError ? "Could not reach the qa service." : String(err.message || err));
      var box = el("div", { class: "msg bot error", role: "alert", text: text });
      loading.replaceWith(box);
      announce(text);
      if (!input.value) { input.value = q; updateCounter(); }  // a failed question can be sent again
      return box;
    }).then(function (box) {
      clearTimeout(timer);
      busy = false;
      sendBtn.disabled = false;
      thread.removeAttribute("aria-busy");
      scrollToStart(box);
      if (isOpen() && source.hidden && shadow.activeElement !== input) input.focus();
    });
  }

  function renderAnswer(a) {
    var box = el("div", { class: "msg bot answer" });
    var fixes = (a.corrections || []).map(function (c) { return String(c.from) + " \u2192 " + String(c.to); });
    if (fixes.length) box.appendChild(el("p", { class: "meta read-as", text: "Read as: " + fixes.join(", ") }));
    if (a.resolved_question) box.appendChild(el("p", { class: "meta resolved", text: "Searched with the earlier question: \u201c" + String(a.resolved_question) + "\u201d" }));
    if (a.abstained) {
      box.classList.add("abstained");
      box.appendChild(el("p", { class: "abstain", text: "The indexed sources do not answer this question." }));
      var ps = a.passages || [];
      if (ps.length) {
        box.appendChild(el("p", { class: "meta", text: "Closest passages (they may not answer it):" }));
        var list = el("ol", { class: "passages" });
        ps.slice(0, 3).forEach(function (p) {
          var snippet = String(p.text || "").replace(/\s+/g, " ").trim();
          if (snippet.length > 240) snippet = snippet.slice(0, 237) + "\u2026";
          var btn = el("button", { type: "button", class: "link-btn", text: label(p.title || p.doc_id, p.section) });
          btn.addEventListener("click", function () {
            openSource({ doc_id: p.doc_id, title: p.title, section: p.section, start: p.start, end: p.end, text: p.text,
              index_id: a.index_id }, btn);
          });
          list.appendChild(el("li", null, [btn, el("span", { class: "quote", text: "\u201c" + snippet + "\u201d" })]));
        });
        box.appendChild(list);
      }
      appendFeedback(box, a);
      announce("The indexed sources do not answer this question." + (ps.length ? " The closest passages are listed." : ""));
      return box;
    }
    var cites = a.citations || [];
    (a.conflicts || []).forEach(function (c) {  // never one value silently: both quotes follow
      var see = (c.citations || []).map(function (n) { return "[" + n + "]"; }).join(" and ");
      box.appendChild(el("p", { class: "conflict", role: "note", text: "Sources differ on " + String(c.what) + ": " +
        (c.values || []).map(String).join(" vs ") + "; see " + see + "." }));
    });
    cites.forEach(function (c) {
      var chip = el("button", { type: "button", class: "chip", "data-cite": c.id, text: String(c.id),
        "aria-label": "Source " + c.id + ": " + label(c.title || c.doc_id, c.section) });
      chip.addEventListener("click", function () { openSource(Object.assign({ index_id: a.index_id }, c), chip); });
      box.appendChild(el("p", { class: "sentence" }, sentenceParts(c).concat([" ", chip])));
      var refs = sourceRefs(c);
      if (refs) box.appendChild(refs);
    });
    var srcs = el("ol", { class: "sources", "aria-label": "Sources" });
    cites.forEach(function (c) {
      var bits = [c.section, c.page ? "p. " + c.page : null, c.date].filter(Boolean).join(" \u00b7 ");
      srcs.appendChild(el("li", { text: "[" + c.id + "] " + (c.title || c.doc_id) + (bits ? " \u2014 " + bits : "") }));
    });
    box.appendChild(srcs);
    var conf = typeof a.confidence === "number" ? "Estimated chance this answer is right: " + Math.round(a.confidence * 100) + "%" : "";
    if (a.degraded) conf += (conf ? " \u00b7 " : "") + "keyword search only (the semantic model failed)";
    if (conf) box.appendChild(el("p", { class: "meta", text: conf }));
    appendFeedback(box, a);
    announce(((a.conflicts || []).length ? "The sources differ; both are quoted. " : "") +
      "Answer: " + cites.map(function (c) { return c.text; }).join(" ") +
      " (" + cites.length + (cites.length === 1 ? " source" : " sources") + ", use the numbered buttons to see them)");
    return box;
  }

  // -- feedback: helpful or not, with an optional comment, on each answer (POST /v1/feedback) ----
  function appendFeedback(box, a) {
    if (!a.answer_id) return;
    var status = el("span", { class: "fb-status", role: "status" });
    var up = el("button", { type: "button", class: "fb up", "aria-pressed": "false", text: "Helpful" });
    var down = el("button", { type: "button", class: "fb down", "aria-pressed": "false", text: "Not helpful" });
    var wrap = el("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" },
      [el("span", { text: "Was this helpful?" }), up, down, status]);
    function send(rating, comment, pressed) {
      up.disabled = down.disabled = true;
      status.textContent = "Sending\u2026";
      fetch(endpoint + "/v1/feedback", {
        method: "POST", mode: "cors", credentials: "omit",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ answer_id: a.answer_id, rating: rating, comment: comment || null })
      }).then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (!res.ok) throw new Error(errorMessage(res.status, body));
        });
      }).then(function () {
        pressed.setAttribute("aria-pressed", "true");
        var form = wrap.querySelector(".fb-comment");
        if (form) form.remove();
        status.textContent = "Thank you: your feedback was recorded.";
      }, function (err) {
        up.disabled = down.disabled = false;
        status.textContent = err instanceof TypeError ? "Could not reach the qa service." : String(err.message || err);
      });
    }
    up.addEventListener("click", function () { send("up", null, up); });
    down.addEventListener("click", function () {
      if (wrap.querySelector(".fb-comment")) return;
      var text = el("input", { type: "text", maxlength: "500", "aria-label": "What was wrong? (optional)",
        placeholder: "What was wrong? (optional; no patient details)" });
      var go = el("button", { type: "submit", class: "fb", text: "Send" });
      var form = el("form", { class: "fb-comment", novalidate: true }, [text, go]);
      form.addEventListener("submit", function (e) { e.preventDefault(); send("down", text.value.trim(), down); });
      wrap.appendChild(form);
      text.focus();
    });
    box.appendChild(wrap);
  }

  // The source's own citation markers ("regimen 4, 5") stay in the sentence verbatim, shown as the
  // source's references (small, dotted, titled), never like qa's numbered chips.
  function sentenceParts(c) {
    var text = String(c.text), parts = [], at = 0, seen = {};
    (c.source_refs || []).forEach(function (r) {
      if (!r || !r.at || typeof r.at[0] !== "number" || typeof r.at[1] !== "number") return;
      var a = unitOffset(text, r.at[0] - c.start), b = unitOffset(text, r.at[1] - c.start);
      if (seen[a] || a < at || b > text.length || b <= a) return;
      seen[a] = true;
      parts.push(text.slice(at, a));
      parts.push(el("span", { class: "srcref", title: "The source's own reference numbers (listed below)", text: text.slice(a, b) }));
      at = b;
    });
    parts.push(text.slice(at));
    return parts;
  }
  function sourceRefs(c) {
    var refs = c.source_refs || [];
    if (!refs.length) return null;
    var list = el("ul", { class: "srcrefs", "aria-label": "The source's references for this sentence" });
    refs.forEach(function (r) {
      var what = r.text ? String(r.text) : "cited by the source, not in its reference list";
      var url = safeUrl(r.url);
      var body = url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: what }) : what;
      list.appendChild(el("li", { class: "srcref-item" }, ["Source\u2019s reference " + r.n + ": ", body]));
    });
    return list;
  }

  // -- the source view: the cited sentence in its passage ---------------------------------------
  // documents are cached per index: after a reload the same doc_id may hold other text, and a
  // citation's offsets index only the text of the index that answered
  // the id goes in the query, encoded whole: in a path, `.`/`..` segments (even as %2e) are
  // resolved by the browser's URL parser, so `a/b/../c` would fetch the document `a/c`
  function fetchDoc(docId, indexId) {
    var key = String(indexId || "") + "\u0000" + docId;
    if (!docs[key]) {
      docs[key] = fetch(endpoint + "/v1/documents?id=" + encodeURIComponent(docId), { mode: "cors", credentials: "omit", headers: { "Accept": "application/json" } })
        .then(function (res) {
          return res.json().catch(function () { return null; }).then(function (body) {
            if (!res.ok || !body) throw new Error(errorMessage(res.status, body));
            return body;
          });
        });
      docs[key].catch(function () { delete docs[key]; });
    }
    return docs[key];
  }

  function openSource(c, opener) {
    var token = ++view;
    returnFocus = opener || null;
    source.hidden = false;
    sourceTitle.textContent = c.title || c.doc_id;
    sourceMeta.textContent = c.section || "";
    clear(sourceLinkWrap);
    clear(passage);
    passage.appendChild(document.createTextNode("Loading the source\u2026"));
    sourceTitle.focus();
    fetchDoc(c.doc_id, c.index_id).then(function (doc) {
      if (token !== view || source.hidden) return;
      showPassage(doc, c);
    }, function (err) {
      if (token !== view || source.hidden) return;
      clear(passage);
      passage.appendChild(document.createTextNode("Could not load the source (" + (err.message || err) + "). The cited text: "));
      passage.appendChild(el("mark", { text: String(c.text || "") }));
    });
  }

  function showPassage(doc, c) {
    var text = String(doc.text || "");
    var s = unitOffset(text, c.start), e = unitOffset(text, c.end);
    if (c.text && text.slice(s, e) !== c.text) { // offsets disagree with the quote: find the quote instead
      var at = text.indexOf(c.text);
      if (at < 0) { showQuoteOnly(doc, c); return; } // never highlight a guess as the citation
      s = at; e = at + c.text.length;
    }
    var lo = 0, hi = text.length;
    (doc.sections || []).forEach(function (sec) {
      var a = unitOffset(text, sec.start), b = unitOffset(text, sec.end);
      if (a <= s && s < b) { lo = Math.max(lo, a); hi = Math.min(hi, Math.max(b, e)); }
    });
    var from = Math.max(lo, s - CONTEXT_CHARS), to = Math.min(hi, e + CONTEXT_CHARS);
    if (from > lo) { var sp = text.indexOf("\n", from); if (sp >= 0 && sp < s) from = sp + 1; }
    if (to < hi) { var ep = text.lastIndexOf("\n", to); if (ep > e) to = ep; }
    sourceTitle.textContent = doc.title || c.title || doc.doc_id;
    var meta = [c.section, doc.date ? "Dated " + doc.date : "No date given", doc.source].filter(Boolean);
    sourceMeta.textContent = meta.join(" \u00b7 ");
    clear(sourceLinkWrap);
    var url = safeUrl(doc.url);
    if (url) {
      sourceLinkWrap.appendChild(el("a", { class: "source-link", href: url, target: "_blank", rel: "noopener noreferrer",
        text: "Open the original source \u2197" }));
    }
    clear(passage);
    if (from > 0) passage.appendChild(document.createTextNode("\u2026"));
    passage.appendChild(document.createTextNode(text.slice(from, s)));
    var mark = el("mark", { text: text.slice(s, e) });
    passage.appendChild(mark);
    passage.appendChild(document.createTextNode(text.slice(e, to)));
    if (to < text.length) passage.appendChild(document.createTextNode("\u2026"));
    // centre the highlight inside the passage only: scrollIntoView also scrolled the panel (overflow
    // hidden, yet scrollable by script), pushing its title bar and notice out for the session
    passage.scrollTop += mark.getBoundingClientRect().top - passage.getBoundingClientRect().top
      - passage.clientHeight / 2 + mark.offsetHeight / 2;
    announce("Source: " + (doc.title || "") + ". Highlighted: " + text.slice(s, e));
  }

  function showQuoteOnly(doc, c) {
    sourceTitle.textContent = doc.title || c.title || doc.doc_id;
    sourceMeta.textContent = c.section || "";
    clear(passage);
    passage.appendChild(document.createTextNode("This source has changed since the answer was given, so its place " +
      "cannot be shown. The cited text, as it was: "));
    passage.appendChild(el("mark", { text: String(c.text || "") }));
    announce("The source has changed since the answer. The cited text: " + String(c.text || ""));
  }

  function closeSource(restoreFocus) {
    if (source.hidden) return;
    source.hidden = true;
    if (restoreFocus) {
      if (returnFocus && returnFocus.isConnected) returnFocus.focus(); else input.focus();
    }
    returnFocus = null;
  }

  function mount() {
    document.body.appendChild(host);
    if (OPEN_ON_LOAD) open(true); // open, but leave the host page's focus where it is
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
