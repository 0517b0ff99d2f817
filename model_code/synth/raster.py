"""Exact rasterisation of vector ground truth into masks, with one documented pixel rule.

Pixel rule: pixel ``(row r, column c)`` has its centre at ``(x=c, y=r)`` and belongs to a
polygon when its centre lies inside the polygon.  A wall is the rectangle around its
centreline, ``thickness`` wide, extended by ``thickness / 2`` past both ends (square caps, so
corners close).  An opening is the rectangle around its segment with its ``thickness`` (the
host wall's), without caps.  The wall mask is the union of walls minus the openings; the room
label image fills each room polygon with its 1-based index and leaves walls and openings at 0.

The generator renders its masks with these functions, so re-rasterising the annotation JSON
(with this module or any centre-in-polygon rasteriser) reproduces the masks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from model_code.schema import Annotation, Opening, Point, Wall

DEFAULT_OPENING_THICKNESS = 3.0


def fill_polygon(
    target: np.ndarray, polygon: np.ndarray | Sequence[Point], value: int | bool = True
) -> np.ndarray:
    """Set every pixel of ``target`` whose centre lies inside ``polygon`` to ``value``.

    ``polygon`` is an ``(N, 2)`` ring of ``(x, y)`` points (not repeated at the end).  The fill
    uses the even-odd rule on pixel-centre scanlines, vectorised over rows; it returns ``target``.
    """
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(points) < 3 or not np.all(np.isfinite(points)):
        return target
    height, width = target.shape[:2]
    row_lo = max(int(np.ceil(points[:, 1].min())), 0)
    row_hi = min(int(np.floor(points[:, 1].max())), height - 1)
    if row_hi < row_lo:
        return target
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    keep = y0 != y1
    x0, y0, x1, y1 = x0[keep], y0[keep], x1[keep], y1[keep]
    rows = np.arange(row_lo, row_hi + 1, dtype=np.float64)
    lo = np.minimum(y0, y1)[:, None]
    hi = np.maximum(y0, y1)[:, None]
    crosses = (rows[None, :] >= lo) & (rows[None, :] < hi)  # half-open: each vertex counted once
    edge_idx, row_idx = np.nonzero(crosses)
    if len(edge_idx) == 0:
        return target
    row_y = rows[row_idx]
    t = (row_y - y0[edge_idx]) / (y1[edge_idx] - y0[edge_idx])
    xs = x0[edge_idx] + t * (x1[edge_idx] - x0[edge_idx])
    order = np.lexsort((xs, row_idx))
    xs, row_idx = xs[order], row_idx[order]
    if len(xs) % 2:  # degenerate input; even-odd pairing needs an even count
        return target
    xs = xs.reshape(-1, 2)
    span_rows = row_idx[0::2]
    col_lo = np.maximum(np.ceil(xs[:, 0]), 0).astype(np.int64)
    col_hi = np.minimum(np.floor(xs[:, 1]), width - 1).astype(np.int64)
    valid = col_hi >= col_lo
    if not np.any(valid):
        return target
    span_rows, col_lo, col_hi = span_rows[valid], col_lo[valid], col_hi[valid]
    c_lo, c_hi = int(col_lo.min()), int(col_hi.max())
    diff = np.zeros((row_hi - row_lo + 1, c_hi - c_lo + 2), dtype=np.int32)
    np.add.at(diff, (span_rows, col_lo - c_lo), 1)
    np.add.at(diff, (span_rows, col_hi - c_lo + 1), -1)
    inside = np.cumsum(diff, axis=1)[:, :-1] > 0
    window = target[row_lo : row_hi + 1, c_lo : c_hi + 1]
    window[inside] = value
    return target


def band_polygon(start: Point, end: Point, thickness: float, cap: float = 0.0) -> np.ndarray:
    """The rectangle ``thickness`` wide around segment ``start``-``end``, extended by ``cap`` at both ends."""
    p0 = np.asarray(start, dtype=np.float64)
    p1 = np.asarray(end, dtype=np.float64)
    direction = p1 - p0
    length = float(np.hypot(*direction))
    direction = np.array([1.0, 0.0]) if length == 0.0 else direction / length
    normal = np.array([-direction[1], direction[0]]) * (thickness / 2.0)
    a = p0 - direction * cap
    b = p1 + direction * cap
    return np.array([a + normal, b + normal, b - normal, a - normal])


def wall_polygon(wall: Wall, default_thickness: float = 1.0) -> np.ndarray:
    """The wall's footprint: its centreline band with square caps of half its thickness."""
    thickness = float(wall.thickness) if wall.thickness else default_thickness
    return band_polygon(wall.start, wall.end, thickness, cap=thickness / 2.0)


def opening_polygon(opening: Opening, default_thickness: float = DEFAULT_OPENING_THICKNESS) -> np.ndarray:
    """The opening's gap in its host wall: its segment band with the host thickness, no caps."""
    thickness = float(opening.thickness) if opening.thickness else default_thickness
    return band_polygon(opening.start, opening.end, thickness, cap=0.0)


def wall_and_opening_masks(
    walls: Iterable[Wall], openings: Iterable[Opening], height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise walls and openings: ``(wall_mask, opening_mask)`` as ``bool`` (H, W) arrays."""
    wall_mask = np.zeros((height, width), dtype=bool)
    opening_mask = np.zeros((height, width), dtype=bool)
    for wall in walls:
        fill_polygon(wall_mask, wall_polygon(wall))
    for opening in openings:
        fill_polygon(opening_mask, opening_polygon(opening))
    wall_mask &= ~opening_mask
    return wall_mask, opening_mask


def room_label_image(
    polygons: Sequence[Sequence[Point] | np.ndarray | None], blocked: np.ndarray, height: int, width: int
) -> np.ndarray:
    """Fill room ``k`` (1-based, in list order) into an int32 (H, W) image; ``blocked`` pixels stay 0."""
    labels = np.zeros((height, width), dtype=np.int32)
    for index, polygon in enumerate(polygons, start=1):
        if polygon is not None:
            fill_polygon(labels, polygon, index)
    labels[blocked] = 0
    return labels


def rasterize_annotation(annotation: Annotation, height: int, width: int) -> tuple[np.ndarray, ...]:
    """``(wall_mask, opening_mask, room_labels)`` of an annotation, by the rule in this module's docstring."""
    wall_mask, opening_mask = wall_and_opening_masks(annotation.walls, annotation.openings, height, width)
    labels = room_label_image([r.polygon for r in annotation.rooms], wall_mask | opening_mask, height, width)
    return wall_mask, opening_mask, labels
