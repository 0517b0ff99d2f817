"""Wall and opening pixel shares of synthetic plans per style, beside a real R3D folder.

Usage::

    .venv/bin/python benchmarks/synth_proportions.py --r3d /work/shared/datasets/r3d/train

Prints a Markdown table: the mean fraction of image pixels that are wall and opening.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from model_code.io.images import read_mask
from model_code.synth import STYLES, generate_plan


def r3d_shares(folder: Path) -> tuple[float, float, int]:
    """Mean wall and opening pixel shares of the R3D plans in ``folder`` and their count."""
    walls, openings = [], []
    for image in sorted(folder.glob("*.jpg")):
        wall = read_mask(image.with_name(f"{image.stem}_wall.png"))
        height, width = wall.shape
        walls.append(wall.mean())
        openings.append(read_mask(image.with_name(f"{image.stem}_close.png"), (width, height)).mean())
    return float(np.mean(walls)), float(np.mean(openings)), len(walls)


def synth_shares(style: str, count: int, size: int) -> tuple[float, float]:
    """Mean wall and opening pixel shares of ``count`` plans of ``style`` (seeds 0..count-1)."""
    plans = [generate_plan(seed, size=size, styles=[style]) for seed in range(count)]
    return float(np.mean([p.wall_mask.mean() for p in plans])), float(
        np.mean([p.opening_mask.mean() for p in plans])
    )


def main() -> int:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--r3d", type=Path, required=True, help="R3D folder (<id>.jpg, <id>_wall.png, <id>_close.png)"
    )
    parser.add_argument("--count", type=int, default=30, help="synthetic plans per style (default 30)")
    parser.add_argument("--size", type=int, default=512, help="synthetic plan size (default 512)")
    args = parser.parse_args()
    if not args.r3d.is_dir() or not any(args.r3d.glob("*_wall.png")):
        print(f"error: {args.r3d} holds no R3D plans (<id>_wall.png)", file=sys.stderr)
        return 2
    wall, opening, n = r3d_shares(args.r3d)
    print("| source | wall | opening |\n| --- | --- | --- |")
    print(f"| R3D ({n} plans) | {wall:.3f} | {opening:.3f} |")
    for style in STYLES:
        wall, opening = synth_shares(style, args.count, args.size)
        print(f"| synth `{style}` | {wall:.3f} | {opening:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
