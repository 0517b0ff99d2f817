"""``floorplan evaluate``: score backends side by side on a dataset and write a report.

    floorplan evaluate --data DATA --split validation --backend unet:default --backend opencv \\
        --out reports/r3d-validation

Every backend runs through the same :class:`model_code.pipeline.Pipeline` (so the opencv
baseline's mask goes through the same vectorizer and room detection as the U-Net's).  The
report folder receives ``report.md`` (the side-by-side table with 95% bootstrap CIs),
``report.json`` (everything, per plan), ``overlays/<plan>.png`` (ground truth | each backend),
``room_overlays/<plan>.png`` (rooms by type, misses by cause), ``gallery.png`` (the 10 worst
plans by wall IoU) and ``gallery_rooms.png`` (the 10 worst by room F1).  See ``docs/evaluation.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

from model_code.datasets.layouts import (
    DatasetError,
    Sample,
    detect_layout,
    is_split_root,
    open_dataset,
    open_split,
)
from model_code.evaluation.backends import BackendSpec, BackendSpecError, parse_backends
from model_code.evaluation.report import write_report
from model_code.evaluation.runner import RunSettings, default_threads, iterate_records

LOG = logging.getLogger("model_code.evaluation.cli")
SPLIT_CHOICES = ("all", "train", "validation", "test")
DEFAULT_VAL_FRACTION = 0.1  # the training loop's default hold-out share (TrainConfig.val_fraction)
DEFAULT_SPLIT_SEED = 0  # the training loop's default seed (TrainConfig.seed)


class EvaluationError(ValueError):
    """Bad evaluation input (dataset, split or backend) reported to the user."""


def split_samples(
    samples: list[Sample], split: str, fraction: float = DEFAULT_VAL_FRACTION, seed: int = DEFAULT_SPLIT_SEED
) -> list[Sample]:
    """The ``train`` or ``validation`` part of a flat dataset, exactly as training holds it out.

    Uses the training loop's own hold-out (same fraction and seed as ``floorplan train``'s
    ``--val-fraction``/``--seed`` defaults), so evaluating ``--split validation`` never scores
    a plan the default model was trained on.  ``all`` returns every sample.
    """
    if split == "all":
        return list(samples)
    if split not in ("train", "validation"):
        raise EvaluationError(
            f"a flat dataset folder has no {split!r} split: use train, validation or all "
            "(or organize the folder into train/validation/test first)"
        )
    from model_code.datasets.organize import holdout_split

    train, validation = holdout_split(list(samples), fraction, seed)
    return validation if split == "validation" else train


def select_samples(data: Path, split: str, fraction: float, seed: int) -> tuple[list[Sample], str]:
    """The plans to evaluate and the layout name; raises :class:`EvaluationError` on bad input."""
    try:
        if is_split_root(data):
            if split == "all":
                raise EvaluationError(f"{data} holds train/validation/test folders: choose one with --split")
            samples = open_split(data, split)
            return samples, detect_layout(data / split)
        samples = split_samples(open_dataset(data), split, fraction, seed)
        return samples, detect_layout(data)
    except DatasetError as exc:
        raise EvaluationError(str(exc)) from exc


def configure_evaluate(parser: argparse.ArgumentParser) -> None:
    """Declare the ``floorplan evaluate`` arguments."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        "  floorplan evaluate --data r3d/train --split validation --backend unet:default "
        "--backend opencv --out reports/r3d\n"
        "  floorplan evaluate --data synth_test --backend opencv --out reports/synth --limit 20\n"
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="dataset folder (any layout, or a split root)"
    )
    parser.add_argument(
        "--split",
        choices=SPLIT_CHOICES,
        default="all",
        help="which plans: a sub-folder of a split root, or the training hold-out of a flat folder "
        "(default: all plans of a flat folder)",
    )
    parser.add_argument(
        "--backend",
        action="append",
        default=[],
        metavar="SPEC",
        help="opencv | unet | unet:default | unet:synthetic | unet:<checkpoint dir>, a U-Net optionally with "
        "@views=2 or @views=4 (mirrored views averaged); repeat for side-by-side columns",
    )
    parser.add_argument("--out", type=Path, required=True, help="report folder (created)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N plans")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=DEFAULT_VAL_FRACTION,
        help=f"hold-out share of a flat folder, as in training (default {DEFAULT_VAL_FRACTION})",
    )
    parser.add_argument(
        "--split-seed",
        type=int,
        default=DEFAULT_SPLIT_SEED,
        help=f"hold-out seed of a flat folder, as training's --seed (default {DEFAULT_SPLIT_SEED})",
    )
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the CIs")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument(
        "--gallery", type=int, default=10, help="plans in the gallery of the worst (default 10)"
    )
    parser.add_argument("--no-overlays", action="store_true", help="skip the per-plan pictures (faster)")
    parser.add_argument(
        "--text",
        choices=("off", "on"),
        default="off",
        help="the pipeline's text option for every backend: 'on' reads room labels, which then give "
        "the type where the network is unsure (docs/text.md); default off, as served",
    )


def check_arguments(args: argparse.Namespace) -> None:
    """Reject values that cannot work, with a message naming the option."""
    if args.limit is not None and args.limit < 1:
        raise EvaluationError(f"--limit must be at least 1, got {args.limit}")
    if args.workers < 1:
        raise EvaluationError(f"--workers must be at least 1, got {args.workers}")
    if not 0.0 < args.val_fraction < 1.0:
        raise EvaluationError(f"--val-fraction must be in (0, 1), got {args.val_fraction}")
    if args.resamples < 0:
        raise EvaluationError(f"--resamples must be >= 0, got {args.resamples}")
    if args.gallery < 0:
        raise EvaluationError(f"--gallery must be >= 0, got {args.gallery}")
    if args.out.exists() and not args.out.is_dir():
        raise EvaluationError(f"--out {args.out} exists and is not a folder")


def warn_about_leaks(specs: list[BackendSpec], samples: list[Sample]) -> list[str]:
    """Warnings for U-Net checkpoints whose recorded validation plans differ from those evaluated."""
    from model_code.model.checkpoint import read_metadata

    warnings = []
    stems = {s.stem for s in samples}
    for spec in specs:
        if spec.backend != "unet" or spec.model_dir is None:
            continue
        held_out = set(read_metadata(spec.model_dir).training.get("validation_ids") or [])
        if held_out and not stems <= held_out:
            warnings.append(
                f"{spec.name}: {len(stems - held_out)} of the {len(stems)} evaluated plans were not in "
                "this model's validation hold-out (they may have been trained on)"
            )
    return warnings


def run_evaluate(args: argparse.Namespace) -> int:
    """Run ``floorplan evaluate``; returns 0 on success, 2 on bad input, 1 when no plan could be scored."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        check_arguments(args)
        specs = [dataclasses.replace(spec, text=args.text) for spec in parse_backends(args.backend)]
        samples, layout = select_samples(args.data, args.split, args.val_fraction, args.split_seed)
    except (EvaluationError, BackendSpecError) as exc:
        print(f"floorplan evaluate: error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        samples = samples[: args.limit]
    if not samples:
        print(f"floorplan evaluate: error: no plans in {args.data} (split {args.split})", file=sys.stderr)
        return 2
    warnings = warn_about_leaks(specs, samples)
    for warning in warnings:
        LOG.warning("warning: %s", warning)
    workers = min(args.workers, len(samples))
    threads = default_threads(workers)
    import torch

    torch.set_num_threads(threads)
    settings = RunSettings(backends=specs, out_dir=args.out, overlays=not args.no_overlays, threads=threads)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        records = list(iterate_records(samples, settings, workers))
    except BackendSpecError as exc:
        print(f"floorplan evaluate: error: {exc}", file=sys.stderr)
        return 2
    report_settings = {
        "data": str(args.data),
        "split": args.split,
        "layout": layout,
        "val_fraction": args.val_fraction,
        "split_seed": args.split_seed,
        "text": args.text,
        "plans": len(records),
        "backends": {
            s.name: {"backend": s.backend, "model_dir": s.model_dir, "views": s.views} for s in specs
        },
        "resamples": args.resamples,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - started, 1),
        "warnings": warnings,
    }
    names = [s.name for s in specs]
    summaries = write_report(
        args.out, records, names, report_settings, args.resamples, args.seed, args.gallery
    )
    for name in names:
        iou = summaries[name]["wall_iou_pooled"]
        LOG.info("%s: wall IoU (pooled) %s over %d plans", name, iou.cell(), iou.plans)
    LOG.info("report written to %s", args.out / "report.md")
    if not any(r.scores for r in records):
        report = args.out / "report.md"
        print(f"floorplan evaluate: error: no plan could be scored (see {report})", file=sys.stderr)
        return 1
    return 0
