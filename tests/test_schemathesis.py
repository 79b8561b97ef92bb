"""schemathesis against /openapi.json (issue 5): generated requests, valid and invalid, to every
operation of the in-process app; no 5xx, and every response matches the schema (status code
documented, content type, body). Examples are bounded (QA_SCHEMATHESIS_EXAMPLES, default 40 per
operation) so the run stays well under a minute.

One check is relaxed, for one case: a question that is a schema-valid string but has nothing to
ask (empty, only punctuation) or is longer than QA_MAX_QUESTION_CHARS is a 422 with its own code
by design (tests/test_api.py pins those codes), so "positive data acceptance" is not applied to it;
and a generated body over the size limit is a 413, which "negative data rejection" does not list.
"""

from __future__ import annotations

import os
import shutil

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from conftest import CORPUS, FakeEmbedder  # noqa: E402
from qa.service.app import create_app  # noqa: E402
from qa.index.build import build_index  # noqa: E402
from qa.query.engine import Engine  # noqa: E402
from qa.service.settings import Settings  # noqa: E402

SEMANTIC_422 = {"invalid_question", "question_too_long"}
EXAMPLES = int(os.environ.get("QA_SCHEMATHESIS_EXAMPLES", "40"))


def _app():
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix="qa-schemathesis-"))
    shutil.copytree(CORPUS, root / "corpus")
    build_index(root / "corpus", root / "idx", FakeEmbedder())
    engine = Engine.load(root / "idx", FakeEmbedder())
    # the admin endpoint is on (so it is in the schema and fuzzed too); no token is sent: 401s
    return create_app(Settings(index=root / "idx", rate_limit_per_minute=0, admin_token="schemathesis-token-0123456789"),
                      engine=engine)


def _code(response) -> str:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""


APP = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    response = case.call()
    excluded = []
    if response.status_code == 422 and _code(response) in SEMANTIC_422:
        # a schema-valid string the engine cannot ask ("", "?!", over QA_MAX_QUESTION_CHARS): 422 by design
        excluded.append(schemathesis.checks.positive_data_acceptance)
    if response.status_code == 413:
        # a generated body over QA_MAX_BODY_BYTES is refused before validation: a rejection, and documented,
        # but not one of the statuses schemathesis counts as "negative data rejected"
        excluded.append(schemathesis.checks.negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert "Traceback" not in response.text and "site-packages" not in response.text
