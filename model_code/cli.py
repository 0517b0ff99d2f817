"""One command-line entry point, ``floorplan <command>``, for every user-facing tool.

Each command lives in the module that does its job; that module provides
``configure_<name>(parser)`` to declare arguments and ``run_<name>(args) -> int`` to run.
Modules are imported only when their command is used, so ``floorplan --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> (module that implements it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("model_code.datasets.synthetic", "generate synthetic floor plans with exact ground truth"),
    "organize": ("model_code.datasets.cli", "split a folder of plans into train/validation/test"),
    "validate": ("model_code.datasets.cli", "check annotation JSON files against the schema"),
    "masks": ("model_code.datasets.cli", "rasterise annotation JSON files into wall/opening masks"),
    "upload": ("model_code.datasets.cli", "upload a prepared dataset to S3 (skips unchanged files)"),
    "train": ("model_code.training.cli", "fine-tune the U-Net on a dataset folder"),
    "train-rooms": (
        "model_code.training.rooms",
        "teach a checkpoint's room classifier the room types of a dataset",
    ),
    "export": ("model_code.serving.export", "export a checkpoint to ONNX for torch-free CPU serving"),
    "evaluate": ("model_code.evaluation.cli", "score backends on a dataset and write a report"),
    "detect": ("model_code.serving.client", "send a plan to an endpoint (SageMaker or local URL)"),
    "annotate": ("model_code.annotate.app", "open the browser annotation tool on a folder"),
    "launch": ("model_code.launch.jobs", "SageMaker training job, endpoint deploy, batch transform"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="floorplan",
        description="Raster floor plan -> walls, openings and rooms.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        build_parser().parse_args(argv)  # prints help or a usage error and exits
        return 2
    name, rest = argv[0], argv[1:]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"floorplan {name}", description=help_text)
    getattr(module, f"configure_{name.replace('-', '_')}")(parser)
    args = parser.parse_args(rest)
    return int(getattr(module, f"run_{name.replace('-', '_')}")(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
