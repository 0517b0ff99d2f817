"""Tune the classical baseline's few constants on R3D *training* plans, honestly.

Only plans of the training split are read (the validation and test plans never influence the
constants).  The search is a coordinate descent over small grids, starting from the current
``DEFAULT_PARAMS``: wall constants maximise the pooled wall pixel IoU, the opening constant
maximises the pooled opening pixel F1 (openings do not change the wall mask).

The hollow-wall constants only matter for outlined or hatched walls, which R3D hardly has: with
``--synthetic DIR`` (a synthetic *tuning* set, never the test set) they maximise the wall IoU
on those plans, accepting only values that leave the R3D training score unchanged or better.
The result is printed; the winning values are then frozen by hand in ``model_code/model/baseline.py``.

    floorplan synth --count 40 --out /tmp/synth-tune --seed 8000000 --size 512:1024
    .venv/bin/python benchmarks/tune_baseline.py --data /work/shared/datasets/r3d/train \
        --synthetic /tmp/synth-tune

Never commit R3D images: this script only reads them at run time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from model_code.datasets.layouts import PlanMasks, open_dataset
from model_code.evaluation import metrics
from model_code.evaluation.cli import split_samples
from model_code.model.baseline import DEFAULT_PARAMS, BaselineParams, baseline_masks

GRID: dict[str, Sequence[object]] = {
    "normalize_background": (True, False),
    "paper_floor": (0.1, 0.25, 0.5, 0.75),
    "threshold_scale": (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1),
    "open_factor": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    "min_length_factor": (1.0, 1.5, 2.0, 3.0, 4.0, 6.0),
    "min_area_factor": (1.0, 2.0, 4.0, 8.0, 16.0),
    "line_support": (True, False),
    "thin_factor": (0.15, 0.25, 0.3, 0.4, 0.5, 0.6),
    "line_factor": (1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0),
    "thin_cap": (0.004, 0.006, 0.008, 0.01, 0.015, 1.0),
}
HOLLOW_GRID: dict[str, Sequence[object]] = {
    "hollow_gain": (1.5, 2.0, 3.0, 1000.0),
    "hollow_fraction": (0.02, 0.03, 0.04, 0.05),
    "hollow_elongation": (2.0, 4.0, 8.0),
}
SYNTHETIC_MIN_GAIN = 1e-3  # smaller differences on 40 synthetic plans are noise
OPENING_GRID: dict[str, Sequence[object]] = {"gap_factor": (2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 14.0)}


def score(plans: Sequence[PlanMasks], params: BaselineParams) -> dict[str, float]:
    """Pooled wall IoU/F1 and pooled opening F1 of the baseline with ``params`` over ``plans``."""
    walls = metrics.PixelCounts()
    openings = metrics.PixelCounts()
    for plan in plans:
        wall, opening = baseline_masks(plan.image, params)
        walls += metrics.pixel_counts(wall, plan.wall)
        openings += metrics.pixel_counts(opening, plan.opening)
    return {"wall_iou": walls.iou, "wall_f1": walls.f1, "opening_f1": openings.f1}


Scorer = Callable[[BaselineParams], dict[str, float]]


def descend(
    scorer: Scorer,
    start: BaselineParams,
    grid: dict[str, Sequence[object]],
    objective: str,
    rounds: int,
    log: Callable[[str], None],
    allowed: Callable[[dict[str, float]], bool] = lambda result: True,
    min_gain: float = 1e-5,
) -> tuple[BaselineParams, dict[str, float]]:
    """Coordinate descent: vary one constant at a time over its grid, keep the best, repeat.

    A candidate replaces the best only when it improves ``objective`` by more than ``min_gain``
    and ``allowed(result)``.
    """
    best = start
    best_score = scorer(best)
    log(f"start {objective}={best_score[objective]:.4f} {dataclasses.asdict(best)}")
    for round_index in range(rounds):
        changed = False
        for name, values in grid.items():
            for value in values:
                if getattr(best, name) == value:
                    continue
                candidate = dataclasses.replace(best, **{name: value})
                result = scorer(candidate)
                ok = allowed(result)
                log(
                    f"round {round_index + 1} {name}={value!s:<6} {objective}={result[objective]:.4f}"
                    + ("" if ok else " (rejected: worse on R3D)")
                )
                if ok and result[objective] > best_score[objective] + min_gain:
                    best, best_score, changed = candidate, result, True
            log(f"  -> {name}={getattr(best, name)} ({objective}={best_score[objective]:.4f})")
        if not changed:
            break
    return best, best_score


def tune_hollow(
    r3d: Sequence[PlanMasks], synthetic: Sequence[PlanMasks], start: BaselineParams, rounds: int
) -> tuple[BaselineParams, dict[str, float]]:
    """Hollow-wall constants: best synthetic wall IoU among values that do not lower R3D's.

    The synthetic tuning set is small (40 plans), so only gains above 0.001 count.
    """
    floor = score(r3d, start)["wall_iou"] - 1e-5

    def scorer(params: BaselineParams) -> dict[str, float]:
        return {"synthetic_wall_iou": score(synthetic, params)["wall_iou"], **score(r3d, params)}

    return descend(
        scorer,
        start,
        HOLLOW_GRID,
        "synthetic_wall_iou",
        rounds,
        print,
        allowed=lambda r: r["wall_iou"] >= floor,
        min_gain=SYNTHETIC_MIN_GAIN,
    )


def load_plans(data: Path, split: str, limit: int | None) -> list[PlanMasks]:
    """Read the plans of one split (images and masks) into memory."""
    samples = split_samples(open_dataset(data), split)
    if limit:
        samples = samples[:limit]
    return [sample.load() for sample in tqdm(samples, desc=f"reading {split} plans", unit="plan")]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the search and print the tuned constants."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="flat R3D folder (<id>.jpg + <id>_wall.png)")
    parser.add_argument("--split", default="train", help="split to tune on (never the validation split)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N plans (quick runs)")
    parser.add_argument("--rounds", type=int, default=2, help="coordinate-descent rounds (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.add_argument(
        "--synthetic", type=Path, default=None, help="synthetic tuning set for the hollow-wall constants"
    )
    args = parser.parse_args(argv)
    if args.split != "train":
        parser.error("tuning on anything but the training split would leak the evaluation data")
    started = time.perf_counter()
    plans = load_plans(args.data, args.split, args.limit)
    params, _ = descend(lambda p: score(plans, p), DEFAULT_PARAMS, GRID, "wall_iou", args.rounds, print)
    if args.synthetic is not None:
        synthetic = [
            s.load() for s in tqdm(open_dataset(args.synthetic), desc="reading synthetic", unit="plan")
        ]
        params, hollow = tune_hollow(plans, synthetic, params, args.rounds)
        print(f"synthetic tuning set: wall IoU {hollow['synthetic_wall_iou']:.4f}")
    params, final = descend(lambda p: score(plans, p), params, OPENING_GRID, "opening_f1", 1, print)
    print(f"\n{len(plans)} training plans, {time.perf_counter() - started:.0f} s")
    print(f"tuned: {params}")
    print(json.dumps({k: round(v, 4) for k, v in final.items()}))
    if args.json:
        args.json.write_text(
            json.dumps({"plans": len(plans), "params": dataclasses.asdict(params), "score": final}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
