"""Every CPU runtime in ``model_code.model.runtimes`` gives eager's probabilities on a tiny U-Net, and the
runtime chosen by ``load_model`` serves the same walls as eager PyTorch.

The tiny checkpoint has random weights; the check is numerical equivalence of the runtimes, not
model quality.  Tracing/export happens at one shape and the run at another (non-square), so a
runtime that baked the example's shape into its graph fails here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from model_code.model import runtimes
from model_code.model.inference import predict_probabilities
from model_code.model.loader import load_model
from model_code.model.runtimes import (
    DEFAULT_RUNTIME,
    RUNTIMES,
    RuntimeUnavailable,
    export_onnx,
    onnx_available,
    onnx_session,
    prepare_forward,
    trace_torchscript,
)
from model_code.pipeline import Pipeline
from model_code.synth import generate_plan

TOLERANCE = 1e-4
needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnxruntime/onnx are not installed")


@pytest.fixture(scope="module")
def tiny_network(tiny_checkpoint: Path) -> torch.nn.Module:
    """The tiny U-Net, loaded in eval mode (fp32) with one torch thread."""
    torch.set_num_threads(1)
    return load_model(tiny_checkpoint, runtime="eager").network


def _batch() -> np.ndarray:
    """A normalised batch at a shape other than the 64 x 64 square runtimes are prepared on."""
    return np.random.default_rng(7).standard_normal((2, 3, 96, 160)).astype(np.float32)


@pytest.mark.parametrize(
    "runtime", [pytest.param(r, marks=needs_onnx) if r.startswith("onnx") else r for r in RUNTIMES]
)
def test_runtime_matches_eager(tiny_network: torch.nn.Module, runtime: str) -> None:
    batch = _batch()
    reference = prepare_forward(tiny_network, "eager")(batch)
    probs = prepare_forward(tiny_network, runtime, threads=1)(batch)
    assert probs.shape == reference.shape == (2, 2, 96, 160)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs, reference, rtol=0, atol=TOLERANCE)


def test_channels_last_leaves_the_original_network_alone(tiny_network: torch.nn.Module) -> None:
    prepare_forward(tiny_network, "channels_last")
    conv = next(m for m in tiny_network.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous()
    assert not conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_torchscript_is_a_frozen_script_module(tiny_network: torch.nn.Module) -> None:
    module = trace_torchscript(tiny_network, torch.zeros(1, 3, 64, 64))
    assert isinstance(module, torch.jit.ScriptModule)
    assert not list(module.parameters())  # freezing inlined the weights as constants
    with torch.inference_mode():
        assert module(torch.from_numpy(_batch())).shape == (2, 2, 96, 160)


@needs_onnx
def test_onnx_file_export_has_dynamic_axes_and_the_sigmoid(
    tiny_network: torch.nn.Module, tmp_path: Path
) -> None:
    batch = _batch()
    path = tmp_path / "tiny.onnx"
    export_onnx(tiny_network, path)
    session = onnx_session(path, threads=1)
    shape = session.get_inputs()[0].shape
    assert shape[0] == "batch" and shape[2] == "height" and shape[3] == "width"
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    probs = session.run(None, {"image": batch})[0]
    assert probs.shape == (2, 2, 96, 160)
    with torch.inference_mode():
        logits = tiny_network(torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-logits)), atol=TOLERANCE)


def test_unknown_runtime_and_bad_threads_are_clear_errors(tiny_network: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'"):
        prepare_forward(tiny_network, "tensorrt")
    if onnx_available():
        with pytest.raises(ValueError, match="threads must be >= 1"):
            onnx_session(b"", threads=0)
    else:
        with pytest.raises(RuntimeUnavailable):
            prepare_forward(tiny_network, "onnx")


# --- the serving switch: load_model(runtime=...) and inference through LoadedModel.probabilities ---


@needs_onnx
def test_load_model_defaults_to_the_measured_winner(tiny_checkpoint: Path) -> None:
    assert DEFAULT_RUNTIME == "onnx"
    loaded = load_model(tiny_checkpoint)
    assert loaded.runtime == DEFAULT_RUNTIME
    eager = load_model(tiny_checkpoint, runtime="eager")
    assert eager.runtime == "eager"
    batch = _batch()
    np.testing.assert_allclose(loaded.probabilities(batch), eager.probabilities(batch), atol=TOLERANCE)


def test_default_falls_back_to_eager_when_the_winner_is_unavailable(
    tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtimes, "onnx_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="model_code.model.loader"):
        loaded = load_model(tiny_checkpoint)
    assert loaded.runtime == "eager"
    assert "using eager PyTorch" in caplog.text
    with pytest.raises(RuntimeUnavailable, match="onnxruntime"):
        load_model(tiny_checkpoint, runtime="onnx")


@needs_onnx
def test_tiled_probabilities_agree_across_runtimes(tiny_checkpoint: Path, drawn_plan: np.ndarray) -> None:
    eager = load_model(tiny_checkpoint, runtime="eager")
    fast = load_model(tiny_checkpoint, runtime="onnx")
    kwargs = {"working_size": 320, "tile_size": 128, "tile_overlap": 48, "batch_size": 2}
    reference = predict_probabilities(eager, drawn_plan, **kwargs)
    np.testing.assert_allclose(predict_probabilities(fast, drawn_plan, **kwargs), reference, atol=TOLERANCE)


@needs_onnx
def test_pipeline_walls_are_identical_with_onnx_and_eager() -> None:
    plan = generate_plan(3, size=512, styles=["solid"])
    results = {r: Pipeline(load_model(None, runtime=r)).analyze(plan.image) for r in ("eager", "onnx")}
    eager, fast = results["eager"], results["onnx"]
    assert len(eager.document.walls) >= 4
    np.testing.assert_allclose(fast.probabilities, eager.probabilities, atol=1e-3)
    assert np.array_equal(fast.wall_mask, eager.wall_mask)
    assert fast.document.to_dict()["walls"] == eager.document.to_dict()["walls"]
