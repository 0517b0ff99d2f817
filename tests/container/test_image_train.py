"""`IMAGE train` as SageMaker runs it (one epoch on generated plans, no network), then that model served
by a non-root user from a read-only `/opt/ml/model`."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from model_code.schema import validate_result
from tests.container.engine import NON_ROOT, Container, needs_image, run, writable_dir
from tests.serving.helpers import encode, free_port, plan_image

pytestmark = [pytest.mark.slow, needs_image]
HYPERPARAMETERS = {
    "epochs": "1",
    "encoder": "resnet18",
    "encoder-depth": "3",
    "decoder-channels": "[32,16,8]",
    "batch-size": "2",
    "crop-size": "128",
    "working-size": "128",
    "max-steps-per-epoch": "3",
    "num-workers": "1",
    "threads": "2",
    "augment": "light",
    "model-name": "container-test",
    "model-version": "0.0.1",
}


def synth(out, count: int, seed: int) -> None:
    command = [sys.executable, "-m", "model_code", "synth", "--count", str(count), "--seed", str(seed)]
    subprocess.run([*command, "--size", "160:256", "--out", str(out)], check=True, timeout=300)


def train_in_image(tmp_path, hyperparameters: dict[str, str]):
    """Run ``IMAGE train`` on a SageMaker tree of generated plans, offline; returns ``/opt/ml/model``."""
    base = tmp_path / "ml"
    synth(base / "input" / "data" / "train", 6, seed=100)
    synth(base / "input" / "data" / "validation", 2, seed=200)
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    channel = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
    (config / "inputdataconfig.json").write_text(json.dumps({"train": channel, "validation": channel}))
    model, output = writable_dir(base / "model"), writable_dir(base / "output")

    started = time.monotonic()
    done = run(
        "train",
        options=[
            "--network", "none",
            "--volume", f"{base / 'input'}:/opt/ml/input:ro",
            "--volume", f"{model}:/opt/ml/model",
            "--volume", f"{output}:/opt/ml/output",
        ],
        timeout=900,
        check=False,
    )  # fmt: skip
    failure = output / "failure"
    assert done.returncode == 0, (failure.read_text() if failure.exists() else "") + done.stderr[-4000:]
    print(f"\ntrain: one epoch in {time.monotonic() - started:.0f} s (container run to exit)")
    return model


def test_fine_tune_from_the_bundled_synthetic_checkpoint(tmp_path):
    """``init_checkpoint=synthetic``: the image carries the generated-plans-only model and starts from it."""
    hyperparameters = {
        "epochs": "1",
        "init-checkpoint": "synthetic",
        "batch-size": "2",
        "crop-size": "128",
        "max-steps-per-epoch": "2",
        "num-workers": "1",
        "threads": "2",
        "room-types": "no",
        "model-name": "container-from-synthetic",
        "model-version": "0.0.1",
    }
    model = train_in_image(tmp_path, hyperparameters)
    meta = json.loads((model / "model.json").read_text())
    assert meta["name"] == "container-from-synthetic" and meta["encoder"] == "resnet18"
    init = meta["training"]["init"]
    assert init.startswith("checkpoint:") and "synthetic_model" in init
    # the data history of the synthetic stages travels on: generated plans only, back to scratch
    lineage = meta["training"]["lineage"]
    assert lineage[0]["name"] == "floorplan-unet-synthetic" and lineage[-1]["init"] == "scratch"
    assert all(stage["train_plans"] == 0 and stage["sources"] == [] for stage in lineage)


def test_train_one_epoch_then_serve_that_model_read_only(tmp_path):
    model = train_in_image(tmp_path, HYPERPARAMETERS)
    assert {"model.safetensors", "model.json"} <= {p.name for p in model.iterdir()}
    assert json.loads((model / "model.json").read_text())["name"] == "container-test"

    # Served as SageMaker does after a training job: the model folder mounted read-only, any user.
    # Its ONNX export is not in the image's cache: `serve` exports it once into the shared cache.
    server = Container(
        "serve", options=["--user", NON_ROOT, "--volume", f"{model}:/opt/ml/model:ro"], port=free_port()
    )
    try:
        print(f"trained model, user {NON_ROOT}: run -> /ping 200 in {server.wait_for_ping():.1f} s")
        assert requests.get(f"{server.url}/ping", timeout=5).json()["model"]["name"] == "container-test"
        answer = requests.post(
            f"{server.url}/invocations",
            data=encode(plan_image(320, 240)),
            headers={"Content-Type": "image/png"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        document = answer.json()
        validate_result(document)
        assert document["model"]["name"] == "container-test"
        log = server.logs()
        assert "cannot cache" not in log, log
    finally:
        server.remove()
