"""What ``docker run IMAGE train`` runs (via ``container/train``): the SageMaker training contract.

* hyperparameters from ``SM_HPS`` or ``/opt/ml/input/config/hyperparameters.json`` in any of the
  SDK's three string encodings; unknown names fail the job, ``sagemaker_*`` names are logged and
  skipped;
* channels ``train`` (optional when ``synthetic`` > 0) and ``validation`` (optional) under
  ``/opt/ml/input/data`` (``SM_CHANNEL_*`` wins);
* the model in the serving format in ``/opt/ml/model`` (``SM_MODEL_DIR``), the curve and history in
  ``/opt/ml/output/data``, resume state in ``/opt/ml/checkpoints`` every epoch;
* a failure file left by an earlier run is removed first;
* SIGTERM (to this process or its whole process group: DataLoader workers ignore it): checkpoint
  and exit 143 (the job resumes on restart); any error: the reason in ``/opt/ml/output/failure``
  and exit 1.

``SAGEMAKER_BASE_DIR`` stands in for ``/opt/ml``.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import traceback
from pathlib import Path

from model_code.sagemaker_contract import (
    SageMakerPaths,
    read_hyperparameters,
    read_input_data_config,
    read_resource_config,
    sagemaker_paths,
    write_failure,
)
from model_code.training.cli import EXIT_INTERRUPTED, setup_logging
from model_code.training.config import PATH_FIELDS, ConfigError, TrainConfig, config_from_mapping

logger = logging.getLogger("model_code.training")

EXIT_FAILURE = 1


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def contract_config(paths: SageMakerPaths) -> TrainConfig:
    """The :class:`TrainConfig` of this job: channel paths plus decoded hyperparameters."""
    values, reserved = read_hyperparameters(paths)
    for name, value in sorted(reserved.items()):
        logger.info("skipping SageMaker hyperparameter %s=%r", name, value)
    given_paths = sorted(k for k in values if k.replace("-", "_") in PATH_FIELDS)
    if given_paths:
        raise ConfigError(
            f"hyperparameter(s) {given_paths} are paths, which come from the SageMaker layout "
            "(channels train/validation, /opt/ml/model, /opt/ml/checkpoints), not from hyperparameters"
        )
    channels = read_input_data_config(paths)
    for name, settings in channels.items():
        mode = str(settings.get("TrainingInputMode", "File"))
        if mode not in ("File", "FastFile"):
            raise ConfigError(
                f"channel {name!r} uses input mode {mode}; only File and FastFile are supported"
            )
    train_dir, validation_dir = paths.channel("train"), paths.channel("validation")
    base = TrainConfig(
        data=str(train_dir) if train_dir.exists() or "train" in channels else None,
        validation=str(validation_dir) if _has_files(validation_dir) else None,
        out=str(paths.model),
        checkpoint_dir=str(paths.checkpoints),
        output_dir=str(paths.output_data),
    )
    config = config_from_mapping(values, base=base)
    if config.data is None and config.synthetic < 1:
        raise ConfigError(f"no training data: channel 'train' is missing ({train_dir}) and synthetic is 0")
    return config


_WORKER_ERROR = re.compile(r"Caught (\w+) in DataLoader worker process \d+\.")


def failure_reason(exc: BaseException) -> str:
    """``Type: message`` of a failed job: the first line of ``/opt/ml/output/failure``.

    An error raised in a DataLoader worker process reaches this process as ``Caught X in DataLoader
    worker process N.`` followed by the worker's traceback; the reason is then the worker's own
    ``X: message`` (which names the unreadable file), not the wrapper's first line.
    """
    name, text = type(exc).__name__, str(exc)
    if _WORKER_ERROR.match(text):
        lines = text.splitlines()
        for index in range(len(lines) - 1, 0, -1):  # the traceback ends with "package.module.X: message"
            head, sep, rest = lines[index].partition(": ")
            if sep and not head.startswith(" ") and head.rsplit(".", 1)[-1] == name:
                return f"{name}: " + "\n".join([rest, *lines[index + 1 :]])
    return f"{name}: {text}"


def main() -> int:
    """Run the training job under the SageMaker contract; returns the exit code."""
    from model_code.training.loop import StopFlag, TrainingInterrupted, train

    setup_logging()
    paths = sagemaker_paths()
    stop = StopFlag()
    stop.install((signal.SIGTERM, signal.SIGINT))  # this process exists only to train
    try:
        if paths.failure_file.is_file():  # an earlier run's reason must not outlive this run
            paths.failure_file.unlink()
            logger.info("removed the failure file of an earlier run: %s", paths.failure_file)
        resources = read_resource_config(paths)
        if not resources.is_leader:
            logger.info(
                "host %s is not the leader %s: training is single-host, nothing to do",
                resources.current_host,
                resources.hosts[0],
            )
            return 0
        config = contract_config(paths)
        logger.info(
            "SageMaker training: base=%s train=%s validation=%s", paths.base, config.data, config.validation
        )
        result = train(config, stop=stop)
    except TrainingInterrupted as exc:
        logger.info("interrupted: %s", exc)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the contract: every failure gets a reason in /opt/ml/output/failure
        reason = failure_reason(exc)
        details = traceback.format_exc()
        print(details, file=sys.stderr)
        logger.error("training failed: %s", reason)
        try:
            write_failure(reason, paths, details)
        except OSError as write_error:
            print(f"could not write the failure file: {write_error}", file=sys.stderr)
        return EXIT_FAILURE
    logger.info("training finished (%s); model in %s", result.stopped, result.model_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
