"""The one place qa reads its process environment: model-side `QA_*` variables and the
library variables qa sets for itself.

`Runtime` holds the variables the pipeline reads (the service's own live in `qa.service.settings`, which
`qa serve` fills from the same environment and its flags); `runtime()` reads and validates them
where a component starts (an embedder, an engine's calibration), never per question, so a bad
value is one clear message, not a failure deep in a module.

`apply_process_env()` sets, unless the user already did, what the libraries must see before they
load: no hub downloads (there is no network here, nor in CI), no tokenizer fork warnings, and a
small oneDNN primitive cache (it held 5 GB of a 6 GB peak while indexing MedQuAD: every batch is a
new shape). Entry points call it (`load_embedder`, the ONNX export); importing qa changes nothing.

>>> Runtime(encoder="onnx", bf16="0").encoder
'onnx'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROCESS_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    # eight entries keep the indexing RSS flat and cost questions nothing (p50 7.0 vs 8.1 ms here)
    "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "8",
}


class Runtime(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    encoder: Literal["auto", "torch", "onnx"] = Field("auto", description="Index encoder (`qa.embed.choice`).")
    question_encoder: Literal["auto", "torch", "onnx"] = Field("auto", description="Question encoder (`qa.embed.choice`).")
    bf16: Literal["auto", "0", "1"] = Field("auto", description="Index in bfloat16 where the CPU has it.")
    onnx_cache: Path = Field(Path.home() / ".cache" / "qa" / "onnx", description="Where qa keeps the encoders it builds: the int8 ONNX export and the question trace.")
    calibration: Path | None = Field(None, description="A site's own calibration file (`qa eval --calibrate`).")


class ConfigError(ValueError):
    """A `QA_*` variable has a value qa cannot use; the message names it and says what it may be."""


def runtime() -> Runtime:
    """
    >>> import os; os.environ["QA_ENCODER"] = "tensorrt"
    >>> try:
    ...     runtime()
    ... except ConfigError as e:
    ...     print(e)
    QA_ENCODER: Input should be 'auto', 'torch' or 'onnx'
    >>> del os.environ["QA_ENCODER"]
    """
    try:
        return Runtime()
    except ValidationError as e:
        raise ConfigError("; ".join(f"QA_{'.'.join(map(str, err['loc'])).upper()}: {err['msg']}"
                                    for err in e.errors())) from None


def apply_process_env() -> None:
    for key, value in PROCESS_ENV.items():
        os.environ.setdefault(key, value)


def qa_variables() -> dict[str, str]:
    """Every ``QA_*`` variable of this process: what `qa serve --ray` hands its replicas."""
    return {k: v for k, v in os.environ.items() if k.startswith("QA_")}


def set_qa_variables(values: dict[str, str]) -> None:
    """Set ``QA_*`` variables in this process's environment for the processes it starts next
    (`qa serve --workers N`: uvicorn's workers read their settings from it)."""
    for key, value in values.items():
        if not key.startswith("QA_"):
            raise ValueError(f"{key} is not a QA_* variable")
        os.environ[key] = value
