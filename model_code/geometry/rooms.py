"""Rooms: close the plan's boundary with walls and openings, then polygonize the free space.

The barrier is the wall mask, every vectorized wall drawn with its thickness, every opening
drawn across its gap, and *bridges*: where a wall ends in the air and no opening was
detected there, a door-sized gap (up to ``door_gap``) to the wall it faces is closed, since a
missed door would otherwise merge two rooms.  Free space is split into 4-connected regions;
regions touching the image border are the outside, regions smaller than ``room_min_area``
are specks (cupboard corners, gaps between double lines).  Each remaining region becomes a
polygon (its outer boundary, traced through the region's boundary pixels and simplified
with shapely), a bounding box and its area in pixels.  Rooms are numbered ``r1, r2, ...``
in reading order of their top-left corner.  ``name_hint`` is left ``None``: masks carry no
room names.
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

from model_code.geometry.components import label_components
from model_code.geometry.raster import rasterize_openings, rasterize_segments
from model_code.geometry.spatial import SegmentIndex
from model_code.geometry.vectorize import (
    ResolvedOptions,
    VectorizedPlan,
    VectorizeOptions,
    content_window,
    lengths,
    scale_points,
)
from model_code.schema import Room, bounding_box_of


def _min_per(group: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Smallest value per group id ``0..size-1`` (``inf`` for groups without values)."""
    out = np.full(size, np.inf)
    np.minimum.at(out, group, values)
    return out


def _ray_hits(ends: np.ndarray, directions: np.ndarray, owners: np.ndarray, segs: np.ndarray, reach: float):
    """For each ray, the distance to the first other segment it crosses within ``reach`` (else ``inf``)."""
    k, j = SegmentIndex(segs, max(reach / 4, 1.0)).near(ends, reach)
    keep = owners[k] != j
    k, j = k[keep], j[keep]
    e = segs[j, 2:] - segs[j, :2]
    d, rel = directions[k], segs[j, :2] - ends[k]
    denom = d[:, 0] * e[:, 1] - d[:, 1] * e[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (rel[:, 0] * e[:, 1] - rel[:, 1] * e[:, 0]) / denom
        u = (rel[:, 0] * d[:, 1] - rel[:, 1] * d[:, 0]) / denom
    ok = (np.abs(denom) > 1e-9) & (s > 0) & (s <= reach) & (u >= 0) & (u <= 1)
    return _min_per(k[ok], s[ok], len(ends))


def _facing_ends(ends: np.ndarray, directions: np.ndarray, owners: np.ndarray, reach: float, t: float):
    """For each free end, the distance to the nearest other free end straight ahead (a collinear door gap)."""
    pairs = cKDTree(ends).query_pairs(reach, output_type="ndarray")
    if len(pairs) == 0:
        return np.full(len(ends), np.inf)
    k = np.concatenate([pairs[:, 0], pairs[:, 1]])
    m = np.concatenate([pairs[:, 1], pairs[:, 0]])
    rel, d = ends[m] - ends[k], directions[k]
    along = np.sum(rel * d, axis=1)
    across = np.abs(rel[:, 0] * d[:, 1] - rel[:, 1] * d[:, 0])
    ok = (owners[k] != owners[m]) & (along > 0) & (along <= reach) & (across <= t)
    return _min_per(k[ok], along[ok], len(ends))


def bridge_segments(plan: VectorizedPlan, resolved: ResolvedOptions) -> np.ndarray:
    """``(K, 4)`` bridges closing door-sized gaps at free wall ends that have no opening."""
    segs = plan.segments
    if len(segs) == 0:
        return np.zeros((0, 4))
    unit = (segs[:, 2:] - segs[:, :2]) / np.maximum(lengths(segs), 1e-12)[:, None]
    free_idx, free_end = np.nonzero(plan.free_ends)
    if free_idx.size == 0:
        return np.zeros((0, 4))
    ends = np.where(free_end[:, None] == 1, segs[free_idx, 2:], segs[free_idx, :2])
    directions = np.where(free_end[:, None] == 1, unit[free_idx], -unit[free_idx])
    t = resolved.wall_thickness
    reach = resolved.door_gap
    hit = np.minimum(
        _ray_hits(ends, directions, free_idx, segs, reach), _facing_ends(ends, directions, free_idx, reach, t)
    )
    if plan.openings:
        openings = np.array([[*o.start, *o.end] for o in plan.openings], np.float64)
        near, _ = SegmentIndex(openings, 1.0).near(ends, t + 2.0)
        hit[np.unique(near)] = np.inf  # that gap is a detected opening already
    found = np.isfinite(hit)
    return np.hstack([ends[found], ends[found] + directions[found] * hit[found, None]])


def room_barrier(
    plan: VectorizedPlan,
    wall_mask: np.ndarray,
    resolved: ResolvedOptions,
    window: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Everything that separates rooms: wall mask, vector walls, openings and bridges (``bool``).

    ``window`` = ``(y0, y1, x0, x1)`` restricts the result to that part of the image.
    """
    y0, y1, x0, x1 = window or (0, plan.shape[0], 0, plan.shape[1])
    shape = (y1 - y0, x1 - x0)
    shift = np.array([x0, y0, x0, y0], np.float64)
    barrier = np.asarray(wall_mask, bool)[y0:y1, x0:x1].copy()
    if len(plan.segments):
        widths = [w.thickness or resolved.wall_thickness for w in plan.walls]
        barrier |= rasterize_segments(plan.segments - shift, widths, shape)
    if plan.openings:
        moved = [
            replace(o, start=(o.start[0] - x0, o.start[1] - y0), end=(o.end[0] - x0, o.end[1] - y0))
            for o in plan.openings
        ]
        barrier |= rasterize_openings(moved, shape, default_thickness=resolved.wall_thickness)
    if plan.opening_mask is not None:
        barrier |= plan.opening_mask[y0:y1, x0:x1]
    bridges = bridge_segments(plan, resolved)
    if len(bridges):
        barrier |= rasterize_segments(bridges - shift, resolved.wall_thickness, shape)
    return barrier


def _region_polygon(region: np.ndarray, offset: tuple[int, int], tolerance: float) -> Polygon | None:
    """Simplified outer boundary of one region (crop ``region``, top-left ``offset`` = (x, y))."""
    contours, _ = cv2.findContours(region.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64)
    contour += np.asarray(offset, np.float64)
    if len(contour) < 3:
        return None
    polygon = Polygon(contour).simplify(tolerance, preserve_topology=True)
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    if polygon.geom_type != "Polygon":
        parts = [g for g in getattr(polygon, "geoms", []) if g.geom_type == "Polygon"]
        polygon = max(parts, key=lambda g: g.area) if parts else None
    if polygon is None or polygon.is_empty or polygon.area <= 0:
        return None
    return polygon


def detect_rooms(
    plan: VectorizedPlan, wall_mask: np.ndarray, options: VectorizeOptions | None = None
) -> list[Room]:
    """Closed rooms of a vectorized plan: polygon, bounding box, area in px; ids ``r1..`` by position.

    ``wall_mask`` is the mask the plan was vectorized from (same shape).  ``options`` defaults
    to the ones the plan was vectorized with.
    """
    wall_mask = np.asarray(wall_mask, bool)
    if wall_mask.shape != tuple(plan.shape):
        raise ValueError(f"wall_mask has shape {wall_mask.shape}, but the plan was made for {plan.shape}")
    if options is not None:
        resolved = options.resolve(plan.shape, plan.wall_thickness)
    else:
        resolved = plan.options or VectorizeOptions().resolve(plan.shape, plan.wall_thickness)
    if not wall_mask.any() and not plan.walls:
        return []
    content = [wall_mask] if plan.opening_mask is None else [wall_mask, plan.opening_mask]
    margin = math.ceil(max([resolved.wall_thickness, *[w.thickness or 0.0 for w in plan.walls]])) + 3
    window = content_window(content, margin)
    free = ~room_barrier(plan, wall_mask, resolved, window)
    parts = label_components(free, connectivity=4)
    labels = parts.labels
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])).tolist())
    found = []
    for label in range(1, parts.count):
        box = parts.boxes[label]
        if label in border or box is None:
            continue
        if (box[0].stop - box[0].start) * (box[1].stop - box[1].start) < resolved.room_min_area:
            continue  # even its whole box is too small
        region, x, y = parts.crop(label)
        area = int(np.count_nonzero(region))
        if area < resolved.room_min_area:
            continue
        polygon = _region_polygon(region, (x + window[2], y + window[0]), resolved.room_simplify)
        if polygon is None:
            continue
        points = [(float(px), float(py)) for px, py in list(polygon.exterior.coords)[:-1]]
        found.append((points, area))
    found.sort(key=lambda item: (round(bounding_box_of(item[0])[1]), round(bounding_box_of(item[0])[0])))
    return [
        Room(id=f"r{k}", bounding_box=bounding_box_of(points), polygon=points, area_px=float(area))
        for k, (points, area) in enumerate(found, start=1)
    ]


def scale_rooms(rooms: list[Room], scale_x: float, scale_y: float) -> list[Room]:
    """Rooms found on a reduced mask in the coordinates of an image ``scale`` times larger.

    Polygon vertices and bounding-box corners use the pixel-centre mapping of
    :func:`model_code.geometry.vectorize.plan.scale_points`; areas scale by ``scale_x * scale_y``.
    """
    out = []
    for room in rooms:
        polygon = None
        if room.polygon is not None:
            scaled = scale_points(np.array(room.polygon), scale_x, scale_y)
            polygon = [(float(x), float(y)) for x, y in scaled]
        corners = scale_points(np.reshape(room.bounding_box, (2, 2)), scale_x, scale_y)
        box = bounding_box_of(polygon) if polygon else [float(v) for v in corners.ravel()]
        area = None if room.area_px is None else room.area_px * scale_x * scale_y
        out.append(replace(room, polygon=polygon, bounding_box=box, area_px=area))
    return out
