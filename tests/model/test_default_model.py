"""The bundled default model: complete, loadable, finds walls, and `make serve` serves it.

These tests guard the README's first command: a new user starts the endpoint on the bundled
model and sees walls.  The quality floor is deliberately modest (solid-wall generated plans,
where the shipped model scores about 0.94-0.98 wall IoU); it catches a broken or swapped
checkpoint, not small regressions, which `floorplan evaluate` measures.
"""

from __future__ import annotations

import json
import sys

import pytest
import requests
import torch
from safetensors import safe_open

from model_code.evaluation import metrics
from model_code.io.images import encode_png
from model_code.model.checkpoint import DEFAULT_MODEL_DIR, METADATA_FILE, WEIGHTS_FILE
from model_code.model.loader import load_model
from model_code.model.room_classifier import CLASSIFIER_FILE
from model_code.pipeline import Pipeline
from model_code.schema import ROOM_TYPES, validate_result
from model_code.synth import generate_plan
from tests.serving.helpers import SERVE_LOCAL, ServerProcess, free_port, serving_env


def test_bundled_checkpoint_is_complete_and_small():
    weights = DEFAULT_MODEL_DIR / WEIGHTS_FILE
    assert weights.stat().st_size < 50 * 1024 * 1024
    with safe_open(str(weights), framework="pt") as handle:
        dtypes = {handle.get_tensor(name).dtype for name in handle.keys()}  # noqa: SIM118
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    meta = json.loads((DEFAULT_MODEL_DIR / METADATA_FILE).read_text())
    assert meta["name"] == "floorplan-unet" and meta["channels"] == ["wall", "opening"]
    assert meta["training"]["validation_ids"], "the held-out plans must be recorded"
    assert (DEFAULT_MODEL_DIR / "MODEL_CARD.md").is_file()
    loaded = load_model()
    assert loaded.metadata.working_size == meta["working_size"]
    assert loaded.room_classifier is not None and loaded.room_classifier.classes == list(ROOM_TYPES)
    assert (DEFAULT_MODEL_DIR / CLASSIFIER_FILE).stat().st_size < 4 * 1024 * 1024


@pytest.fixture(scope="module")
def default_pipeline() -> Pipeline:
    torch.set_num_threads(1)
    return Pipeline.load()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bundled_model_finds_the_walls_of_a_generated_plan(default_pipeline, seed):
    plan = generate_plan(seed, size=512, styles=["solid"])
    result = default_pipeline.analyze(plan.image)
    assert metrics.iou(result.wall_mask, plan.wall_mask) > 0.85
    document = result.document.to_dict()
    validate_result(document)
    assert len(document["walls"]) >= 4
    assert len(document["rooms"]) >= len(plan.annotation.rooms) // 2
    assert all(room["type"] in ROOM_TYPES and room["name_hint"] for room in document["rooms"])
    assert "room_types" in document["timing_ms"]


@pytest.mark.slow
def test_serve_local_serves_the_bundled_model_by_default(tmp_path):
    port = free_port()
    env = serving_env(tmp_path, port, {})  # an empty /opt/ml stand-in: no model there
    server = ServerProcess(
        [sys.executable, str(SERVE_LOCAL), "--port", str(port)], env, port, tmp_path / "log"
    )
    try:
        server.wait_for(200, timeout_s=180)
        assert server.ping_json()["model"]["name"] == "floorplan-unet"
        body = encode_png(generate_plan(5, size=384, styles=["solid"]).image)
        response = requests.post(
            f"{server.url}/invocations", data=body, headers={"Content-Type": "image/png"}, timeout=120
        )
        assert response.status_code == 200, response.text
        document = response.json()
        validate_result(document)
        assert document["model"]["backend"] == "unet" and len(document["walls"]) >= 4
    finally:
        assert server.stop() == 0
