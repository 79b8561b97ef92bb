"""Every service setting is documented in docs/service.md (as its QA_* variable), the README's first
session shows the service and the embed tag and links that reference, and `qa serve` has its flags."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from qa.service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README, SERVICE = ROOT / "README.md", ROOT / "docs" / "service.md"


def test_every_setting_is_documented():
    text = SERVICE.read_text()
    missing = [f"QA_{name.upper()}" for name in Settings.model_fields
               if not re.search(rf"`QA_{name.upper()}`", text)]
    assert not missing, f"document these settings in docs/service.md: {missing}"


def test_the_service_reference_documents_every_endpoint():
    text = SERVICE.read_text()
    for needle in ("POST /v1/ask", "/v1/documents/", "/v1/healthz", "/v1/readyz", "/v1/admin/reload",
                   "/widget.js", "data-endpoint", "widget.png", "qa serve"):
        assert needle in text, needle


def test_the_readme_shows_the_service_and_links_every_reference():
    text = README.read_text()
    for needle in ("qa serve", "POST /v1/ask", "data-endpoint", "docs/widget.png", "QA_CORS_ORIGINS"):
        assert needle in text, needle
    for link in re.findall(r"\]\((docs/[^)]+)\)", text):
        assert (ROOT / link).exists(), link
    for doc in (ROOT / "docs").glob("*.md"):
        assert f"docs/{doc.name}" in text, f"the README's reference table does not link docs/{doc.name}"


def test_serve_flags_exist():
    r = subprocess.run([sys.executable, "-c", "from qa.cli import main; main()", "serve", "--help"],
                       capture_output=True, text=True, timeout=60, env={"COLUMNS": "200", "PATH": ""})
    assert r.returncode == 0, r.stderr
    for flag in ("--index", "--host", "--port", "--cors-origins", "--docs", "--log-level"):
        assert flag in r.stdout, flag
