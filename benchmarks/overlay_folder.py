"""Overlays of detected walls, openings and rooms for a folder of unannotated plans.

For looking at plans that have no ground truth (such as ``../shared/datasets/examples``):
every image in ``--data`` is run through each backend (``unet:default``, ``unet:<checkpoint>``,
``opencv``) in-process, and one PNG per plan is written to ``--out`` with the backends side by
side, plus ``summary.json`` (walls, openings and rooms found per plan and backend, and the
time taken).  Write the pictures outside the repository when the plans may not be copied.

Usage::

    .venv/bin/python benchmarks/overlay_folder.py --data ../shared/datasets/examples \\
        --backend unet:default --backend unet:runs/fifty --backend opencv --out /tmp/examples
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from model_code.evaluation.backends import BackendSpecError, open_backend
from model_code.exports.overlay import draw_overlay
from model_code.io.images import read_image, write_png

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def titled(picture: np.ndarray, title: str, width: int) -> np.ndarray:
    """``picture`` scaled to ``width`` px wide under a white title bar."""
    scale = width / picture.shape[1]
    body = cv2.resize(picture, (width, max(1, round(picture.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    bar = np.full((28, width, 3), 255, np.uint8)
    cv2.putText(bar, title, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, body])


def main(argv: list[str] | None = None) -> int:
    """Write the overlays and the summary; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of plan images (PNG/JPEG)")
    parser.add_argument(
        "--backend", action="append", default=None, help="backend spec, repeatable (default unet:default)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument("--width", type=int, default=700, help="width of each panel in px (default 700)")
    args = parser.parse_args(argv)
    images = (
        sorted(p for p in args.data.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if args.data.is_dir()
        else []
    )
    if not images:
        raise SystemExit(f"overlay_folder: no PNG/JPEG images in {args.data}")
    specs = args.backend or ["unet:default"]
    try:
        backends = [open_backend(spec) for spec in specs]
    except BackendSpecError as exc:
        raise SystemExit(f"overlay_folder: {exc}") from exc
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for path in tqdm(images, desc="plans", unit="plan"):
        image = read_image(path)
        panels = []
        summary[path.name] = {}
        for spec, pipeline, options in backends:
            start = time.perf_counter()
            result = pipeline.analyze(image, options).document
            seconds = time.perf_counter() - start
            summary[path.name][spec] = {
                "walls": len(result.walls),
                "openings": len(result.openings),
                "rooms": len(result.rooms),
                "seconds": round(seconds, 3),
            }
            picture = draw_overlay(image, result.walls, result.openings, result.rooms)
            counts = f"{len(result.walls)} walls, {len(result.openings)} openings, {len(result.rooms)} rooms"
            caption = f"{spec}: {counts}"
            panels.append(titled(picture, caption, args.width))
        height = max(p.shape[0] for p in panels)
        row = np.hstack(
            [np.pad(p, ((0, height - p.shape[0]), (0, 4), (0, 0)), constant_values=255) for p in panels]
        )
        write_png(args.out / f"{path.stem}_overlay.png", row)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    for name, rows in summary.items():
        print(
            name,
            "  ".join(f"{spec}: {r['walls']}w/{r['openings']}o/{r['rooms']}r" for spec, r in rows.items()),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
