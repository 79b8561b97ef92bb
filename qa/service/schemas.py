"""Request and response models of the HTTP API (what /docs shows). Citations and passages are
qa.types' own dataclasses, so the schema cannot drift from what the engine returns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from qa.query.question import MODE_ALIASES, MODES, unpaired_surrogate
from qa.types import Citation, Passage


def _utf8_text(value: str) -> str:
    """Text that can be written back out: a lone surrogate (JSON ``"\\ud800"``) is a 422 here,
    before the request takes an answer slot, not a 500 when the reply echoes it."""
    if (at := unpaired_surrogate(value)) is not None:
        raise ValueError(f"invalid character at position {at} (a lone UTF-16 surrogate); send UTF-8 text")
    return value


Text = Annotated[str, AfterValidator(_utf8_text)]


class AskFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_ids: list[Text] = Field(default_factory=list, max_length=200, description="Only these document ids.")
    sources: list[Text] = Field(default_factory=list, max_length=200, description="Only documents from these sources.")


def _json_integer(v: Any) -> Any:
    """What JSON Schema calls an integer: 5 and 5.0, never true (pydantic's lax int reads it as 1)
    nor "5"; schemathesis found both accepted."""
    if isinstance(v, (bool, str)):
        raise ValueError("Input should be a valid integer")
    return v


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "FLT3-ITD AML starting 7+3: what do I add, and on which days?"}]})
    question: Text = Field(description="The clinical question, as typed.")
    top_k: JsonInt = Field(5, ge=1, le=50, description="Passages to return.")
    max_sentences: JsonInt = Field(3, ge=1, le=10, description="Most sentences in the answer.")
    filters: AskFilters | None = None
    history: list[Text] = Field(
        default_factory=list, max_length=10,
        description="The thread's earlier questions, oldest first: a follow-up (\"and the midostaurin days?\") is "
                    "searched completed from their key terms (`resolved_question`). The last 5 are read.")
    mode: Literal[MODES + tuple(MODE_ALIASES)] | None = Field(  # type: ignore[valid-type]
        None, description="Retrieval mode (hybrid-rrf = hybrid, as on the command line); the server's default when omitted.")


class ConflictOut(BaseModel):
    citations: list[int] = Field(description="The citation ids that disagree, e.g. [1, 3].")
    what: str = Field(description='The quantity, e.g. "daunorubicin dose".')
    values: list[str] = Field(description="Each citation's value, verbatim from its sentence, in citation order.")


class AnswerOut(BaseModel):
    """The answer contract; citations and passages are qa.types' own dataclasses, so the schema
    cannot drift from what the engine returns."""

    question: str
    answer: str = Field(description="The cited sentences verbatim, each followed by [n]; empty when abstained.")
    abstained: bool
    confidence: float
    raw_score: float
    citations: list[Citation]
    passages: list[Passage]
    index_id: str
    mode: str
    degraded: bool
    timings_ms: dict[str, float]
    corrections: list[dict[str, str]] = Field(
        default_factory=list, description='Question words the index never saw, read as the corpus\'s own: [{"from", "to"}].')
    answer_id: str = Field(description="This answer's id: send it with POST /v1/feedback.")
    conflicts: list[ConflictOut] = Field(
        default_factory=list, description="Quotes that give different values for one quantity (a dose, days, a "
        "duration): show both, never one. Empty when the quotes agree or say nothing comparable.")
    resolved_question: str | None = Field(
        None, description="A follow-up as it was searched: the question plus terms copied from `history`; "
                          "null when the question stood alone.")


class DefinitionOut(BaseModel):
    short: str
    long: str
    doc_id: str
    start: int = Field(description="Offset of the long form in the document's stored text.")


class VocabularyOut(BaseModel):
    """What the index learned from its corpus (issue 16): the abbreviations it defines."""

    index_id: str
    abbreviations: list[DefinitionOut]
    words: int = Field(description="Distinct words the corpus uses (what misspelled question words are corrected to).")


class SectionOut(BaseModel):
    start: int
    end: int
    path: list[str]
    label: str


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    source: str
    date: str | None
    url: str | None
    text: str = Field(description="The stored (normalised) text: citation offsets index into it.")
    sections: list[SectionOut]
    pages: list[list[int]]
    index_id: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class ReloadOut(BaseModel):
    status: Literal["reloaded"]
    index_id: str
    previous_index_id: str
    changed: bool = Field(description="The new index differs from the one served before.")
    documents: int
    embedder_reused: bool
    load_s: float


ERRORS = {s: {"model": ErrorOut} for s in (400, 408, 413, 422, 429, 503)}
ADMIN_ERRORS = {s: {"model": ErrorOut} for s in (401, 409, 429, 500, 503)}
