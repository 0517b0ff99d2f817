"""R3D-specific reading: wall and opening masks, and room instances from the room-colour image.

The R3D layout (see the dataset's README) is ``<id>.jpg`` with ``<id>_wall.png`` (walls,
white), ``<id>_close.png`` (doors and windows, white) and ``<id>_rooms.png`` (room-type
colours on black, no instance ids).  Masks may be L, RGB or RGBA, anti-aliased, and of a
different size than the image: :func:`model_code.io.images.read_mask` handles all of that.
A room instance is a connected component of one colour, cut by walls; the near-black values
``(1,1,1)..(3,3,3)`` are noise and count as background.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from model_code.io.images import read_mask

NOISE_MAX = 3  # grey values (v, v, v) with v <= NOISE_MAX are background


@dataclass
class R3DPlan:
    """One R3D plan's ground-truth masks, all at the image's size ``(H, W)``."""

    plan_id: str
    wall: np.ndarray
    opening: np.ndarray
    rooms_rgb: np.ndarray | None

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the plan."""
        return (int(self.wall.shape[0]), int(self.wall.shape[1]))


def plan_ids(folder: str | Path) -> list[str]:
    """Ids of the plans in an R3D folder (those with an image and a wall mask), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"R3D folder not found: {folder}")
    ids = [p.name[: -len("_wall.png")] for p in folder.glob("*_wall.png")]
    return sorted(i for i in ids if (folder / f"{i}.jpg").exists())


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of an image file without decoding its pixels."""
    with Image.open(path) as image:
        return image.size


def read_rooms_rgb(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """The room-colour image as ``(H, W, 3)`` uint8, resized nearest-neighbour to ``size`` (w, h)."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        if size is not None and rgb.size != tuple(size):
            rgb = rgb.resize(tuple(size), Image.NEAREST)
        return np.asarray(rgb, np.uint8)


def read_plan(folder: str | Path, plan_id: str) -> R3DPlan:
    """Read one plan's masks (and room colours when present), resized to the image size."""
    folder = Path(folder)
    image_path = folder / f"{plan_id}.jpg"
    if not image_path.exists():
        raise FileNotFoundError(f"no image {image_path}")
    size = image_size(image_path)
    wall = read_mask(folder / f"{plan_id}_wall.png", size=size)
    close_path = folder / f"{plan_id}_close.png"
    opening = read_mask(close_path, size=size) if close_path.exists() else np.zeros_like(wall)
    rooms_path = folder / f"{plan_id}_rooms.png"
    rooms = read_rooms_rgb(rooms_path, size) if rooms_path.exists() else None
    return R3DPlan(plan_id, wall, opening & ~wall, rooms)


def room_instances(rooms_rgb: np.ndarray, wall_mask: np.ndarray, min_area: int | None = None) -> np.ndarray:
    """``int32`` room instance labels (1..K, 0 = background) from a room-colour image.

    An instance is a 4-connected component of one colour after removing ``wall_mask`` pixels
    (pass walls and openings together to cut rooms at doors as well).  Black and the noise
    greys ``(1,1,1)..(3,3,3)`` are background.  Components smaller than ``min_area`` pixels
    (default: 0.05 % of the image, at least 16) are specks of anti-aliasing and are dropped.
    """
    rgb = np.asarray(rooms_rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"rooms image must be (H, W, 3), got shape {rgb.shape}")
    rgb = rgb[:, :, :3].astype(np.int64)
    if rgb.shape[:2] != np.asarray(wall_mask).shape:
        raise ValueError(f"rooms image {rgb.shape[:2]} and wall mask {np.asarray(wall_mask).shape} differ")
    height, width = rgb.shape[:2]
    if min_area is None:
        min_area = max(16, int(5e-4 * height * width))
    code = (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]
    noise = (rgb.max(axis=2) <= NOISE_MAX) & (rgb[:, :, 0] == rgb[:, :, 1]) & (rgb[:, :, 1] == rgb[:, :, 2])
    code[noise | np.asarray(wall_mask, bool)] = 0
    labels = np.zeros((height, width), np.int32)
    next_label = 1
    for value in np.unique(code):
        if value == 0:
            continue
        count, comp, stats, _ = cv2.connectedComponentsWithStats(
            (code == value).view(np.uint8), connectivity=4
        )
        keep = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area) + 1
        if keep.size == 0:
            continue
        lookup = np.zeros(count, np.int32)
        lookup[keep] = np.arange(next_label, next_label + keep.size, dtype=np.int32)
        chosen = comp > 0
        labels[chosen] = np.maximum(labels[chosen], lookup[comp[chosen]])
        next_label += keep.size
    return labels
