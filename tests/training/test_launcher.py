"""The SageMaker launcher: the requests the SDK would send, built against a recording client."""

from __future__ import annotations

import argparse
import json
import re
import sys

import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import ParamValidator

from model_code.launch.jobs import configure_launch, metric_definitions, run_launch, scaling_requests
from model_code.serving.config import ServingConfig
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


MODEL = ["--model-data", "s3://bucket/runs/model.tar.gz"]
TRAIN = [
    "train",
    *COMMON,
    "--dry-run",
    "--train",
    "s3://b/t",
    "--validation",
    "s3://b/v",
    "--output-path",
    "s3://b/o",
]
DEPLOY = ["deploy", *COMMON, "--dry-run", *MODEL, "--endpoint-name", "fp-endpoint", "--workers", "2"]
TRANSFORM = [
    "transform",
    *COMMON,
    "--dry-run",
    *MODEL,
    "--input",
    "s3://b/plans/",
    "--output-path",
    "s3://b/r",
]
AUTOSCALING = [
    "--instance-count",
    "2",
    "--min-instances",
    "1",
    "--max-instances",
    "6",
    "--target-invocations-per-instance",
    "70",
    "--scale-in-cooldown",
    "600",
    "--scale-out-cooldown",
    "60",
]
ASYNC = [
    "--async",
    "--async-output-path",
    "s3://b/async/out",
    "--async-failure-path",
    "s3://b/async/failed",
    "--success-topic",
    "arn:aws:sns:eu-west-1:123456789012:ok",
    "--error-topic",
    "arn:aws:sns:eu-west-1:123456789012:failed",
    "--max-concurrent-invocations",
    "4",
]
SERVERLESS = ["--serverless-memory", "3072", "--serverless-max-concurrency", "20"]
_MODELS: dict[str, object] = {}


def validate(service: str, operation: str, request: dict) -> None:
    """Validate one recorded request against botocore's service model (raises on any bad parameter)."""
    if service not in _MODELS:
        _MODELS[service] = botocore.session.get_session().get_service_model(service)
    model = _MODELS[service]
    name = "".join(part.title() for part in operation.split("_"))
    report = ParamValidator().validate(request, model.operation_model(name).input_shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())


@pytest.mark.parametrize(
    "argv",
    [
        TRAIN,
        DEPLOY,
        [*DEPLOY, *AUTOSCALING],
        [*DEPLOY, *ASYNC],
        [*DEPLOY, *ASYNC, *AUTOSCALING, "--timeout", "1800", "--max-payload-mb", "512"],
        [*DEPLOY, *SERVERLESS],
        TRANSFORM,
        [*TRANSFORM, "--instance-count", "3", "--split-type", "Line", "--assemble-with", "Line",
         "--batch-strategy", "MultiRecord", "--max-payload-mb", "6", "--max-concurrent", "4"],
    ],
    ids=["train", "deploy", "autoscaling", "async", "async-autoscaling", "serverless", "transform", "multi"],
)  # fmt: skip
def test_every_dry_run_request_validates_against_the_botocore_service_models(capsys, argv):
    code, requests = launch(capsys, *argv)
    assert code == 0 and requests
    for line in requests:
        validate(line["service"], line["operation"], line["request"])


def test_the_validator_catches_a_bad_request():
    with pytest.raises(ParamValidationError):
        validate(
            "sagemaker", "create_endpoint_config", {"EndpointConfigName": "x", "ProductionVariants": "no"}
        )


def test_autoscaling_registers_target_tracking_on_invocations_per_instance(capsys):
    code, requests = launch(capsys, *DEPLOY, *AUTOSCALING)
    assert code == 0
    assert [(r["service"], r["operation"]) for r in requests] == [
        ("sagemaker", "create_model"),
        ("sagemaker", "create_endpoint_config"),
        ("sagemaker", "create_endpoint"),
        ("application-autoscaling", "register_scalable_target"),
        ("application-autoscaling", "put_scaling_policy"),
    ]
    variant = requests[1]["request"]["ProductionVariants"][0]
    assert variant["InitialInstanceCount"] == 2
    target, policy = requests[3]["request"], requests[4]["request"]
    resource = f"endpoint/fp-endpoint/variant/{variant['VariantName']}"
    assert target == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 1,
        "MaxCapacity": 6,
    }
    assert policy["PolicyType"] == "TargetTrackingScaling" and policy["ResourceId"] == resource
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 70.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 60,
    }


def test_scaling_requests_without_cooldowns_validate():
    requests = scaling_requests("ep", 1, 3, 100)
    assert "ScaleInCooldown" not in requests[1][1]["TargetTrackingScalingPolicyConfiguration"]
    for operation, request in requests:
        validate("application-autoscaling", operation, request)


def test_async_endpoint_has_s3_paths_topics_and_raised_server_limits(capsys):
    code, requests = launch(capsys, *DEPLOY, *ASYNC)
    assert code == 0
    config = requests[1]["request"]["AsyncInferenceConfig"]
    assert config == {
        "OutputConfig": {
            "S3OutputPath": "s3://b/async/out",
            "S3FailurePath": "s3://b/async/failed",
            "NotificationConfig": {
                "SuccessTopic": "arn:aws:sns:eu-west-1:123456789012:ok",
                "ErrorTopic": "arn:aws:sns:eu-west-1:123456789012:failed",
            },
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
    }
    env = requests[0]["request"]["PrimaryContainer"]["Environment"]
    assert env == {
        "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "100",
    }
    config = ServingConfig.from_env(env)  # the server takes the async values
    assert (config.timeout_s, config.max_payload_mb) == (3600, 100)


def test_async_limits_at_the_service_maximum_are_accepted_by_the_server(capsys):
    code, requests = launch(capsys, *DEPLOY, *ASYNC[:3], "--timeout", "3600", "--max-payload-mb", "1024")
    assert code == 0
    env = requests[0]["request"]["PrimaryContainer"]["Environment"]
    config = ServingConfig.from_env(env)
    assert (config.timeout_s, config.max_payload_bytes) == (3600, 1024 * 1024 * 1024)
    output = requests[1]["request"]["AsyncInferenceConfig"]["OutputConfig"]
    assert output == {"S3OutputPath": "s3://b/async/out", "S3FailurePath": "s3://b/async/out/failures"}


def test_real_time_endpoint_keeps_the_server_defaults(capsys):
    code, requests = launch(capsys, *DEPLOY)
    assert code == 0
    assert requests[0]["request"]["PrimaryContainer"]["Environment"] == {
        "SAGEMAKER_MODEL_SERVER_WORKERS": "2"
    }
    assert "AsyncInferenceConfig" not in requests[1]["request"]


def test_serverless_endpoint_config_and_payload_cap(capsys):
    code, requests = launch(capsys, *DEPLOY, *SERVERLESS)
    assert code == 0
    [variant] = requests[1]["request"]["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 20}
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    env = requests[0]["request"]["PrimaryContainer"]["Environment"]
    assert env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] == "4"


def test_transform_passes_instance_count_split_assemble_and_batch_settings(capsys):
    code, requests = launch(
        capsys, *TRANSFORM, "--instance-count", "3", "--split-type", "Line", "--assemble-with", "Line",
        "--batch-strategy", "MultiRecord", "--max-payload-mb", "6", "--max-concurrent", "4",
        "--content-type", "application/jsonlines",
    )  # fmt: skip
    assert code == 0
    [job] = [r["request"] for r in requests if r["operation"] == "create_transform_job"]
    assert job["TransformResources"]["InstanceCount"] == 3
    assert job["TransformInput"]["SplitType"] == "Line"
    assert job["TransformOutput"]["AssembleWith"] == "Line"
    assert (job["BatchStrategy"], job["MaxPayloadInMB"], job["MaxConcurrentTransforms"]) == (
        "MultiRecord",
        6,
        4,
    )


def test_transform_sets_the_servers_default_views(capsys):
    code, requests = launch(capsys, *TRANSFORM, "--views", "4")
    assert code == 0
    [model] = [r["request"] for r in requests if r["operation"] == "create_model"]
    env = model["PrimaryContainer"]["Environment"]
    assert env["MODEL_SERVER_VIEWS"] == "4"
    assert ServingConfig.from_env(env).views == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*DEPLOY, *SERVERLESS, "--async", "--async-output-path", "s3://b/o"], "cannot be asynchronous"),
        ([*DEPLOY, *SERVERLESS, "--min-instances", "1", "--max-instances", "2"], "scales by itself"),
        ([*DEPLOY, *SERVERLESS, "--instance-type", "ml.g5.xlarge"], "no GPU"),
        ([*DEPLOY, *SERVERLESS, "--instance-type", "ml.m5.large"], "no instance type"),
        ([*DEPLOY, *SERVERLESS, "--instance-count", "2"], "no instances"),
        ([*DEPLOY, *SERVERLESS, "--max-payload-mb", "6"], "serverless endpoint allows 1 to 4"),
        ([*DEPLOY, *SERVERLESS, "--timeout", "120"], "serverless endpoint allows 1 to 60"),
        ([*DEPLOY, "--serverless-memory", "1500"], "--serverless-memory must be one of"),
        ([*DEPLOY, "--serverless-max-concurrency", "10"], "needs --serverless-memory"),
        ([*DEPLOY, "--serverless-memory", "2048", "--serverless-max-concurrency", "201"],
         "between 1 and 200"),
        ([*DEPLOY, "--async"], "needs --async-output-path"),
        ([*DEPLOY, "--async-output-path", "s3://b/o"], "only with --async"),
        ([*DEPLOY, "--async", "--async-output-path", "/tmp/o"], "must be an s3:// URI"),
        ([*DEPLOY, *ASYNC[:3], "--success-topic", "ok"], "SNS topic ARN"),
        ([*DEPLOY, *ASYNC[:3], "--max-payload-mb", "2048"], "--async endpoint allows 1 to 1024"),
        ([*DEPLOY, *ASYNC[:3], "--timeout", "7200"], "--async endpoint allows 1 to 3600"),
        ([*DEPLOY, "--timeout", "300"], "use --async"),
        ([*DEPLOY, "--max-payload-mb", "20"], "use --async"),
        ([*DEPLOY, "--max-instances", "4"], "needs --max-instances and --target-invocations"),
        ([*DEPLOY, "--min-instances", "3", "--max-instances", "2", "--target-invocations-per-instance", "5"],
         "<= --max-instances"),
        ([*DEPLOY, "--max-instances", "2", "--target-invocations-per-instance", "0"], "must be > 0"),
        ([*TRANSFORM, "--batch-strategy", "MultiRecord"], "needs --split-type Line"),
        ([*TRANSFORM, "--max-payload-mb", "30", "--max-concurrent", "4"], "100 MB per instance"),
        ([*TRANSFORM, "--max-payload-mb", "101", "--max-concurrent", "1"], "between 1 and 100"),
        ([*TRANSFORM, "--instance-count", "0"], "must be >= 1"),
    ],
)  # fmt: skip
def test_invalid_endpoint_and_transform_settings_are_refused_before_any_call(capsys, argv, message):
    parser = argparse.ArgumentParser()
    configure_launch(parser)
    assert run_launch(parser.parse_args(argv)) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""  # no request recorded or printed


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
