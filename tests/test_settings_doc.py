"""Every service setting is documented in README.md (as its QA_* variable), and `qa serve` has its flags."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from qa.service.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def service_section() -> str:
    text = README.read_text()
    m = re.search(r"^## Service and chat widget\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, "README.md needs a '## Service and chat widget' section"
    return m.group(1)


def test_every_setting_is_documented_in_the_readme():
    section = service_section()
    missing = [f"QA_{name.upper()}" for name in Settings.model_fields
               if not re.search(rf"`QA_{name.upper()}`", section)]
    assert not missing, f"document these settings in README.md (Service and chat widget): {missing}"


def test_readme_documents_the_endpoints_and_the_embed_tag():
    section = service_section()
    for needle in ("POST /v1/ask", "/v1/documents/", "/v1/healthz", "/v1/readyz", "/widget.js", "data-endpoint",
                   "docs/widget.png", "qa serve"):
        assert needle in section, needle


def test_serve_flags_exist():
    r = subprocess.run([sys.executable, "-c", "from qa.cli import main; main()", "serve", "--help"],
                       capture_output=True, text=True, timeout=60, env={"COLUMNS": "200", "PATH": ""})
    assert r.returncode == 0, r.stderr
    for flag in ("--index", "--host", "--port", "--cors-origins", "--docs", "--log-level"):
        assert flag in r.stdout, flag
