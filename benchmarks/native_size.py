"""Walls and rooms of a checkpoint seen at a chosen working size and native band, on one dataset.

Runs the serving pipeline on every plan with the checkpoint's ``working_size`` and ``native_up_to``
replaced by ``--working-size`` and ``--native-up-to`` (plans larger than the working size by at most
that factor keep their own size, ``model.scale.base_shape``), and prints pooled, mean and worst-plan
wall IoU and the room scores of ``floorplan evaluate`` (F1 at IoU 0.5 and 0.7, closet and balcony
recall).  The experiment of docs/scale.md "Small plans at their own size":

    python benchmarks/native_size.py --data ../shared/datasets/r3d/train --split validation \\
        --model runs/native608 --working-size 512 --native-up-to 1.1875

Use it on your own validation split or generated plans only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from rooms_tuning import add_sample_arguments, record, score, selected_samples

from model_code.evaluation.metrics import PixelCounts, pixel_counts
from model_code.pipeline import Pipeline


def measure(pipeline: Pipeline, samples: list) -> dict[str, float]:
    """Wall IoU (pooled, mean, worst plan) and room scores of ``pipeline`` over ``samples``."""
    counts: list[PixelCounts] = []  # each plan's wall mask against the truth

    def walls(truth, result) -> None:
        counts.append(pixel_counts(result.wall_mask, truth.wall))

    recorded = record(pipeline, samples, each=walls)
    ious = [plan.iou for plan in counts]
    walls_row = {
        "wall_iou_pooled": float(sum(counts, PixelCounts()).iou),
        "wall_iou_mean": float(np.mean(ious)),
        "wall_iou_worst": float(np.min(ious)),
    }
    return {**walls_row, **score(recorded)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sample_arguments(parser)
    parser.add_argument("--working-size", type=int, default=None, help="replaces the checkpoint's")
    parser.add_argument("--native-up-to", type=float, default=None, help="replaces the checkpoint's")
    parser.add_argument("--out", type=Path, default=None, help="write the scores as JSON here")
    args = parser.parse_args()
    samples = selected_samples(args)
    pipeline = Pipeline.load(args.model)
    meta = pipeline.model.metadata
    if args.working_size is not None and args.working_size != meta.working_size:
        if meta.wall_thickness_px:  # the training thickness is measured at the working size
            meta.wall_thickness_px *= args.working_size / meta.working_size
        meta.working_size = args.working_size
    if args.native_up_to is not None:
        meta.native_up_to = args.native_up_to
    meta.check()
    row = {
        "model": args.model or "default",
        "working_size": meta.working_size,
        "native_up_to": meta.native_up_to,
        "plans": len(samples),
        **measure(pipeline, samples),
    }
    print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
