"""``floorplan export``: put the file the served runtime runs into the cache before workers start.

That is the checkpoint's ONNX export and, for an int8 runtime (the default, OpenVINO int8), the
quantised model made from it.  ``container/serve`` runs it before gunicorn forks, and the Docker build
runs it for the bundled model, so CPU workers load the cached file and never import torch (see
:mod:`model_code.model.export_cache`).
"""

from __future__ import annotations

import argparse
import sys

from model_code.model.checkpoint import CheckpointError, resolve_model_dir
from model_code.model.export_cache import CACHE_ENV, export_checkpoint
from model_code.model.runtimes import EXPORTED_RUNTIMES, default_runtime
from model_code.serving.config import resolve_serving_model_dir


def configure_export(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``floorplan export``."""
    parser.description = (
        "Export a checkpoint to ONNX (and quantise it for an int8 runtime) into the cache, so serving "
        f"workers load it without torch. The cache folder is ${CACHE_ENV}/onnx (else "
        "~/.cache/floorplan/onnx); nothing is done when the file is already there."
    )
    parser.add_argument(
        "--model-dir",
        default=None,
        help="checkpoint directory, or 'default' for the bundled model "
        "(default: the model the server would serve, $SAGEMAKER_BASE_DIR/model or the bundled one)",
    )

    parser.add_argument(
        "--runtime",
        default=None,
        choices=EXPORTED_RUNTIMES,
        help="the runtime whose file to make (default: the serving default, $FLOORPLAN_RUNTIME or "
        "openvino_int8)",
    )


def run_export(args: argparse.Namespace) -> int:
    """Run ``floorplan export``; prints the cached file's path."""

    directory = resolve_serving_model_dir() if args.model_dir is None else resolve_model_dir(args.model_dir)
    try:
        runtime = args.runtime or default_runtime()
        if runtime not in EXPORTED_RUNTIMES:
            print(f"floorplan export: runtime {runtime!r} runs no exported file; nothing to do", flush=True)
            return 0
        path = export_checkpoint(directory, runtime=runtime)
    except (CheckpointError, OSError, ValueError) as exc:
        print(f"floorplan export: {exc}", file=sys.stderr, flush=True)
        return 1
    print(path)
    return 0
