"""``floorplan export``: put the served checkpoint's ONNX export into the cache before workers start.

``container/serve`` runs it before gunicorn forks, and the Docker build runs it for the bundled
model, so CPU workers load the cached file and never import torch (see
:mod:`model_code.model.onnx_cache`).
"""

from __future__ import annotations

import argparse
import sys

from model_code.model.checkpoint import CheckpointError, resolve_model_dir
from model_code.model.onnx_cache import CACHE_ENV, export_checkpoint
from model_code.serving.config import resolve_serving_model_dir


def configure_export(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``floorplan export``."""
    parser.description = (
        "Export a checkpoint to ONNX into the cache, so serving workers load it without torch. "
        f"The cache folder is ${CACHE_ENV}/onnx (else ~/.cache/floorplan/onnx); nothing is done when "
        "the export is already there."
    )
    parser.add_argument(
        "--model-dir",
        default=None,
        help="checkpoint directory, or 'default' for the bundled model "
        "(default: the model the server would serve, $SAGEMAKER_BASE_DIR/model or the bundled one)",
    )


def run_export(args: argparse.Namespace) -> int:
    """Run ``floorplan export``; prints the cached file's path."""

    directory = resolve_serving_model_dir() if args.model_dir is None else resolve_model_dir(args.model_dir)
    try:
        path = export_checkpoint(directory)
    except (CheckpointError, OSError) as exc:
        print(f"floorplan export: {exc}", file=sys.stderr, flush=True)
        return 1
    print(path)
    return 0
