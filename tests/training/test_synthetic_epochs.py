"""Synthetic pretraining sees fresh plans every epoch and never validates on a training plan."""

from __future__ import annotations

import torch

from model_code.datasets.torch_data import SyntheticPlanDataset
from model_code.training.config import TrainConfig
from model_code.training.loop import resolve_data


def test_each_epoch_renders_new_plans():
    dataset = SyntheticPlanDataset(2, working_size=128, crop_size=64, seed_base=50, size=160, augment="none")
    first_epoch = dataset.plan(0).image
    dataset.set_epoch(1)
    second_epoch = dataset.plan(0).image
    assert first_epoch.shape != second_epoch.shape or not (first_epoch == second_epoch).all()
    dataset.set_epoch(0)
    assert torch.equal(torch.from_numpy(dataset.plan(0).image), torch.from_numpy(first_epoch))


def test_synthetic_validation_seeds_are_disjoint_from_training_seeds():
    config = TrainConfig(synthetic=5, synthetic_seed=100, synthetic_validation=3)
    data = resolve_data(config)
    assert data.synthetic_validation_seeds == [97, 98, 99]
    assert all(seed < config.synthetic_seed for seed in data.synthetic_validation_seeds)
