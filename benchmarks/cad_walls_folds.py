"""Folds of the `cad_walls` sheets for a fine-tuning experiment: does labelling sheets of a style help on
other sheets of that style?

The question behind issue 17's and 19's `cad_walls` targets: is the gap a domain gap that a customer's
labelled sheets would close (the product's promise: fine-tune on your own plans), or does each sheet's
truth follow its own conventions (which walls it marks, how loosely), so that what is learnt from some
sheets does not carry to the others?  This script writes, for each of ``--folds`` folds (fold ``k``
holds out every ``folds``-th sheet from the ``k``-th, in name order):

- ``OUT/fold<k>/train/`` and ``OUT/fold<k>/validation/``: the sheets kept and held out, cut to their
  drawing area as the pipeline sees it (:func:`~model_code.model.baseline.sheet_area`; an unframed
  sheet to its walls' box grown by 40 px), in the channel layout (``images/`` + ``masks/``, walls 255);
- ``OUT/fold<k>/held_out/`` and ``OUT/fold<k>/seen/``: links to the whole sheets and their palette
  masks, for ``benchmarks/cad_walls.py``;

and prints the commands that train each fold from the bundled model and score it (docs/scale.md,
"Labelled sheets of the style, two folds").  The sheets stay where they are (licences: not for
committing); the folder written holds crops of them.

    .venv/bin/python benchmarks/cad_walls_folds.py --data ../shared/datasets/other_styles/cad_walls \\
        --out /tmp/cad_folds
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from cad_walls import palette_wall, read_palette  # benchmarks/ is on sys.path as a script

from model_code.io.images import read_image
from model_code.model.baseline import sheet_area

UNFRAMED_MARGIN = 40  # px round the walls' box of a sheet without a frame


def drawing_box(image: np.ndarray, wall: np.ndarray) -> tuple[int, int, int, int]:
    """The drawing area ``(x0, y0, x1, y1)`` the pipeline would see, or the walls' box grown by
    :data:`UNFRAMED_MARGIN` when the sheet has no frame (the whole image when it has no walls)."""
    box = sheet_area(image)
    if box is not None:
        return tuple(int(v) for v in box)
    if not wall.any():
        return 0, 0, image.shape[1], image.shape[0]
    ys, xs = np.nonzero(wall)
    height, width = wall.shape
    return (
        max(0, int(xs.min()) - UNFRAMED_MARGIN),
        max(0, int(ys.min()) - UNFRAMED_MARGIN),
        min(width, int(xs.max()) + UNFRAMED_MARGIN + 1),
        min(height, int(ys.max()) + UNFRAMED_MARGIN + 1),
    )


def folds(stems: list[str], count: int) -> list[list[str]]:
    """The held-out sheets of each fold: every ``count``-th stem from the ``k``-th."""
    return [stems[k::count] for k in range(count)]


def write_crops(source: Path, stems: list[str], out: Path) -> None:
    """``out/images/<stem>.png`` and ``out/masks/<stem>.png``: each sheet and its wall mask, cut to its
    drawing area."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for stem in stems:
        image = read_image(source / f"{stem}.jpg")
        wall = palette_wall(read_palette(source / f"{stem}_wall.png", image.shape[:2]))
        x0, y0, x1, y1 = drawing_box(image, wall)
        cv2.imwrite(str(out / "images" / f"{stem}.png"), np.ascontiguousarray(image[y0:y1, x0:x1, ::-1]))
        cv2.imwrite(str(out / "masks" / f"{stem}.png"), wall[y0:y1, x0:x1].astype(np.uint8) * 255)


def link_sheets(source: Path, stems: list[str], out: Path) -> None:
    """``out/<stem>.jpg`` and ``out/<stem>_wall.png`` linked to the whole sheets (a ``cad_walls`` folder)."""
    out.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        for name in (f"{stem}.jpg", f"{stem}_wall.png"):
            target = out / name
            if target.is_symlink() or target.exists():
                target.unlink()
            os.symlink((source / name).resolve(), target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the cad_walls folder")
    parser.add_argument("--out", type=Path, required=True, help="where the folds are written (created)")
    parser.add_argument("--folds", type=int, default=2, help="number of folds, 2 or more (default 2)")
    args = parser.parse_args(argv)
    stems = sorted(p.stem for p in args.data.glob("*.jpg") if (args.data / f"{p.stem}_wall.png").is_file())
    if args.folds < 2 or len(stems) < args.folds:
        print(
            f"cad_walls_folds: {len(stems)} sheets in {args.data} cannot make {args.folds} folds",
            file=sys.stderr,
        )
        return 2
    for k, held_out in enumerate(folds(stems, args.folds)):
        kept = [s for s in stems if s not in held_out]
        fold = args.out / f"fold{k}"
        write_crops(args.data, kept, fold / "train")
        write_crops(args.data, held_out, fold / "validation")
        link_sheets(args.data, held_out, fold / "held_out")
        link_sheets(args.data, kept, fold / "seen")
        print(f"# fold {k}: trains on {', '.join(kept)}; holds out {', '.join(held_out)}")
        print(
            f"floorplan train --data {fold}/train --validation {fold}/validation --init-checkpoint default "
            "--room-types no --crop-size 256 --batch-size 8 --learning-rate 1e-4 --repeat 16 --epochs 1000 "
            "--scheduler cosine-budget --time-budget-minutes 12 --early-stopping-patience 0 --num-workers 0 "
            f"--threads 1 --keep-epoch-models --out {fold}/model --checkpoint-dir {fold}/checkpoints"
        )
        for part in ("held_out", "seen"):
            print(
                f"python benchmarks/cad_walls.py --data {fold}/{part} --backend unet:default "
                f"--backend unet:{fold}/checkpoints/epochs/<last> --out {fold}/report_{part} --no-pictures"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
