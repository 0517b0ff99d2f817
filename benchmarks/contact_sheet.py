"""Contact sheet: synthetic plans across all styles beside real R3D plans, for eyeballing realism.

Usage::

    .venv/bin/python benchmarks/contact_sheet.py --r3d /work/shared/datasets/r3d/train \\
        --out docs/images/synth_contact_sheet.png

The real plans are only read at run time (their licence keeps them out of the repository);
they appear in the written picture, nowhere else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from model_code.io.images import read_image
from model_code.synth import STYLES, generate_plan

TILE = 256
CAPTION = 18


def fit_tile(image: np.ndarray, caption: str, tile: int = TILE) -> np.ndarray:
    """The image scaled to fit a ``tile`` square on white, with a caption strip underneath."""
    height, width = image.shape[:2]
    scale = tile / max(height, width)
    small = cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    out = np.full((tile + CAPTION, tile, 3), 255, np.uint8)
    y0, x0 = (tile - small.shape[0]) // 2, (tile - small.shape[1]) // 2
    out[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    cv2.putText(out, caption, (4, tile + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (200, 30, 30), 1, cv2.LINE_AA)
    cv2.rectangle(out, (0, 0), (tile - 1, tile + CAPTION - 1), (210, 210, 210), 1)
    return out


def synthetic_tiles(count: int, first_seed: int, size: int) -> list[np.ndarray]:
    """``count`` generated plans, cycling through every style in turn."""
    tiles = []
    for k in range(count):
        style = STYLES[k % len(STYLES)]
        plan = generate_plan(first_seed + k, size=size, styles=[style])
        tiles.append(fit_tile(plan.image, f"synth {style} #{first_seed + k}"))
    return tiles


def real_tiles(folder: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` R3D drawings of ``folder`` (sorted by name)."""
    paths = sorted(folder.glob("*.jpg"))[:count]
    if len(paths) < count:
        raise FileNotFoundError(f"{folder} holds {len(paths)} R3D .jpg plans, {count} needed")
    return [fit_tile(read_image(p), f"real R3D {p.stem}") for p in paths]


def grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    """Tiles laid out row by row, ``columns`` wide, padded with white."""
    rows = -(-len(tiles) // columns)
    blank = np.full_like(tiles[0], 255)
    padded = tiles + [blank] * (rows * columns - len(tiles))
    return np.vstack([np.hstack(padded[r * columns : (r + 1) * columns]) for r in range(rows)])


def main() -> int:
    """Write the contact sheet PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--r3d", type=Path, required=True, help="folder of real R3D plans (<id>.jpg)")
    parser.add_argument("--out", type=Path, default=Path("docs/images/synth_contact_sheet.png"))
    parser.add_argument("--synthetic", type=int, default=24, help="number of generated plans (default 24)")
    parser.add_argument("--real", type=int, default=6, help="number of real plans (default 6)")
    parser.add_argument("--seed", type=int, default=100, help="seed of the first generated plan")
    parser.add_argument("--size", type=int, default=768, help="generated plan size before thumbnailing")
    parser.add_argument(
        "--colours", type=int, default=96, help="palette size of the written PNG (keeps it small)"
    )
    args = parser.parse_args()
    if not args.r3d.is_dir():
        print(f"error: --r3d {args.r3d} is not a folder", file=sys.stderr)
        return 2
    try:
        real = real_tiles(args.r3d, args.real)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sheet = grid(synthetic_tiles(args.synthetic, args.seed, args.size) + real, columns=6)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).quantize(colors=args.colours, dither=Image.Dither.NONE).save(
        args.out, optimize=True
    )
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
