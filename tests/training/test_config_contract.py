"""Hyperparameter names and values, and the SageMaker contract's readers and failure file."""

from __future__ import annotations

import json

import pytest

from model_code.sagemaker_contract import (
    FAILURE_REASON_LIMIT,
    decode_hyperparameter,
    read_hyperparameters,
    read_input_data_config,
    read_resource_config,
    sagemaker_paths,
    write_failure,
)
from model_code.training.config import ConfigError, TrainConfig, config_from_mapping, hyperparameter_names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("True", True),
        ("true", True),
        ("False", False),
        ('"adam"', "adam"),
        ("adam", "adam"),
        ("3", 3),
        ('"3"', 3),
        ("0.0005", 0.0005),
        ("[32, 16, 8]", [32, 16, 8]),
        ('"resnet18"', "resnet18"),
        (7, 7),
    ],
)
def test_decode_all_three_encodings(raw, expected):
    assert decode_hyperparameter(raw) == expected


@pytest.mark.parametrize(
    "values",
    [
        {"epochs": "3", "batch-size": "2", "learning-rate": "0.001", "amp": "True", "encoder": "resnet18"},
        {
            "epochs": '"3"',
            "batch-size": '"2"',
            "learning-rate": '"0.001"',
            "amp": '"True"',
            "encoder": '"resnet18"',
        },
        {"epochs": "3", "batch_size": "2", "learning_rate": "1e-3", "amp": "true", "encoder": "resnet18"},
    ],
    ids=["plain", "json-quoted", "json-and-underscores"],
)
def test_three_encodings_give_one_config(values):
    decoded = {k: decode_hyperparameter(v) for k, v in values.items()}
    config = config_from_mapping(decoded)
    assert (config.epochs, config.batch_size, config.learning_rate) == (3, 2, 0.001)
    assert config.amp is True and config.encoder == "resnet18"


def test_unknown_names_are_rejected_with_the_known_list():
    with pytest.raises(ConfigError, match=r"unknown hyperparameter\(s\) \['epoch', 'lr'\].*batch-size"):
        config_from_mapping({"epoch": 3, "lr": 0.1})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": "three"}, "epochs: invalid value"),
        ({"epochs": "2.5"}, "not a whole number"),
        ({"amp": "maybe"}, "not a boolean"),
    ],
)
def test_bad_values_are_rejected(values, message):
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(values)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"encoder_weights": "coco"}, "encoder_weights must be one of"),
        ({"crop_size": 100}, "multiples of 32"),
        ({"data": None, "synthetic": 0}, "no training data"),
        ({"encoder_weights": "imagenet", "init_checkpoint": "default"}, "exclusive"),
        ({"scheduler": "step"}, "scheduler must be"),
        ({"scheduler": "cosine-budget"}, "give time_budget_minutes"),
        ({"redraw": -1}, "redraw must be >= 0"),
        ({"data": None, "synthetic": 4, "redraw": 4}, "redraw redraws real training plans"),
    ],
)
def test_check_rejects_impossible_configs(changes, message):
    config = TrainConfig(data="somewhere")
    for key, value in changes.items():
        setattr(config, key, value)
    with pytest.raises(ConfigError, match=message):
        config.check()


def test_documented_names_include_the_customers_names():
    names = hyperparameter_names()
    assert {"epochs", "batch-size", "learning-rate", "encoder", "encoder-weights", "init-checkpoint"} <= set(
        names
    )
    assert "data" not in names and "out" not in names


def test_hyperparameters_from_file_and_from_sm_hps(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    monkeypatch.delenv("SM_HPS", raising=False)
    paths = sagemaker_paths()
    assert read_hyperparameters(paths) == ({}, {})
    paths.input_config.mkdir(parents=True)
    paths.hyperparameters.write_text(json.dumps({"epochs": '"4"', "sagemaker_program": '"x.py"'}))
    assert read_hyperparameters(paths) == ({"epochs": 4}, {"sagemaker_program": "x.py"})
    monkeypatch.setenv("SM_HPS", json.dumps({"epochs": 9}))
    assert read_hyperparameters(paths) == ({"epochs": 9}, {})
    monkeypatch.setenv("SM_HPS", "[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        read_hyperparameters(paths)


def test_resource_and_input_data_configs(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    paths = sagemaker_paths()
    assert read_resource_config(paths).is_leader
    assert read_input_data_config(paths) == {}
    paths.input_config.mkdir(parents=True)
    paths.resource_config.write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    resources = read_resource_config(paths)
    assert resources.hosts == ("algo-1", "algo-2") and not resources.is_leader
    paths.input_data_config.write_text(json.dumps({"train": {"TrainingInputMode": "File"}}))
    assert read_input_data_config(paths)["train"]["TrainingInputMode"] == "File"
    paths.resource_config.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_resource_config(paths)


def test_failure_file_starts_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    path = write_failure("DatasetError: no plans in /x", details="Traceback ...")
    text = path.read_text()
    assert path == tmp_path / "output" / "failure"
    assert text.startswith("DatasetError: no plans in /x\n\nTraceback")
    long = write_failure("x" * 5000).read_text()
    assert len(long.strip()) == FAILURE_REASON_LIMIT


def test_failure_reason_of_a_dataloader_worker_error_is_the_workers_message(tmp_path):
    from torch.utils.data import DataLoader

    from model_code.datasets.layouts import PlanFileError, open_dataset
    from model_code.datasets.torch_data import PlanCropDataset
    from model_code.training.sagemaker_entry import failure_reason
    from tests.training.plans import break_plan, write_channel_dataset

    write_channel_dataset(tmp_path, 1)
    broken = break_plan(tmp_path, "plan000", "truncated-jpeg")
    dataset = PlanCropDataset(open_dataset(tmp_path), working_size=96, crop_size=64)
    with pytest.raises(PlanFileError) as info:
        next(iter(DataLoader(dataset, num_workers=1)))
    assert str(info.value).startswith("Caught PlanFileError in DataLoader worker process 0.")
    reason = failure_reason(info.value)
    assert reason.startswith(f"PlanFileError: cannot read image {broken}: ImageDecodeError: "), reason
    assert "Traceback" not in reason
    assert failure_reason(ValueError("plain")) == "ValueError: plain"
