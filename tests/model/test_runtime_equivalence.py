"""Every CPU runtime in ``model_code.model.runtimes`` gives eager's probabilities on a tiny U-Net, and the
runtime chosen by ``load_model`` serves the walls of eager PyTorch within the stated tolerance.

The tiny checkpoint has random weights; the check is numerical equivalence of the runtimes, not
model quality.  Tracing/export happens at one shape and the run at another (non-square), so a
runtime that baked the example's shape into its graph fails here.  Tolerances (absolute, on
probabilities): fp32 runtimes 1e-4; bf16 0.05 at most and 0.005 on average; int8 0.15 at most and
0.02 on average on the tiny network, and on the bundled model the int8 default's wall mask agrees with
fp32 ONNX Runtime to IoU >= 0.98 on a generated plan (0.996 measured on the R3D validation plans,
docs/benchmarks.md "int8").
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
from model_code.model.quantize import calibration_batches
from model_code.model.runtimes import (
    DEFAULT_RUNTIME,
    QUANTIZED_RUNTIMES,
    RUNTIMES,
    RuntimeUnavailable,
    export_onnx,
    onnx_available,
    onnx_session,
    openvino_available,
    prepare_forward,
    runtime_available,
    trace_torchscript,
)
from model_code.pipeline import Pipeline
from model_code.synth import generate_plan

TOLERANCE = 1e-4
BF16_TOLERANCE = (0.05, 0.005)  # max, mean absolute probability difference
INT8_TOLERANCE = (0.15, 0.02)
needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnxruntime/onnx are not installed")
needs_openvino = pytest.mark.skipif(
    not (openvino_available() and onnx_available()), reason="openvino is not installed"
)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def _mark(runtime: str) -> object:
    if runtime.startswith("openvino"):
        return pytest.param(runtime, marks=needs_openvino)
    return pytest.param(runtime, marks=needs_onnx) if runtime.startswith("onnx") else runtime


@pytest.fixture(scope="module")
def tiny_network(tiny_checkpoint: Path) -> torch.nn.Module:
    """The tiny U-Net, loaded in eval mode (fp32) with one torch thread."""
    torch.set_num_threads(1)
    return load_model(tiny_checkpoint, runtime="eager").network


def _batch() -> np.ndarray:
    """A normalised batch at a shape other than the 64 x 64 square runtimes are prepared on."""
    return np.random.default_rng(7).standard_normal((2, 3, 96, 160)).astype(np.float32)


def _plan_batch() -> np.ndarray:
    """Two generated plans, normalised, at a non-square shape: the inputs int8 ranges are calibrated for."""
    import cv2

    from model_code.model.preprocess import normalize

    images = [cv2.resize(generate_plan(seed, size=256).image, (160, 96), cv2.INTER_AREA) for seed in (5, 6)]
    return np.stack([normalize(image, *IMAGENET) for image in images])


@pytest.fixture(scope="module")
def calibration() -> list[np.ndarray]:
    return calibration_batches(128, *IMAGENET)[:8]


@pytest.mark.parametrize("runtime", [_mark(r) for r in RUNTIMES])
def test_runtime_matches_eager(
    tiny_network: torch.nn.Module, runtime: str, calibration: list[np.ndarray]
) -> None:
    batch = _plan_batch() if runtime in QUANTIZED_RUNTIMES else _batch()
    reference = prepare_forward(tiny_network, "eager")(batch)
    probs = prepare_forward(tiny_network, runtime, threads=1, calibration=calibration)(batch)
    assert probs.shape == reference.shape == (2, 2, 96, 160)
    assert probs.dtype == np.float32
    difference = np.abs(probs - reference)
    if runtime in QUANTIZED_RUNTIMES or runtime == "openvino_bf16":
        most, mean = INT8_TOLERANCE if runtime in QUANTIZED_RUNTIMES else BF16_TOLERANCE
        assert difference.max() <= most and difference.mean() <= mean, (difference.max(), difference.mean())
        assert difference.max() > 0  # really a lower precision, not the fp32 graph
    else:
        np.testing.assert_allclose(probs, reference, rtol=0, atol=TOLERANCE)


def test_quantised_runtimes_need_calibration(tiny_network: torch.nn.Module) -> None:
    for runtime in QUANTIZED_RUNTIMES:
        with pytest.raises(ValueError, match="needs calibration batches"):
            prepare_forward(tiny_network, runtime, threads=1)


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


@needs_openvino
def test_load_model_defaults_to_the_measured_winner(tiny_checkpoint: Path) -> None:
    assert DEFAULT_RUNTIME == "openvino_int8"
    loaded = load_model(tiny_checkpoint)
    assert loaded.runtime == DEFAULT_RUNTIME
    eager = load_model(tiny_checkpoint, runtime="eager")
    assert eager.runtime == "eager"
    batch = _plan_batch()
    difference = np.abs(loaded.probabilities(batch) - eager.probabilities(batch))
    assert difference.max() <= INT8_TOLERANCE[0] and difference.mean() <= INT8_TOLERANCE[1]


@needs_openvino
def test_the_default_int8_model_keeps_the_bundled_models_walls() -> None:
    plan = generate_plan(11, size=1024)
    fp32 = Pipeline(load_model(None, runtime="onnx", threads=1)).analyze(plan.image)
    int8 = Pipeline(load_model(None, threads=1)).analyze(plan.image)
    assert int8.document.to_dict()["model"]["runtime"] == "openvino_int8"
    union = np.logical_or(fp32.wall_mask, int8.wall_mask).sum()
    assert np.logical_and(fp32.wall_mask, int8.wall_mask).sum() / union >= 0.98
    assert abs(len(int8.document.rooms) - len(fp32.document.rooms)) <= 1


def test_the_environment_picks_the_runtime(tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtimes.RUNTIME_ENV, "eager")
    assert load_model(tiny_checkpoint).runtime == "eager"
    monkeypatch.setenv(runtimes.RUNTIME_ENV, "tensorrt")
    with pytest.raises(ValueError, match="FLOORPLAN_RUNTIME='tensorrt' is not a runtime"):
        load_model(tiny_checkpoint)
    monkeypatch.setenv(runtimes.RUNTIME_ENV, "openvino_int8")
    monkeypatch.setattr(runtimes, "openvino_available", lambda: False)
    with pytest.raises(RuntimeUnavailable, match="openvino"):  # named: no silent fallback
        load_model(tiny_checkpoint)


@needs_onnx
def test_default_falls_back_to_onnx_without_openvino(
    tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtimes, "openvino_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="model_code.model.loader"):
        loaded = load_model(tiny_checkpoint)
    assert loaded.runtime == "onnx" and "using onnx" in caplog.text
    assert not runtime_available("openvino_int8")


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


@needs_openvino
def test_openvino_gives_back_the_buffers_of_large_inputs_and_still_agrees(tiny_checkpoint: Path) -> None:
    model = load_model(tiny_checkpoint, runtime="openvino", threads=1)
    small = np.random.default_rng(1).standard_normal((1, 3, 64, 96)).astype(np.float32)
    large = np.random.default_rng(2).standard_normal((1, 3, 544, 544)).astype(np.float32)
    before = model.probabilities(small)
    assert not model.forward.large  # a 512 px pass keeps its buffers
    first = model.probabilities(large)
    assert model.forward.large
    model.release_memory()
    assert not model.forward.large
    np.testing.assert_array_equal(model.probabilities(large), first)  # rebuilt, same numbers
    np.testing.assert_array_equal(model.probabilities(small), before)
    load_model(tiny_checkpoint, runtime="onnx", threads=1).release_memory()  # a no-op elsewhere


@needs_openvino
def test_threads_sharing_an_openvino_model_get_their_own_answers(tiny_checkpoint: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = load_model(tiny_checkpoint, runtime="openvino", threads=1)
    batches = [
        np.random.default_rng(seed).standard_normal((1, 3, 64, 96)).astype(np.float32) for seed in range(8)
    ]
    expected = [model.probabilities(batch) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(model.probabilities, batches * 4))
    for k, answer in enumerate(answers):
        np.testing.assert_array_equal(answer, expected[k % len(batches)])
