"""Data-parallel training: the AMP choice, the torchrun command, rank-prefixed logs, and a 2-process
gloo job through ``container/train`` that checkpoints, is stopped by SIGTERM, resumes and writes one
model that serves."""

from __future__ import annotations

import logging
import os
import signal
import subprocess

import pytest
import torch

from model_code.model.loader import load_model
from model_code.pipeline import Pipeline
from model_code.schema import validate_result
from model_code.training import distributed
from model_code.training.distributed import Distributed, RankFormatter, amp_dtype, torchrun_command
from tests.training.plans import draw_plan
from tests.training.test_container_train import (
    TIMEOUT_S,
    TINY,
    TRAIN,
    make_base,
    saved_epoch,
    set_hyperparameters,
    train_env,
    wait_for_file,
)

ROOT = TRAIN.parents[1]


@pytest.mark.parametrize(("bf16", "expected"), [(True, torch.bfloat16), (False, torch.float16)])
def test_amp_takes_bf16_where_the_gpu_has_it_else_fp16(monkeypatch, bf16, expected):
    asked = {}

    def supported(including_emulation: bool = True) -> bool:
        asked["emulation"] = including_emulation
        return bf16

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", supported)
    assert amp_dtype(torch.device("cuda", 0), True) is expected
    assert asked == {"emulation": False}  # a T4 "supports" bf16 only by slow emulation


def test_amp_is_off_on_cpu_and_when_disabled(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert amp_dtype(torch.device("cpu"), True) is None
    assert amp_dtype(torch.device("cuda", 0), False) is None


def test_torchrun_command_for_one_host_and_for_several():
    one = torchrun_command(("algo-1",), "algo-1", 4, "model_code.training.sagemaker_entry")
    assert "--standalone" in one and "--nproc-per-node=4" in one
    assert one[-2:] == ["-m", "model_code.training.sagemaker_entry"]
    two = torchrun_command(("algo-1", "algo-2"), "algo-2", 8, "m")
    assert {"--nnodes=2", "--node-rank=1", "--master-addr=algo-1", "--nproc-per-node=8"} <= set(two)
    assert "--standalone" not in two
    with pytest.raises(ValueError, match="algo-3"):
        torchrun_command(("algo-1", "algo-2"), "algo-3", 1, "m")


def test_processes_per_host(monkeypatch):
    monkeypatch.setattr(distributed, "gpu_count", lambda: 0)
    monkeypatch.delenv(distributed.NPROC_ENV, raising=False)
    assert distributed.processes_per_host() == 1
    monkeypatch.setattr(distributed, "gpu_count", lambda: 4)
    assert distributed.processes_per_host() == 4
    monkeypatch.setenv(distributed.NPROC_ENV, "2")
    assert distributed.processes_per_host() == 2


def test_rank_prefix_spares_rank_zeros_metric_lines():
    formatter = RankFormatter(Distributed(rank=1, world_size=2))
    record = logging.LogRecord("x", logging.INFO, "", 0, "resumed", None, None)
    assert formatter.format(record) == "[rank 1/2] resumed"
    record.bare = True
    assert formatter.format(record) == "resumed"
    assert RankFormatter(Distributed()).format(logging.LogRecord("x", 20, "", 0, "m", None, None)) == "m"


def start_two_process_train(base, log) -> subprocess.Popen:
    env = {**train_env(base), distributed.NPROC_ENV: "2"}
    return subprocess.Popen(
        [str(TRAIN)],
        env=env,
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.slow
def test_two_gloo_processes_train_stop_resume_and_write_one_servable_model(tmp_path):
    base = make_base(tmp_path / "ml", {**TINY, "epochs": 50})
    first_log = tmp_path / "first.log"
    process = start_two_process_train(base, first_log)
    try:
        wait_for_file(base / "checkpoints" / "training_state.pt", process)
        os.killpg(process.pid, signal.SIGTERM)  # as `timeout` or systemd would: the whole group
        code = process.wait(timeout=150)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    first = first_log.read_text()
    assert code == 128 + signal.SIGTERM, first
    for rank in (0, 1):
        assert f"[rank {rank}/2] data-parallel: rank {rank}/2 (local rank {rank}, backend gloo)" in first
    assert "[rank 0/2] interrupted: SIGTERM: checkpoint saved" in first, first
    assert "[rank 1/2] interrupted: SIGTERM: checkpoint saved" in first, first
    reached = saved_epoch(base)
    assert 1 <= reached < 50
    assert sorted(p.name for p in (base / "checkpoints").iterdir()) == ["best", "training_state.pt"]
    assert not (base / "output" / "failure").exists()
    assert not (base / "model" / "model.json").exists()

    set_hyperparameters(base, {**TINY, "epochs": reached + 1})
    second_log = tmp_path / "second.log"
    process = start_two_process_train(base, second_log)
    try:
        code = process.wait(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    second = second_log.read_text()
    assert code == 0, second
    for rank in (0, 1):
        assert f"[rank {rank}/2] resumed from {base / 'checkpoints'} at epoch {reached} " in second, second
    lines = second.splitlines()
    assert sum(line.startswith(f"epoch={reached + 1} train_loss=") for line in lines) == 1, second
    assert not any(line.startswith("epoch=1 ") for line in lines)
    assert sorted(p.name for p in (base / "model").iterdir()) == ["model.json", "model.safetensors"]
    model = load_model(base / "model")
    assert model.metadata.training["processes"] == 2
    assert model.metadata.training["epochs_completed"] == reached + 1
    document = Pipeline(model).analyze(draw_plan(7, 128)[0]).document.to_dict()
    validate_result(document)
    assert document["image"] == {"width": 128, "height": 128}
    assert not (base / "output" / "failure").exists()
