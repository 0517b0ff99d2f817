"""``container/train`` as SageMaker runs it, with ``SAGEMAKER_BASE_DIR`` in a temporary folder:
model written, failure file, hyperparameter encodings, kill-and-resume, SIGTERM, then serving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import torch

from model_code.model.loader import load_model
from model_code.schema import validate_result
from tests.serving.helpers import ServerProcess, encode
from tests.training.plans import break_plan, draw_plan, write_channel_dataset

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "container" / "train"
TIMEOUT_S = 300
TINY = {
    "encoder": "resnet18",
    "encoder-depth": 3,
    "decoder-channels": "32,16,8",
    "batch-size": 2,
    "crop-size": 64,
    "working-size": 96,
    "max-steps-per-epoch": 2,
    "num-workers": 0,
    "threads": 1,
    "augment": "light",
}


def encode_hyperparameters(values: dict, encoding: str) -> dict[str, str]:
    """Strings as the SDK sends them: plain str(), JSON-quoted strings, or JSON."""
    if encoding == "plain":
        return {k: str(v) for k, v in values.items()}
    if encoding == "json-quoted":
        return {k: json.dumps(str(v)) for k, v in values.items()}
    return {k: json.dumps(v) for k, v in values.items()}


def make_base(root: Path, hyperparameters: dict, encoding: str = "json") -> Path:
    """A SageMaker layout: channels train (5 plans) and validation (2), configs, hyperparameters."""
    write_channel_dataset(root / "input" / "data" / "train", 5)
    write_channel_dataset(root / "input" / "data" / "validation", 2, first_seed=40)
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(
        json.dumps(encode_hyperparameters(hyperparameters, encoding))
    )
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    channels = {
        name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
        for name in ("train", "validation")
    }
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    return root


def set_hyperparameters(base: Path, values: dict) -> None:
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(values))


def train_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "SM_"))}
    env.update({"SAGEMAKER_BASE_DIR": str(base), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"})
    return env


def run_train(base: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TRAIN)],
        env=train_env(base),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def start_train(base: Path, log: Path, new_session: bool = False) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        [str(TRAIN)],
        env=train_env(base),
        cwd=ROOT,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=new_session,
    )


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (from /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def wait_for_file(path: Path, process: subprocess.Popen, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.is_file():
        assert process.poll() is None, f"training exited early with {process.returncode}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def saved_epoch(base: Path) -> int:
    state = torch.load(base / "checkpoints" / "training_state.pt", map_location="cpu", weights_only=True)
    return int(state["epoch"])


def test_train_then_serve_the_same_model(tmp_path):
    base = make_base(tmp_path / "ml", {**TINY, "epochs": 2})
    done = run_train(base)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "epoch=2 train_loss=" in done.stdout
    assert not (base / "output" / "failure").exists()
    assert (base / "output" / "data" / "training_curve.png").is_file()
    assert (base / "checkpoints" / "best" / "model.json").is_file()
    model = load_model(base / "model")
    assert model.metadata.training["validation_source"] == "real"
    assert model.metadata.training["validation_plans"] == 2
    server = ServerProcess.serve(base, tmp_path / "serve.log")
    try:
        server.wait_for(200)
        image = draw_plan(7, 128)[0]
        response = requests.post(
            f"{server.url}/invocations", data=encode(image), timeout=60, headers={"Content-Type": "image/png"}
        )
        assert response.status_code == 200, response.text
        document = response.json()
        validate_result(document)
        assert document["image"] == {"width": 128, "height": 128}
    finally:
        server.stop()


@pytest.mark.parametrize("encoding", ["plain", "json-quoted", "json"])
def test_every_hyperparameter_encoding(tmp_path, encoding):
    values = {**TINY, "epochs": 1, "amp": False, "learning-rate": 0.002, "sagemaker_region": "eu-west-1"}
    base = make_base(tmp_path / "ml", values, encoding)
    done = run_train(base)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipping SageMaker hyperparameter sagemaker_region" in done.stdout
    used = load_model(base / "model").metadata.training["hyperparameters"]
    assert (used["epochs"], used["amp"], used["learning_rate"], used["decoder_channels"]) == (
        1,
        False,
        0.002,
        [32, 16, 8],
    )


def test_a_successful_run_removes_a_stale_failure_file(tmp_path):
    base = make_base(tmp_path / "ml", {**TINY, "epochs": 1})
    (base / "output").mkdir()
    (base / "output" / "failure").write_text("ImageDecodeError: from an earlier run\n")
    done = run_train(base)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (base / "output" / "failure").exists()
    assert "removed the failure file of an earlier run" in done.stdout


def test_unknown_hyperparameter_fails_the_job(tmp_path):
    base = make_base(tmp_path / "ml", {**TINY, "epoch": 3})
    done = run_train(base)
    assert done.returncode == 1
    failure = (base / "output" / "failure").read_text()
    assert failure.startswith("ConfigError: unknown hyperparameter(s) ['epoch']")
    assert not (base / "model" / "model.json").exists()


def test_broken_channel_writes_the_failure_file(tmp_path):
    base = make_base(tmp_path / "ml", {**TINY, "epochs": 1})
    train = base / "input" / "data" / "train"
    for mask in (train / "masks").iterdir():
        mask.unlink()
    (train / "masks").rmdir()
    done = run_train(base)
    assert done.returncode == 1
    failure = (base / "output" / "failure").read_text()
    assert failure.startswith("DatasetError:") and "neither a masks/ nor an annotations/" in failure[:1024]


@pytest.mark.parametrize(("how", "workers"), [("truncated-jpeg", 1), ("corrupt-mask", 0)])
def test_an_unreadable_plan_file_is_named_in_the_failure_file_and_the_log(tmp_path, how, workers):
    base = make_base(tmp_path / "ml", {**TINY, "epochs": 1, "num-workers": workers})
    train = base / "input" / "data" / "train"
    for stem in ("plan002", "plan003", "plan004"):  # two plans left: the first batch holds both
        (train / "images" / f"{stem}.png").unlink()
        (train / "masks" / f"{stem}.png").unlink()
    broken = break_plan(train, "plan001", how).relative_to(train)
    done = run_train(base)
    assert done.returncode == 1, done.stdout + done.stderr
    reason = (base / "output" / "failure").read_text().splitlines()[0]
    assert str(broken) in reason and "DataLoader worker" not in reason, reason
    assert str(broken) in done.stdout, done.stdout


def test_killed_job_resumes_from_the_last_epoch_checkpoint(tmp_path):
    base = make_base(tmp_path / "ml", {**TINY, "epochs": 50})
    process = start_train(base, tmp_path / "first.log")
    try:
        wait_for_file(base / "checkpoints" / "training_state.pt", process)
    finally:
        process.kill()  # SIGKILL: no chance to save anything more
        process.wait(timeout=30)
    reached = saved_epoch(base)
    assert 1 <= reached < 50
    set_hyperparameters(base, {**TINY, "epochs": reached + 1})
    done = run_train(base)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"at epoch {reached} " in done.stdout
    assert f"epoch={reached + 1} train_loss=" in done.stdout and "epoch=1 train_loss=" not in done.stdout
    history = json.loads((base / "output" / "data" / "history.json").read_text())["history"]
    assert [row["epoch"] for row in history] == list(range(1, reached + 2))


def test_sigterm_saves_a_checkpoint_and_exits(tmp_path):
    base = make_base(tmp_path / "ml", {**TINY, "epochs": 50})
    log = tmp_path / "run.log"
    process = start_train(base, log)
    try:
        wait_for_file(base / "checkpoints" / "training_state.pt", process)
        before = (base / "checkpoints" / "training_state.pt").stat().st_mtime_ns
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=120)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 128 + signal.SIGTERM, log.read_text()
    assert took < 120
    assert "interrupted: SIGTERM: checkpoint saved" in log.read_text()
    assert (base / "checkpoints" / "training_state.pt").stat().st_mtime_ns > before
    assert not (base / "output" / "failure").exists()


@pytest.mark.skipif(
    not Path("/proc/self/stat").is_file(), reason="needs /proc to find the DataLoader workers"
)
def test_sigterm_to_the_whole_process_group_checkpoints_like_a_sigterm_to_the_trainer(tmp_path):
    """``timeout``, ``kill -- -PGID`` and systemd signal every process, DataLoader workers included."""
    hyperparameters = {**TINY, "epochs": 50, "num-workers": 2, "max-steps-per-epoch": 1000, "repeat": 200}
    base = make_base(tmp_path / "ml", hyperparameters)
    log = tmp_path / "run.log"
    process = start_train(base, log, new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while len(group_members(process.pid)) < 3:  # the trainer and its two workers: mid-epoch 1
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the DataLoader workers never started"
            time.sleep(0.1)
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text()
    assert code == 128 + signal.SIGTERM, text
    assert "interrupted: SIGTERM: checkpoint saved" in text and "during epoch 1" in text, text
    assert saved_epoch(base) == 0  # the mid-epoch state: no epoch completed yet, weights as trained so far
    assert not (base / "output" / "failure").exists()
    deadline = time.monotonic() + 10
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_members(process.pid), "DataLoader workers outlived the trainer"
