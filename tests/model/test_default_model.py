"""The bundled default model: complete, loadable, finds walls, and `make serve` serves it.

These tests guard the README's first command: a new user starts the endpoint on the bundled
model and sees walls.  The quality floor is deliberately modest (solid-wall generated plans,
where the shipped model scores about 0.94-0.98 wall IoU); it catches a broken or swapped
checkpoint, not small regressions, which `floorplan evaluate` measures.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import requests
import torch
from safetensors import safe_open

from model_code.evaluation import metrics
from model_code.io.images import encode_png
from model_code.model.checkpoint import (
    BUNDLED_MODELS,
    METADATA_FILE,
    SYNTHETIC_MODEL_DIR,
    WEIGHTS_FILE,
    read_metadata,
    resolve_model_dir,
    training_lineage,
)
from model_code.model.loader import load_model
from model_code.model.room_classifier import CLASSIFIER_FILE
from model_code.pipeline import Pipeline
from model_code.schema import ROOM_TYPES, validate_result
from model_code.synth import generate_plan
from tests.serving.helpers import SERVE_LOCAL, ServerProcess, free_port, serving_env


@pytest.mark.parametrize("name", sorted(BUNDLED_MODELS))
def test_bundled_checkpoint_is_complete_and_small(name):
    directory = BUNDLED_MODELS[name]
    assert resolve_model_dir(name) == directory
    weights = directory / WEIGHTS_FILE
    assert weights.stat().st_size < 50 * 1024 * 1024
    with safe_open(str(weights), framework="pt") as handle:
        dtypes = {handle.get_tensor(name).dtype for name in handle.keys()}  # noqa: SIM118
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    meta = json.loads((directory / METADATA_FILE).read_text())
    assert meta["name"].startswith("floorplan-unet") and meta["channels"] == ["wall", "opening"]
    training = meta["training"]
    # the held-out plans must be recorded: by id for real plans, by seed and count for generated ones
    assert training["validation_ids"] or (
        training["validation_source"] == "synthetic" and training["validation_plans"] > 0
    )
    assert (directory / "MODEL_CARD.md").is_file()
    loaded = load_model(name)
    assert loaded.metadata.working_size == meta["working_size"]
    assert loaded.room_classifier is not None and loaded.room_classifier.classes == list(ROOM_TYPES)
    assert (directory / CLASSIFIER_FILE).stat().st_size < 4 * 1024 * 1024


def test_the_synthetic_checkpoint_saw_generated_plans_only():
    """The clean start for commercial customers: no R3D (research-use) plan in its training record."""
    metadata = read_metadata(SYNTHETIC_MODEL_DIR)
    stages = training_lineage(metadata)  # its own training first, then every stage it started from
    for stage in stages:
        assert stage["train_plans"] == 0 and stage["sources"] == [] and stage["layouts"] == []
        assert stage["validation_source"] == "synthetic" and stage["synthetic_plans_per_epoch"] > 0
    assert stages[-1]["init"] == "scratch"  # no ImageNet weights and no other model at the root
    assert all(stage["init"].startswith("checkpoint:") for stage in stages[:-1])


def test_the_default_checkpoint_is_the_synthetic_one_fine_tuned_on_r3d():
    """Its record names the R3D plans its stages saw (0.5.0 and 0.4.0 continued 0.3.0's R3D stage) and,
    under them, the generated-only stages they started from."""
    stages = training_lineage(read_metadata(resolve_model_dir("default")))
    r3d = [stage for stage in stages if stage["name"] == "floorplan-unet"]
    assert r3d and stages[: len(r3d)] == r3d  # the R3D stages come first, then only generated ones
    assert all(stage["train_plans"] > 0 and stage["sources"] for stage in r3d)  # research-use data: R3D
    generated = stages[len(r3d) :]
    assert generated and {stage["name"] for stage in generated} == {"floorplan-unet-synthetic"}
    # it started from the shipped synthetic checkpoint or from one of the stages that made it
    synthetic_stages = training_lineage(read_metadata(SYNTHETIC_MODEL_DIR))
    assert generated[0]["version"] in [stage["version"] for stage in synthetic_stages]
    assert all(stage["train_plans"] == 0 for stage in generated) and stages[-1]["init"] == "scratch"


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


def test_serve_local_takes_a_bundled_model_by_name():
    spec = importlib.util.spec_from_file_location("serve_local_module", SERVE_LOCAL)
    serve_local = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve_local)
    args = serve_local.build_parser().parse_args(["--model-dir", "synthetic"])
    assert serve_local.check_model(args) == SYNTHETIC_MODEL_DIR.resolve()
    env = serve_local.serving_environment(args, {})
    assert env["SM_MODEL_DIR"] == str(SYNTHETIC_MODEL_DIR.resolve())
