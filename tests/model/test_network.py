"""The one checkpoint format: save, load, metadata, errors; and inference shapes."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from model_code.model.checkpoint import CheckpointError, ModelMetadata, read_metadata, save_model
from model_code.model.inference import (
    VIEW_FLIPS,
    blend_window,
    normalize,
    predict_probabilities,
    tile_starts,
    working_shape,
)
from model_code.model.loader import load_model
from model_code.model.network import build_network
from tests.conftest import TINY_SPEC
from tests.serving.helpers import ping_once_loaded


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


def test_tiles_cover_the_image_with_overlap():
    assert tile_starts(500, 768, 128) == [0]
    starts = tile_starts(2000, 768, 128)
    assert starts[0] == 0 and starts[-1] == 2000 - 768
    assert all(b - a <= 768 - 128 for a, b in itertools.pairwise(starts))
    window = blend_window(64, 16)
    assert window.shape == (64, 64) and window.max() == 1.0 and window.min() > 0


def test_tiled_inference_matches_single_pass(tiny_checkpoint):
    model = load_model(tiny_checkpoint)
    rng = np.random.default_rng(0)
    image = np.full((256, 320, 3), 255, np.uint8)
    for _ in range(12):
        x, y = rng.integers(0, 300), rng.integers(0, 240)
        image[y : y + 6, x : x + 60] = 0
    whole = predict_probabilities(model, image, working_size=320, tile_size=512)
    tiled = predict_probabilities(model, image, working_size=320, tile_size=128, tile_overlap=48)
    assert tiled.shape == whole.shape
    # A receptive field wider than the overlap makes seams differ a little; the bulk must agree.
    assert np.median(np.abs(tiled - whole)) < 0.02
    assert ((tiled > 0.5) == (whole > 0.5)).mean() > 0.97


def test_views_average_the_mirrored_plans_probabilities_flipped_back(tiny_checkpoint, drawn_plan):
    model = load_model(tiny_checkpoint)
    image = np.ascontiguousarray(drawn_plan[:128, :160])  # a multiple of 32: no resizing, no padding

    def one(picture: np.ndarray) -> np.ndarray:
        return predict_probabilities(model, np.ascontiguousarray(picture), shape=(128, 160))

    plain = one(image)
    mirrored = one(image[:, ::-1])[:, :, ::-1]
    upside_down = one(image[::-1])[:, ::-1]
    both = one(image[::-1, ::-1])[:, ::-1, ::-1]
    assert not np.allclose(plain, mirrored, atol=1e-3)  # the untrained network is no mirror image
    two = predict_probabilities(model, image, shape=(128, 160), flips=VIEW_FLIPS[2])
    four = predict_probabilities(model, image, shape=(128, 160), flips=VIEW_FLIPS[4])
    np.testing.assert_allclose(two, (plain + mirrored) / 2, atol=1e-5)
    np.testing.assert_allclose(four, (plain + mirrored + upside_down + both) / 4, atol=1e-5)
    assert four.dtype == np.float32 and four.flags.c_contiguous
    tiled = predict_probabilities(
        model, image, shape=(128, 160), tile_size=64, tile_overlap=16, flips=VIEW_FLIPS[4]
    )
    assert tiled.shape == four.shape and tiled.min() >= 0.0 and tiled.max() <= 1.0
    with pytest.raises(ValueError, match="flips must be"):
        predict_probabilities(model, image, flips=((0,),))
    with pytest.raises(ValueError, match="flips must be"):
        predict_probabilities(model, image, flips=())


def test_checkpoint_files_are_readable_by_others(tiny_checkpoint):
    for name in ("model.safetensors", "model.json"):
        assert (tiny_checkpoint / name).stat().st_mode & 0o044 == 0o044


def test_normalize_is_the_arithmetic_bit_for_bit():
    image = np.random.default_rng(3).integers(0, 256, (19, 23, 3), np.uint8)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    arr = image.astype(np.float32) / 255.0
    expected = ((arr - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1)
    out = normalize(image, mean, std)
    assert out.shape == (3, 19, 23) and out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"working_size": -5}, "working_size -5 is outside 64..4096"),
        ({"working_size": 0}, "working_size 0 is outside"),
        ({"working_size": 7}, "working_size 7 is outside"),
        ({"working_size": 100000}, "working_size 100000 is outside"),
        ({"working_size": 512.5}, "working_size must be a whole number"),
        ({"working_size": "big"}, "working_size must be a whole number"),
        ({"normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.2, 0.0, 0.2]}}, "std must be > 0"),
        ({"normalization": {"mean": [0.5, 0.5], "std": [0.2, 0.2, 0.2]}}, "mean must be 3 finite numbers"),
        ({"normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.2, "x", 0.2]}}, "std must be 3 finite"),
        ({"channels": ["opening"]}, "channels must name 'wall' once"),
        ({"in_channels": 4}, "in_channels must be 3"),
        ({"decoder_channels": [8, 4]}, "decoder_channels must be 3 positive numbers"),
    ],
)
def test_impossible_metadata_is_refused_at_load(tmp_path, tiny_checkpoint, change, reason):
    import json
    import shutil

    from model_code.model.checkpoint import CheckpointError, read_metadata
    from model_code.model.loader import load_model

    folder = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, folder)
    data = json.loads((folder / "model.json").read_text())
    data.update(change)
    (folder / "model.json").write_text(json.dumps(data))
    with pytest.raises(CheckpointError) as info:
        read_metadata(folder)
    assert reason in str(info.value)
    with pytest.raises(CheckpointError):
        load_model(folder)


def test_impossible_metadata_keeps_ping_503_with_the_reason(tmp_path, tiny_checkpoint, monkeypatch):
    import json
    import shutil

    from model_code.serving.app import create_app
    from model_code.serving.config import ServingConfig

    folder = tmp_path / "model"
    shutil.copytree(tiny_checkpoint, folder)
    data = json.loads((folder / "model.json").read_text())
    data["working_size"] = 100000
    (folder / "model.json").write_text(json.dumps(data))
    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    client = create_app(ServingConfig(workers=1)).test_client()
    answer = ping_once_loaded(client)
    assert answer.status_code == 503
    assert "working_size 100000 is outside 64..4096" in answer.json["reason"]
