"""``floorplan launch``: the customers' ``sagemaker_train.py`` with the SageMaker Python SDK 2.x.

Three actions on our one image (``--image-uri``, the ECR image that holds ``train`` and ``serve``):

* ``train``: a training job on spot instances (``max_wait``, ``checkpoint_s3_uri`` so a reclaimed
  instance resumes), our hyperparameters (checked locally against
  :class:`~model_code.training.config.TrainConfig` first) and metric definitions that read the
  ``epoch=3 train_loss=... val_iou=...`` lines;
* ``deploy``: a trained ``model.tar.gz`` to an endpoint: real-time (default ``ml.t3.medium``), with
  Application Auto Scaling target tracking (``--min-instances --max-instances
  --target-invocations-per-instance``), asynchronous (``--async``: S3 output and failure paths, SNS
  topics, larger payloads and timeouts) or serverless (``--serverless-memory``);
* ``transform``: a batch transform over an S3 prefix of plan images (instance count, split, assemble
  and batch strategy settings).

``--dry-run`` runs the same SDK code against a recording client: it prints every request the SDK
would send (CreateTrainingJob, CreateModel, ...) and the Application Auto Scaling requests
(:func:`scaling_requests`), and contacts nothing.  Invalid combinations are refused before any call.
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
DEFAULT_INSTANCES = {"train": DEFAULT_TRAIN_INSTANCE, "deploy": DEFAULT_ENDPOINT_INSTANCE}
DEFAULT_INSTANCES["transform"] = DEFAULT_TRANSFORM_INSTANCE
VARIANT_NAME = "AllTraffic"  # the SDK's one production variant
GPU_INSTANCE_FAMILIES = ("ml.g", "ml.p", "ml.inf", "ml.trn")
# SageMaker's service limits, checked before any call (the server reads the same variables:
# model_code/serving/config.py, which sets no upper bound of its own on either).
TIMEOUT_ENV = "SAGEMAKER_MODEL_SERVER_TIMEOUT"
MAX_PAYLOAD_ENV = "SAGEMAKER_MAX_PAYLOAD_IN_MB"
VIEWS_ENV = "MODEL_SERVER_VIEWS"  # the serving config's default views (model_code.serving.config)
REALTIME_LIMITS = {"timeout_s": 60, "max_payload_mb": 6}
SERVERLESS_LIMITS = {"timeout_s": 60, "max_payload_mb": 4}
ASYNC_LIMITS = {"timeout_s": 3600, "max_payload_mb": 1024}
ASYNC_DEFAULTS = {"timeout_s": 3600, "max_payload_mb": 100}  # 100 MB: a 40 MP plan as PNG fits
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
TRANSFORM_PAYLOAD_LIMIT_MB = 100  # MaxPayloadInMB, and MaxPayloadInMB * MaxConcurrentTransforms
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
    """Stands in for a boto3 client in dry runs: records each call, answers with fake ARNs.

    ``calls`` may be shared between clients so the requests of both services keep their order.
    """

    def __init__(
        self,
        region: str,
        service: str = "sagemaker",
        calls: list[tuple[str, str, dict[str, Any]]] | None = None,
    ):
        self.region = region
        self.service = service
        self.calls: list[tuple[str, str, dict[str, Any]]] = [] if calls is None else calls

    def __getattr__(self, operation: str):
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(**request: Any) -> dict[str, Any]:
            self.calls.append((self.service, operation, request))
            arn = f"arn:aws:{self.service}:{self.region}:000000000000:dry-run/{operation}"
            keys = ("TrainingJobArn", "ModelArn", "EndpointConfigArn", "EndpointArn", "TransformJobArn")
            keys += ("ScalableTargetARN", "PolicyARN")
            return dict.fromkeys(keys, arn)

        return call


@dataclass
class LaunchSession:
    """A ``sagemaker.Session`` and, in dry runs, the clients that recorded their requests.

    ``requests`` holds ``(service, operation, request)`` in call order.
    """

    session: Any
    recorder: RecordingClient | None = None
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    autoscaling: Any = None

    def autoscaling_client(self) -> Any:
        """The Application Auto Scaling client: the recorder in dry runs, else one from the boto session."""
        if self.autoscaling is None:
            self.autoscaling = self.session.boto_session.client("application-autoscaling")
        return self.autoscaling


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
    autoscaling = RecordingClient(region, "application-autoscaling", recorder.calls)
    return LaunchSession(session, recorder, recorder.calls, autoscaling)


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


def deploy_environment(args: argparse.Namespace) -> dict[str, str]:
    """The container's environment: workers, the default views, and the request timeout and payload
    limit of the mode.

    Real-time endpoints keep the server's defaults unless ``--timeout``/``--max-payload-mb`` are given;
    ``--async`` raises them (:data:`ASYNC_DEFAULTS`), serverless caps the payload at 4 MB.
    """
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": str(args.workers)} if getattr(args, "workers", None) else {}
    if getattr(args, "views", None):
        env[VIEWS_ENV] = str(args.views)
    if getattr(args, "action", None) != "deploy":
        return env
    defaults: dict[str, int] = {}
    if args.async_inference:
        defaults = ASYNC_DEFAULTS
    elif _serverless(args):
        defaults = {"max_payload_mb": SERVERLESS_LIMITS["max_payload_mb"]}
    timeout = args.timeout if args.timeout is not None else defaults.get("timeout_s")
    payload = args.max_payload_mb if args.max_payload_mb is not None else defaults.get("max_payload_mb")
    if timeout is not None:
        env[TIMEOUT_ENV] = str(timeout)
    if payload is not None:
        env[MAX_PAYLOAD_ENV] = str(payload)
    return env


def scaling_requests(
    endpoint_name: str,
    min_instances: int,
    max_instances: int,
    target_invocations: float,
    scale_in_cooldown: int | None = None,
    scale_out_cooldown: int | None = None,
    variant_name: str = VARIANT_NAME,
) -> list[tuple[str, dict[str, Any]]]:
    """RegisterScalableTarget and PutScalingPolicy (target tracking on invocations per instance)."""
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{endpoint_name}/variant/{variant_name}",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    tracking: dict[str, Any] = {
        "TargetValue": float(target_invocations),
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
    }
    if scale_in_cooldown is not None:
        tracking["ScaleInCooldown"] = scale_in_cooldown
    if scale_out_cooldown is not None:
        tracking["ScaleOutCooldown"] = scale_out_cooldown
    return [
        ("register_scalable_target", {**target, "MinCapacity": min_instances, "MaxCapacity": max_instances}),
        (
            "put_scaling_policy",
            {
                "PolicyName": f"{endpoint_name}-invocations-per-instance",
                **target,
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": tracking,
            },
        ),
    ]


def _serverless(args: argparse.Namespace) -> bool:
    return args.serverless_memory is not None or args.serverless_max_concurrency is not None


def _autoscaling(args: argparse.Namespace) -> bool:
    names = ("min_instances", "max_instances", "target_invocations_per_instance")
    return any(
        getattr(args, name) is not None for name in (*names, "scale_in_cooldown", "scale_out_cooldown")
    )


def _model(args: argparse.Namespace, launch: LaunchSession):
    from sagemaker.model import Model

    env = deploy_environment(args)
    return Model(
        image_uri=args.image_uri,
        model_data=args.model_data,
        role=args.role,
        env=env,
        name=args.model_name or job_name("floorplan-model"),
        sagemaker_session=launch.session,
    )


def launch_deploy(args: argparse.Namespace, launch: LaunchSession) -> str:
    """Create model, endpoint config and endpoint (and its scaling policy); returns the endpoint name.

    With autoscaling a real run waits for the endpoint: a variant is registered once it is InService.
    """
    name = args.endpoint_name or job_name("floorplan")
    options: dict[str, Any] = {}
    if _serverless(args):
        from sagemaker.serverless import ServerlessInferenceConfig

        options["serverless_inference_config"] = ServerlessInferenceConfig(
            memory_size_in_mb=args.serverless_memory, max_concurrency=args.serverless_max_concurrency
        )
    else:
        options.update(initial_instance_count=args.instance_count, instance_type=args.instance_type)
    if args.async_inference:
        from sagemaker.async_inference import AsyncInferenceConfig

        topics = {"SuccessTopic": args.success_topic, "ErrorTopic": args.error_topic}
        options["async_inference_config"] = AsyncInferenceConfig(
            output_path=args.async_output_path,
            failure_path=args.async_failure_path,
            max_concurrent_invocations_per_instance=args.max_concurrent_invocations,
            notification_config={k: v for k, v in topics.items() if v} or None,
        )
    scaling = _autoscaling(args)
    _model(args, launch).deploy(
        endpoint_name=name, wait=(args.wait or scaling) and not args.dry_run, **options
    )
    if scaling:
        client = launch.autoscaling_client()
        for operation, request in scaling_requests(
            name,
            args.min_instances,
            args.max_instances,
            args.target_invocations_per_instance,
            args.scale_in_cooldown,
            args.scale_out_cooldown,
        ):
            getattr(client, operation)(**request)
    return name


def launch_transform(args: argparse.Namespace, launch: LaunchSession) -> str:
    """Create model and batch transform job over ``--input``; returns the job name."""
    transformer = _model(args, launch).transformer(
        instance_count=args.instance_count,
        instance_type=args.instance_type,
        output_path=args.output_path,
        accept="application/json",
        strategy=args.batch_strategy,
        assemble_with=None if args.assemble_with == "None" else args.assemble_with,
        max_payload=args.max_payload_mb,
        max_concurrent_transforms=args.max_concurrent,
    )
    name = args.job_name or job_name("floorplan-transform")
    transformer.transform(
        args.input,
        content_type=args.content_type,
        split_type=None if args.split_type == "None" else args.split_type,  # None: SageMaker's default
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
    parser.add_argument("--instance-type", default=None, help=f"instance type (default {instance_type})")
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
        child.add_argument("--instance-count", type=int, default=None, help="instances (default 1)")
        child.add_argument("--workers", type=int, default=None, help="model-server workers per instance")
        child.add_argument(
            "--views",
            type=int,
            choices=(1, 2, 4),
            default=None,
            help="mirrored views the U-Net averages for requests that do not say (MODEL_SERVER_VIEWS; "
            "server default 1; 4: better walls for about 4x the forward pass)",
        )
    _deploy_options(sub.choices["deploy"])
    transform = sub.choices["transform"]
    transform.add_argument("--input", required=True, help="S3 prefix of the plan images")
    transform.add_argument("--output-path", required=True, help="S3 prefix for the JSON results")
    transform.add_argument("--content-type", default="image/png", help="content type of the inputs")
    transform.add_argument(
        "--max-payload-mb", type=int, default=20, help="largest request (MaxPayloadInMB, default 20)"
    )
    transform.add_argument(
        "--max-concurrent", type=int, default=2, help="parallel requests per instance (default 2)"
    )
    transform.add_argument(
        "--split-type",
        choices=("None", "Line"),
        default="None",
        help="None: one file is one record (an image); Line: one line is one record (default None)",
    )
    transform.add_argument(
        "--assemble-with",
        choices=("None", "Line"),
        default="None",
        help="Line: one result per line in the output file (default None)",
    )
    transform.add_argument(
        "--batch-strategy",
        choices=("SingleRecord", "MultiRecord"),
        default="SingleRecord",
        help="records per request; MultiRecord needs --split-type Line (default SingleRecord)",
    )
    transform.add_argument("--job-name", default=None, help="job name (default floorplan-transform-<time>)")


def _deploy_options(deploy: argparse.ArgumentParser) -> None:
    deploy.add_argument("--endpoint-name", default=None, help="endpoint name (default floorplan-<time>)")
    limits = deploy.add_argument_group("request limits (the container's environment)")
    limits.add_argument(
        "--timeout",
        type=int,
        default=None,
        help="request timeout, s (SAGEMAKER_MODEL_SERVER_TIMEOUT): real-time and serverless at most 60; "
        f"--async at most 3600, default {ASYNC_DEFAULTS['timeout_s']}",
    )
    limits.add_argument(
        "--max-payload-mb",
        type=int,
        default=None,
        help="largest request, MB (SAGEMAKER_MAX_PAYLOAD_IN_MB): real-time at most 6 (server default 6), "
        "serverless at most 4 (default 4), "
        f"--async at most 1024 (default {ASYNC_DEFAULTS['max_payload_mb']})",
    )
    scaling = deploy.add_argument_group("autoscaling (Application Auto Scaling target tracking)")
    scaling.add_argument(
        "--min-instances", type=int, default=None, help="fewest instances (default --instance-count)"
    )
    scaling.add_argument("--max-instances", type=int, default=None, help="most instances")
    scaling.add_argument(
        "--target-invocations-per-instance",
        type=float,
        default=None,
        help="target of SageMakerVariantInvocationsPerInstance (invocations per instance per minute)",
    )
    scaling.add_argument("--scale-in-cooldown", type=int, default=None, help="seconds after a scale-in")
    scaling.add_argument("--scale-out-cooldown", type=int, default=None, help="seconds after a scale-out")
    asynchronous = deploy.add_argument_group("asynchronous inference (--async)")
    asynchronous.add_argument(
        "--async", dest="async_inference", action="store_true", help="an asynchronous endpoint"
    )
    asynchronous.add_argument("--async-output-path", default=None, help="S3 prefix of the results (required)")
    asynchronous.add_argument(
        "--async-failure-path",
        default=None,
        help="S3 prefix of the failures (default <async-output-path>/failures)",
    )
    asynchronous.add_argument("--success-topic", default=None, help="SNS topic ARN told of each result")
    asynchronous.add_argument("--error-topic", default=None, help="SNS topic ARN told of each failure")
    asynchronous.add_argument(
        "--max-concurrent-invocations",
        type=int,
        default=None,
        help="requests SageMaker sends one instance at a time (1-1000; default: SageMaker's)",
    )
    serverless = deploy.add_argument_group("serverless inference (CPU only, 4 MB payloads, 60 s)")
    serverless.add_argument(
        "--serverless-memory",
        type=int,
        default=None,
        help="memory in MB: 1024, 2048, ..., 6144; makes the endpoint serverless",
    )
    serverless.add_argument(
        "--serverless-max-concurrency",
        type=int,
        default=None,
        help="concurrent invocations, 1-200 (default 5)",
    )


def _check_deploy(args: argparse.Namespace) -> None:
    """Refuse impossible endpoint settings and combinations before any call; fill in the defaults."""
    async_only = ("async_failure_path", "success_topic", "error_topic", "max_concurrent_invocations")
    if not args.async_inference and any(
        getattr(args, n) is not None for n in ("async_output_path", *async_only)
    ):
        raise ConfigError(
            "--async-output-path, --async-failure-path, the topics and --max-concurrent-invocations "
            "apply only with --async"
        )
    if args.async_inference:
        limits = ASYNC_LIMITS
        if args.async_output_path is None:
            raise ConfigError(
                "--async needs --async-output-path s3://... (where SageMaker writes the results)"
            )
        if args.async_failure_path is None:  # else the SDK would look up its default bucket in S3
            args.async_failure_path = args.async_output_path.rstrip("/") + "/failures"
        for option in ("success_topic", "error_topic"):
            arn = getattr(args, option)
            if arn is not None and not (arn.startswith("arn:") and ":sns:" in arn):
                raise ConfigError(f"--{option.replace('_', '-')} must be an SNS topic ARN, got {arn!r}")
        count = args.max_concurrent_invocations
        if count is not None and not 1 <= count <= 1000:
            raise ConfigError(f"--max-concurrent-invocations must be between 1 and 1000, got {count}")
    elif _serverless(args):
        limits = SERVERLESS_LIMITS
    else:
        limits = REALTIME_LIMITS
    if _serverless(args):
        _check_serverless(args)
    for name, flag in (("timeout_s", "--timeout"), ("max_payload_mb", "--max-payload-mb")):
        value = getattr(args, "timeout" if name == "timeout_s" else name)
        if value is not None and not 1 <= value <= limits[name]:
            mode = "--async" if args.async_inference else "serverless" if _serverless(args) else "real-time"
            hint = "" if args.async_inference or _serverless(args) else " (use --async for more)"
            raise ConfigError(f"{flag} {value}: a {mode} endpoint allows 1 to {limits[name]}{hint}")
    if args.instance_count is None:
        args.instance_count = 1
    if args.instance_count < 1:
        raise ConfigError(f"--instance-count must be >= 1, got {args.instance_count}")
    if _autoscaling(args):
        if args.max_instances is None or args.target_invocations_per_instance is None:
            raise ConfigError("autoscaling needs --max-instances and --target-invocations-per-instance")
        if args.min_instances is None:
            args.min_instances = args.instance_count
        if not 1 <= args.min_instances <= args.instance_count <= args.max_instances:
            raise ConfigError(
                f"autoscaling needs 1 <= --min-instances ({args.min_instances}) <= --instance-count "
                f"({args.instance_count}) <= --max-instances ({args.max_instances})"
            )
        if args.target_invocations_per_instance <= 0:
            raise ConfigError("--target-invocations-per-instance must be > 0")
        for option in ("scale_in_cooldown", "scale_out_cooldown"):
            if (getattr(args, option) or 0) < 0:
                raise ConfigError(f"--{option.replace('_', '-')} must be >= 0 seconds")


def _check_serverless(args: argparse.Namespace) -> None:
    if args.async_inference:
        raise ConfigError(
            "a serverless endpoint cannot be asynchronous: drop --async or the --serverless-* options"
        )
    if _autoscaling(args):
        raise ConfigError(
            "a serverless endpoint scales by itself up to --serverless-max-concurrency: "
            "drop --min-instances, --max-instances, --target-invocations-per-instance and the cooldowns"
        )
    if args.instance_type is not None:
        if args.instance_type.startswith(GPU_INSTANCE_FAMILIES):
            raise ConfigError(
                f"serverless endpoints have no GPU: --instance-type {args.instance_type} refused"
            )
        raise ConfigError("a serverless endpoint has no instance type: drop --instance-type")
    if args.instance_count is not None:
        raise ConfigError("a serverless endpoint has no instances: drop --instance-count")
    if args.serverless_memory is None:
        raise ConfigError("serverless needs --serverless-memory (1024, 2048, ..., 6144 MB)")
    if args.serverless_memory not in SERVERLESS_MEMORY_MB:
        raise ConfigError(
            f"--serverless-memory must be one of {list(SERVERLESS_MEMORY_MB)}, got {args.serverless_memory}"
        )
    if args.serverless_max_concurrency is None:
        args.serverless_max_concurrency = 5
    if not 1 <= args.serverless_max_concurrency <= 200:
        raise ConfigError(
            f"--serverless-max-concurrency must be between 1 and 200, got {args.serverless_max_concurrency}"
        )


def _check_transform(args: argparse.Namespace) -> None:
    if args.instance_count is None:
        args.instance_count = 1
    if args.instance_count < 1:
        raise ConfigError(f"--instance-count must be >= 1, got {args.instance_count}")
    if args.batch_strategy == "MultiRecord" and args.split_type == "None":
        raise ConfigError("--batch-strategy MultiRecord needs --split-type Line (records to batch)")
    if args.max_concurrent < 1 or not 1 <= args.max_payload_mb <= TRANSFORM_PAYLOAD_LIMIT_MB:
        raise ConfigError(
            f"--max-concurrent must be >= 1 and --max-payload-mb between 1 and {TRANSFORM_PAYLOAD_LIMIT_MB}"
        )
    if args.max_payload_mb * args.max_concurrent > TRANSFORM_PAYLOAD_LIMIT_MB:
        raise ConfigError(
            f"--max-payload-mb {args.max_payload_mb} x --max-concurrent {args.max_concurrent} exceeds "
            f"SageMaker's {TRANSFORM_PAYLOAD_LIMIT_MB} MB per instance"
        )


def _check(args: argparse.Namespace) -> None:
    if args.role is None:
        args.role = os.environ.get("SAGEMAKER_ROLE") or (DRY_RUN_ACCOUNT_ROLE if args.dry_run else None)
    if args.role is None:
        raise ConfigError("no execution role: pass --role ARN or set SAGEMAKER_ROLE")
    if args.action == "deploy":
        _check_deploy(args)
    elif args.action == "transform":
        _check_transform(args)
    if args.instance_type is None and not (args.action == "deploy" and _serverless(args)):
        args.instance_type = DEFAULT_INSTANCES[args.action]
    uris = ("train", "validation", "output_path", "checkpoint_s3_uri", "model_data", "input")
    for name in (*uris, "async_output_path", "async_failure_path"):
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
    for service, operation, request in launch.requests:
        line = {"service": service, "operation": operation, "request": request}
        print(json.dumps(line, default=str, sort_keys=True))
    verb = "would create" if args.dry_run else "created"
    print(f"{verb} {args.action} {name}", file=sys.stderr)
    return 0
