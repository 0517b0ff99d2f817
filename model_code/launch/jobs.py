"""``floorplan launch``: the customers' ``sagemaker_train.py`` with the SageMaker Python SDK 2.x.

Three actions on our one image (``--image-uri``, the ECR image that holds ``train`` and ``serve``):

* ``train``: a training job on spot instances (``max_wait``, ``checkpoint_s3_uri`` so a reclaimed
  instance resumes), our hyperparameters (checked locally against
  :class:`~model_code.training.config.TrainConfig` first) and metric definitions that read the
  ``epoch=3 train_loss=... val_iou=...`` lines;
* ``deploy``: a trained ``model.tar.gz`` to a real-time endpoint (default ``ml.t3.medium``);
* ``transform``: a batch transform over an S3 prefix of plan images.

``--dry-run`` runs the same SDK code against a recording client: it prints every request the SDK
would send (CreateTrainingJob, CreateModel, ...) and contacts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from model_code.training.config import ConfigError, config_from_mapping

DEFAULT_TRAIN_INSTANCE = "ml.g4dn.xlarge"
DEFAULT_ENDPOINT_INSTANCE = "ml.t3.medium"
DEFAULT_TRANSFORM_INSTANCE = "ml.m5.large"
METRIC_NAMES = ("train_loss", "val_iou", "val_opening_iou", "val_mean_iou", "epoch")
DRY_RUN_ACCOUNT_ROLE = "arn:aws:iam::000000000000:role/dry-run"
NO_TELEMETRY = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def metric_definitions() -> list[dict[str, str]]:
    """SageMaker MetricDefinitions for the training loop's metric lines."""
    number = r"([0-9.eE+-]+|nan)"
    definitions = [{"Name": name, "Regex": rf"\b{name}={number}"} for name in METRIC_NAMES if name != "epoch"]
    definitions.append({"Name": "epoch", "Regex": r"^epoch=([0-9]+) "})
    return definitions


class RecordingClient:
    """Stands in for the boto3 SageMaker client in dry runs: records each call, answers with fake ARNs."""

    def __init__(self, region: str):
        self.region = region
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str):
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(**request: Any) -> dict[str, Any]:
            self.calls.append((operation, request))
            arn = f"arn:aws:sagemaker:{self.region}:000000000000:dry-run/{operation}"
            keys = ("TrainingJobArn", "ModelArn", "EndpointConfigArn", "EndpointArn", "TransformJobArn")
            return dict.fromkeys(keys, arn)

        return call


@dataclass
class LaunchSession:
    """A ``sagemaker.Session`` and, in dry runs, the client that recorded its requests."""

    session: Any
    recorder: RecordingClient | None = None
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def make_session(
    region: str | None, profile: str | None, dry_run: bool, bucket: str | None = None
) -> LaunchSession:
    """A real SageMaker session, or one wired to a :class:`RecordingClient` (no network, no credentials)."""
    import boto3

    try:
        import sagemaker
    except ImportError as exc:
        raise ConfigError(
            "floorplan launch needs the SageMaker Python SDK 2.x: pip install 'sagemaker>=2.230,<3' "
            "(it is in requirements-dev.txt, not in the serving image)"
        ) from exc
    if not dry_run:
        boto_session = boto3.Session(profile_name=profile, region_name=region)
        return LaunchSession(sagemaker.Session(boto_session=boto_session, default_bucket=bucket))
    region = region or "us-east-1"
    boto_session = boto3.Session(
        aws_access_key_id="dry-run", aws_secret_access_key="dry-run", region_name=region
    )
    recorder = RecordingClient(region)
    session = sagemaker.Session(
        boto_session=boto_session,
        sagemaker_client=recorder,
        sagemaker_runtime_client=recorder,
        default_bucket=bucket or "dry-run-bucket",
        sagemaker_config=NO_TELEMETRY,
    )
    return LaunchSession(session, recorder, recorder.calls)


def parse_hyperparameters(pairs: Sequence[str]) -> dict[str, str]:
    """``["epochs=30", "batch-size=8"]`` -> dict, validated against the training config's names."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"hyperparameter {pair!r} is not NAME=VALUE")
        values[name.strip()] = value.strip()
    config_from_mapping({k: v for k, v in values.items()})  # unknown names and bad values fail here
    return values


def job_name(prefix: str) -> str:
    """A unique SageMaker job name: ``prefix-YYYYmmdd-HHMMSS``."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def launch_training(args: argparse.Namespace, launch: LaunchSession) -> str:
    """Create the training job; returns its name."""
    from sagemaker.estimator import Estimator

    estimator = Estimator(
        image_uri=args.image_uri,
        role=args.role,
        instance_count=1,
        instance_type=args.instance_type,
        volume_size=args.volume_size,
        max_run=args.max_run,
        use_spot_instances=args.spot,
        max_wait=args.max_wait if args.spot else None,
        checkpoint_s3_uri=args.checkpoint_s3_uri,
        output_path=args.output_path,
        hyperparameters=parse_hyperparameters(args.hyperparameter),
        metric_definitions=metric_definitions(),
        disable_profiler=True,
        debugger_hook_config=False,
        sagemaker_session=launch.session,
    )
    channels = {"train": args.train}
    if args.validation:
        channels["validation"] = args.validation
    name = args.job_name or job_name("floorplan-train")
    estimator.fit(channels, job_name=name, wait=args.wait and not args.dry_run, logs=False)
    return name


def _model(args: argparse.Namespace, launch: LaunchSession):
    from sagemaker.model import Model

    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": str(args.workers)} if getattr(args, "workers", None) else {}
    return Model(
        image_uri=args.image_uri,
        model_data=args.model_data,
        role=args.role,
        env=env,
        name=args.model_name or job_name("floorplan-model"),
        sagemaker_session=launch.session,
    )


def launch_deploy(args: argparse.Namespace, launch: LaunchSession) -> str:
    """Create model, endpoint config and endpoint; returns the endpoint name."""
    name = args.endpoint_name or job_name("floorplan")
    _model(args, launch).deploy(
        initial_instance_count=args.instance_count,
        instance_type=args.instance_type,
        endpoint_name=name,
        wait=args.wait and not args.dry_run,
    )
    return name


def launch_transform(args: argparse.Namespace, launch: LaunchSession) -> str:
    """Create model and batch transform job over ``--input``; returns the job name."""
    transformer = _model(args, launch).transformer(
        instance_count=args.instance_count,
        instance_type=args.instance_type,
        output_path=args.output_path,
        accept="application/json",
        strategy="SingleRecord",
        max_payload=args.max_payload_mb,
        max_concurrent_transforms=args.max_concurrent,
    )
    name = args.job_name or job_name("floorplan-transform")
    transformer.transform(
        args.input,
        content_type=args.content_type,
        job_name=name,
        wait=args.wait and not args.dry_run,
        logs=False,
    )
    return name


ACTIONS = {"train": launch_training, "deploy": launch_deploy, "transform": launch_transform}


def _common(parser: argparse.ArgumentParser, instance_type: str) -> None:
    parser.add_argument("--image-uri", required=True, help="our ECR image (holds both train and serve)")
    parser.add_argument(
        "--role",
        default=None,
        help="SageMaker execution role ARN (default: $SAGEMAKER_ROLE; a placeholder in dry runs)",
    )
    parser.add_argument(
        "--instance-type", default=instance_type, help=f"instance type (default {instance_type})"
    )
    parser.add_argument(
        "--region", default=None, help="AWS region (default: the profile's; us-east-1 in dry runs)"
    )
    parser.add_argument("--profile", default=None, help="AWS profile name")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the API requests the SDK would send; no AWS"
    )
    parser.add_argument("--wait", action="store_true", help="block until the job or endpoint is done")


def configure_launch(parser: argparse.ArgumentParser) -> None:
    """Declare ``floorplan launch train|deploy|transform``."""
    parser.description = (
        "Start a SageMaker training job (spot, checkpoints, metrics), deploy a trained model to an endpoint, "
        "or run a batch transform; --dry-run prints the requests without contacting AWS."
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = sub.add_parser("train", help="training job on spot instances")
    _common(train, DEFAULT_TRAIN_INSTANCE)
    train.add_argument("--train", required=True, help="S3 prefix of the train channel")
    train.add_argument("--validation", default=None, help="S3 prefix of the validation channel")
    train.add_argument("--output-path", required=True, help="S3 prefix for model.tar.gz and output data")
    train.add_argument(
        "--checkpoint-s3-uri",
        default=None,
        help="S3 prefix synced with /opt/ml/checkpoints (default <output-path>/checkpoints)",
    )
    train.add_argument(
        "--hyperparameter",
        "--hp",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a training hyperparameter (repeatable), e.g. --hp epochs=30 --hp encoder=resnet34",
    )
    train.add_argument(
        "--spot", action=argparse.BooleanOptionalAction, default=True, help="managed spot training"
    )
    train.add_argument("--max-run", type=int, default=4 * 3600, help="maximum training seconds (default 4 h)")
    train.add_argument(
        "--max-wait",
        type=int,
        default=8 * 3600,
        help="maximum seconds including spot waits (>= max-run; default 8 h)",
    )
    train.add_argument("--volume-size", type=int, default=30, help="EBS volume in GB (default 30)")
    train.add_argument("--job-name", default=None, help="job name (default floorplan-train-<time>)")
    for action, instance in (
        ("deploy", DEFAULT_ENDPOINT_INSTANCE),
        ("transform", DEFAULT_TRANSFORM_INSTANCE),
    ):
        child = sub.add_parser(
            action, help="real-time endpoint" if action == "deploy" else "batch transform job"
        )
        _common(child, instance)
        child.add_argument("--model-data", required=True, help="S3 URI of the trained model.tar.gz")
        child.add_argument(
            "--model-name", default=None, help="SageMaker model name (default floorplan-model-<time>)"
        )
        child.add_argument("--instance-count", type=int, default=1, help="instances (default 1)")
        child.add_argument("--workers", type=int, default=None, help="model-server workers per instance")
    deploy = sub.choices["deploy"]
    deploy.add_argument("--endpoint-name", default=None, help="endpoint name (default floorplan-<time>)")
    transform = sub.choices["transform"]
    transform.add_argument("--input", required=True, help="S3 prefix of the plan images")
    transform.add_argument("--output-path", required=True, help="S3 prefix for the JSON results")
    transform.add_argument("--content-type", default="image/png", help="content type of the inputs")
    transform.add_argument("--max-payload-mb", type=int, default=20, help="largest image in MB (default 20)")
    transform.add_argument("--max-concurrent", type=int, default=2, help="parallel requests per instance")
    transform.add_argument("--job-name", default=None, help="job name (default floorplan-transform-<time>)")


def _check(args: argparse.Namespace) -> None:
    if args.role is None:
        args.role = os.environ.get("SAGEMAKER_ROLE") or (DRY_RUN_ACCOUNT_ROLE if args.dry_run else None)
    if args.role is None:
        raise ConfigError("no execution role: pass --role ARN or set SAGEMAKER_ROLE")
    for name in ("train", "validation", "output_path", "checkpoint_s3_uri", "model_data", "input"):
        value = getattr(args, name, None)
        if value is not None and not str(value).startswith("s3://"):
            raise ConfigError(f"--{name.replace('_', '-')} must be an s3:// URI, got {value!r}")
    if args.action == "train":
        if args.spot and args.max_wait < args.max_run:
            raise ConfigError(f"--max-wait ({args.max_wait}) must be >= --max-run ({args.max_run}) for spot")
        if args.checkpoint_s3_uri is None:
            args.checkpoint_s3_uri = args.output_path.rstrip("/") + "/checkpoints"


def run_launch(args: argparse.Namespace) -> int:
    """Run the chosen action; in dry runs print the recorded requests as JSON lines."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    try:
        _check(args)
        if args.action == "train":
            parse_hyperparameters(args.hyperparameter)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        launch = make_session(args.region, args.profile, args.dry_run)
        name = ACTIONS[args.action](args, launch)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # botocore/SDK errors: credentials, permissions, validation
        print(f"error: {args.action} failed: {exc}", file=sys.stderr)
        return 1
    for operation, request in launch.requests:
        print(json.dumps({"operation": operation, "request": request}, default=str, sort_keys=True))
    verb = "would create" if args.dry_run else "created"
    print(f"{verb} {args.action} {name}", file=sys.stderr)
    return 0
