"""``floorplan train``: fine-tune or pretrain the U-Net from the command line.

Every option is a :class:`~model_code.training.config.TrainConfig` field (``--batch-size`` is
``batch_size``), so the command line and the SageMaker hyperparameters share one set of names.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import typing
from dataclasses import MISSING, fields

from model_code.training.config import ConfigError, TrainConfig, coerce

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 128 + signal.SIGTERM


def _parser_type(name: str):
    def parse(value: str):
        try:
            return coerce(name, value)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parse.__name__ = name
    return parse


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--option`` per :class:`TrainConfig` field, with its documented help and default."""
    hints = typing.get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        text = f.metadata.get("help", "")
        if hints[f.name] is bool:
            parser.add_argument(
                flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default, help=text
            )
            continue
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        parser.add_argument(
            flag,
            dest=f.name,
            type=_parser_type(f.name),
            default=default,
            metavar=f.name.upper(),
            help=f"{text} (default: {shown})",
        )


def configure_train(parser: argparse.ArgumentParser) -> None:
    """Declare the ``floorplan train`` options."""
    parser.description = (
        "Train the wall/opening U-Net on a dataset folder (images/+masks/, images/+annotations/, flat R3D, "
        "or a split root with train/ and validation/) and/or synthetic plans rendered on the fly. "
        "Metric lines 'epoch=N train_loss=... val_iou=...' go to stdout; the state is checkpointed "
        "every epoch and a second run with the same --out resumes."
    )
    add_config_arguments(parser)


def setup_logging() -> None:
    """Training log lines to stdout, unadorned (MetricDefinitions regexes read them); in a
    multi-process job prefixed ``[rank R/N]``, except rank 0's metric lines."""
    from model_code.training.distributed import RankFormatter, from_env

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(RankFormatter(from_env()))
    log = logging.getLogger("model_code.training")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` the parsed options describe."""
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def run_train(args: argparse.Namespace) -> int:
    """Run training; exit 0 on success, 2 on bad input, 1 on a diverged loss, 143 on SIGTERM (resumable)."""
    from model_code.datasets.layouts import DatasetError
    from model_code.model.checkpoint import CheckpointError
    from model_code.model.network import PretrainedWeightsUnavailable
    from model_code.training.checkpoints import ResumeError
    from model_code.training.loop import StopFlag, TrainingInterrupted, train

    setup_logging()
    try:
        with StopFlag().installed() as stop:
            result = train(config_from_args(args), stop=stop)
    except TrainingInterrupted as exc:
        print(f"interrupted: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ConfigError, DatasetError, CheckpointError, ResumeError, PretrainedWeightsUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FloatingPointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    print(f"model: {result.model_dir} ({result.stopped} after {result.epochs_completed} epochs)")
    return 0
