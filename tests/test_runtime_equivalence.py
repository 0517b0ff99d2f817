"""Every CPU runtime in ``model_code.runtimes`` gives eager's probabilities on a tiny U-Net.

The tiny checkpoint has random weights; the check is numerical equivalence of the runtimes, not
model quality.  Tracing/export happens at one shape and the run at another (non-square), so a
runtime that baked the example's shape into its graph fails here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model_code.network import load_model
from model_code.runtimes import (
    RUNTIMES,
    RuntimeUnavailable,
    export_onnx,
    onnx_available,
    onnx_session,
    prepare_forward,
    probabilities,
    trace_torchscript,
)

TOLERANCE = 1e-4
needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnxruntime/onnx are not installed")


@pytest.fixture(scope="module")
def tiny_network(tiny_checkpoint: Path) -> torch.nn.Module:
    """The tiny U-Net, loaded in eval mode (fp32) with one torch thread."""
    torch.set_num_threads(1)
    return load_model(tiny_checkpoint).network


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(7)
    example = torch.randn(1, 3, 64, 64, generator=generator)
    batch = torch.randn(2, 3, 96, 160, generator=generator)
    return example, batch


@pytest.mark.parametrize(
    "runtime", [pytest.param(r, marks=needs_onnx) if r == "onnx" else r for r in RUNTIMES]
)
def test_runtime_matches_eager(tiny_network: torch.nn.Module, runtime: str) -> None:
    example, batch = _inputs()
    reference = probabilities(prepare_forward(tiny_network, "eager", example), batch)
    probs = probabilities(prepare_forward(tiny_network, runtime, example, threads=1), batch)
    assert probs.shape == reference.shape == (2, 2, 96, 160)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs, reference, rtol=0, atol=TOLERANCE)


def test_channels_last_leaves_the_original_network_alone(tiny_network: torch.nn.Module) -> None:
    example, _ = _inputs()
    prepare_forward(tiny_network, "channels_last", example)
    conv = next(m for m in tiny_network.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous()
    assert not conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_torchscript_is_a_frozen_script_module(tiny_network: torch.nn.Module) -> None:
    example, batch = _inputs()
    module = trace_torchscript(tiny_network, example)
    assert isinstance(module, torch.jit.ScriptModule)
    assert not list(module.parameters())  # freezing inlined the weights as constants
    with torch.inference_mode():
        assert module(batch).shape == (2, 2, 96, 160)


@needs_onnx
def test_onnx_file_export_has_dynamic_axes(tiny_network: torch.nn.Module, tmp_path: Path) -> None:
    example, batch = _inputs()
    path = tmp_path / "tiny.onnx"
    export_onnx(tiny_network, example, path)
    session = onnx_session(path, threads=1)
    shape = session.get_inputs()[0].shape
    assert shape[0] == "batch" and shape[2] == "height" and shape[3] == "width"
    logits = session.run(None, {"image": batch.numpy()})[0]
    assert logits.shape == (2, 2, 96, 160)


def test_unknown_runtime_and_bad_threads_are_clear_errors(tiny_network: torch.nn.Module) -> None:
    example, _ = _inputs()
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'"):
        prepare_forward(tiny_network, "tensorrt", example)
    if onnx_available():
        with pytest.raises(ValueError, match="threads must be >= 1"):
            onnx_session(b"", threads=0)
    else:
        with pytest.raises(RuntimeUnavailable):
            prepare_forward(tiny_network, "onnx", example)
