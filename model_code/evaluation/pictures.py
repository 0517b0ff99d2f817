"""Pictures of the report: one side-by-side overlay per plan and the gallery of the worst plans."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from model_code.evaluation.truth import GroundTruth
from model_code.io.images import read_image, write_png
from model_code.pipeline import PlanResult

if TYPE_CHECKING:
    from model_code.evaluation.scoring import PlanRecord

PANEL_SIZE = 480  # longest side of one panel in the side-by-side pictures
HEADER = 28  # px of caption above each panel
GROUND_TRUTH_COLOURS = {"wall": (220, 40, 40), "opening": (30, 120, 230)}


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    """Scale so the longest side is ``size`` (area interpolation when shrinking)."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=interpolation
    )


def _caption(panel: np.ndarray, text: str) -> np.ndarray:
    """Put a white caption strip with ``text`` above ``panel``."""
    strip = np.full((HEADER, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(strip, text, (6, HEADER - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, panel])


def tint_masks(
    image: np.ndarray,
    wall: np.ndarray,
    opening: np.ndarray,
    rooms: np.ndarray | None = None,
    alpha: float = 0.6,
) -> np.ndarray:
    """Ground-truth pixel masks over a lightened plan: walls red, openings blue, rooms in pastels."""
    out = (image.astype(np.float32) * 0.5 + 127.5).astype(np.float32)
    if rooms is not None and rooms.max(initial=0) > 0:
        count = int(rooms.max()) + 1
        palette = np.random.default_rng(0).integers(120, 240, size=(count, 3)).astype(np.float32)
        inside = rooms > 0
        out[inside] = out[inside] * 0.6 + palette[rooms[inside]] * 0.4
    for mask, colour in ((wall, GROUND_TRUTH_COLOURS["wall"]), (opening, GROUND_TRUTH_COLOURS["opening"])):
        out[mask] = out[mask] * (1 - alpha) + np.asarray(colour, np.float32) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def truth_panel(truth: GroundTruth) -> np.ndarray:
    """The ground truth as a picture: vector overlay when an annotation exists, else tinted masks."""
    from model_code.exports.overlay import draw_overlay

    if truth.annotation is not None and truth.annotation.walls:
        ann = truth.annotation
        return draw_overlay(truth.image, ann.walls, ann.openings, ann.rooms)
    return tint_masks(truth.image, truth.wall, truth.opening, truth.room_labels)


def side_by_side(truth: GroundTruth, results: dict[str, PlanResult], order: Sequence[str]) -> np.ndarray:
    """Ground truth | each backend's walls, openings and rooms, captioned, one row."""
    from model_code.exports.overlay import draw_overlay

    panels = [_caption(_fit(truth_panel(truth), PANEL_SIZE), f"{truth.stem}: ground truth")]
    for name in order:
        result = results.get(name)
        if result is None:
            blank = np.full_like(panels[0][HEADER:], 255)
            panels.append(_caption(blank, f"{name}: failed"))
            continue
        doc = result.document
        picture = draw_overlay(truth.image, doc.walls, doc.openings, doc.rooms)
        caption = f"{name}: {len(doc.walls)} walls, {len(doc.openings)} openings, {len(doc.rooms)} rooms"
        panels.append(_caption(_fit(picture, PANEL_SIZE), caption))
    return hstack_padded(panels)


def hstack_padded(panels: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Place RGB panels left to right on white, top-aligned, ``gap`` px apart."""
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for panel in panels:
        canvas[: panel.shape[0], x : x + panel.shape[1]] = panel
        x += panel.shape[1] + gap
    return canvas


def write_gallery(out_dir: Path, worst: Sequence[PlanRecord], max_width: int = 1200) -> str | None:
    """Stack the overlays of the worst plans into ``gallery.png``; returns its relative path or None."""
    rows = []
    for record in worst:
        if record.overlay and (out_dir / record.overlay).is_file():
            row = read_image(out_dir / record.overlay)
            if row.shape[1] > max_width:
                scale = max_width / row.shape[1]
                size = (max_width, max(1, round(row.shape[0] * scale)))
                row = cv2.resize(row, size, interpolation=cv2.INTER_AREA)
            rows.append(row)
    if not rows:
        return None
    width = max(r.shape[1] for r in rows)
    canvas_rows = []
    for row in rows:
        padded = np.full((row.shape[0], width, 3), 255, dtype=np.uint8)
        padded[:, : row.shape[1]] = row
        canvas_rows.append(padded)
        canvas_rows.append(np.full((8, width, 3), 200, dtype=np.uint8))
    write_png(out_dir / "gallery.png", np.vstack(canvas_rows[:-1]))
    return "gallery.png"
