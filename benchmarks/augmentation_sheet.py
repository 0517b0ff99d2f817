"""Contact sheet of training crops as the loop sees them: synthetic plans, heavy augmentation,
walls tinted red and openings green (never R3D images: they may not be copied into the repo).

    .venv/bin/python benchmarks/augmentation_sheet.py docs/images/training_augmentation.png
"""

from __future__ import annotations

import argparse

import numpy as np

from model_code.datasets.torch_data import SyntheticPlanDataset
from model_code.io.images import write_png
from model_code.model.checkpoint import IMAGENET_MEAN, IMAGENET_STD


def crop_picture(image, target) -> np.ndarray:
    """Un-normalise a crop tensor to RGB and tint its wall (red) and opening (green) pixels."""
    rgb = image.numpy().transpose(1, 2, 0) * np.asarray(IMAGENET_STD) + np.asarray(IMAGENET_MEAN)
    rgb = np.clip(rgb * 255, 0, 255).astype(np.float32)
    wall, opening = target[0].numpy() > 0.5, target[1].numpy() > 0.5
    rgb[wall] = 0.5 * rgb[wall] + 0.5 * np.array([230, 40, 40])
    rgb[opening] = 0.4 * rgb[opening] + 0.6 * np.array([30, 200, 60])
    return rgb.astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--columns", type=int, default=6)
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument("--crop", type=int, default=192)
    args = parser.parse_args()
    count = args.columns * args.rows
    dataset = SyntheticPlanDataset(
        count, working_size=512, crop_size=args.crop, seed_base=7000, size=(384, 768)
    )
    tiles = [crop_picture(*dataset[i]) for i in range(count)]
    gap = 4
    sheet = np.full(
        (args.rows * (args.crop + gap) - gap, args.columns * (args.crop + gap) - gap, 3), 255, np.uint8
    )
    for i, tile in enumerate(tiles):
        r, c = divmod(i, args.columns)
        sheet[
            r * (args.crop + gap) : r * (args.crop + gap) + args.crop,
            c * (args.crop + gap) : c * (args.crop + gap) + args.crop,
        ] = tile
    write_png(args.out, sheet)


if __name__ == "__main__":
    main()
