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
from shapely.geometry import Polygon

from model_code.metrics import rasterize_openings, rasterize_segments
from model_code.schema import Room, bounding_box_of
from model_code.vectorize import ResolvedOptions, VectorizedPlan, VectorizeOptions
from model_code.vectorize.plan import content_window
from model_code.vectorize.segments import lengths


def _near_opening(point: np.ndarray, openings: np.ndarray, distance: float) -> bool:
    """Whether ``point`` lies within ``distance`` of any opening segment ``(M, 4)``."""
    if len(openings) == 0:
        return False
    a, b = openings[:, :2], openings[:, 2:]
    ab = b - a
    t = np.clip(np.sum((point - a) * ab, axis=1) / np.maximum(np.sum(ab * ab, axis=1), 1e-12), 0, 1)
    closest = a + ab * t[:, None]
    return bool(np.min(np.hypot(*(closest - point).T)) <= distance)


def _ray_hit(point: np.ndarray, direction: np.ndarray, segs: np.ndarray, skip: int, reach: float) -> float:
    """Distance along the ray to the nearest segment it crosses (within ``reach``), else ``inf``."""
    others = np.delete(np.arange(len(segs)), skip)
    if others.size == 0:
        return math.inf
    q0, q1 = segs[others, :2], segs[others, 2:]
    e = q1 - q0
    denom = direction[0] * e[:, 1] - direction[1] * e[:, 0]
    rel = q0 - point
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (rel[:, 0] * e[:, 1] - rel[:, 1] * e[:, 0]) / denom
        u = (rel[:, 0] * direction[1] - rel[:, 1] * direction[0]) / denom
    ok = (np.abs(denom) > 1e-9) & (s > 0) & (s <= reach) & (u >= 0) & (u <= 1)
    return float(s[ok].min()) if ok.any() else math.inf


def _facing_end(
    point: np.ndarray,
    direction: np.ndarray,
    ends: np.ndarray,
    owner: np.ndarray,
    skip: int,
    reach: float,
    t: float,
) -> float:
    """Distance to the nearest free end of another wall straight ahead (collinear door gap), else ``inf``."""
    rel = ends - point
    along = rel @ direction
    across = np.abs(rel[:, 0] * direction[1] - rel[:, 1] * direction[0])
    ok = (owner != skip) & (along > 0) & (along <= reach) & (across <= t)
    return float(along[ok].min()) if ok.any() else math.inf


def bridge_segments(plan: VectorizedPlan, resolved: ResolvedOptions) -> np.ndarray:
    """``(K, 4)`` bridges closing door-sized gaps at free wall ends that have no opening."""
    segs = plan.segments
    if len(segs) == 0:
        return np.zeros((0, 4))
    openings = np.array([[*o.start, *o.end] for o in plan.openings], np.float64).reshape(-1, 4)
    unit = (segs[:, 2:] - segs[:, :2]) / np.maximum(lengths(segs), 1e-12)[:, None]
    free_idx, free_end = np.nonzero(plan.free_ends)
    ends = np.where(free_end[:, None] == 1, segs[free_idx, 2:], segs[free_idx, :2])
    t = resolved.wall_thickness
    bridges = []
    for k, (i, end) in enumerate(zip(free_idx, free_end, strict=True)):
        point = ends[k]
        direction = unit[i] if end == 1 else -unit[i]
        if _near_opening(point, openings, t + 2.0):
            continue
        reach = resolved.door_gap
        hit = min(
            _ray_hit(point, direction, segs, int(i), reach),
            _facing_end(point, direction, ends, free_idx, int(i), reach, t),
        )
        if math.isfinite(hit):
            bridges.append([*point, *(point + direction * hit)])
    return np.asarray(bridges, np.float64).reshape(-1, 4)


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
    count, labels, stats, _ = cv2.connectedComponentsWithStats(free.view(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    found = []
    for label in range(1, count):
        area = int(stats[label, cv2.CC_STAT_AREA])
        if label in border or area < resolved.room_min_area:
            continue
        x, y = int(stats[label, cv2.CC_STAT_LEFT]), int(stats[label, cv2.CC_STAT_TOP])
        w, h = int(stats[label, cv2.CC_STAT_WIDTH]), int(stats[label, cv2.CC_STAT_HEIGHT])
        region = labels[y : y + h, x : x + w] == label
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
