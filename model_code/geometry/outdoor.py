"""Outdoor spaces: balconies, terraces and patios fenced by the drawing's own lines.

A balcony lies outside the building's walls.  Its railing is a thin line (or the edge of a
hatched or tinted floor) that the wall network rightly calls no wall, so the free space of a
balcony is joined to the outside and the room stage throws it away (:mod:`model_code.geometry.rooms`
keeps only what lies inside the building's envelope).  On R3D every balcony of the validation split
was lost that way.

This step reads the plan's drawn lines: the edges of the image (Canny on a lightly blurred grey
copy, thickened by one pixel so that a railing of one pixel closes).  Whatever part of the outside
those edges fence off from the window's border, and which is none of the rooms already found, is
a candidate.  A candidate is an outdoor space when it

* rests against the building: at least ``OUTDOOR_MIN_CONTACT`` of its boundary touches the walls or
  the building's envelope (a text box or a compass beside the plan touches little of it);
* is deep enough to stand in: it holds a disk of radius ``OUTDOOR_MIN_RADIUS`` wall thicknesses
  (the gaps between dimension lines, window sills and door swings hold none);
* has open paper beyond its fence: at most ``OUTDOOR_MAX_BEYOND`` of the free pixels within
  ``OUTDOOR_BEYOND_REACH`` t of its outline (away from the building and its rooms) are drawn lines.
  A railing is the last line of the drawing; the gap between two lines of a dense drawing (a
  stair's flights, a hatch round a courtyard, a dimension chain beside another) is no balcony;
* is not the page round the drawing, closed by a frame: its convex hull holds at most
  ``OUTDOOR_MAX_SURROUND`` of the envelope.

Strips of the fenced space narrower than ``OUTDOOR_STRIP_WIDTH`` t are cut off first (a
morphological opening): where the wall mask is a little thinner than the drawn wall, the edges of
that ink run along the whole facade outside the walls, fenced in, and would join every candidate
into one ring round the building, which the surround test then refuses.

The fenced space is cut where it crosses the envelope's outline: a recess of the facade closed by
a drawn line (a loggia, an entrance porch, a hall behind an undetected front door) is one
candidate, the terrace beyond the facade another, even where a gap joins them.

Where the envelope itself fails (a round building, whose curved walls the footprint's straight
closings cannot close), the same step recovers indoor rooms fenced by their own walls; nothing here
tells the two apart, so the rooms carry no outdoor flag.

The knobs were chosen on the rooms of the R3D training share (161 plans: 46 balconies, 5 of them
already found inside the envelope) and checked on the 18 validation plans (docs/vectorize.md
"Outdoor spaces").
"""

from __future__ import annotations

import cv2
import numpy as np

from model_code.geometry.components import boundary_pixels, label_components
from model_code.geometry.vectorize import distance_map

# Knobs.  Lengths in units of the plan's wall thickness ``t``.
EDGE_LOW, EDGE_HIGH = 30, 90  # Canny hysteresis thresholds on the 8-bit grey image
OUTDOOR_MIN_CONTACT = 0.45  # share of the boundary against walls or the envelope
OUTDOOR_MIN_RADIUS = 3.0  # the largest inscribed disk's radius, x t
OUTDOOR_BEYOND_REACH = 3.0  # how far beyond the fence (x t) ...
OUTDOOR_MAX_BEYOND = 0.2  # ... at most this share of the free paper may be drawn lines
OUTDOOR_MAX_SURROUND = 0.5  # at most this share of the envelope may lie within the space's outline
OUTDOOR_STRIP_WIDTH = 0.5  # fenced strips narrower than this (x t) are cut off before the candidates

Piece = tuple[np.ndarray, int, int]  # a boolean crop and its (x, y) offset


def drawn_lines(image: np.ndarray) -> np.ndarray:
    """The plan's drawn lines and the edges of its tinted areas (``bool``, the image's shape).

    ``image`` is ``(H, W, 3)`` RGB or ``(H, W)`` grey, ``uint8``.
    """
    grey = np.asarray(image)
    if grey.ndim == 3:
        grey = cv2.cvtColor(grey, cv2.COLOR_RGB2GRAY)
    if grey.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {grey.dtype}")
    edges = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), EDGE_LOW, EDGE_HIGH)
    return cv2.dilate(edges, np.ones((3, 3), np.uint8)) > 0


def _contact(mask: np.ndarray, near: np.ndarray) -> float:
    """Share of ``mask``'s boundary pixels that lie on ``near`` (a crop of the same shape)."""
    edge = boundary_pixels(mask)
    return float(np.count_nonzero(edge & near)) / max(int(np.count_nonzero(edge)), 1)


def _beyond(mask: np.ndarray, x: int, y: int, lines: np.ndarray, free: np.ndarray, reach: int) -> float:
    """Share of drawn-line pixels within ``reach`` px beyond a crop's outline (where ``free`` holds)."""
    height, width = lines.shape
    y0, x0 = max(y - reach, 0), max(x - reach, 0)
    y1, x1 = min(y + mask.shape[0] + reach, height), min(x + mask.shape[1] + reach, width)
    grown = np.zeros((y1 - y0, x1 - x0), np.uint8)
    grown[y - y0 : y - y0 + mask.shape[0], x - x0 : x - x0 + mask.shape[1]] = mask
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    band = cv2.dilate(grown, disk).view(bool) & (grown == 0) & free[y0:y1, x0:x1]
    return float(np.count_nonzero(band & lines[y0:y1, x0:x1])) / max(int(np.count_nonzero(band)), 1)


def _hull(mask: np.ndarray) -> np.ndarray:
    """The convex hull of a crop's pixels, filled (``bool``, the crop's shape)."""
    points = cv2.findNonZero(mask.view(np.uint8))
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
    return hull.view(bool)


def _pieces(mask: np.ndarray) -> list[Piece]:
    parts = label_components(mask, connectivity=4)
    return [parts.crop(label) for label in range(1, parts.count) if parts.boxes[label] is not None]


def outdoor_spaces(
    image: np.ndarray,
    outside: np.ndarray,
    rooms: np.ndarray,
    barrier: np.ndarray,
    envelope: np.ndarray,
    wall_thickness: float,
    min_area: float,
) -> list[Piece]:
    """The outdoor spaces of a plan: parts of the ``outside`` that the drawn lines fence off.

    All arrays have the image's ``(H, W)`` shape: ``outside`` the free space joined to the image's
    border by the room barrier, ``rooms`` the pixels of the rooms found so far, ``barrier`` the
    walls, openings and bridges, ``envelope`` the building's footprint
    (:func:`model_code.geometry.rooms.building_footprint`).  ``min_area`` (px) is the smallest
    outdoor space kept.  Returns the spaces as boolean crops with their ``(x, y)`` offsets.
    """
    outside, rooms, barrier, envelope = (np.asarray(a, bool) for a in (outside, rooms, barrier, envelope))
    if image.shape[:2] != outside.shape:
        raise ValueError(f"image is {image.shape[:2]}, the masks are {outside.shape}")
    if not outside.any():
        return []
    lines = drawn_lines(image)
    blocked = lines | barrier | rooms
    free = np.pad(~blocked, 1, constant_values=True).view(np.uint8).copy()
    cv2.floodFill(free, None, (0, 0), 2)  # everything the border reaches past the drawn lines
    fenced = outside & ~rooms & (free[1:-1, 1:-1] != 2)
    strip = round(OUTDOOR_STRIP_WIDTH * wall_thickness)
    if strip > 1:  # the edge lines along the facade would join every candidate into one ring
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (strip, strip))
        fenced = cv2.morphologyEx(fenced.view(np.uint8), cv2.MORPH_OPEN, kernel).view(bool)
    if not fenced.any():
        return []
    building = (barrier | envelope).view(np.uint8)
    near = cv2.dilate(building, np.ones((3, 3), np.uint8)).view(bool)  # touching the building
    free_of_building = ~cv2.dilate(building, np.ones((5, 5), np.uint8)).view(bool) & ~rooms
    reach = max(round(OUTDOOR_BEYOND_REACH * wall_thickness), 1)
    inside = max(int(np.count_nonzero(envelope)), 1)
    out: list[Piece] = []
    for mask, x, y in _pieces(fenced & envelope) + _pieces(fenced & ~envelope):
        area = int(np.count_nonzero(mask))
        if area < min_area:
            continue
        if distance_map(mask).max() < OUTDOOR_MIN_RADIUS * wall_thickness:  # the largest inscribed disk
            continue
        window = (slice(y, y + mask.shape[0]), slice(x, x + mask.shape[1]))
        if _contact(mask, near[window]) < OUTDOOR_MIN_CONTACT:
            continue
        if _beyond(mask, x, y, lines, free_of_building, reach) > OUTDOOR_MAX_BEYOND:
            continue
        if np.count_nonzero(_hull(mask) & envelope[window]) > OUTDOOR_MAX_SURROUND * inside:
            continue  # the page round the building, closed by a frame: no balcony surrounds its building
        out.append((mask, x, y))
    return out
