"""Contact sheet: synthetic plans of every style, optionally beside real plans, for eyeballing realism.

Generated plans only (the picture committed in ``docs/images``)::

    .venv/bin/python benchmarks/contact_sheet.py --per-style 4 --out docs/images/synth_styles_sheet.png

Side by side with real plans (local only, written outside the repository)::

    .venv/bin/python benchmarks/contact_sheet.py --per-style 4 \\
        --other /work/shared/datasets/other_styles/unannotated \\
        --other /work/shared/datasets/other_styles/cad_walls \\
        --other /work/shared/datasets/examples --other-count 6 \\
        --r3d /work/shared/datasets/r3d/train --real 6 --out /tmp/synth_vs_real.png

Plans redrawn in every style (``model_code.synth.redraw``), one row per source plan, the source first:
generated sources for the committed picture, real ones (any dataset layout) only outside the repository::

    .venv/bin/python benchmarks/contact_sheet.py --redraw 3 --size 640 \\
        --styles solid,cad,hatched,architectural,brochure,cad_colour --out docs/images/redrawn_plans.png
    .venv/bin/python benchmarks/contact_sheet.py --redraw 4 --redraw-from /work/shared/datasets/r3d/train \\
        --styles cad,architectural,cad_colour,brochure --out /tmp/redrawn_r3d.png

The real plans are only read at run time: their licences keep them, thumbnails included, out of the
repository, so a sheet holding any real plan (or one redrawn from real masks) is refused when
``--out`` lies inside the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from model_code.datasets.layouts import DatasetError, open_dataset
from model_code.datasets.room_maps import label_type_map
from model_code.io.images import read_image
from model_code.synth import ALL_STYLES, generate_plan
from model_code.synth.redraw import redraw_plan

REPOSITORY = Path(__file__).resolve().parents[1]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

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


def synthetic_tiles(
    count: int, first_seed: int, size: int, styles: tuple[str, ...] = ALL_STYLES
) -> list[np.ndarray]:
    """``count`` generated plans, cycling through ``styles`` in turn."""
    tiles = []
    for k in range(count):
        style = styles[k % len(styles)]
        plan = generate_plan(first_seed + k, size=size, styles=[style])
        tiles.append(fit_tile(plan.image, f"synth {style} #{first_seed + k}"))
    return tiles


def style_rows(per_style: int, first_seed: int, size: int, styles: tuple[str, ...]) -> list[np.ndarray]:
    """``per_style`` generated plans of each style, style by style (seeds ``first_seed`` upwards)."""
    tiles = []
    for k, style in enumerate(styles):
        for j in range(per_style):
            seed = first_seed + k * per_style + j
            plan = generate_plan(seed, size=size, styles=[style])
            tiles.append(fit_tile(plan.image, f"synth {style} #{seed}"))
    return tiles


def other_tiles(folder: Path, count: int) -> list[np.ndarray]:
    """Up to ``count`` real plans of ``folder`` (sorted by name; ``*_wall`` masks skipped)."""
    paths = [
        p
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.stem.endswith("_wall")
    ][:count]
    if not paths:
        raise FileNotFoundError(f"{folder} holds no .png/.jpg plans")
    return [fit_tile(read_image(p), f"real {p.stem[:26]}") for p in paths]


def inside_repository(path: Path) -> bool:
    """True when ``path`` would be written inside this repository (where real plans may not go)."""
    return path.resolve().is_relative_to(REPOSITORY)


def real_tiles(folder: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` R3D drawings of ``folder`` (sorted by name)."""
    paths = sorted(folder.glob("*.jpg"))[:count]
    if len(paths) < count:
        raise FileNotFoundError(f"{folder} holds {len(paths)} R3D .jpg plans, {count} needed")
    return [fit_tile(read_image(p), f"real R3D {p.stem}") for p in paths]


def redraw_rows(
    count: int, first_seed: int, size: int, styles: tuple[str, ...], source: Path | None
) -> list[np.ndarray]:
    """``count`` source plans, each followed by its masks redrawn in every style of ``styles``.

    Sources are generated ``solid`` plans (seeds from ``first_seed``), or the first ``count`` plans
    of the dataset folder ``source``."""
    plans = []
    if source is None:
        for k in range(count):
            plan = generate_plan(first_seed + k, size=size, styles=["solid"])
            types = label_type_map(plan.room_labels, plan.room_kinds)
            plans.append(
                (f"synth solid #{first_seed + k}", plan.image, plan.wall_mask, plan.opening_mask, types)
            )
    else:
        samples = open_dataset(source)[:count]
        if len(samples) < count:
            raise FileNotFoundError(f"{source} holds {len(samples)} plans, {count} needed")
        for sample in samples:
            plan = sample.load()
            plans.append((f"real {sample.stem[:20]}", plan.image, plan.wall, plan.opening, plan.room_type))
    tiles = []
    for k, (caption, image, wall, opening, types) in enumerate(plans):
        tiles.append(fit_tile(image, caption))
        for j, style in enumerate(styles):
            seed = first_seed + k * len(styles) + j
            redrawn = redraw_plan(wall, opening, types, seed, styles=[style], sheet=0.0)
            tiles.append(fit_tile(redrawn.image, f"redrawn {style} #{seed}"))
    return tiles


def grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    """Tiles laid out row by row, ``columns`` wide, padded with white."""
    rows = -(-len(tiles) // columns)
    blank = np.full_like(tiles[0], 255)
    padded = tiles + [blank] * (rows * columns - len(tiles))
    return np.vstack([np.hstack(padded[r * columns : (r + 1) * columns]) for r in range(rows)])


def main() -> int:
    """Write the contact sheet PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--r3d", type=Path, default=None, help="folder of real R3D plans (<id>.jpg)")
    parser.add_argument(
        "--other",
        type=Path,
        action="append",
        default=[],
        help="folder of real plans of other styles (.png/.jpg, *_wall masks skipped); repeatable",
    )
    parser.add_argument(
        "--other-count", type=int, default=6, help="real plans per --other folder (default 6)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/images/synth_styles_sheet.png"))
    parser.add_argument(
        "--styles",
        default=",".join(ALL_STYLES),
        help=f"comma-separated styles to draw (default every style: {','.join(ALL_STYLES)})",
    )
    parser.add_argument(
        "--per-style",
        type=int,
        default=0,
        help="draw this many plans of each style, one block per style (default 0: --synthetic, cycled)",
    )
    parser.add_argument(
        "--redraw",
        type=int,
        default=0,
        help="rows of redrawn plans instead: this many source plans, each redrawn in every style",
    )
    parser.add_argument(
        "--redraw-from",
        type=Path,
        default=None,
        help="dataset folder of the plans to redraw (default: generated solid plans)",
    )
    parser.add_argument("--synthetic", type=int, default=24, help="number of generated plans (default 24)")
    parser.add_argument("--real", type=int, default=6, help="number of real R3D plans (default 6)")
    parser.add_argument("--seed", type=int, default=100, help="seed of the first generated plan")
    parser.add_argument("--size", type=int, default=768, help="generated plan size before thumbnailing")
    parser.add_argument(
        "--colours", type=int, default=96, help="palette size of the written PNG (keeps it small)"
    )
    parser.add_argument("--columns", type=int, default=0, help="tiles per row (default: --per-style, else 6)")
    args = parser.parse_args()
    styles = tuple(s.strip() for s in args.styles.split(",") if s.strip())
    unknown = [s for s in styles if s not in ALL_STYLES]
    if not styles or unknown:
        print(f"error: unknown style(s) {unknown}; choose from {','.join(ALL_STYLES)}", file=sys.stderr)
        return 2
    folders = ([args.r3d] if args.r3d is not None else []) + list(args.other)
    folders += [args.redraw_from] if args.redraw and args.redraw_from is not None else []
    if folders and inside_repository(args.out):
        print(
            f"error: {args.out} lies inside the repository; a sheet with real plans must be written "
            "elsewhere (e.g. /tmp): their licences keep them out of the repository",
            file=sys.stderr,
        )
        return 2
    for folder in folders:
        if not folder.is_dir():
            print(f"error: {folder} is not a folder", file=sys.stderr)
            return 2
    try:
        real = real_tiles(args.r3d, args.real) if args.r3d is not None else []
        for folder in args.other:
            real += other_tiles(folder, args.other_count)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.redraw > 0:
        try:
            generated = redraw_rows(args.redraw, args.seed, args.size, styles, args.redraw_from)
        except (FileNotFoundError, DatasetError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        args.columns = args.columns or len(styles) + 1
    elif args.per_style > 0:
        generated = style_rows(args.per_style, args.seed, args.size, styles)
    else:
        generated = synthetic_tiles(args.synthetic, args.seed, args.size, styles)
    columns = args.columns or args.per_style or 6
    blocks = [grid(generated, columns)] + ([grid(real, columns)] if real else [])
    sheet = np.vstack(blocks)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).quantize(colors=args.colours, dither=Image.Dither.NONE).save(
        args.out, optimize=True
    )
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
