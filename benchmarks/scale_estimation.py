"""How well the coarse pass estimates wall thickness, and the training plans' thickness (a script).

``--r3d`` prints the typical wall thickness of the R3D training plans at the 512 px working
size (the median over plans of :func:`model_code.model.scale.mask_wall_thickness` of the truth
wall mask taken to the working size with area interpolation), the constant
``DEFAULT_TRAINING_WALL_THICKNESS_PX``, and the same measure on the bundled model's coarse-pass
masks (the estimator's own bias).  Without it, each source compares the estimated thickness (the
coarse pass: the network at the fit-to-working-size scale, its wall mask measured, divided by
the scale) with the truth (generated plans: the length-weighted median of the annotation's wall
thicknesses; folders: the truth wall mask measured at input size).  Example::

    .venv/bin/python benchmarks/scale_estimation.py --synth 6 --r3d 60 --cad 22
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from model_code.io.images import read_image, read_mask
from model_code.model.inference import predict_probabilities
from model_code.model.scale import choose_working_scale, fit_shape, mask_wall_thickness
from model_code.pipeline import Pipeline
from model_code.synth import generate_plan

R3D = Path("/work/shared/datasets/r3d/train")
CAD = Path("/work/shared/datasets/other_styles/cad_walls")


def coarse(pipeline: Pipeline, image: np.ndarray) -> tuple[float | None, float]:
    """(coarse-pass thickness at the fit scale, fit scale)."""
    assert pipeline.model is not None
    probs = predict_probabilities(pipeline.model, image, at_working_size=True)
    fit = probs.shape[2] / image.shape[1]
    return mask_wall_thickness(probs[0] > 0.5), fit


def report(name: str, rows: list[tuple[str, float, float | None, float]]) -> None:
    errors = np.array([abs(np.log(e / t)) for _, t, e, _ in rows if e and t])
    missing = sum(1 for _, t, e, _ in rows if t and not e)
    for label, truth, est, ms in rows:
        print(f"  {label:34s} truth {truth:6.1f}  estimated {est or 0:6.1f}  ({ms:.0f} ms)")
    if len(errors):
        print(
            f"{name}: {len(rows)} plans, median |log(est/truth)| {np.median(errors):.3f}, "
            f"within 25 %: {np.mean(errors < np.log(1.25)):.2f}, "
            f"within 50 %: {np.mean(errors < np.log(1.5)):.2f}, "
            f"no estimate: {missing}"
        )


def folder_pairs(folder: Path, limit: int) -> list[tuple[Path, Path]]:
    pairs = []
    for wall in sorted(folder.glob("*_wall.png")):
        stem = wall.name[: -len("_wall.png")]
        if stem.endswith("_close"):
            continue
        image = next(
            (folder / f"{stem}{ext}" for ext in (".jpg", ".png") if (folder / f"{stem}{ext}").exists()), None
        )
        if image is not None:
            pairs.append((image, wall))
    return pairs[:limit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth", type=int, default=0, help="generated plans (seeds 0..N-1) at 512..4096 px")
    parser.add_argument("--r3d", type=int, default=0, help="R3D training plans (0: none)")
    parser.add_argument("--cad", type=int, default=0, help="CAD sheets (0: none)")
    args = parser.parse_args()
    pipeline = Pipeline.load()
    if args.synth:
        rows = []
        for seed in range(args.synth):
            for size in (512, 1024, 2048, 4096):
                plan = generate_plan(seed, size)
                thick = np.array([w.thickness for w in plan.annotation.walls])
                length = np.array(
                    [np.hypot(w.end[0] - w.start[0], w.end[1] - w.start[1]) for w in plan.annotation.walls]
                )
                order = np.argsort(thick)
                cum = np.cumsum(length[order])
                truth = float(thick[order][np.searchsorted(cum, cum[-1] / 2)])
                start = time.perf_counter()
                est, fit = coarse(pipeline, plan.image)
                ms = (time.perf_counter() - start) * 1000
                h, w = plan.image.shape[:2]
                choice = choose_working_scale(h, w, 512, est)
                label = f"seed {seed} {size} {plan.style} -> {max(choice.shape)} {choice.method}"
                rows.append((label, truth, None if est is None else est / fit, ms))
        report("generated", rows)
    if args.r3d:
        truths, predicted, rows = [], [], []
        for image_path, wall_path in folder_pairs(R3D, args.r3d):
            image = read_image(image_path)
            h, w = image.shape[:2]
            wall = read_mask(wall_path, (w, h))
            fh, fw = fit_shape(h, w, 512)
            small = cv2.resize(wall.astype(np.float32), (fw, fh), interpolation=cv2.INTER_AREA) > 0.5
            t512 = mask_wall_thickness(small)
            start = time.perf_counter()
            est, fit = coarse(pipeline, image)
            ms = (time.perf_counter() - start) * 1000
            if t512:
                truths.append(t512)
            if est:
                predicted.append(est)
            rows.append(
                (
                    f"{image_path.stem} {max(h, w)} px",
                    mask_wall_thickness(wall) or 0.0,
                    None if est is None else est / fit,
                    ms,
                )
            )
        report("R3D", rows)
        print(
            f"R3D truth wall thickness at the 512 px working size: median {np.median(truths):.2f} px "
            f"(quartiles {np.percentile(truths, 25):.2f}..{np.percentile(truths, 75):.2f}, "
            f"{len(truths)} plans); "
            f"bundled model's coarse-pass masks: median {np.median(predicted):.2f} px"
        )
    if args.cad:
        rows = []
        for image_path, wall_path in folder_pairs(CAD, args.cad):
            image = read_image(image_path)
            h, w = image.shape[:2]
            # palette masks (partitions (128, 0, 0), structural walls (0, 128, 0)): any bright channel
            colour = cv2.imread(str(wall_path), cv2.IMREAD_COLOR)
            wall = cv2.resize(colour.max(axis=2), (w, h), interpolation=cv2.INTER_NEAREST) > 64
            start = time.perf_counter()
            est, fit = coarse(pipeline, image)
            ms = (time.perf_counter() - start) * 1000
            choice = choose_working_scale(h, w, 512, est)
            label = f"{image_path.stem[:14]} {max(h, w)} -> {max(choice.shape)} {choice.method}"
            rows.append((label, mask_wall_thickness(wall) or 0.0, None if est is None else est / fit, ms))
        report("CAD", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
