"""Masks from annotation records: walls drawn with their thickness, openings across them.

Each wall centreline is buffered with shapely (square caps, so corners close) to its full
thickness (``DEFAULT_WALL_THICKNESS`` when absent) and filled with OpenCV.  Openings are
drawn the same way with flat caps and the thickness of their host wall (a little wider, so
they cut the wall fully); wall pixels under an opening are removed, as in R3D.
"""

from __future__ import annotations

import cv2
import numpy as np
from shapely.geometry import LineString, Polygon

from model_code.schema import Annotation, Opening, Wall

DEFAULT_WALL_THICKNESS = 6.0
OPENING_MARGIN = 2.0


def _fill(mask: np.ndarray, polygon: Polygon) -> None:
    if polygon.is_empty:
        return
    geoms = getattr(polygon, "geoms", [polygon])
    for geom in geoms:
        ring = np.round(np.asarray(geom.exterior.coords)).astype(np.int32)
        cv2.fillPoly(mask, [ring], 1)


def segment_polygon(
    start: tuple[float, float], end: tuple[float, float], thickness: float, cap: str
) -> Polygon:
    """The band of full width ``thickness`` around segment start-end (``cap``: square or flat)."""
    line = LineString([start, end])
    if line.length == 0:
        return Polygon()
    return line.buffer(thickness / 2.0, cap_style=cap, join_style="mitre")


def wall_thickness(wall: Wall, default: float = DEFAULT_WALL_THICKNESS) -> float:
    """A wall's thickness in pixels, ``default`` when the annotation does not give one."""
    return float(wall.thickness) if wall.thickness else float(default)


def opening_thickness(opening: Opening, walls_by_id: dict[str, Wall], default: float) -> float:
    """An opening's thickness: its own, else its host wall's, else ``default``; plus a margin."""
    if opening.thickness:
        return float(opening.thickness) + OPENING_MARGIN
    host = walls_by_id.get(opening.wall_id) if opening.wall_id is not None else None
    return (wall_thickness(host, default) if host else float(default)) + OPENING_MARGIN


def annotation_masks(
    annotation: Annotation, width: int, height: int, default_thickness: float = DEFAULT_WALL_THICKNESS
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise an annotation into ``(wall, opening)`` bool masks of ``height`` x ``width``."""
    wall = np.zeros((height, width), dtype=np.uint8)
    opening = np.zeros((height, width), dtype=np.uint8)
    for record in annotation.walls:
        _fill(
            wall,
            segment_polygon(record.start, record.end, wall_thickness(record, default_thickness), "square"),
        )
    walls_by_id = {w.id: w for w in annotation.walls if w.id is not None}
    for record in annotation.openings:
        thickness = opening_thickness(record, walls_by_id, default_thickness)
        _fill(opening, segment_polygon(record.start, record.end, thickness, "flat"))
    opening_mask = opening.astype(bool)
    return wall.astype(bool) & ~opening_mask, opening_mask
