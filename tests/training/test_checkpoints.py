"""The resume state file: only tensors and plain data load, nothing in it can run code."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from model_code.training.checkpoints import (
    ResumeError,
    TrainingState,
    load_state,
    save_state,
    state_path,
)
from tests.conftest import TINY_SPEC


class _RunsCode:
    """Unpickling this calls ``exec``: what a crafted ``training_state.pt`` from S3 could hold."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def test_a_state_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "marker"
    state = asdict(TrainingState(epoch=1, spec=asdict(TINY_SPEC), model={}, optimizer={}, scheduler={}))
    state["history"] = [{"epoch": 1, "payload": _RunsCode(marker)}]
    torch.save(state, state_path(tmp_path))
    with pytest.raises(
        ResumeError, match=r"refusing to load .*training_state\.pt.*global exec.*could run code"
    ):
        load_state(tmp_path, TINY_SPEC)
    assert not marker.exists()


def test_numpy_values_in_a_state_are_saved_as_plain_data(tmp_path):
    network = torch.nn.Linear(2, 1)
    optimizer = torch.optim.AdamW(network.parameters())
    network(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    state = TrainingState(
        epoch=np.int64(2),
        spec=asdict(TINY_SPEC),
        model=network.state_dict(),
        optimizer=optimizer.state_dict(),
        scheduler={"best": np.float64(0.5), "_last_lr": [np.float32(0.25)]},
        best_score=np.float64(0.75),
        best_metrics={"val_iou": np.float64(0.5)},
        history=[{"epoch": 2, "train_loss": np.float32(0.125), "mask": np.array([1, 2])}],
    )
    save_state(tmp_path, state)
    loaded = load_state(tmp_path, TINY_SPEC)
    assert loaded is not None
    assert (loaded.epoch, loaded.best_score, loaded.best_metrics) == (2, 0.75, {"val_iou": 0.5})
    assert type(loaded.epoch) is int and type(loaded.best_score) is float
    assert loaded.scheduler == {"best": 0.5, "_last_lr": [0.25]}
    assert loaded.history[0]["train_loss"] == 0.125 and loaded.history[0]["mask"].tolist() == [1, 2]
    assert torch.equal(loaded.model["weight"], network.weight)
    restored = torch.optim.AdamW(torch.nn.Linear(2, 1).parameters())
    restored.load_state_dict(loaded.optimizer)
    assert int(restored.state_dict()["state"][0]["step"]) == 1
