"""A plan on a larger sheet of blank paper: walls and rooms against the same plan alone.

Scans of A3-A1 sheets, PDF pages and brochure pages often hold a plan that fills only part of the
image.  Each generated plan (``generate_plan(seed, size=SIZE)``) is pasted, at its own pixel size,
at a random place on paper ``factor`` times its sides (the paper the plan's own margin shows), and
its truth with it; the pipeline's result is scored against that truth with the evaluation's own
scoring (:func:`model_code.evaluation.scoring.score_plan`): pooled wall IoU, room F1 at IoU 0.5,
and the working scale and method the U-Net chose.  Factor 1 is the plan alone.

Usage::

    .venv/bin/python benchmarks/plan_on_paper.py --count 20 --factor 1 --factor 2 --factor 3
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_code.evaluation.backends import open_backend
from model_code.evaluation.scoring import score_plan
from model_code.evaluation.truth import GroundTruth
from model_code.model.paper import paper_colour
from model_code.synth import generate_plan


def on_paper(
    plan_image: np.ndarray, layers: list[np.ndarray], factor: float, seed: int
) -> tuple[np.ndarray, ...]:
    """The image and each truth layer pasted at a random place on paper ``factor`` times their sides
    (the paper's colour: the plan's own outer ring, :func:`paper_colour`)."""
    height, width = plan_image.shape[:2]
    big_h, big_w = round(height * factor), round(width * factor)
    rng = np.random.default_rng([seed, 7])
    y, x = int(rng.integers(0, big_h - height + 1)), int(rng.integers(0, big_w - width + 1))
    sheet = np.empty((big_h, big_w, 3), np.uint8)
    sheet[:] = np.asarray(paper_colour(plan_image)).round().astype(np.uint8)
    sheet[y : y + height, x : x + width] = plan_image
    out = [sheet]
    for layer in layers:
        big = np.zeros((big_h, big_w), layer.dtype)
        big[y : y + height, x : x + width] = layer
        out.append(big)
    return tuple(out)


def run(backend: str, count: int, size: int, factors: list[float], first_seed: int) -> dict:
    """Pooled wall IoU, mean room F1 and the working scales per factor over ``count`` plans."""
    name, pipeline, options = open_backend(backend)
    report: dict = {
        "backend": backend,
        "count": count,
        "size": size,
        "seeds": [first_seed, first_seed + count],
    }
    for factor in factors:
        tp = fp = fn = 0.0
        room_f1, scales, methods, seconds = [], [], {}, []
        for seed in tqdm(range(first_seed, first_seed + count), desc=f"factor {factor}", unit="plan"):
            plan = generate_plan(seed, size=size)
            image, wall, opening, labels = on_paper(
                plan.image, [plan.wall_mask, plan.opening_mask, plan.room_labels], factor, seed
            )
            truth = GroundTruth(f"{seed}", image, wall.astype(bool), opening.astype(bool), None, labels)
            start = time.perf_counter()
            result = pipeline.analyze(image, options)
            seconds.append(time.perf_counter() - start)
            score = score_plan(truth, result)
            tp += score.counts["wall_tp"]
            fp += score.counts["wall_fp"]
            fn += score.counts["wall_fn"]
            room_f1.append(score.values["room_f1_50"])
            inference = result.document.inference or {}
            scales.append(float(inference.get("working_scale", 1.0)))
            method = str(inference.get("method", "-"))
            methods[method] = methods.get(method, 0) + 1
        report[str(factor)] = {
            "wall_iou_pooled": round(tp / max(1.0, tp + fp + fn), 4),
            "room_f1_mean": round(float(np.mean(room_f1)), 4),
            "working_scale_median": round(float(np.median(scales)), 4),
            "methods": methods,
            "seconds_per_plan": round(float(np.mean(seconds)), 3),
        }
        print(name, factor, json.dumps(report[str(factor)]), flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend", default="unet:default", help="unet:<checkpoint>|opencv (default unet:default)"
    )
    parser.add_argument("--count", type=int, default=20, help="generated plans per factor (default 20)")
    parser.add_argument("--size", type=int, default=1024, help="the plans' longest side in px (default 1024)")
    parser.add_argument("--factor", type=float, action="append", help="paper side / plan side (repeat)")
    parser.add_argument("--first-seed", type=int, default=3000, help="seeds first-seed.. (default 3000)")
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    args = parser.parse_args()
    report = run(args.backend, args.count, args.size, args.factor or [1.0, 2.0, 3.0], args.first_seed)
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
