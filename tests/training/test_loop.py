"""The training loop in-process on tiny cv2-drawn plans: model, metrics, resume, stop, init, freeze."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from model_code.datasets.layouts import open_dataset
from model_code.datasets.torch_data import PlanCropDataset
from model_code.model.inference import predict_probabilities
from model_code.model.loader import load_model
from model_code.model.network import PretrainedWeightsUnavailable
from model_code.training.checkpoints import ResumeError, kept_epochs, state_path
from model_code.training.config import ConfigError, TrainConfig
from model_code.training.loop import (
    COSINE_FLOOR,
    BudgetCosine,
    StopFlag,
    TrainingInterrupted,
    checkpoint_dir_for,
    ignore_stop_signals,
    initial_network,
    stop_signals_blocked,
    train,
)
from tests.training.plans import draw_plan, write_channel_dataset, write_r3d_dataset

METRIC_LINE = re.compile(r"^epoch=(\d+) train_loss=([0-9.]+) val_iou=([0-9.]+) val_opening_iou=([0-9.]+)")


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def plans_dir(tmp_path_factory):
    return write_channel_dataset(tmp_path_factory.mktemp("plans"), 6)


def tiny(tmp_path, data, **changes) -> TrainConfig:
    """A config that trains in about a second: resnet18 depth 3, 64 px crops, 2 steps per epoch."""
    config = TrainConfig(
        data=str(data),
        out=str(tmp_path / "model"),
        encoder="resnet18",
        encoder_depth=3,
        decoder_channels=(32, 16, 8),
        epochs=2,
        batch_size=2,
        crop_size=64,
        working_size=96,
        max_steps_per_epoch=2,
        num_workers=0,
        threads=1,
        augment="light",
        val_fraction=0.34,
    )
    for key, value in changes.items():
        setattr(config, key, value)
    return config


def test_train_writes_a_servable_model_with_metrics_and_curve(tmp_path, plans_dir, caplog):
    with caplog.at_level(logging.INFO, logger="model_code.training"):
        result = train(tiny(tmp_path, plans_dir))
    lines = [m for m in (METRIC_LINE.match(r.getMessage()) for r in caplog.records) if m]
    assert [int(m.group(1)) for m in lines] == [1, 2]
    loaded = load_model(result.model_dir)
    meta = loaded.metadata
    assert meta.working_size == 96 and meta.spec.encoder == "resnet18"
    assert set(meta.metrics) == {"val_iou", "val_opening_iou", "val_mean_iou"}
    assert meta.training["train_plans"] == 4 and meta.training["validation_plans"] == 2
    assert meta.training["stopped"] == "completed" and meta.training["epochs_completed"] == 2
    assert meta.training["hyperparameters"]["batch_size"] == 2
    probs = predict_probabilities(loaded, draw_plan(99, 80)[0])
    assert probs.shape == (2, 80, 80) and 0 <= probs.min() <= probs.max() <= 1
    history = json.loads((result.model_dir / "history.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    assert (result.model_dir / "training_curve.png").stat().st_size > 1000


def test_keep_epoch_models_keeps_each_epoch_servable_with_its_own_metrics(tmp_path, plans_dir):
    config = tiny(tmp_path, plans_dir, epochs=3, keep_epoch_models=True)
    result = train(config)
    kept = sorted((checkpoint_dir_for(config) / "epochs").iterdir())
    assert [path.name for path in kept] == ["epoch-001", "epoch-002", "epoch-003"]
    assert kept_epochs(checkpoint_dir_for(config)) == dict(enumerate(kept, start=1))
    for row, path in zip(result.history, kept, strict=True):
        loaded = load_model(path, runtime="eager")
        assert loaded.metadata.metrics["val_iou"] == pytest.approx(row["val_iou"])
        assert loaded.metadata.training["epoch"] == row["epoch"]
    # the best epoch's copy serves what the final model (the best epoch's weights) serves
    image = draw_plan(97, 80)[0]
    best = predict_probabilities(load_model(kept[result.best_epoch - 1], runtime="eager"), image)
    final = predict_probabilities(load_model(result.model_dir, runtime="eager"), image)
    assert best.shape == (2, 80, 80) and np.abs(best - final).max() < 0.02


def test_epoch_models_are_not_kept_by_default(tmp_path, plans_dir):
    config = tiny(tmp_path, plans_dir, epochs=1)
    train(config)
    assert (checkpoint_dir_for(config) / "best").is_dir()
    assert not (checkpoint_dir_for(config) / "epochs").exists()
    assert kept_epochs(checkpoint_dir_for(config)) == {}


def test_loss_goes_down_on_simple_plans(tmp_path, plans_dir):
    result = train(
        tiny(tmp_path, plans_dir, epochs=4, max_steps_per_epoch=3, learning_rate=3e-3, augment="none")
    )
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < losses[0], losses


def test_second_run_resumes_from_the_last_epoch(tmp_path, plans_dir, caplog):
    train(tiny(tmp_path, plans_dir, epochs=1))
    with caplog.at_level(logging.INFO, logger="model_code.training"):
        result = train(tiny(tmp_path, plans_dir, epochs=3))
    assert "resumed from" in caplog.text and "at epoch 1" in caplog.text
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert result.epochs_completed == 3


def test_resume_refuses_another_network(tmp_path, plans_dir):
    train(tiny(tmp_path, plans_dir, epochs=1))
    with pytest.raises(ResumeError, match="different network"):
        train(tiny(tmp_path, plans_dir, epochs=2, decoder_channels=(16, 8, 8)))


def test_resume_refuses_another_recipe_but_takes_more_epochs(tmp_path, plans_dir):
    """A checkpoint directory left by a run with other settings (a killed run, then a new command)
    must not silently continue that run's optimiser and schedule."""
    train(tiny(tmp_path, plans_dir, epochs=1))
    with pytest.raises(ResumeError, match=r"other settings \(learning_rate: 0\.0003 there, 0\.0005 here\)"):
        train(tiny(tmp_path, plans_dir, epochs=2, learning_rate=5e-4))
    result = train(tiny(tmp_path, plans_dir, epochs=2, time_budget_minutes=60))  # when it stops may change
    assert [row["epoch"] for row in result.history] == [1, 2]


def test_resume_refuses_an_init_checkpoint_name_that_now_means_other_weights(tmp_path, plans_dir):
    """``--init-checkpoint synthetic`` (or a folder) replaced between the start and the resume: the run
    would go on from the old weights while its record named the new ones."""
    init = tmp_path / "init"
    train(tiny(tmp_path / "first", plans_dir, epochs=1, out=str(init)))
    run = tiny(tmp_path, plans_dir, epochs=1, init_checkpoint=str(init))
    train(run)
    replaced = tiny(tmp_path, plans_dir, epochs=2, out=str(init), checkpoint_dir=str(tmp_path / "again"))
    train(replaced)  # other weights under the same name
    with pytest.raises(ResumeError, match="init_weights_sha256"):
        train(tiny(tmp_path, plans_dir, epochs=2, init_checkpoint=str(init)))


def test_a_state_without_a_recipe_still_resumes(tmp_path, plans_dir):
    train(tiny(tmp_path, plans_dir, epochs=1))
    path = state_path(tmp_path / "model-checkpoints")
    state = torch.load(path, weights_only=True)
    del state["recipe"]  # written before recipes were kept
    torch.save(state, path)
    result = train(tiny(tmp_path, plans_dir, epochs=2, learning_rate=5e-4))
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert torch.load(path, weights_only=True)["recipe"]["learning_rate"] == 5e-4


def test_a_state_from_before_a_new_setting_resumes_with_its_default(tmp_path, plans_dir):
    train(tiny(tmp_path, plans_dir, epochs=1))
    path = state_path(tmp_path / "model-checkpoints")
    state = torch.load(path, weights_only=True)
    del state["recipe"]["redraw"]  # written before the setting existed: that run drew none
    torch.save(state, path)
    assert [row["epoch"] for row in train(tiny(tmp_path, plans_dir, epochs=2)).history] == [1, 2]
    assert "redraw" not in torch.load(path, weights_only=True)["recipe"]  # the run's recipe, as started
    with pytest.raises(ResumeError, match="redraw: 0 there, 2 here"):
        train(tiny(tmp_path, plans_dir, epochs=3, redraw=2))


def test_stop_request_checkpoints_then_resume_finishes(tmp_path, plans_dir):
    stop = StopFlag()
    stop.request("SIGTERM")
    config = tiny(tmp_path, plans_dir)
    with pytest.raises(TrainingInterrupted, match="SIGTERM: checkpoint saved"):
        train(config, stop=stop)
    assert state_path(tmp_path / "model-checkpoints").is_file()
    result = train(config)
    assert [row["epoch"] for row in result.history] == [1, 2]


def test_time_budget_stops_after_the_current_epoch(tmp_path, plans_dir):
    result = train(tiny(tmp_path, plans_dir, epochs=5, time_budget_minutes=1e-6))
    assert result.stopped == "time_budget" and result.epochs_completed == 1
    assert load_model(result.model_dir).metadata.training["stopped"] == "time_budget"


def test_budget_cosine_decays_over_the_time_budget_not_the_epochs():
    network = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(
        [{"params": [network.weight], "lr": 1e-3}, {"params": [network.bias], "lr": 1e-4}]
    )
    schedule = BudgetCosine(optimizer, budget_s=100.0)
    assert schedule.factor(0) == pytest.approx(1.0)
    assert schedule.factor(50) == pytest.approx(COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5)
    assert schedule.factor(100) == schedule.factor(1e6) == pytest.approx(COSINE_FLOOR)
    schedule.step(25.0)
    rates = [group["lr"] for group in optimizer.param_groups]
    assert rates == pytest.approx([1e-3 * schedule.factor(25), 1e-4 * schedule.factor(25)])
    resumed = BudgetCosine(optimizer, budget_s=100.0)  # built from the stepped rates, then restored
    resumed.load_state_dict(schedule.state_dict())
    assert resumed.base_lrs == pytest.approx([1e-3, 1e-4])


def test_cosine_budget_run_ends_near_the_floor_whatever_its_epochs(tmp_path, plans_dir, monkeypatch):
    """A run bounded by time: the rate of each epoch follows the clock (mocked: every reading 1 s on, about
    6 s an epoch against a 30 s budget), and the budget, not the 1,000 epochs, ends it."""
    import model_code.training.loop as loop

    clock = iter(range(0, 100_000))  # every monotonic() call moves the clock 1 s on
    monkeypatch.setattr(loop.time, "monotonic", lambda: float(next(clock)))
    config = tiny(tmp_path, plans_dir, epochs=1000, scheduler="cosine-budget", time_budget_minutes=0.5)
    result = train(config)
    rates = [row["lr"] for row in result.history]
    assert result.stopped == "time_budget" and 4 <= len(rates) < 1000
    assert rates[0] == pytest.approx(config.learning_rate)
    assert all(a > b for a, b in itertools.pairwise(rates)), rates
    assert rates[-1] < 0.2 * config.learning_rate, rates


def test_a_resumed_budget_run_finishes_the_budget_it_started(tmp_path, plans_dir, monkeypatch):
    """Stopped after two epochs and run again, a time-bounded run ends where one uninterrupted run ends:
    the budget counts the earlier invocation's epochs, as the schedule does (it once restarted the budget,
    so the resumed run trained a whole new budget at the schedule's floor)."""
    import model_code.training.loop as loop

    clock = iter(range(0, 100_000))
    monkeypatch.setattr(loop.time, "monotonic", lambda: float(next(clock)))
    budget = {"scheduler": "cosine-budget", "time_budget_minutes": 0.5}
    whole = train(tiny(tmp_path / "whole", plans_dir, epochs=1000, **budget))
    train(tiny(tmp_path, plans_dir, epochs=2, **budget))
    resumed = train(tiny(tmp_path, plans_dir, epochs=1000, **budget))
    assert resumed.stopped == whole.stopped == "time_budget"
    assert abs(len(resumed.history) - len(whole.history)) <= 1, (len(resumed.history), len(whole.history))
    rates = [row["lr"] for row in resumed.history]
    assert all(a > b for a, b in itertools.pairwise(rates)), rates


def test_init_checkpoint_sets_architecture_and_weights(tmp_path, plans_dir, tiny_checkpoint):
    config = tiny(
        tmp_path, plans_dir, encoder="resnet34", encoder_depth=5, init_checkpoint=str(tiny_checkpoint)
    )
    network, metadata, init = initial_network(config)
    reference = load_model(tiny_checkpoint).network.state_dict()
    assert metadata.spec.encoder == "resnet18" and init.startswith("checkpoint:")
    assert all(torch.equal(v, reference[k]) for k, v in network.state_dict().items())


@pytest.mark.parametrize("name", ["default", "synthetic"])
def test_init_checkpoint_by_bundled_name(tmp_path, plans_dir, name):
    """``init_checkpoint=synthetic`` (or ``default``) starts from that bundled model's weights."""
    config = tiny(tmp_path, plans_dir, init_checkpoint=name)
    network, metadata, init = initial_network(config)
    reference = load_model(name, runtime="eager").network.state_dict()
    assert metadata.spec.encoder == "resnet18" and metadata.spec.encoder_depth == 5
    assert init.startswith("checkpoint:") and f"{name}_model" in init
    assert all(torch.equal(v, reference[k]) for k, v in network.state_dict().items())


def test_each_fine_tune_records_the_stages_before_it(tmp_path, plans_dir):
    """``training.lineage`` keeps every earlier stage's data history, even once their folders are gone."""
    first = train(tiny(tmp_path / "a", plans_dir, epochs=1, model_name="stage-a")).model_dir
    first_training = load_model(first).metadata.training
    assert first_training["lineage"] == [] and first_training["train_plans"] > 0
    second = train(
        tiny(tmp_path / "b", plans_dir, epochs=1, init_checkpoint=str(first), model_name="stage-b")
    ).model_dir
    shutil.rmtree(first)  # the third stage must not need the first one's folder
    third = load_model(
        train(
            tiny(tmp_path / "c", plans_dir, epochs=1, init_checkpoint=str(second), model_name="stage-c")
        ).model_dir
    ).metadata.training
    assert [stage["name"] for stage in third["lineage"]] == ["stage-b", "stage-a"]
    assert third["init"] == f"checkpoint:{second}"
    assert third["lineage"][0]["init"] == f"checkpoint:{first}" and third["lineage"][1]["init"] == "scratch"
    for stage in third["lineage"]:
        assert stage["train_plans"] == first_training["train_plans"] and stage["epochs_completed"] == 1
        assert stage["sources"] == first_training["sources"] == [str(plans_dir)]


def test_frozen_encoder_keeps_its_weights(tmp_path, plans_dir, tiny_checkpoint):
    config = tiny(
        tmp_path, plans_dir, epochs=1, freeze_encoder_epochs=1, init_checkpoint=str(tiny_checkpoint)
    )
    result = train(config)
    before = load_model(tiny_checkpoint).network
    after = load_model(result.model_dir).network
    for (name, old), new in zip(
        before.encoder.state_dict().items(), after.encoder.state_dict().values(), strict=True
    ):
        assert torch.equal(old, new), name
    assert not torch.equal(
        before.decoder.state_dict()["blocks.0.conv1.0.weight"],
        after.decoder.state_dict()["blocks.0.conv1.0.weight"],
    )


def test_imagenet_weights_offline_fail_clearly(tmp_path, plans_dir, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network wait in tests
    config = tiny(tmp_path, plans_dir, encoder_weights="imagenet")
    with pytest.raises(PretrainedWeightsUnavailable, match="init_checkpoint=default"):
        initial_network(config)


def test_split_root_uses_its_validation_folder(tmp_path):
    write_channel_dataset(tmp_path / "split" / "train", 3)
    write_channel_dataset(tmp_path / "split" / "validation", 1, first_seed=50)
    result = train(tiny(tmp_path, tmp_path / "split", epochs=1))
    training = load_model(result.model_dir).metadata.training
    assert (training["train_plans"], training["validation_ids"]) == (3, ["plan050"])


def test_a_native_band_is_trained_validated_and_recorded(tmp_path, plans_dir, monkeypatch):
    from model_code.training import loop

    seen = []
    original = loop.validate

    def spy(network, metadata, plans):
        seen.append((metadata.working_size, metadata.native_up_to))
        return original(network, metadata, plans)

    monkeypatch.setattr(loop, "validate", spy)
    result = train(tiny(tmp_path, plans_dir, epochs=1, working_size=64, native_up_to=1.5))
    assert seen == [(64, 1.5)]  # validation sees the plans as inference will
    loaded = load_model(result.model_dir)
    assert loaded.metadata.native_up_to == 1.5
    image = draw_plan(99, 80)[0]  # 80 px <= 1.5 x 64: seen at its own size
    assert predict_probabilities(loaded, image, at_working_size=True).shape == (2, 80, 80)
    crops = PlanCropDataset(open_dataset(plans_dir), working_size=64, crop_size=64, native_up_to=1.5)
    assert crops.transform.transforms[0](image=image)["image"].shape[:2] == (80, 80)
    with pytest.raises(ConfigError, match="native_up_to"):
        train(tiny(tmp_path, plans_dir, native_up_to=0.5))


def test_crops_are_seeded_per_epoch_and_item(plans_dir):
    dataset = PlanCropDataset(open_dataset(plans_dir), working_size=96, crop_size=64, seed=3)
    first, again = dataset[1], dataset[1]
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    dataset.set_epoch(1)
    assert not torch.equal(first[0], dataset[1][0])
    image, target = first
    assert image.shape == (3, 64, 64) and target.shape == (2, 64, 64)
    assert set(np.unique(target.numpy())) <= {0.0, 1.0}


def test_synthetic_plans_render_on_the_fly():
    synth = pytest.importorskip("model_code.synth")
    if not hasattr(synth, "generate_plan"):
        pytest.skip("model_code.synth.generate_plan has not landed yet")
    from model_code.datasets.torch_data import SyntheticPlanDataset

    dataset = SyntheticPlanDataset(3, working_size=128, crop_size=64, seed_base=10, size=160)
    image, target = dataset[2]
    assert image.shape == (3, 64, 64) and target.shape == (2, 64, 64)
    assert torch.equal(image, dataset[2][0])


def test_redrawn_plans_are_the_real_plans_in_new_looks(plans_dir):
    from model_code.datasets.torch_data import RedrawnPlanDataset

    samples = open_dataset(plans_dir)
    dataset = RedrawnPlanDataset(samples, 3, working_size=96, crop_size=64, seed_base=7, styles=["cad"])
    plan = dataset.plan(1)
    real = samples[1].load()
    assert np.array_equal(plan.wall, real.wall) and np.array_equal(plan.opening, real.opening)
    assert not np.array_equal(plan.image, real.image)
    image, target = dataset[1]
    assert image.shape == (3, 64, 64) and target.shape == (2, 64, 64)
    assert torch.equal(image, dataset[1][0])
    dataset.set_epoch(1)  # epoch 1 goes on with the next plans, in new looks
    assert np.array_equal(dataset.plan(0).wall, samples[3 % len(samples)].load().wall)
    with pytest.raises(ValueError, match="at least one sample"):
        RedrawnPlanDataset([], 3, working_size=96, crop_size=64)


def test_a_run_with_redrawn_plans_trains_and_records_them(tmp_path, plans_dir, caplog):
    config = tiny(
        tmp_path, plans_dir, epochs=1, redraw=3, synthetic_styles="cad,cad_colour", synthetic_sheets=0.5
    )
    with caplog.at_level(logging.INFO, logger="model_code.training"):
        result = train(config)
    assert any("+ 3 redrawn + 0 synthetic" in r.getMessage() for r in caplog.records)
    training = load_model(result.model_dir, runtime="eager").metadata.training
    assert training["redrawn_plans_per_epoch"] == 3 and training["synthetic_plans_per_epoch"] == 0
    assert training["hyperparameters"]["redraw"] == 3


def test_non_finite_loss_stops_with_a_clear_error(tmp_path, plans_dir, monkeypatch):
    from model_code.training import loop

    monkeypatch.setattr(
        loop.SegmentationLoss, "forward", lambda self, logits, target: logits.sum() * float("nan")
    )
    with pytest.raises(
        FloatingPointError, match="training loss is nan at epoch 1 step 1: lower learning_rate"
    ):
        train(tiny(tmp_path, plans_dir))


class _TerminatesItsWorker(torch.utils.data.Dataset):
    """Each item sends SIGTERM to the process loading it, as ``kill -- -PGID`` does to every worker."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> torch.Tensor:
        os.kill(os.getpid(), signal.SIGTERM)
        return torch.tensor(index)


def test_dataloader_workers_ignore_sigterm():
    """Workers started as the trainer starts them: inside ``stop_signals_blocked``, so every thread of
    the worker (OpenMP's included, whatever the parent ran before) inherits the blocked SIGTERM."""
    loader = torch.utils.data.DataLoader(
        _TerminatesItsWorker(), batch_size=2, num_workers=1, worker_init_fn=ignore_stop_signals
    )
    with stop_signals_blocked():
        batches = iter(loader)
    assert [batch.tolist() for batch in batches] == [[0, 1], [2, 3]]


def test_plans_missing_a_mask_are_named_in_warnings_and_counted(tmp_path, caplog):
    data = write_r3d_dataset(tmp_path / "r3d", 5)
    (data / "1_close.png").unlink()  # trains with an all-zero opening mask
    (data / "3_close.png").unlink()
    (data / "2_wall.png").unlink()  # dropped
    with caplog.at_level(logging.INFO, logger="model_code.training"):
        result = train(tiny(tmp_path, data, epochs=1, val_fraction=0.25))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2 plan(s)" in w and "no opening mask" in w and "1.jpg, 3.jpg" in w for w in warnings), (
        warnings
    )
    assert any("1 image(s)" in w and "dropped" in w and "2.jpg" in w for w in warnings), warnings
    assert "; 2 plan(s) without an opening mask, 1 image(s) dropped without ground truth" in caplog.text
    training = load_model(result.model_dir).metadata.training
    assert training["train_plans"] + training["validation_plans"] == 4
    assert (training["plans_without_opening_mask"], training["dropped_images"]) == (2, 1)


EXITS_WITH_LIVE_WORKERS = """
import sys, torch
from model_code.training.loop import ignore_stop_signals
loader = torch.utils.data.DataLoader(
    list(range(8)), batch_size=2, num_workers=2, worker_init_fn=ignore_stop_signals
)
batches = iter(loader)
print(next(batches).tolist(), flush=True)
sys.exit(3)  # workers still running: multiprocessing's exit handler terminates them, then joins
"""


def test_workers_still_stop_when_their_trainer_terminates_them():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", EXITS_WITH_LIVE_WORKERS],
        env={**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (3, "[0, 1]\n"), done.stderr
