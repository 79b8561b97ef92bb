"""Service settings: one class, read from `QA_*` environment variables and `qa serve` flags.

Every field is documented in README.md ("Service and chat widget"); tests/test_settings_doc.py
fails when one is not. Flags given to `qa serve` override the environment.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _list(value: Any) -> Any:
    """A JSON list (``["https://a.org"]``) or a comma-separated string (``https://a.org,https://b.org``)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ValueError("not a valid JSON list; use a JSON list or a comma-separated string") from None
        else:
            value = text.split(",")
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return value


def normalise_origin(origin: str) -> str:
    """An origin as browsers send it: scheme and host in lower case (the host in punycode), the
    default port left out, no trailing slash; so a configured ``https://Good.Example`` matches.

    >>> normalise_origin("HTTPS://Good.Example:443/"), normalise_origin("http://[::1]:8080")
    ('https://good.example', 'http://[::1]:8080')
    """
    text = origin.strip().rstrip("/")
    u = urlsplit(text)
    scheme = u.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"CORS origin {origin!r} must be '*' or start with http:// or https://")
    if u.path or u.query or u.fragment or u.username or not u.hostname:
        raise ValueError(f"CORS origin {origin!r} must be scheme://host[:port] with no path")
    try:
        port = u.port
        host = u.hostname.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise ValueError(f"CORS origin {origin!r} has an invalid host or port") from None
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")


class Settings(BaseSettings):
    # hide_input_in_errors: an error never repeats the value given (a password in QA_DATABASE_URL, a token)
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore", validate_default=True,
                                      hide_input_in_errors=True)

    index: Path = Field(Path("index/default"), description="Index folder to serve (built by `qa index`).")
    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Exact origins allowed to call the API from a browser (the sites that embed the widget).")
    cors_allow_credentials: bool = Field(False, description="Send Access-Control-Allow-Credentials (never with '*').")
    max_body_bytes: int = Field(16_384, ge=256, description="Largest request body accepted; larger gets 413.")
    max_question_chars: int = Field(1_000, ge=1, le=2_000, description="Longest question accepted; longer gets 422.")
    rate_limit_per_minute: float = Field(60, ge=0, description="Sustained requests a minute per client; 0 disables.")
    rate_limit_burst: int = Field(20, ge=1, description="Requests a client may make at once before the rate applies.")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxy addresses/CIDRs whose X-Forwarded-For is believed when keying the rate limit.")
    redis_url: SecretStr | None = Field(  # secret: a URL may carry a password
        None, description="redis://, rediss:// or unix:// URL of a Redis server holding the rate limit's buckets, "
        "shared by several replicas; unset: each process keeps its own. If Redis fails, each process counts "
        "in its own buckets until it answers again.")
    max_concurrency: int = Field(4, ge=1, description="Questions answered at once; the rest queue (per worker process).")
    workers: int = Field(1, ge=1, le=64, description="Server processes sharing the port, each with its own copy of "
                         "the index (memory-mapped vectors are shared): Python's answer code runs on one core a "
                         "process, so set it to the cores to use (2 on 2 cores: 1.5x the answers/s of 1).")
    queue_timeout_s: float = Field(5.0, ge=0, description="How long a question may queue for a slot before 503.")
    embed_budget_ms: float = Field(
        2000, ge=0, description="Time budget for embedding a question; past it (or if the embedder fails) the "
        "answer comes from BM25 alone with degraded=true. 0: no budget.")
    body_timeout_s: float = Field(10.0, gt=0, description="Longest a client may take to send its request body; "
                                  "slower gets 408.")
    keep_alive_s: float = Field(5.0, gt=0, description="Idle keep-alive connections are closed after this long.")
    max_connections: int = Field(1000, ge=1, description="Open connections and requests the server holds at once; "
                                 "beyond it uvicorn answers 503.")
    admin_token: SecretStr | None = Field(
        None, description="Bearer token for POST /v1/admin/reload and GET /v1/admin/report; unset: they do not exist (404).")
    docs: bool = Field(True, description="Serve OpenAPI docs at /docs and /openapi.json.")
    feedback: bool = Field(True, description="Record each answer (no question text unless QA_STORE_QUESTIONS) and "
                           "take feedback on it at POST /v1/feedback; false: nothing is stored and the endpoint is a 404.")
    log_questions: bool = Field(False, description="Put the question text in the request log (off: may hold patient details).")
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    database_url: SecretStr | None = Field(
        None, description="postgresql:// URL of a feedback store shared by several replicas; unset: the SQLite "
        "file QA_FEEDBACK_DB. Never printed (it may hold a password).")
    feedback_db: Path = Field(Path("feedback/qa.sqlite3"), description="The SQLite file of feedback and answer "
                              "events when QA_DATABASE_URL is unset; created on the first answer.")
    store_questions: bool = Field(False, description="Keep the question text with each answer event (off: only "
                                  "its hash; questions may hold patient details).")
    feedback_retention_days: int = Field(90, ge=1, description="Answer events and their feedback older than this "
                                         "many days are deleted.")
    feedback_max_rows: int = Field(1_000_000, ge=1000, description="Most answer events kept; beyond it the oldest "
                                   "are deleted.")

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return _list(v)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        return [o if o == "*" else normalise_origin(o) for o in v]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                ipaddress.ip_network(p, strict=False)
            except ValueError:
                raise ValueError(f"trusted proxy {p!r} is not an IP address or CIDR network") from None
        return v

    @field_validator("admin_token")
    @classmethod
    def _token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None  # QA_ADMIN_TOKEN= (empty) means admin off, never "any empty token"
        if len(v.get_secret_value()) < 16:
            raise ValueError("admin token must be at least 16 characters")
        return v

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None  # QA_DATABASE_URL= (empty) means the SQLite file
        if not v.get_secret_value().strip().lower().startswith(("postgresql://", "postgres://")):
            raise ValueError("QA_DATABASE_URL must start with postgresql:// or postgres:// "
                             "(unset it to keep feedback in the SQLite file QA_FEEDBACK_DB)")
        return SecretStr(v.get_secret_value().strip())

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: SecretStr | None) -> SecretStr | None:
        text = v.get_secret_value().strip() if v is not None else ""
        if not text:
            return None  # QA_REDIS_URL= (empty) means buckets per process
        if not text.lower().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("QA_REDIS_URL must start with redis://, rediss:// or unix:// "
                             "(unset it to keep the rate limit's buckets in each process)")
        return SecretStr(text)

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.lower()
        if v not in ("debug", "info", "warning", "error"):
            raise ValueError("log level must be debug, info, warning or error")
        return v

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> Settings:
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError("QA_CORS_ORIGINS='*' cannot be combined with QA_CORS_ALLOW_CREDENTIALS=true; "
                             "list the exact origins instead")
        return self

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies]
