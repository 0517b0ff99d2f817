"""Training masks from annotation records, with the metric module's rasterisers.

Walls are drawn with their thickness (``DEFAULT_WALL_THICKNESS`` when absent, square caps so
corners close) by :func:`model_code.geometry.raster.rasterize_walls`; openings across their host wall
(their own thickness, else the host wall's, else the default; a little wider so they cut the
wall fully) by :func:`model_code.geometry.raster.rasterize_openings`.  Wall pixels under an opening are
removed, as in R3D, where doors and windows are not wall.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from model_code.geometry.raster import rasterize_openings, rasterize_walls
from model_code.schema import Annotation, Opening, Wall

DEFAULT_WALL_THICKNESS = 6.0
OPENING_MARGIN = 2.0


def wall_thickness(wall: Wall, default: float = DEFAULT_WALL_THICKNESS) -> float:
    """A wall's thickness in pixels, ``default`` when the annotation does not give one."""
    return float(wall.thickness) if wall.thickness else float(default)


def opening_thickness(opening: Opening, walls_by_id: dict[str, Wall], default: float) -> float:
    """An opening's drawn thickness: its own, else its host wall's, else ``default``; plus a margin."""
    if opening.thickness:
        return float(opening.thickness) + OPENING_MARGIN
    host = walls_by_id.get(opening.wall_id) if opening.wall_id is not None else None
    return (wall_thickness(host, default) if host else float(default)) + OPENING_MARGIN


def annotation_masks(
    annotation: Annotation, width: int, height: int, default_thickness: float = DEFAULT_WALL_THICKNESS
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise an annotation into ``(wall, opening)`` bool masks of ``height`` x ``width``."""
    shape = (height, width)
    # One wall per call: cv2.fillPoly with several overlapping polygons leaves even-odd holes
    # where bands cross (wall corners), so the bands are OR-ed one by one.
    wall = np.zeros(shape, dtype=bool)
    for record in annotation.walls:
        wall |= rasterize_walls([record], shape, default_thickness=default_thickness)
    walls_by_id = {w.id: w for w in annotation.walls if w.id is not None}
    openings = [
        dataclasses.replace(o, thickness=opening_thickness(o, walls_by_id, default_thickness))
        for o in annotation.openings
    ]
    opening = np.zeros(shape, dtype=bool)
    for record in openings:
        opening |= rasterize_openings([record], shape, default_thickness=default_thickness)
    return wall & ~opening, opening
