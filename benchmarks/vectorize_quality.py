"""Quality of vectorize + rooms on ground-truth masks: synthetic plans and R3D.

Synthetic plans (``model_code.synth``) have exact vector ground truth: the vectorizer is fed
their true wall and opening masks and scored with segment precision/recall/F1 (one-to-one,
endpoints within 1 % of the longest side, angle within 5 degrees), length-weighted recall,
opening F1 and room F1 at IoU 0.5 / 0.7.  R3D plans have mask ground truth: the walls JSON
is re-rasterised (walls with their thickness, minus the openings) and compared with the true
wall mask (IoU), and rooms are matched against room instances from ``_rooms.png``.

Usage::

    .venv/bin/python benchmarks/vectorize_quality.py --synthetic 100 --size 512 \\
        --r3d /work/shared/datasets/r3d/train [--json out.json]

Prints a Markdown table (point estimates with seeded bootstrap 95 % intervals over plans).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from model_code.evaluation import metrics
from model_code.geometry import raster
from model_code.geometry.rooms import detect_rooms
from model_code.geometry.vectorize import VectorizeOptions, vectorize

MatchRow = tuple[float, float, float]  # matched, predicted, truth


@dataclass
class Tally:
    """Per-plan rows of counts for one metric, pooled at the end (with a bootstrap interval)."""

    rows: list[tuple[float, ...]] = field(default_factory=list)

    def add(self, *values: float) -> None:
        """Append one plan's counts."""
        self.rows.append(tuple(float(v) for v in values))

    def summary(self, statistic: Callable[[np.ndarray], float]) -> tuple[float, float, float]:
        """Pooled value and its 95 % interval (bootstrap over plans, seed 0)."""
        data = np.asarray(self.rows, np.float64)
        value = statistic(data)
        low, high = metrics.bootstrap_ci(data, statistic, n_resamples=1000, seed=0)
        return value, low, high


def f1_of(data: np.ndarray) -> float:
    """Pooled F1 from rows of (matched, predicted, truth)."""
    total = data[:, 1].sum() + data[:, 2].sum()
    return 1.0 if total == 0 else float(2 * data[:, 0].sum() / total)


def precision_of(data: np.ndarray) -> float:
    """Pooled precision from rows of (matched, predicted, truth)."""
    return 1.0 if data[:, 1].sum() == 0 else float(data[:, 0].sum() / data[:, 1].sum())


def recall_of(data: np.ndarray) -> float:
    """Pooled recall from rows of (matched, predicted, truth)."""
    return 1.0 if data[:, 2].sum() == 0 else float(data[:, 0].sum() / data[:, 2].sum())


def ratio_of(data: np.ndarray) -> float:
    """Pooled ratio of column sums: rows of (numerator, denominator)."""
    return 1.0 if data[:, 1].sum() == 0 else float(data[:, 0].sum() / data[:, 1].sum())


def mean_of(data: np.ndarray) -> float:
    """Mean of the first column."""
    return float(data[:, 0].mean())


def _match_row(scores: metrics.MatchScores) -> MatchRow:
    return (scores.matched, scores.predicted, scores.truth)


def run_synthetic(count: int, size: int, first_seed: int, options: VectorizeOptions) -> dict[str, Tally]:
    """Vectorize ``count`` synthetic plans' true masks and tally the vector and room metrics."""
    from model_code.synth.generator import generate_plan

    tallies = {k: Tally() for k in ("segment", "length", "opening", "room50", "room70", "wall_iou", "ms")}
    for seed in tqdm(range(first_seed, first_seed + count), desc="synthetic", unit="plan"):
        plan = generate_plan(seed, size or None)
        shape = plan.wall_mask.shape
        start = time.perf_counter()
        result = vectorize(plan.wall_mask, plan.opening_mask, options)
        rooms = detect_rooms(result, plan.wall_mask, options)
        tallies["ms"].add((time.perf_counter() - start) * 1000)
        segments = metrics.segment_scores(result.walls, plan.annotation.walls, shape)
        tallies["segment"].add(*_match_row(segments))
        tallies["length"].add(segments.matched_length, segments.truth_length)
        openings = metrics.opening_scores(result.openings, plan.annotation.openings, shape)
        tallies["opening"].add(*_match_row(openings))
        room = metrics.room_scores(raster.rasterize_rooms(rooms, shape), plan.room_labels)
        tallies["room50"].add(*_match_row(room[0.5]))
        tallies["room70"].add(*_match_row(room[0.7]))
        drawn = raster.rasterize_plan(result.walls, result.openings, shape)[0]
        counts = metrics.pixel_counts(drawn, plan.wall_mask)
        tallies["wall_iou"].add(counts.tp, counts.tp + counts.fp + counts.fn)
    return tallies


def run_r3d(folder: Path, limit: int | None, options: VectorizeOptions) -> dict[str, Tally]:
    """Vectorize every R3D plan's true masks; tally re-rasterised wall IoU and room matching."""
    from model_code.datasets.r3d import plan_ids, read_plan, room_instances

    ids = plan_ids(folder)[:limit]
    if not ids:
        raise SystemExit(f"no R3D plans (<id>.jpg + <id>_wall.png) in {folder}")
    tallies = {k: Tally() for k in ("wall_iou", "wall_iou_mean", "room50", "room70", "ms")}
    for plan_id in tqdm(ids, desc="r3d", unit="plan"):
        plan = read_plan(folder, plan_id)
        start = time.perf_counter()
        result = vectorize(plan.wall, plan.opening, options)
        rooms = detect_rooms(result, plan.wall, options)
        tallies["ms"].add((time.perf_counter() - start) * 1000)
        drawn = raster.rasterize_plan(result.walls, result.openings, plan.shape)[0]
        counts = metrics.pixel_counts(drawn, plan.wall)
        tallies["wall_iou"].add(counts.tp, counts.tp + counts.fp + counts.fn)
        tallies["wall_iou_mean"].add(counts.iou)
        if plan.rooms_rgb is not None:
            truth = room_instances(plan.rooms_rgb, plan.wall | plan.opening)
            room = metrics.room_scores(raster.rasterize_rooms(rooms, plan.shape), truth)
            tallies["room50"].add(*_match_row(room[0.5]))
            tallies["room70"].add(*_match_row(room[0.7]))
    return tallies


def _cell(value: tuple[float, float, float]) -> str:
    point, low, high = value
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def table(title: str, rows: list[tuple[str, tuple[float, float, float]]], plans: int) -> str:
    """A Markdown table of metric rows."""
    lines = [f"### {title} ({plans} plans)", "", "| metric | value [95 % CI] |", "| --- | --- |"]
    lines += [f"| {name} | {_cell(value)} |" for name, value in rows]
    return "\n".join(lines)


def synthetic_rows(t: dict[str, Tally]) -> list[tuple[str, tuple[float, float, float]]]:
    """Metric rows of the synthetic run."""
    return [
        ("segment precision", t["segment"].summary(precision_of)),
        ("segment recall", t["segment"].summary(recall_of)),
        ("segment F1", t["segment"].summary(f1_of)),
        ("length-weighted recall", t["length"].summary(ratio_of)),
        ("opening F1", t["opening"].summary(f1_of)),
        ("room F1 @ IoU 0.5", t["room50"].summary(f1_of)),
        ("room F1 @ IoU 0.7", t["room70"].summary(f1_of)),
        ("re-rasterised wall IoU (pooled)", t["wall_iou"].summary(ratio_of)),
        ("vectorize + rooms, ms per plan (mean)", t["ms"].summary(mean_of)),
    ]


def r3d_rows(t: dict[str, Tally]) -> list[tuple[str, tuple[float, float, float]]]:
    """Metric rows of the R3D run."""
    return [
        ("re-rasterised wall IoU (pooled)", t["wall_iou"].summary(ratio_of)),
        ("re-rasterised wall IoU (mean per plan)", t["wall_iou_mean"].summary(mean_of)),
        ("room F1 @ IoU 0.5", t["room50"].summary(f1_of)),
        ("room F1 @ IoU 0.7", t["room70"].summary(f1_of)),
        ("vectorize + rooms, ms per plan (mean)", t["ms"].summary(mean_of)),
    ]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the chosen datasets, print the tables; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", type=int, default=100, help="number of synthetic plans (0 = skip)")
    parser.add_argument(
        "--size",
        type=int,
        default=512,
        help="longest side of the synthetic plans (px); 0 = the generator's mix",
    )
    parser.add_argument("--seed", type=int, default=100000, help="first synthetic seed")
    parser.add_argument("--r3d", type=Path, default=None, help="R3D folder (<id>.jpg, <id>_wall.png, ...)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many R3D plans")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this JSON file")
    parser.add_argument("--overlay", type=Path, default=None, help="also save an overlay picture (PNG) here")
    parser.add_argument("--overlay-seed", type=int, default=100001, help="synthetic plan of the overlay")
    parser.add_argument("--overlay-size", type=int, default=768, help="longest side of the overlay plan")
    args = parser.parse_args(argv)
    if args.synthetic < 0 or (args.limit is not None and args.limit < 1) or args.size < 0:
        parser.error("--synthetic and --size must be >= 0 and --limit >= 1")
    if args.r3d is not None and not args.r3d.is_dir():
        parser.error(f"--r3d folder not found: {args.r3d}")
    options = VectorizeOptions()
    out: dict[str, dict[str, list[float]]] = {}
    if args.synthetic:
        rows = synthetic_rows(run_synthetic(args.synthetic, args.size, args.seed, options))
        sizes = f"longest side {args.size} px" if args.size else "the generator's size mix (256-2048 px)"
        print(table(f"Synthetic ground-truth masks, {sizes}", rows, args.synthetic))
        out["synthetic"] = {name: list(value) for name, value in rows}
    if args.r3d is not None:
        tallies = run_r3d(args.r3d, args.limit, options)
        rows = r3d_rows(tallies)
        print()
        print(table("R3D ground-truth masks", rows, len(tallies["ms"].rows)))
        out["r3d"] = {name: list(value) for name, value in rows}
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    if args.overlay is not None:
        save_overlay(args.overlay, args.overlay_seed, args.overlay_size, options)
    return 0


def save_overlay(path: Path, seed: int, size: int, options: VectorizeOptions) -> None:
    """Save the synthetic plan ``seed`` with the walls, openings and rooms found from its true masks."""
    from model_code.exports.overlay import draw_overlay
    from model_code.io.images import write_png
    from model_code.synth.generator import generate_plan

    plan = generate_plan(seed, size)
    result = vectorize(plan.wall_mask, plan.opening_mask, options)
    rooms = detect_rooms(result, plan.wall_mask, options)
    write_png(path, draw_overlay(plan.image, result.walls, result.openings, rooms))


if __name__ == "__main__":
    sys.exit(main())
