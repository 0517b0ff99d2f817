"""Vector geometry drawn into pixel masks: walls, openings and rooms as the product and the metrics see them.

* :func:`segment_polygon` - the square-capped band of a segment with a thickness;
* :func:`fill_convex` - convex polygons to a ``bool`` mask, the pixel-centre rule the generator uses;
* :func:`rasterize_segments`, :func:`rasterize_walls`, :func:`rasterize_openings` and
  :func:`rasterize_plan` (walls minus openings) - vector plans to wall and opening masks;
* :func:`rasterize_rooms` - room polygons to a label image.

Room detection, the synthetic generator, the dataset masks, the overlays and the evaluation
metrics all draw through these functions, so a wall is the same band everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from model_code.schema import Opening, Room, Wall


def segment_polygon(start: Sequence[float], end: Sequence[float], thickness: float) -> np.ndarray:
    """Corners ``(4, 2)`` of a segment drawn as a band of ``thickness`` with square caps.

    The band extends ``thickness / 2`` past both ends, so walls that meet at a corner point
    fill the corner.  A zero-length segment is a ``thickness`` square.
    """
    p = np.asarray(start, np.float64)
    q = np.asarray(end, np.float64)
    half = max(float(thickness), 1.0) / 2.0
    vector = q - p
    length = float(np.hypot(*vector))
    unit = vector / length if length > 1e-9 else np.array([1.0, 0.0])
    normal = np.array([-unit[1], unit[0]])
    a, b = p - unit * half, q + unit * half
    return np.array([a + normal * half, b + normal * half, b - normal * half, a - normal * half])


def fill_convex(polygons: np.ndarray, shape) -> np.ndarray:
    """``bool`` mask of the pixels whose centres lie inside any of the convex ``(P, K, 2)`` polygons.

    Pixel ``(row, col)`` has its centre at ``x = col, y = row``; a centre exactly on an edge
    counts as inside (the rule :mod:`model_code.synth` draws its masks with), so a band whose
    edges fall between pixel centres covers exactly the expected pixels and an opening from
    ``x = 20`` to ``x = 30`` covers columns 20 to 30.  Scanlines are computed for all polygons
    at once and painted with a difference image, so the cost is one pass over the covered rows
    plus one cumulative sum.
    """
    height, width = int(shape[0]), int(shape[1])
    polygons = np.asarray(polygons, np.float64)
    if polygons.size == 0 or height == 0 or width == 0:
        return np.zeros((height, width), bool)
    top = np.clip(np.ceil(polygons[:, :, 1].min(axis=1)), 0, height).astype(np.int64)
    bottom = np.clip(np.floor(polygons[:, :, 1].max(axis=1)), -1, height - 1).astype(np.int64)
    counts = np.maximum(bottom - top + 1, 0)
    if counts.sum() == 0:
        return np.zeros((height, width), bool)
    pid = np.repeat(np.arange(len(polygons)), counts)
    y = (top[pid] + np.arange(len(pid)) - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.float64)
    a, b = polygons[pid], np.roll(polygons, -1, axis=1)[pid]
    ya, yb, xa, xb = a[:, :, 1], b[:, :, 1], a[:, :, 0], b[:, :, 0]
    spans = (y[:, None] >= np.minimum(ya, yb)) & (y[:, None] <= np.maximum(ya, yb)) & (ya != yb)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = np.where(spans, xa + (y[:, None] - ya) * (xb - xa) / (yb - ya), np.nan)
    hit = spans.any(axis=1)
    with np.errstate(all="ignore"):
        left = np.ceil(np.nanmin(np.where(hit[:, None], xs, 0.0), axis=1))
        right = np.floor(np.nanmax(np.where(hit[:, None], xs, 0.0), axis=1))
    left = np.clip(left, 0, width).astype(np.int64)
    right = np.clip(right, -1, width - 1).astype(np.int64)
    ok = hit & (right >= left)
    out = np.zeros((height, width), bool)
    if not ok.any():
        return out
    rows, left, right = y[ok].astype(np.int64), left[ok], right[ok]
    # paint only the window the polygons cover
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    c0, c1 = int(left.min()), int(right.max()) + 1
    span = c1 - c0 + 1
    size = (r1 - r0) * span
    diff = np.bincount((rows - r0) * span + left - c0, minlength=size).astype(np.int32)
    diff -= np.bincount((rows - r0) * span + right + 1 - c0, minlength=size).astype(np.int32)
    window = np.add.accumulate(diff.reshape(r1 - r0, span)[:, :-1], axis=1, dtype=np.int32) > 0
    out[r0:r1, c0:c1] = window
    return out


def rasterize_segments(segments: np.ndarray, thickness: Sequence[float] | float, shape) -> np.ndarray:
    """``bool`` mask of ``shape`` with each ``(x1, y1, x2, y2)`` segment drawn as a square-capped band."""
    segments = np.asarray(segments, np.float64).reshape(-1, 4)
    widths = np.broadcast_to(np.asarray(thickness, np.float64), (len(segments),))
    polygons = [segment_polygon(s[:2], s[2:], t) for s, t in zip(segments, widths, strict=True)]
    return fill_convex(np.asarray(polygons).reshape(-1, 4, 2), shape)


def rasterize_walls(walls: Sequence[Wall], shape, default_thickness: float = 3.0) -> np.ndarray:
    """``bool`` mask of ``shape`` (H, W) with each wall drawn with its thickness (square caps).

    A wall without a thickness is drawn ``default_thickness`` wide.
    """
    if not walls:
        return np.zeros((int(shape[0]), int(shape[1])), bool)
    segments = np.array([[*w.start, *w.end] for w in walls], np.float64)
    widths = [default_thickness if w.thickness is None else w.thickness for w in walls]
    return rasterize_segments(segments, widths, shape)


def rasterize_openings(openings: Sequence[Opening], shape, default_thickness: float = 3.0) -> np.ndarray:
    """``bool`` mask with each opening drawn like a wall: its span along the host, its thickness across."""
    if not openings:
        return np.zeros((int(shape[0]), int(shape[1])), bool)
    segments = np.array([[*o.start, *o.end] for o in openings], np.float64)
    widths = [default_thickness if o.thickness is None else o.thickness for o in openings]
    # an opening's start/end already are the sides of the gap: no square caps along it
    polygons = []
    for seg, width in zip(segments, widths, strict=True):
        poly = segment_polygon(seg[:2], seg[2:], width)
        length = float(np.hypot(*(seg[2:] - seg[:2])))
        if length > 1e-9:
            unit = (seg[2:] - seg[:2]) / length
            half = max(float(width), 1.0) / 2.0
            poly = poly + np.array([unit * half, -unit * half, -unit * half, unit * half])
        polygons.append(poly)
    return fill_convex(np.asarray(polygons).reshape(-1, 4, 2), shape)


def rasterize_plan(
    walls: Sequence[Wall], openings: Sequence[Opening], shape
) -> tuple[np.ndarray, np.ndarray]:
    """``(wall_mask, opening_mask)`` of a vector plan: walls with their thickness minus the openings.

    A wall runs through its doors and windows, so the wall mask of a plan is the union of
    its walls with the openings cut out (the same rule the synthetic generator and the R3D
    masks follow).  Compare this wall mask, not :func:`rasterize_walls`, with a true wall mask.
    """
    wall = rasterize_walls(walls, shape)
    opening = rasterize_openings(openings, shape)
    return wall & ~opening, opening


def rasterize_rooms(rooms: Sequence[Room], shape) -> np.ndarray:
    """``int32`` label image: room ``k`` (1-based, in list order) fills its polygon, 0 elsewhere.

    Rooms without a polygon use their bounding box.  Later rooms overwrite earlier ones.
    Vertices are rounded to pixel centres and boundary pixels count as inside, so a polygon
    traced through the boundary pixels of a region (as :mod:`model_code.geometry.rooms` does) draws
    that region back exactly.
    """
    height, width = int(shape[0]), int(shape[1])
    labels = np.zeros((height, width), np.int32)
    for index, room in enumerate(rooms, start=1):
        if room.polygon and len(room.polygon) >= 3:
            poly = np.asarray(room.polygon, np.float64)
        else:
            x0, y0, x1, y1 = room.bounding_box
            poly = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
        pts = np.rint(poly).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(labels, [pts], index, lineType=cv2.LINE_8)
    return labels
