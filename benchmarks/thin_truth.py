"""What the training truth keeps of thin walls once a plan is shrunk to the working size.

A generated plan larger than the working size is shrunk to it for training
(``datasets.augment.ToBaseSize``).  Nearest-neighbour alone keeps a wall only where a sample lands on
it: a 1 px partition of a 2,000 px plan vanishes or breaks into dashes, with the door in it, and the
rooms on either side are no longer closed in the truth the network learns from.
``datasets.augment.keep_thin_lines`` keeps every wall and opening an unbroken line.  For each
generated plan that is shrunk, this script counts, per style:

- the share of the wall truth's skeleton (at input size) farther than one working pixel from the
  nearest-neighbour shrink's walls (what nearest-neighbour loses);
- the true rooms that the working-size truth still encloses on their own (4-connected regions of
  neither wall nor opening; a room is enclosed when the region holding most of it holds no other
  room's majority): at input size, with nearest-neighbour, and with thin lines kept;
- the same after the scale augmentation shrinks that truth further (one seeded warp per plan, scale
  0.7-1.0, rotation within 5 degrees): with plain ``Affine`` and with ``ThinLineAffine``.

and writes ``--picture``: for the first plans of ``--picture-styles``, the plan at the working size,
its truth by nearest-neighbour and with thin lines kept (walls white, openings grey).

Usage::

    .venv/bin/python benchmarks/thin_truth.py --count 150 --picture docs/images/thin_truth.png
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

import cv2
import numpy as np
from skimage.morphology import skeletonize
from tqdm import tqdm

from model_code.datasets.augment import ThinLineAffine, keep_thin_lines
from model_code.model.scale import base_shape
from model_code.synth import generate_plan

TRAINING_STYLES = "cad_colour,cad,architectural,scan,brochure,hatched,thin"  # `default` 0.5.0's mix
SEED = 150_000_000
SEED_STEP = 7_919  # plans far apart in seed space


def enclosed_rooms(wall: np.ndarray, opening: np.ndarray, labels: np.ndarray) -> int:
    """True rooms (``labels`` > 0) that a wall/opening mask encloses on their own."""
    free = ~(wall.astype(bool) | opening.astype(bool))
    _, regions = cv2.connectedComponents(free.view(np.uint8), connectivity=4)
    owner = {}
    for room in np.unique(labels[labels > 0]):
        held = regions[(labels == room) & free]
        if held.size:
            owner[int(room)] = int(np.bincount(held).argmax())
    shared = collections.Counter(owner.values())
    return sum(1 for region in owner.values() if region and shared[region] == 1)


def skeleton_lost(wall: np.ndarray, shrunk: np.ndarray) -> float:
    """Share of ``wall``'s skeleton farther than one working pixel from the ``shrunk`` walls."""
    skeleton = skeletonize(wall > 0)
    near = cv2.dilate(shrunk, np.ones((3, 3), np.uint8))
    near = cv2.resize(near, wall.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    return float((skeleton & ~near).sum() / max(1, skeleton.sum()))


def shrinking_warp(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A seeded 3 x 3 warp about the centre that shrinks (0.7-1.0) and turns (within 5 degrees)."""
    rng = np.random.default_rng(seed)
    centre = ((shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, float(rng.uniform(-5, 5)), float(rng.uniform(0.7, 1.0)))
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def warped_enclosed(
    warp: ThinLineAffine, wall: np.ndarray, opening: np.ndarray, labels: np.ndarray, seed: int
) -> tuple[int, int]:
    """Rooms still enclosed after :func:`shrinking_warp`: masks warped nearest-neighbour, then by ``warp``."""
    matrix = shrinking_warp(wall.shape, seed)
    size = (wall.shape[1], wall.shape[0])
    nearest = {"flags": cv2.INTER_NEAREST, "borderMode": cv2.BORDER_CONSTANT, "borderValue": 0}
    labels = cv2.warpAffine(labels.astype(np.float32), matrix[:2], size, **nearest).astype(np.int32)
    masks = np.dstack([wall, opening, np.zeros_like(wall)])
    plain = cv2.warpAffine(masks, matrix[:2], size, **nearest)
    kept = warp.apply_to_mask(masks, matrix, wall.shape)
    return (
        enclosed_rooms(plain[..., 0], plain[..., 1], labels),
        enclosed_rooms(kept[..., 0], kept[..., 1], labels),
    )


def truth_panel(wall: np.ndarray, opening: np.ndarray) -> np.ndarray:
    """An RGB picture of a truth: walls white, openings grey, on black."""
    truth = np.zeros(wall.shape, np.uint8)
    truth[opening > 0] = 128
    truth[wall > 0] = 255
    return np.dstack([truth] * 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=150, help="generated plans (default 150)")
    parser.add_argument("--styles", default=TRAINING_STYLES, help=f"styles (default {TRAINING_STYLES})")
    parser.add_argument("--sheets", type=float, default=0.5, help="share on drawing sheets (default 0.5)")
    parser.add_argument("--working-size", type=int, default=512, help="the model's working size (512)")
    parser.add_argument("--picture", default=None, help="write the picture here (PNG)")
    parser.add_argument(
        "--picture-styles", default="architectural", help="styles shown (default architectural)"
    )
    parser.add_argument("--picture-plans", type=int, default=2, help="plans shown (default 2)")
    args = parser.parse_args(argv)
    styles = args.styles.split(",")
    shown_styles = set(args.picture_styles.split(","))
    totals: dict[str, dict[str, float]] = collections.defaultdict(lambda: collections.defaultdict(float))
    rows = []
    warp = ThinLineAffine(fill_mask=0, border_mode=cv2.BORDER_CONSTANT)
    for index in tqdm(range(args.count), desc="plans", unit="plan"):
        plan = generate_plan(SEED + SEED_STEP * index, None, styles=styles, sheet=args.sheets)
        wall = np.asarray(plan.wall_mask, np.uint8)
        opening = np.asarray(plan.opening_mask, np.uint8)
        height, width = wall.shape
        shape = base_shape(height, width, args.working_size)
        if shape == (height, width):
            continue  # not shrunk: the truth is the plan's own
        size = shape[::-1]
        wall_near = cv2.resize(wall, size, interpolation=cv2.INTER_NEAREST)
        opening_near = cv2.resize(opening, size, interpolation=cv2.INTER_NEAREST)
        wall_kept = keep_thin_lines(wall, wall_near)
        opening_kept = keep_thin_lines(opening, opening_near)
        labels = np.asarray(plan.room_labels, np.int32)
        labels_small = cv2.resize(labels.astype(np.float32), size, interpolation=cv2.INTER_NEAREST).astype(
            np.int32
        )
        counts = totals[plan.style]
        counts["plans"] += 1
        counts["rooms"] += len(np.unique(labels[labels > 0]))
        counts["enclosed_input"] += enclosed_rooms(wall, opening, labels)
        counts["enclosed_nearest"] += enclosed_rooms(wall_near, opening_near, labels_small)
        counts["enclosed_kept"] += enclosed_rooms(wall_kept, opening_kept, labels_small)
        plain, kept = warped_enclosed(warp, wall_kept, opening_kept, labels_small, index)
        counts["warped_plain"] += plain
        counts["warped_kept"] += kept
        lost = skeleton_lost(wall, wall_near)
        counts["skeleton_lost"] += lost
        counts["plans_losing_5pct"] += lost > 0.05
        if plan.style in shown_styles and len(rows) < args.picture_plans:
            small = cv2.resize(plan.image, size, interpolation=cv2.INTER_AREA)
            row = [small, truth_panel(wall_near, opening_near), truth_panel(wall_kept, opening_kept)]
            rows.append(np.hstack([np.pad(p, ((4, 4), (4, 4), (0, 0)), constant_values=200) for p in row]))
    report = {
        style: {
            "plans": int(c["plans"]),
            "skeleton_lost_mean": round(c["skeleton_lost"] / c["plans"], 4),
            "plans_losing_over_5pct": int(c["plans_losing_5pct"]),
            "true_rooms": int(c["rooms"]),
            "enclosed_at_input_size": int(c["enclosed_input"]),
            "enclosed_nearest": int(c["enclosed_nearest"]),
            "enclosed_thin_lines_kept": int(c["enclosed_kept"]),
            "then_warped_affine": int(c["warped_plain"]),
            "then_warped_thin_line_affine": int(c["warped_kept"]),
        }
        for style, c in sorted(totals.items())
    }
    print(json.dumps(report, indent=1))
    if args.picture and rows:
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
        cv2.imwrite(args.picture, np.vstack(rows)[..., ::-1])
        print(f"picture written to {args.picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
