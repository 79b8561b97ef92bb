"""qa/config.py: a bad QA_* value is one clear message at the component that reads it."""

from __future__ import annotations

import pytest

from qa.config import ConfigError, Runtime, runtime


def test_defaults_and_overrides(monkeypatch, tmp_path):
    for k in ("QA_ENCODER", "QA_QUESTION_ENCODER", "QA_BF16", "QA_ONNX_CACHE", "QA_CALIBRATION"):
        monkeypatch.delenv(k, raising=False)
    assert runtime() == Runtime() and runtime().calibration is None
    assert runtime().encoder == runtime().question_encoder == "auto"  # qa.embed.choice decides by the machine
    monkeypatch.setenv("QA_ONNX_CACHE", str(tmp_path))
    monkeypatch.setenv("QA_ENCODER", "onnx")
    assert runtime().onnx_cache == tmp_path and runtime().encoder == "onnx"


@pytest.mark.parametrize("var,value", [("QA_ENCODER", "tensorrt"), ("QA_QUESTION_ENCODER", "gpu"), ("QA_BF16", "maybe")])
def test_bad_values_name_the_variable(monkeypatch, var, value):
    from qa.embed import EmbedderError, load_embedder

    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=var):
        runtime()
    with pytest.raises(EmbedderError, match=var):
        load_embedder()
