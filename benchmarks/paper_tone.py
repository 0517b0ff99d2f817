"""A copy of a dataset folder drawn on tinted paper: how much do the results owe to white paper?

Every drawing (``.jpg``, ``.jpeg``, ``.png`` that is not a mask) is multiplied by the paper's tone, so
white becomes the tone and black ink stays black, as a scan of grey or beige paper looks; masks,
annotations and every other file are copied as they are, so ``floorplan evaluate`` scores the copy
against the same truth (and a flat folder keeps the same validation split).  The drawings are the
files of an ``images/`` folder (the customers' layouts) and, in a flat R3D folder, the pictures whose
names do not end as R3D's masks do (``_wall``, ``_close``, ``_close_wall``, ``_rooms``).  Example
(twenty-fourth session, the room classifier)::

    .venv/bin/python benchmarks/paper_tone.py --data ../shared/datasets/r3d/train --out /tmp/r3d_beige \\
        --tone 238,226,196
    floorplan evaluate --data /tmp/r3d_beige --split validation --backend unet:default --out reports/beige

``--border PX`` also frames every drawing with a dark band (a scanner's border round the page) and pads
the masks to match; ``--contrast F`` fades the ink to F of its contrast (a light photocopy) and
``--negative`` inverts the drawing (light lines on a dark ground).  Twenty-sixth session:
``--tone 255 --border 10``, ``--tone 255 --contrast 0.35``, ``--tone 255 --negative``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from model_code.io.images import read_image

DRAWING_SUFFIXES = (".jpg", ".jpeg", ".png")
R3D_MASK_ENDINGS = ("_wall", "_close", "_close_wall", "_rooms")


def parse_tone(text: str) -> tuple[int, int, int]:
    """``"238,226,196"`` -> (238, 226, 196): the paper's RGB colour; one number is a grey."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"tone must be R,G,B or one grey level, got {text!r}") from None
    if len(values) == 1:
        values *= 3
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise argparse.ArgumentTypeError(f"tone must be three (or one) numbers 0-255, got {text!r}")
    return values[0], values[1], values[2]


def is_drawing(path: Path, root: Path) -> bool:
    """A plan's picture (in ``images/``, or a flat R3D drawing), not one of its masks."""
    if path.suffix.lower() not in DRAWING_SUFFIXES:
        return False
    folders = path.relative_to(root).parts[:-1]
    if folders:
        return folders[-1] == "images"
    return not path.stem.endswith(R3D_MASK_ENDINGS)


def tint(rgb: np.ndarray, tone: tuple[int, int, int]) -> np.ndarray:
    """``rgb`` (uint8) as drawn on paper of colour ``tone``: white -> tone, black stays black."""
    scale = np.asarray(tone, np.float32) / 255.0
    return np.clip(np.rint(rgb.astype(np.float32) * scale), 0, 255).astype(np.uint8)


def fade(rgb: np.ndarray, contrast: float) -> np.ndarray:
    """``rgb`` (uint8) with its ink's contrast to white paper cut to ``contrast`` (a light photocopy)."""
    return np.clip(np.rint(255.0 - (255.0 - rgb.astype(np.float32)) * contrast), 0, 255).astype(np.uint8)


def tint_folder(
    source: Path,
    target: Path,
    tone: tuple[int, int, int],
    border: int = 0,
    border_tone: tuple[int, int, int] = (25, 25, 25),
    contrast: float = 1.0,
    negative: bool = False,
) -> int:
    """Copy ``source`` into ``target`` (sub-folders too) with every drawing tinted; returns the count.

    ``contrast`` < 1 first fades the ink (:func:`fade`); ``negative`` finally inverts the drawing
    (light lines on a dark ground, as a CAD viewer's black background shows it).

    ``border`` > 0 also frames every drawing with a band that many pixels wide of ``border_tone`` (a
    scanner's dark border round the page) and pads every other picture (the masks) with as many zero
    pixels, so the truth stays aligned; only for mask layouts (a folder with JSON annotations is
    refused, their coordinates would move).
    """
    files = sorted(p for p in source.rglob("*") if p.is_file())
    if border and any(p.suffix.lower() == ".json" for p in files):
        raise ValueError(
            "--border needs a mask layout (R3D): JSON annotations would not move with the drawing"
        )
    tinted = 0
    for path in tqdm(files, desc="paper", unit="file"):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not is_drawing(path, source):
            if border and path.suffix.lower() in DRAWING_SUFFIXES:
                mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                mask = cv2.copyMakeBorder(mask, border, border, border, border, cv2.BORDER_CONSTANT, value=0)
                if not cv2.imwrite(str(out), mask):
                    raise OSError(f"cannot write {out}")
            else:
                shutil.copyfile(path, out)
            continue
        picture = tint(fade(read_image(path), contrast), tone)[..., ::-1]
        if negative:
            picture = 255 - picture
        if border:
            colour = tuple(int(v) for v in border_tone[::-1])  # BGR
            picture = cv2.copyMakeBorder(
                picture, border, border, border, border, cv2.BORDER_CONSTANT, value=colour
            )
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if out.suffix.lower() in (".jpg", ".jpeg") else []
        if not cv2.imwrite(str(out), picture, params):
            raise OSError(f"cannot write {out}")
        tinted += 1
    return tinted


def copy_folders_problem(data: Path, out: Path) -> str | None:
    """Why a dataset copy from ``data`` into ``out`` cannot be made (no source, or ``out`` inside it),
    or None."""
    if not data.is_dir():
        return f"no folder {data}"
    if out.resolve() == data.resolve() or data.resolve() in out.resolve().parents:
        return "--out must lie outside --data"
    return None


def main(argv: list[str] | None = None) -> int:
    """Write the tinted copy; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="dataset folder (any layout)")
    parser.add_argument("--out", type=Path, required=True, help="where the tinted copy goes (created)")
    parser.add_argument(
        "--tone", type=parse_tone, default=(238, 226, 196), help="paper colour R,G,B or a grey level"
    )
    parser.add_argument(
        "--border",
        type=int,
        default=0,
        help="frame each drawing with a dark band this many px wide (masks padded)",
    )
    parser.add_argument("--border-tone", type=parse_tone, default=(25, 25, 25), help="the band's colour")
    parser.add_argument(
        "--contrast",
        type=float,
        default=1.0,
        help="fade the ink to this share of its contrast (0-1, default 1)",
    )
    parser.add_argument("--negative", action="store_true", help="invert each drawing (light lines on dark)")
    args = parser.parse_args(argv)
    problem = copy_folders_problem(args.data, args.out)
    if problem:
        print(f"paper_tone: {problem}", file=sys.stderr)
        return 2
    if args.border < 0 or not 0.0 < args.contrast <= 1.0:
        print("paper_tone: --border must be >= 0 and --contrast in (0, 1]", file=sys.stderr)
        return 2
    try:
        count = tint_folder(
            args.data, args.out, args.tone, args.border, args.border_tone, args.contrast, args.negative
        )
    except ValueError as exc:
        print(f"paper_tone: {exc}", file=sys.stderr)
        return 2
    border = f", in a {args.border} px border {args.border_tone}" if args.border else ""
    print(f"{count} drawings on paper {args.tone}{border} in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
