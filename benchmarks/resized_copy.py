"""A copy of a dataset folder at another size: how much do the results owe to the plans' own size?

Every drawing is resized by ``--factor`` (bicubic up, area down: a larger or smaller scan of the same
sheet); every mask (R3D's ``_wall``, ``_close``, ... pictures and the ``masks/`` and ``rooms/``
folders) by nearest neighbour, so ``floorplan evaluate`` scores the copy against the same truth at the
new size (a flat folder keeps its validation split).  JSON annotations would not move, so a folder
with them is refused.  Example (twenty-seventh session, the guided filter's window)::

    .venv/bin/python benchmarks/resized_copy.py --data ../shared/datasets/r3d/train --out /tmp/r3d_x3 \\
        --factor 3
    floorplan evaluate --data /tmp/r3d_x3 --split validation --backend unet:default --out reports/r3d_x3

An enlarged truth is blocky (nearest), and a sub-pixel error of the original becomes whole pixels,
so part of any loss at a larger size is the metric's (docs/scale.md, "A window that grows with the
upsampling").
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import cv2
from paper_tone import DRAWING_SUFFIXES, copy_folders_problem, is_drawing
from tqdm import tqdm


def resize_folder(source: Path, target: Path, factor: float) -> int:
    """Copy ``source`` into ``target`` with every picture resized by ``factor``; returns the drawings."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    if any(p.suffix.lower() == ".json" for p in files):
        raise ValueError("a folder with JSON annotations: their coordinates would not move with the pictures")
    drawings = 0
    for path in tqdm(files, desc="resize", unit="file"):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() not in DRAWING_SUFFIXES:
            shutil.copyfile(path, out)
            continue
        picture = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if picture is None:
            raise OSError(f"cannot read {path}")
        height, width = picture.shape[:2]
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        drawing = is_drawing(path, source)
        mode = (cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA) if drawing else cv2.INTER_NEAREST
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if out.suffix.lower() in (".jpg", ".jpeg") else []
        if not cv2.imwrite(str(out), cv2.resize(picture, size, interpolation=mode), params):
            raise OSError(f"cannot write {out}")
        drawings += int(drawing)
    return drawings


def main(argv: list[str] | None = None) -> int:
    """Write the resized copy; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="dataset folder (mask layouts: R3D, masks/)")
    parser.add_argument("--out", type=Path, required=True, help="where the copy goes (created)")
    parser.add_argument("--factor", type=float, required=True, help="size factor, e.g. 3 or 0.5")
    args = parser.parse_args(argv)
    problem = copy_folders_problem(args.data, args.out)
    if problem:
        print(f"resized_copy: {problem}", file=sys.stderr)
        return 2
    if not 0.05 <= args.factor <= 16:
        print("resized_copy: --factor must be within 0.05..16", file=sys.stderr)
        return 2
    try:
        count = resize_folder(args.data, args.out, args.factor)
    except ValueError as exc:
        print(f"resized_copy: {exc}", file=sys.stderr)
        return 2
    print(f"{count} drawings resized by {args.factor:g} in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
