"""Small plans drawn with cv2 for the training and dataset tests (never R3D images).

Each plan is a white page with a thick outer rectangle, one partition wall with a door gap
(the gap is the opening, marked with a thin door leaf) and exact wall/opening masks.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from model_code.datasets.layouts import merge_grey_mask
from model_code.io.images import write_png


def draw_plan(seed: int, size: int = 96) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(image RGB uint8, wall bool, opening bool)`` of a seeded two-room plan, ``size`` x ``size``."""
    rng = np.random.default_rng(seed)
    wall = np.zeros((size, size), np.uint8)
    opening = np.zeros((size, size), np.uint8)
    margin = int(rng.integers(6, 12))
    thick = int(rng.integers(3, 6))
    cv2.rectangle(wall, (margin, margin), (size - margin, size - margin), 1, thick)
    x = int(rng.integers(size // 3, 2 * size // 3))
    cv2.line(wall, (x, margin), (x, size - margin), 1, thick)
    gap_start = int(rng.integers(size // 3, size // 2))
    gap = max(8, size // 8)
    half = thick // 2 + 1
    opening[gap_start : gap_start + gap, x - half : x + half + 1] = 1
    wall[opening.astype(bool)] = 0
    image = np.full((size, size, 3), 255, np.uint8)
    image[wall.astype(bool)] = (20, 20, 20)
    cv2.line(image, (x, gap_start), (x + gap, gap_start), (90, 90, 90), 1)
    return image, wall.astype(bool), opening.astype(bool)


def annotation_for(seed: int, size: int = 96) -> dict:
    """A customers'-format annotation roughly matching :func:`draw_plan` (with ids and thickness)."""
    m = 10
    return {
        "image_id": f"plan{seed}",
        "image": {"width": size, "height": size},
        "walls": [
            {"id": "w1", "start": [m, m], "end": [size - m, m], "thickness": 4, "is_load_bearing": True},
            {"id": "w2", "start": [size - m, m], "end": [size - m, size - m], "thickness": 4},
            {"id": "w3", "start": [size - m, size - m], "end": [m, size - m]},
            {"id": "w4", "start": [m, size - m], "end": [m, m], "thickness": 4},
        ],
        "openings": [{"type": "door", "start": [30, m], "end": [45, m], "wall_id": "w1"}],
        "rooms": [{"id": "r1", "bounding_box": [m, m, size - m, size - m], "name_hint": "living"}],
    }


def write_channel_dataset(root: Path, count: int, size: int = 96, first_seed: int = 0) -> Path:
    """``root/images/*.png`` + ``root/masks/*.png`` (255 wall, 128 opening)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    for seed in range(first_seed, first_seed + count):
        image, wall, opening = draw_plan(seed, size)
        write_png(root / "images" / f"plan{seed:03d}.png", image)
        write_png(root / "masks" / f"plan{seed:03d}.png", merge_grey_mask(wall, opening))
    return root


def write_r3d_dataset(root: Path, count: int, size: int = 96) -> Path:
    """Flat R3D files: ``<id>.jpg``, ``<id>_wall.png`` (RGBA, half size) and ``<id>_close.png`` (RGB)."""
    root.mkdir(parents=True, exist_ok=True)
    for seed in range(count):
        image, wall, opening = draw_plan(seed, size)
        Image.fromarray(image).save(root / f"{seed}.jpg", quality=95)
        rgba = np.zeros((size, size, 4), np.uint8)
        rgba[wall] = (255, 255, 255, 255)
        Image.fromarray(rgba, "RGBA").resize((size // 2, size // 2), Image.NEAREST).save(
            root / f"{seed}_wall.png"
        )
        rgb = np.repeat((opening.astype(np.uint8) * 255)[:, :, None], 3, axis=2)
        Image.fromarray(rgb).save(root / f"{seed}_close.png")
    return root


def write_annotation_dataset(root: Path, count: int, size: int = 96) -> Path:
    """``root/images/*.png`` + ``root/annotations/*.json`` (customers' format)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    for seed in range(count):
        image, _, _ = draw_plan(seed, size)
        write_png(root / "images" / f"plan{seed:03d}.png", image)
        (root / "annotations" / f"plan{seed:03d}.json").write_text(json.dumps(annotation_for(seed, size)))
    return root


def huge_header_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A small PNG file whose header claims ``width`` x ``height`` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


BROKEN_FILES = ("zero-byte-jpeg", "truncated-jpeg", "huge-header", "corrupt-mask")


def break_plan(root: Path, stem: str, how: str) -> Path:
    """Spoil one file of channel-layout plan ``stem`` (one of :data:`BROKEN_FILES`); returns that file.

    The image cases replace ``images/<stem>.png`` by a ``.jpg`` or ``.png`` that cannot be decoded;
    ``corrupt-mask`` cuts ``masks/<stem>.png`` short.
    """
    image = root / "images" / f"{stem}.png"
    if how == "corrupt-mask":
        mask = root / "masks" / f"{stem}.png"
        mask.write_bytes(mask.read_bytes()[:60])
        return mask
    if how == "huge-header":
        image.write_bytes(huge_header_png())
        return image
    buffer = io.BytesIO()
    Image.fromarray(draw_plan(0)[0]).save(buffer, format="JPEG", quality=90)
    image.unlink()
    broken = image.with_suffix(".jpg")
    broken.write_bytes(b"" if how == "zero-byte-jpeg" else buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return broken
