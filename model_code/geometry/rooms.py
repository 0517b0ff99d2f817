"""Rooms: close the plan's boundary with walls and openings, then polygonize the free space.

The barrier is the wall mask, every vectorized wall drawn with its thickness, every opening
drawn across its gap, and *bridges*: where a wall ends in the air and no opening was
detected there, a door-sized gap (up to ``door_gap``) to the wall it faces is closed, since a
missed door would otherwise merge two rooms.  Free space is split into 4-connected regions.
Rooms that the barrier still fails to close are recovered in three steps:

* **the envelope**: a region touching the window's edge is the outside, plus whatever a missed
  exterior opening joined to it.  Its part inside the building is kept: the
  :func:`building_footprint` (the barrier closed across gaps up to ``ENVELOPE_WIDTH`` door
  gaps, holes filled), where a part may face the cut-off outside along at most
  ``ENVELOPE_MAX_OPEN`` of its boundary (a recess in the facade is no room); the gap between two
  drawings, open at both ends (``ENVELOPE_THROUGH_COS``), is no room either.  With
  ``ENVELOPE_FROM_TYPES`` and room-type maps it is the pixels whose summed type probability
  reaches ``INTERIOR_THRESHOLD`` instead: off by default, since the maps of the first typed
  checkpoint let more of the outside into rooms than the footprint did;
* **type boundaries** (room-type maps only): inside one region, parts whose most likely type
  differs, whose type the network is sure of (mean probability >= ``TYPE_SPLIT_CONFIDENCE``)
  and that are big enough (the type's minimum area, a disk of ``PART_MIN_RADIUS`` t)
  become separate rooms; slivers go to the part they are geodesically nearest to;
* **door-wide necks**: a region narrowing to at most ``NECK_WIDTH`` door gaps between two
  lobes each ``LOBE_RATIO`` times wider than the neck is cut there (levels of the distance
  transform, then a watershed); corridors and L-shaped rooms stay whole.

Pieces smaller than ``room_min_area`` are specks (``SMALL_TYPE_AREA_FACTOR`` of it for closets
and balconies); pieces the type maps call no room are dropped.  Each remaining piece becomes a
polygon (its outer boundary, traced through the region's boundary pixels and simplified
with shapely), a bounding box and its area in pixels.  Its ``type`` is the type of the highest
mean probability over its pixels, ``type_confidence`` that mean and ``name_hint`` the type's
display name; without type maps the type is ``"unknown"``.  Rooms are numbered ``r1, r2, ...``
in reading order of their top-left corner.  Everything per region works on the region's crop.
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import shapely
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely.geometry import Polygon
from skimage.segmentation import watershed

from model_code.geometry.components import boundary_pixels, label_components, remove_small
from model_code.geometry.outdoor import outdoor_spaces
from model_code.geometry.raster import rasterize_openings, rasterize_segments
from model_code.geometry.spatial import SegmentIndex
from model_code.geometry.vectorize import (
    ResolvedOptions,
    VectorizedPlan,
    VectorizeOptions,
    content_window,
    distance_map,
    lengths,
    scale_points,
)
from model_code.schema import ROOM_TYPES, TYPE_NAMES, UNKNOWN_TYPE, Room, bounding_box_of


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


# Knobs.  Lengths are in units of the plan's wall thickness ``t`` or door gap (``ResolvedOptions``).
INTERIOR_THRESHOLD = 0.5  # summed type probabilities (clipped to 1) from which a pixel is inside a room
SMALL_TYPES = frozenset({"closet", "balcony"})  # types whose rooms may be smaller than room_min_area
SMALL_TYPE_AREA_FACTOR = 0.3  # their minimum area, as a fraction of room_min_area
ENVELOPE_WIDTH = 1.5  # widest exterior gap (along x or y) the footprint closes without type maps, x door_gap
ENVELOPE_MAX_OPEN = 0.25  # most of a footprint part's boundary that may face the outside (no type maps)
# The gap between two drawings (see _between_drawings):
ENVELOPE_THROUGH_COS = -0.7  # two mouths this opposite (cosine, seen from the part's centroid) ...
ENVELOPE_MOUTH_SPAN = 0.5  # ... each at least this share of the part's mean width across them ...
ENVELOPE_MOUTH_MIN = 1.0  # ... and at least this long (x t), with two drawings around the part
ENVELOPE_DRAWING_SHARE = 0.1  # a barrier piece with this share of its pixels is a drawing of its own
PART_MIN_RADIUS = 0.8  # a part of its own type or a lobe must hold a disk of this radius, x t
NECK_WIDTH = 1.0  # widest neck that splits a region, x door_gap
LOBE_RATIO = 1.7  # both lobes' half-widths must be at least this many times the neck's
NECK_LEVEL_STEP = 1.4  # ratio between successive neck levels tried
TYPE_SPLIT_CONFIDENCE = 0.9  # a part seeds its own room only when its type's mean probability reaches this
ENVELOPE_FROM_TYPES = False  # True: with type maps, the envelope is their interior, not the footprint
OUTDOOR_MIN_SHARE = 0.15  # an outdoor space has at least this share of the plan's median room area
ROOM_MIN_INTERIOR = 0.5  # with type maps, a piece whose mean interior probability is lower is no room
NECK_MIN_HOLE = 0.25  # holes in a region up to this area, x t^2 (specks, pillars), do not form necks


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


# A piece of free space: its mask within its box and the box's top-left corner (x, y) in the window.
Piece = tuple[np.ndarray, int, int]


def _pieces_of(labels: np.ndarray, x: int, y: int) -> list[Piece]:
    """The pieces of a label image (``0`` = none) as crops, each with its window offset."""
    out = []
    for k, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is not None:
            out.append((labels[box] == k, x + int(box[1].start), y + int(box[0].start)))
    return out


def building_footprint(barrier: np.ndarray, width: float) -> np.ndarray:
    """The building's envelope: the barrier closed across gaps up to ``width`` px, holes filled (``bool``).

    The closing runs with a horizontal and a vertical line ``width`` long (the union of both),
    which closes a gap of that width in a wall of any thickness running along either axis (an
    unmarked window or door); a disk would close a gap in a thin wall only when several times
    wider than the gap.  The rooms behind such a gap lie inside the footprint.
    """
    length = max(round(width), 1)
    pad = length // 2 + 2
    walls = np.pad(np.asarray(barrier, bool), pad).view(np.uint8)
    closed = cv2.morphologyEx(walls, cv2.MORPH_CLOSE, np.ones((1, length), np.uint8))
    closed |= cv2.morphologyEx(walls, cv2.MORPH_CLOSE, np.ones((length, 1), np.uint8))
    cv2.floodFill(closed, None, (0, 0), 2)  # the outside, reached from the padded corner
    return (closed != 2)[pad:-pad, pad:-pad]


def _enclosed(
    region: np.ndarray,
    inside: np.ndarray,
    x: int,
    y: int,
    window_shape: tuple[int, int],
    max_open: float = 1.0,
    mouth_min: float = 1.0,
    drawings: np.ndarray | None = None,
) -> list[Piece]:
    """The parts of a border-touching ``region`` (a crop at ``x, y``) that lie ``inside`` the envelope.

    A part is a 4-connected component of ``region & inside`` that does not touch the window's
    edge and whose boundary runs along the cut-off outside for at most ``max_open`` of its length.
    With ``max_open`` < 1 and ``drawings`` (the barrier's 8-connected components, labelled, on the
    crop), a part is also dropped when it lies between two drawings and two of its *mouths* (runs of
    that boundary of at least ``mouth_min`` px) face each other across it
    (:func:`_between_drawings`).
    """
    kept = region & inside
    parts = label_components(kept, connectivity=4)
    height, width = window_shape
    cut_off = None
    if max_open < 1.0:
        cut_off = cv2.dilate((region & ~inside).view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    out = []
    for label in range(1, parts.count):
        part, px, py = parts.crop(label)
        if px + x == 0 or py + y == 0 or px + x + part.shape[1] >= width or py + y + part.shape[0] >= height:
            continue
        if cut_off is not None:
            edge = boundary_pixels(part)
            open_edge = edge & cut_off[py : py + part.shape[0], px : px + part.shape[1]]
            if np.count_nonzero(open_edge) > max_open * np.count_nonzero(edge):
                continue
            if drawings is not None and _between_drawings(part, px, py, open_edge, drawings, mouth_min):
                continue
        out.append((part, px + x, py + y))
    return out


def _drawings(barrier: np.ndarray) -> np.ndarray:
    """The barrier's pieces big enough to be a drawing of their own, labelled (``int32``; 0 = none).

    A piece is a drawing when it holds at least ``ENVELOPE_DRAWING_SHARE`` of the barrier's pixels:
    the walls of one floor of a sheet, not a wall fragment the network cut off.
    """
    pieces = label_components(barrier, connectivity=8)
    areas = np.array([pieces.area(k) for k in range(pieces.count)] if pieces.areas is None else pieces.areas)
    areas[0] = 0
    big = areas >= ENVELOPE_DRAWING_SHARE * max(int(areas.sum()), 1)
    big[0] = False
    return np.where(big[pieces.labels], pieces.labels, 0)


def _between_drawings(
    part: np.ndarray,
    px: int,
    py: int,
    open_edge: np.ndarray,
    drawings: np.ndarray,
    mouth_min: float,
) -> bool:
    """Whether ``part`` (a crop at ``px, py`` of ``drawings``) is the gap between two drawings.

    Two drawings of one sheet (two floors side by side) are separate pieces of the barrier, and
    the footprint closes the gap between them at both ends.  Such a part is bounded by at least
    two drawings (:func:`_drawings`; each along at least ``mouth_min`` px of a ring around it)
    and has two *mouths* facing each other across it: 8-connected runs of ``open_edge`` (its
    boundary along the cut-off outside) of at least ``mouth_min`` px, the directions from its
    centroid to theirs meeting at a cosine below ``ENVELOPE_THROUGH_COS``, each at least
    ``ENVELOPE_MOUTH_SPAN`` of the part's mean width across the line between them (the gap is
    open across its width).  A room behind missed windows at both ends of one building is bounded
    by one drawing, or its mouths are narrower than the room: it is kept.
    """
    count, _, stats, centroids = cv2.connectedComponentsWithStats(open_edge.view(np.uint8), connectivity=8)
    runs = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= mouth_min]
    if len(runs) < 2:
        return False
    mouths = centroids[runs]
    lengths = stats[runs, cv2.CC_STAT_AREA].astype(np.float64)
    ys, xs = np.nonzero(part)
    directions = mouths - np.array([xs.mean(), ys.mean()])
    directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-9)
    first, second = np.nonzero(np.triu(directions @ directions.T < ENVELOPE_THROUGH_COS, 1))
    apart = np.linalg.norm(mouths[first] - mouths[second], axis=1)
    across = len(ys) / np.maximum(apart, 1.0)  # the part's mean width across the line between the mouths
    if not np.any(np.minimum(lengths[first], lengths[second]) >= ENVELOPE_MOUTH_SPAN * across):
        return False
    height, width = part.shape
    y0, x0 = max(py - 2, 0), max(px - 2, 0)
    around = drawings[y0 : py + height + 2, x0 : px + width + 2]
    grown = np.zeros(around.shape, np.uint8)
    grown[py - y0 : py - y0 + height, px - x0 : px - x0 + width] = part
    ring = cv2.dilate(grown, np.ones((5, 5), np.uint8)).view(bool) & (grown == 0)
    pieces, contact = np.unique(around[ring], return_counts=True)
    return int(np.count_nonzero((pieces > 0) & (contact >= mouth_min))) >= 2


class _TypeMaps:
    """The network's room-type probabilities over the working window, and what follows from them."""

    def __init__(self, probs: np.ndarray):
        self.probs = probs
        self.inside = np.minimum(probs.sum(axis=0), 1.0)  # interior probability
        self.interior = self.inside >= INTERIOR_THRESHOLD
        best = np.zeros(self.inside.shape, np.int8)
        top = probs[0].copy()
        for k in range(1, len(probs)):  # argmax over the channels, without numpy's slow axis-0 argmax
            better = probs[k] > top
            best[better] = k
            np.maximum(top, probs[k], out=top)
        best[~self.interior] = -1
        self.best = best

    def means(self, piece: Piece) -> tuple[np.ndarray, float]:
        """Mean probability of each type over a piece, and its mean interior probability."""
        mask, x, y = piece
        h, w = mask.shape
        weights = mask.astype(np.float32)
        area = max(float(weights.sum()), 1.0)
        sums = np.einsum("khw,hw->k", self.probs[:, y : y + h, x : x + w], weights)
        return sums / area, float(np.einsum("hw,hw->", self.inside[y : y + h, x : x + w], weights)) / area

    def split(self, piece: Piece, min_area: float, min_radius: float) -> list[Piece]:
        """Cut a piece where the most likely type changes, between parts big enough to be rooms.

        A part of one type is a seed when it has the type's minimum area and holds a disk of
        ``min_radius``; every other pixel (slivers, pixels of no type) goes to the seed it is
        geodesically nearest to (flooding from all seeds at once within the piece).
        """
        mask, x, y = piece
        h, w = mask.shape
        best = self.best[y : y + h, x : x + w]
        kinds = np.unique(best[mask])
        kinds = kinds[kinds >= 0]
        if len(kinds) < 2:
            return [piece]
        seeds = np.zeros(mask.shape, np.int32)
        count = 0
        for kind in kinds:
            part = mask & (best == kind)
            parts = label_components(part, connectivity=4)
            if parts.count < 2:
                continue
            areas = np.bincount(parts.labels.ravel(), minlength=parts.count)
            wide = np.unique(parts.labels[distance_map(part) >= min_radius])  # parts holding the disk
            area_needed = min_area * (SMALL_TYPE_AREA_FACTOR if ROOM_TYPES[kind] in SMALL_TYPES else 1.0)
            sure = np.bincount(parts.labels.ravel(), weights=self.probs[kind, y : y + h, x : x + w].ravel())
            for label in wide[(wide > 0) & (areas[wide] >= area_needed)]:
                if sure[label] < TYPE_SPLIT_CONFIDENCE * areas[label]:
                    continue  # the network is unsure of this part's type: no cut on its word
                count += 1
                seeds[parts.labels == label] = count
        if count < 2:
            return [piece]
        flat = np.zeros(mask.shape, np.uint8)
        return _pieces_of(watershed(flat, seeds, mask=mask, connectivity=1), x, y)


def _neck_split(piece: Piece, neck_width: float, min_radius: float, min_hole: float) -> list[Piece]:
    """Cut a piece at door-wide necks between two lobes much wider than the neck.

    With ``d`` the distance to the piece's edge, the pixels with ``d > h`` fall apart at every
    neck narrower than about ``2 h``.  Levels ``h`` rise geometrically up to ``neck_width / 2``;
    at each, the components whose widest point has ``d >= LOBE_RATIO * h`` (and ``>= min_radius``)
    are lobes, and a piece holding two or more is cut between them by a watershed on ``-d``.
    Corridors and L-shaped rooms have no lobe much wider than their narrowest point, so they
    stay whole.  Holes smaller than ``min_hole`` px (specks of wall mask, pillars) are filled
    first: a narrowing between specks is no door.
    """
    mask, x, y = piece
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), bool)
    padded[1:-1, 1:-1] = ~mask
    filled = ~remove_small(padded, min_hole)[1:-1, 1:-1]
    distance = distance_map(filled)
    top = neck_width / 2
    peak = float(distance.max(initial=0.0))
    if peak < max(LOBE_RATIO, min_radius):
        return [piece]
    pieces = mask.astype(np.int32)
    count = 1
    level = 1.0
    while level <= top and LOBE_RATIO * level <= peak:
        core = (distance > level).view(np.uint8)
        n, cores = cv2.connectedComponents(core, connectivity=8, ltype=cv2.CV_32S)
        if n > 2:
            ys, xs = np.nonzero(distance >= max(LOBE_RATIO * level, min_radius))
            lobes, first = np.unique(cores[ys, xs], return_index=True)  # the cores holding a lobe
            if len(lobes) >= 2:
                owner = pieces[ys[first], xs[first]]
                for p in np.unique(owner):
                    mine = lobes[owner == p]
                    if len(mine) < 2:
                        continue
                    seeds = np.zeros(mask.shape, np.int32)
                    for k, lobe in enumerate(mine, start=1):
                        seeds[(cores == lobe) & mask] = k
                    cut = watershed(-distance, seeds, mask=pieces == p, connectivity=1)
                    pieces[cut > 1] = count + cut[cut > 1] - 1
                    count += len(mine) - 1
        level = min(level * NECK_LEVEL_STEP, top) if level < top else top + 1
    if count == 1:
        return [piece]
    return _pieces_of(pieces, x, y)


def _outdoor(
    image: np.ndarray,
    labels: np.ndarray,
    border: set[int],
    candidates: list[Piece],
    barrier: np.ndarray,
    footprint: np.ndarray,
    window: tuple[int, int, int, int],
    resolved: ResolvedOptions,
    min_area: float,
) -> list[Piece]:
    """The plan's outdoor spaces (:func:`model_code.geometry.outdoor.outdoor_spaces`), full-image offsets.

    The room stage works on the content window; a balcony's railing may lie outside it, so the
    window's masks are placed on the whole image: beyond the window everything is outside.
    """
    y0, y1, x0, x1 = window
    shape = image.shape[:2]

    def whole(crop: np.ndarray, fill: bool = False) -> np.ndarray:
        out = np.full(shape, fill, bool)
        out[y0:y1, x0:x1] = crop
        return out

    rooms = np.zeros((y1 - y0, x1 - x0), bool)
    for mask, x, y in candidates:
        rooms[y : y + mask.shape[0], x : x + mask.shape[1]] |= mask
    outside = np.isin(labels, sorted(border)) & ~barrier
    return outdoor_spaces(
        image,
        whole(outside, fill=True),
        whole(rooms),
        whole(barrier),
        whole(footprint),
        resolved.wall_thickness,
        min_area,
    )


def _check_types(room_types: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """``room_types`` as a float32 ``(K, H, W)`` array in the vocabulary's order (or ``None``)."""
    if room_types is None:
        return None
    probs = np.asarray(room_types, np.float32)
    if probs.shape != (len(ROOM_TYPES), *shape):
        raise ValueError(
            f"room_types has shape {probs.shape}, expected {(len(ROOM_TYPES), *shape)} "
            f"(one channel per type of {ROOM_TYPES})"
        )
    return probs


def detect_rooms(
    plan: VectorizedPlan,
    wall_mask: np.ndarray,
    options: VectorizeOptions | None = None,
    room_types: np.ndarray | None = None,
    image: np.ndarray | None = None,
) -> list[Room]:
    """Closed rooms of a vectorized plan: polygon, bounding box, area in px, type; ids ``r1..`` by position.

    ``wall_mask`` is the mask the plan was vectorized from (same shape).  ``options`` defaults
    to the ones the plan was vectorized with.  ``room_types`` is the network's ``(K, H, W)``
    room-type probabilities (channels in :data:`model_code.schema.ROOM_TYPES` order, same
    shape as ``wall_mask``); without it rooms are of type ``"unknown"``.  ``image``: the plan
    itself at the masks' size (``uint8`` RGB or grey); with it, the outdoor spaces its drawn
    lines fence off against the building (balconies, terraces) are rooms too
    (:mod:`model_code.geometry.outdoor`).

    Raises:
        ValueError: ``wall_mask``, ``room_types`` or ``image`` does not fit the plan's shape.
    """
    wall_mask = np.asarray(wall_mask, bool)
    if wall_mask.shape != tuple(plan.shape):
        raise ValueError(f"wall_mask has shape {wall_mask.shape}, but the plan was made for {plan.shape}")
    if image is not None and np.shape(image)[:2] != wall_mask.shape:
        raise ValueError(f"image has shape {np.shape(image)[:2]}, but the plan was made for {plan.shape}")
    probs = _check_types(room_types, wall_mask.shape)
    if options is not None:
        resolved = options.resolve(plan.shape, plan.wall_thickness)
    else:
        resolved = plan.options or VectorizeOptions().resolve(plan.shape, plan.wall_thickness)
    if not wall_mask.any() and not plan.walls:
        return []
    content = [wall_mask] if plan.opening_mask is None else [wall_mask, plan.opening_mask]
    margin = math.ceil(max([resolved.wall_thickness, *[w.thickness or 0.0 for w in plan.walls]])) + 3
    window = content_window(content, margin)
    y0, y1, x0, x1 = window
    barrier = room_barrier(plan, wall_mask, resolved, window)
    parts = label_components(~barrier, connectivity=4)
    labels = parts.labels
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])).tolist())
    types = None if probs is None else _TypeMaps(probs[:, y0:y1, x0:x1])
    min_area = resolved.room_min_area
    smallest = min_area * (SMALL_TYPE_AREA_FACTOR if types is not None else 1.0)
    min_radius = PART_MIN_RADIUS * resolved.wall_thickness
    min_hole = NECK_MIN_HOLE * resolved.wall_thickness**2
    footprint = drawings = None
    candidates: list[Piece] = []
    for label in range(1, parts.count):
        box = parts.boxes[label]
        if box is None:
            continue
        if label in border:  # the outside, and whatever a missed exterior opening joined to it
            max_open = 1.0
            if types is not None and ENVELOPE_FROM_TYPES:
                inside = types.interior[box]
            else:
                if footprint is None:
                    footprint = building_footprint(barrier, ENVELOPE_WIDTH * resolved.door_gap)
                    drawings = _drawings(barrier)
                inside, max_open = footprint[box], ENVELOPE_MAX_OPEN
            region = labels[box] == label
            candidates.extend(
                _enclosed(
                    region,
                    inside,
                    int(box[1].start),
                    int(box[0].start),
                    labels.shape,
                    max_open,
                    ENVELOPE_MOUTH_MIN * resolved.wall_thickness,
                    None if drawings is None else drawings[box],
                )
            )
            continue
        if (box[0].stop - box[0].start) * (box[1].stop - box[1].start) < smallest:
            continue  # even its whole box is too small
        candidates.append(parts.crop(label))
    found = []
    for candidate in candidates:
        if np.count_nonzero(candidate[0]) < smallest:
            continue
        typed = [candidate] if types is None else types.split(candidate, min_area, min_radius)
        for piece in typed:
            for room in _neck_split(piece, NECK_WIDTH * resolved.door_gap, min_radius, min_hole):
                mask, x, y = room
                area = int(np.count_nonzero(mask))
                kind, confidence = UNKNOWN_TYPE, None
                if types is not None:
                    means, inside = types.means(room)
                    if inside < ROOM_MIN_INTERIOR:
                        continue  # the network sees no room here
                    best = int(np.argmax(means))
                    kind, confidence = ROOM_TYPES[best], float(means[best])
                if area < min_area * (SMALL_TYPE_AREA_FACTOR if kind in SMALL_TYPES else 1.0):
                    continue
                polygon = _region_polygon(mask, (x + x0, y + y0), resolved.room_simplify)
                if polygon is None:
                    continue
                points = [(float(px), float(py)) for px, py in list(polygon.exterior.coords)[:-1]]
                found.append((points, area, kind, confidence))
    outdoor: list[Piece] = []
    if image is not None and border:
        if footprint is None:
            footprint = building_footprint(barrier, ENVELOPE_WIDTH * resolved.door_gap)
        typical = float(np.median([area for _, area, _, _ in found])) if found else 0.0
        small = max(min_area * SMALL_TYPE_AREA_FACTOR, OUTDOOR_MIN_SHARE * typical)
        outdoor = _outdoor(image, labels, border, candidates, barrier, footprint, window, resolved, small)
    for mask, x, y in outdoor:  # full-image offsets; typed, never split or refused by the type maps
        kind, confidence = UNKNOWN_TYPE, None
        if probs is not None:
            height, width = mask.shape
            means = np.einsum("khw,hw->k", probs[:, y : y + height, x : x + width], mask.astype(np.float32))
            means /= max(float(np.count_nonzero(mask)), 1.0)
            best = int(np.argmax(means))
            kind, confidence = ROOM_TYPES[best], float(means[best])
        polygon = _region_polygon(mask, (x, y), resolved.room_simplify)
        if polygon is not None:
            points = [(float(px), float(py)) for px, py in list(polygon.exterior.coords)[:-1]]
            found.append((points, int(np.count_nonzero(mask)), kind, confidence))
    found.sort(key=lambda item: (round(bounding_box_of(item[0])[1]), round(bounding_box_of(item[0])[0])))
    return [
        Room(
            id=f"r{k}",
            bounding_box=bounding_box_of(points),
            polygon=points,
            area_px=float(area),
            name_hint=TYPE_NAMES.get(kind),
            type=kind,
            type_confidence=confidence,
        )
        for k, (points, area, kind, confidence) in enumerate(found, start=1)
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
