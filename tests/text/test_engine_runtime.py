"""The OCR engine's runtimes: OpenVINO when importable, else ONNX Runtime; the same text from both."""

from __future__ import annotations

import importlib.util

import pytest

from model_code.synth import generate_plan
from model_code.text import engine
from model_code.text.engine import (
    OnnxRuntimeSession,
    OpenVINOSession,
    TextReader,
    default_runtime,
)
from tests.text.helpers import needs_engine

needs_openvino = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="openvino not installed"
)


def hide_openvino(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``openvino`` look uninstalled to the engine (other packages are still found)."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args, **kwargs):
        return None if name == "openvino" else real(name, *args, **kwargs)

    monkeypatch.setattr(engine.importlib.util, "find_spec", find_spec)


@needs_openvino
def test_openvino_is_the_default_when_importable():
    assert default_runtime() == "openvino"


@needs_engine
def test_onnx_runtime_is_the_fallback_without_openvino(monkeypatch: pytest.MonkeyPatch):
    hide_openvino(monkeypatch)
    assert default_runtime() == "onnxruntime"
    reader = TextReader(threads=1)
    assert reader.runtime == "onnxruntime"
    assert isinstance(reader.detector, OnnxRuntimeSession) and isinstance(
        reader.recogniser, OnnxRuntimeSession
    )


@needs_engine
def test_unknown_runtime_or_precision_is_refused():
    with pytest.raises(ValueError, match="runtime must be one of"):
        TextReader(threads=1, runtime="tensorrt")
    with pytest.raises(ValueError, match="f32 only"):
        TextReader(threads=1, runtime="onnxruntime", precision="bf16")


@needs_engine
@needs_openvino
def test_both_runtimes_read_the_same_text_on_a_generated_plan():
    plan = generate_plan(2001, size=1024, print_text=True)
    ort = TextReader(threads=2, runtime="onnxruntime")
    ov = TextReader(threads=2, runtime="openvino")
    assert isinstance(ov.detector, OpenVINOSession) and isinstance(ov.recogniser, OpenVINOSession)
    assert ov.characters == ort.characters and len(ort.characters) > 6000
    by_ort = ort.read(plan.image)
    by_ov = ov.read(plan.image)
    assert len(by_ort) >= 5
    assert [t.text for t in by_ov] == [t.text for t in by_ort]
    for a, b in zip(by_ov, by_ort, strict=True):
        assert a.box == pytest.approx(b.box, abs=1.0)
        assert a.confidence == pytest.approx(b.confidence, abs=1e-3)
