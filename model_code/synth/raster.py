"""The generator's ground-truth masks, drawn from the vector records by the project's one rasteriser.

Conventions (those of :mod:`model_code.geometry.raster`): pixel ``(row r, column c)`` has its centre at
``(x=c, y=r)``.  A wall is the band of its ``thickness`` around its centreline with square caps
(``thickness / 2`` past both ends); an opening is the band of its ``thickness`` (the host wall's)
along its segment without caps.  The wall mask is the union of walls minus the openings.  A room
polygon runs through the centres of the room's outermost pixels and is filled boundary-inclusive
(:func:`model_code.geometry.raster.rasterize_rooms`); wall and opening pixels stay 0 in the label image.

The generator renders its masks with these functions from the final (possibly rotated) records,
so re-rasterising the annotation JSON reproduces the masks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model_code.geometry.raster import rasterize_openings, rasterize_rooms, rasterize_walls, segment_polygon
from model_code.schema import Annotation, Opening, Room, Wall

__all__ = ["rasterize_annotation", "room_label_image", "segment_polygon", "wall_and_opening_masks"]


def wall_and_opening_masks(
    walls: Sequence[Wall], openings: Sequence[Opening], height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(wall_mask, opening_mask)`` as ``bool`` (H, W) arrays; opening pixels are not wall."""
    shape = (height, width)
    opening_mask = rasterize_openings(list(openings), shape)
    wall_mask = rasterize_walls(list(walls), shape) & ~opening_mask
    return wall_mask, opening_mask


def room_label_image(rooms: Sequence[Room], blocked: np.ndarray, height: int, width: int) -> np.ndarray:
    """Room ``k`` (1-based, list order) as label ``k`` in an int32 (H, W) image; ``blocked`` pixels stay 0."""
    labels = rasterize_rooms(list(rooms), (height, width))
    labels[blocked] = 0
    return labels


def rasterize_annotation(annotation: Annotation, height: int, width: int) -> tuple[np.ndarray, ...]:
    """``(wall_mask, opening_mask, room_labels)`` of an annotation, by the rules of this module."""
    wall_mask, opening_mask = wall_and_opening_masks(annotation.walls, annotation.openings, height, width)
    labels = room_label_image(annotation.rooms, wall_mask | opening_mask, height, width)
    return wall_mask, opening_mask, labels
