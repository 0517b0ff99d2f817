"""How much wall IoU survives a working resolution (a script, not a test).

For each plan, the true wall mask is taken to the working size the way inference takes the
image (longest side = working size, area interpolation), brought back to the input size the
way inference brings probabilities back (bilinear), thresholded at 0.5 and compared with the
original mask.  This is the ceiling any model run at that working size can reach.  Example::

    .venv/bin/python benchmarks/working_size.py --data /work/shared/datasets/r3d/train \
        --sizes 384 512 640 768 1024
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
from tqdm import tqdm

from model_code.datasets.layouts import open_dataset
from model_code.evaluation import metrics
from model_code.model.inference import working_shape


def round_trip(mask: np.ndarray, working_size: int) -> np.ndarray:
    """The mask after the inference resize to ``working_size`` and back."""
    height, width = mask.shape
    wh, ww = working_shape(height, width, working_size)
    small = cv2.resize(mask.astype(np.float32), (ww, wh), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR) > 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="dataset folder (any layout)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[384, 512, 640, 768, 1024])
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    samples = open_dataset(args.data)[: args.limit]
    counts = {size: [] for size in args.sizes}
    for sample in tqdm(samples, desc="plans"):
        wall = sample.load().wall
        for size in args.sizes:
            counts[size].append(metrics.pixel_counts(round_trip(wall, size), wall))
    print(f"{len(samples)} plans from {args.data}")
    print("| working size | pooled wall IoU ceiling | mean | worst plan |")
    print("| --- | --- | --- | --- |")
    for size, per_plan in counts.items():
        tp = sum(c.tp for c in per_plan)
        fp = sum(c.fp for c in per_plan)
        fn = sum(c.fn for c in per_plan)
        ious = [c.iou for c in per_plan]
        print(f"| {size} | {tp / (tp + fp + fn):.4f} | {np.mean(ious):.4f} | {min(ious):.4f} |")


if __name__ == "__main__":
    main()
