"""What ``docker run IMAGE train`` runs (via ``container/train``): the SageMaker training contract.

* hyperparameters from ``SM_HPS`` or ``/opt/ml/input/config/hyperparameters.json`` in any of the
  SDK's three string encodings; unknown names fail the job, ``sagemaker_*`` names are logged and
  skipped;
* channels ``train`` (optional when ``synthetic`` > 0) and ``validation`` (optional) under
  ``/opt/ml/input/data`` (``SM_CHANNEL_*`` wins);
* the model in the serving format in ``/opt/ml/model`` (``SM_MODEL_DIR``), the curve and history in
  ``/opt/ml/output/data``, resume state in ``/opt/ml/checkpoints`` every epoch;
* a failure file left by an earlier run is removed first;
* several hosts in ``resourceconfig.json`` or several processes per host (one per GPU, or
  ``FLOORPLAN_NPROC_PER_HOST``): this process starts ``torchrun``, whose workers run this module
  again as the ranks of one data-parallel job (:mod:`model_code.training.distributed`);
* SIGTERM (to this process or its whole process group: DataLoader workers ignore it): checkpoint
  and exit 143 (the job resumes on restart); any error: the reason in ``/opt/ml/output/failure``
  and exit 1.

``SAGEMAKER_BASE_DIR`` stands in for ``/opt/ml``.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from model_code.sagemaker_contract import (
    ResourceConfig,
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
MODULE = "model_code.training.sagemaker_entry"
FAILURES_ENV = "FLOORPLAN_WORKER_FAILURES"  # the launcher's folder for each failed rank's reason


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


def _remove_stale_failure(paths: SageMakerPaths) -> None:
    if paths.failure_file.is_file():  # an earlier run's reason must not outlive this run
        paths.failure_file.unlink()
        logger.info("removed the failure file of an earlier run: %s", paths.failure_file)


def _fail(exc: BaseException, paths: SageMakerPaths, failures: Path | None = None) -> int:
    """Log ``exc`` and write its reason (``failures``: this rank's file there, for the launcher)."""
    reason = failure_reason(exc)
    details = traceback.format_exc()
    print(details, file=sys.stderr)
    logger.error("training failed: %s", reason)
    try:
        if failures is not None:
            (failures / f"rank{os.environ.get('RANK', '0')}").write_text(reason + "\n\n" + details)
        else:
            write_failure(reason, paths, details)
    except OSError as write_error:
        print(f"could not write the failure file: {write_error}", file=sys.stderr)
    return EXIT_FAILURE


def _train(paths: SageMakerPaths, stop, writes_failure: bool) -> int:
    """Train this job in this process (alone, or as one rank of a multi-process job)."""
    from model_code.training.loop import TrainingInterrupted, train

    failures = os.environ.get(FAILURES_ENV)
    try:
        config = contract_config(paths)
        logger.info(
            "SageMaker training: base=%s train=%s validation=%s", paths.base, config.data, config.validation
        )
        result = train(config, stop=stop)
    except TrainingInterrupted as exc:
        logger.info("interrupted: %s", exc)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the contract: every failure gets a reason in /opt/ml/output/failure
        if failures:
            return _fail(exc, paths, Path(failures))
        if writes_failure:
            return _fail(exc, paths)
        logger.error("training failed: %s", failure_reason(exc))  # rank 0 writes the failure file
        print(traceback.format_exc(), file=sys.stderr)
        return EXIT_FAILURE
    logger.info("training finished (%s); model in %s", result.stopped, result.model_dir)
    return 0


def launch_workers(paths: SageMakerPaths, resources: ResourceConfig, nproc: int, stop) -> int:
    """Run the job as ``nproc`` torchrun workers on this host (of ``resources.hosts``); returns the exit code.

    The workers run this module again (with ``RANK`` set: they train). This process forwards a
    SIGTERM to torchrun, which passes it to every worker (rank 0 checkpoints; exit 143), and writes
    the failure file from the first worker that failed.
    """
    from model_code.training.distributed import torchrun_command

    command = torchrun_command(resources.hosts, resources.current_host, nproc, MODULE)
    logger.info(
        "data-parallel training: %d process(es) on host %s (%d of %d host(s)): %s",
        nproc,
        resources.current_host,
        resources.hosts.index(resources.current_host) + 1,
        len(resources.hosts),
        " ".join(command),
    )
    with tempfile.TemporaryDirectory(prefix="floorplan-failures-") as failures:
        env = {**os.environ, FAILURES_ENV: failures}
        # Its own session: a SIGTERM to our process group reaches torchrun once, from us (a second
        # one would cut short its wait for the workers' checkpoint).
        process = subprocess.Popen(command, env=env, start_new_session=True)
        forwarded = False
        while True:
            try:
                code = process.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if stop.requested and not forwarded:
                    logger.info("%s: asking the training processes to checkpoint and stop", stop.signal_name)
                    process.send_signal(signal.SIGTERM)
                    forwarded = True
        if code == 0:
            logger.info("training finished; model in %s", paths.model)
            return 0
        if stop.requested:
            logger.info("interrupted: %s: the training processes checkpointed and stopped", stop.signal_name)
            return EXIT_INTERRUPTED
        reports = sorted(Path(failures).glob("rank*"), key=lambda p: p.stat().st_mtime_ns)
        if reports:  # the first failure is the cause; the others follow from it
            reason, _, details = reports[0].read_text().partition("\n\n")
            details = f"(from {reports[0].name})\n{details}"
        else:
            reason = f"WorkerFailed: torchrun exited with {code}; see each rank's lines in the log"
            details = ""
        logger.error("training failed: %s", reason)
        try:
            write_failure(reason, paths, details)
        except OSError as write_error:
            print(f"could not write the failure file: {write_error}", file=sys.stderr)
        return EXIT_FAILURE


def main() -> int:
    """Run the training job under the SageMaker contract; returns the exit code.

    One host and one process (no GPU or one GPU): train here. Several hosts in
    ``resourceconfig.json``, several GPUs, or ``$FLOORPLAN_NPROC_PER_HOST`` > 1: start torchrun, whose
    workers come back here with ``RANK`` set and train as one data-parallel job.
    """
    from model_code.training.distributed import from_env, processes_per_host
    from model_code.training.loop import StopFlag

    setup_logging()
    paths = sagemaker_paths()
    stop = StopFlag()
    stop.install((signal.SIGTERM, signal.SIGINT))  # this process exists only to train
    worker = from_env()
    if worker.enabled:  # a torchrun worker (of launch_workers, or of a torchrun started by hand)
        if worker.is_main and not os.environ.get(FAILURES_ENV):
            _remove_stale_failure(paths)
        return _train(paths, stop, writes_failure=worker.is_main)
    try:
        _remove_stale_failure(paths)
        resources = read_resource_config(paths)
        nproc = processes_per_host()
        if len(resources.hosts) * nproc > 1:
            return launch_workers(paths, resources, nproc, stop)
    except Exception as exc:
        return _fail(exc, paths)
    return _train(paths, stop, writes_failure=True)


if __name__ == "__main__":
    sys.exit(main())
