"""The SageMaker launcher: the requests the SDK would send, built against a recording client."""

from __future__ import annotations

import argparse
import json
import re
import sys

import pytest

from model_code.launch.jobs import configure_launch, metric_definitions, run_launch
from model_code.training.loop import format_metrics

COMMON = ["--image-uri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/floorplan:1", "--region", "eu-west-1"]


def launch(capsys, *argv: str) -> tuple[int, list[dict]]:
    parser = argparse.ArgumentParser()
    configure_launch(parser)
    code = run_launch(parser.parse_args(list(argv)))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_training_job_request_uses_spot_checkpoints_metrics_and_hyperparameters(capsys):
    code, requests = launch(
        capsys, "train", *COMMON, "--dry-run", "--role", "arn:aws:iam::1:role/sm",
        "--train", "s3://bucket/data/train", "--validation", "s3://bucket/data/validation",
        "--output-path", "s3://bucket/runs", "--hp", "epochs=30", "--hp", "batch-size=8",
        "--hp", "encoder_weights=none", "--max-run", "3600", "--max-wait", "7200", "--job-name", "fp-1",
    )  # fmt: skip
    assert code == 0
    [(request)] = [r["request"] for r in requests if r["operation"] == "create_training_job"]
    assert request["TrainingJobName"] == "fp-1"
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith("/floorplan:1")
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert request["CheckpointConfig"]["S3Uri"] == "s3://bucket/runs/checkpoints"
    assert request["HyperParameters"] == {"epochs": "30", "batch-size": "8", "encoder_weights": "none"}
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]
    }
    assert channels == {"train": "s3://bucket/data/train", "validation": "s3://bucket/data/validation"}
    assert request["RoleArn"] == "arn:aws:iam::1:role/sm"
    names = {d["Name"] for d in request["AlgorithmSpecification"]["MetricDefinitions"]}
    assert {"train_loss", "val_iou", "val_opening_iou"} <= names


def test_metric_definitions_read_the_loop_lines():
    line = format_metrics(
        {"epoch": 3, "train_loss": 0.21, "val_iou": 0.87, "val_opening_iou": 0.41, "val_mean_iou": 0.64,
         "lr": 3e-4, "time_s": 52.1}
    )  # fmt: skip
    assert line.startswith("epoch=3 train_loss=0.2100 val_iou=0.8700 val_opening_iou=0.4100")
    found = {d["Name"]: float(re.search(d["Regex"], line).group(1)) for d in metric_definitions()}
    assert found == {
        "train_loss": 0.21,
        "val_iou": 0.87,
        "val_opening_iou": 0.41,
        "val_mean_iou": 0.64,
        "epoch": 3,
    }


def test_deploy_defaults_to_t3_medium(capsys):
    code, requests = launch(
        capsys,
        "deploy",
        *COMMON,
        "--dry-run",
        "--model-data",
        "s3://bucket/runs/model.tar.gz",
        "--endpoint-name",
        "fp-endpoint",
    )
    assert code == 0
    operations = [r["operation"] for r in requests]
    assert operations == ["create_model", "create_endpoint_config", "create_endpoint"]
    variant = requests[1]["request"]["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.t3.medium" and variant["InitialInstanceCount"] == 1
    assert requests[0]["request"]["PrimaryContainer"]["ModelDataUrl"] == "s3://bucket/runs/model.tar.gz"
    assert requests[2]["request"]["EndpointName"] == "fp-endpoint"


def test_batch_transform_over_a_prefix(capsys):
    code, requests = launch(
        capsys, "transform", *COMMON, "--dry-run", "--model-data", "s3://bucket/runs/model.tar.gz",
        "--input", "s3://bucket/plans/", "--output-path", "s3://bucket/results",
        "--content-type", "image/jpeg",
    )  # fmt: skip
    assert code == 0
    [job] = [r["request"] for r in requests if r["operation"] == "create_transform_job"]
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://bucket/plans/"
    assert job["TransformInput"]["ContentType"] == "image/jpeg"
    assert job["TransformOutput"] == {"S3OutputPath": "s3://bucket/results", "Accept": "application/json"}
    assert (
        job["BatchStrategy"] == "SingleRecord" and job["TransformResources"]["InstanceType"] == "ml.m5.large"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hp", "epoch=3"], "unknown hyperparameter"),
        (["--hp", "epochs"], "not NAME=VALUE"),
        (["--max-run", "9000", "--max-wait", "3600"], "max-wait"),
    ],
)
def test_bad_training_requests_fail_before_any_call(capsys, argv, message):
    parser = argparse.ArgumentParser()
    configure_launch(parser)
    args = parser.parse_args(
        ["train", *COMMON, "--dry-run", "--train", "s3://b/t", "--output-path", "s3://b/o", *argv]
    )
    assert run_launch(args) == 2
    assert message in capsys.readouterr().err


def test_local_paths_are_refused(capsys):
    parser = argparse.ArgumentParser()
    configure_launch(parser)
    args = parser.parse_args(
        ["train", *COMMON, "--dry-run", "--train", "/data/train", "--output-path", "s3://b/o"]
    )
    assert run_launch(args) == 2
    assert "must be an s3:// URI" in capsys.readouterr().err


def test_real_run_without_role_is_refused(capsys, monkeypatch):
    monkeypatch.delenv("SAGEMAKER_ROLE", raising=False)
    parser = argparse.ArgumentParser()
    configure_launch(parser)
    args = parser.parse_args(["deploy", *COMMON, "--model-data", "s3://b/m.tar.gz"])
    assert run_launch(args) == 2
    assert "no execution role" in capsys.readouterr().err


def test_missing_sdk_is_explained(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker", None)  # import sagemaker -> ImportError
    parser = argparse.ArgumentParser()
    configure_launch(parser)
    args = parser.parse_args(["deploy", *COMMON, "--dry-run", "--model-data", "s3://b/m.tar.gz"])
    assert run_launch(args) == 2
    assert "needs the SageMaker Python SDK" in capsys.readouterr().err
