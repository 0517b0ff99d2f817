"""The one checkpoint format: save, load, metadata, errors; and inference shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model_code.inference import predict_probabilities, working_shape
from model_code.network import (
    CheckpointError,
    ModelMetadata,
    build_network,
    load_model,
    read_metadata,
    save_model,
)
from tests.conftest import TINY_SPEC


def test_checkpoint_round_trip_keeps_outputs(tiny_checkpoint):
    loaded = load_model(tiny_checkpoint)
    assert loaded.metadata.spec == TINY_SPEC
    assert loaded.metadata.working_size == 128
    meta = json.loads((tiny_checkpoint / "model.json").read_text())
    assert meta["channels"] == ["wall", "opening"] and meta["encoder"] == "resnet18"
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        first = loaded.network(x)
    again = load_model(tiny_checkpoint)
    with torch.inference_mode():
        assert torch.equal(first, again.network(x))


def test_fp16_weights_are_close_to_fp32(tmp_path):
    torch.manual_seed(1)
    network = build_network(TINY_SPEC).eval()
    save_model(network, ModelMetadata(spec=TINY_SPEC), tmp_path)
    loaded = load_model(tmp_path)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(network(x), loaded.network(x), atol=5e-2)


def test_missing_or_foreign_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no model checkpoint"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"format": "something-else"}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="not a floorplan-unet checkpoint"):
        read_metadata(tmp_path)


def test_probabilities_come_back_at_input_size(tiny_checkpoint, drawn_plan):
    model = load_model(tiny_checkpoint)
    probs = predict_probabilities(model, drawn_plan)
    assert probs.shape == (2, *drawn_plan.shape[:2])
    assert probs.dtype == np.float32 and probs.min() >= 0.0 and probs.max() <= 1.0
    with pytest.raises(ValueError, match="uint8 RGB"):
        predict_probabilities(model, drawn_plan[:, :, 0])


def test_working_shape_keeps_aspect():
    assert working_shape(1000, 500, 512) == (512, 256)
    assert working_shape(300, 300, 512) == (512, 512)
