"""``vectorize``: wall (and opening) mask -> walls with thickness, load-bearing flag and openings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from model_code.geometry.raster import rasterize_segments
from model_code.geometry.vectorize.graph import (
    SkeletonGraph,
    block_max_at,
    build_graph,
    downscale_mask,
    merge_pass_through,
    prune_spurs,
    remove_specks,
    ridge_map,
    ridge_thickness,
    scale_graph,
    skeleton_factor,
    skeleton_of,
)
from model_code.geometry.vectorize.junctions import distinct_segments, junction_groups, meet_at_junctions
from model_code.geometry.vectorize.openings import extract_openings
from model_code.geometry.vectorize.options import ResolvedOptions, VectorizeOptions
from model_code.geometry.vectorize.segments import (
    dedupe,
    dominant_angle,
    drop_covered,
    fit_free_ends,
    lengths,
    merge_collinear,
    opening_proximity,
    polyline_segments,
    snap_junctions,
    snap_orientations,
)
from model_code.geometry.vectorize.thickness import (
    distance_map,
    exterior_fraction,
    load_bearing,
    outside_region,
    recentre,
    thickness_from_distance,
    typical_thickness_of,
    wall_profiles,
    wall_thicknesses,
)
from model_code.schema import Opening, Wall


@dataclass
class VectorizedPlan:
    """Walls and openings of one plan, plus what room detection needs to close the rooms.

    ``segments`` (``(N, 4)``), ``free_ends`` (``(N, 2)``: the end meets no other wall) and
    ``exterior`` (share of the wall's outer side that faces the outside) are aligned with
    ``walls``.  ``opening_mask`` is the opening mask as given, as ``bool`` (or ``None``).
    """

    walls: list[Wall]
    openings: list[Opening]
    wall_thickness: float
    shape: tuple[int, int]
    options: ResolvedOptions | None = None
    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    free_ends: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), bool))
    exterior: np.ndarray = field(default_factory=lambda: np.zeros(0))
    opening_mask: np.ndarray | None = None


def _as_mask(array: np.ndarray | None, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Validate a 2-D mask (bool, or numbers where non-zero means set) and return it as ``bool``."""
    if array is None:
        raise ValueError(f"{name} is missing")
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape} like the wall mask")
    if array.dtype != bool:
        if not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"{name} must be boolean or numeric, got dtype {array.dtype}")
        array = array > (127 if array.dtype == np.uint8 and array.max(initial=0) > 1 else 0)
    return np.ascontiguousarray(array)


def _near_mask(
    mask: np.ndarray | None, xs: np.ndarray, ys: np.ndarray, radii: np.ndarray
) -> np.ndarray | None:
    """For each point, whether ``mask`` has a set pixel in the square of its radius (``radii``) around it."""
    if mask is None:
        return None
    out = np.zeros(len(xs), bool)
    for k, (x, y, r) in enumerate(zip(xs, ys, radii.tolist(), strict=True)):
        out[k] = mask[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1].any()
    return out


def _graph_segments(
    graph: SkeletonGraph,
    dist: np.ndarray,
    openings: np.ndarray | None,
    resolved: ResolvedOptions,
    spacing: float = 1.0,
) -> np.ndarray:
    """Skeleton graph (full-resolution coordinates) -> pruned graph -> Douglas-Peucker segments ``(N, 4)``.

    ``dist`` gives the local thickness at the nodes (the distance transform, or its ridge map
    when the skeleton came from a reduced mask).  A skeleton branch that ends within one wall
    (local) thickness of a door or window (``openings``) is a wall piece beside the opening (the
    skeleton stops half a thickness short of it), not a spur.
    """
    if len(graph.nodes):
        height, width = dist.shape
        xs = np.clip(np.rint(graph.nodes[:, 0]).astype(int), 0, width - 1)
        ys = np.clip(np.rint(graph.nodes[:, 1]).astype(int), 0, height - 1)
        local = np.asarray(thickness_from_distance(dist[ys, xs]), np.float64)
        # the skeleton stops half a local thickness short of an opening in the wall
        radii = np.ceil(np.maximum(local, resolved.wall_thickness)).astype(int)
        protected = _near_mask(openings, xs, ys, radii)
        prune_spurs(graph, local, resolved.spur_factor, protected)
        merge_pass_through(graph)
    pieces = [
        polyline_segments(path, resolved.dp_epsilon, resolved.wall_thickness, spacing)
        for _, _, path in graph.edges.values()
    ]
    pieces = [p for p in pieces if len(p)]
    return np.vstack(pieces) if pieces else np.zeros((0, 4))


def _order_by_position(segs: np.ndarray) -> np.ndarray:
    """Indices that sort segments top to bottom, then left to right (by their upper-left end)."""
    top = np.minimum(segs[:, 1], segs[:, 3])
    left = np.minimum(segs[:, 0], segs[:, 2])
    return np.lexsort((np.round(left, 1), np.round(top, 1)))


def _clip(segs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Clip coordinates into the image: ``0 <= x <= W - 1``, ``0 <= y <= H - 1``."""
    out = segs.copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, shape[1] - 1)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, shape[0] - 1)
    return out


def trace_segments(
    mask: np.ndarray,
    blocker: np.ndarray | None,
    options: VectorizeOptions,
    image_shape: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, ResolvedOptions]:
    """Mask -> ``(segments, connected ends, mask without specks, resolved options)``.

    ``image_shape`` is the whole image's shape when ``mask`` is a window of it (tolerances
    that scale with the image size use it).
    """
    dist = distance_map(mask)
    ridge = ridge_map(dist)
    factor = skeleton_factor(ridge_thickness(dist, ridge), options.half_resolution_thickness)
    skeleton = skeleton_of(downscale_mask(mask, factor))
    # a reduced skeleton pixel stands for a block of pixels: read the centreline value as the
    # block's largest distance
    samples = block_max_at(dist, *np.nonzero(skeleton), factor)
    resolved = options.resolve(image_shape or mask.shape, typical_thickness_of(samples))
    clean = remove_specks(mask, resolved.speck_area)
    skeleton &= downscale_mask(clean, factor)
    graph = scale_graph(build_graph(skeleton), factor)
    segs = _graph_segments(graph, dist if factor == 1 else ridge, blocker, resolved, float(factor))
    if len(segs) == 0:
        return segs, np.zeros((0, 2), bool), clean, resolved
    segs = snap_orientations(segs, dominant_angle(segs), resolved.snap_angle)
    proximity = opening_proximity(blocker)  # built once for both steps that ask "near an opening?"
    segs = merge_collinear(
        segs,
        resolved.merge_angle,
        resolved.merge_offset,
        resolved.merge_gap,
        blocker,
        resolved.opening_gap,
        wall_thicknesses(segs, clean, resolved.wall_thickness),
        proximity=proximity,
    )
    # crumbs shorter than half a thickness (pixels between two nearby junctions) only confuse
    # the junction snapping below
    segs = segs[lengths(segs) >= 0.5 * resolved.wall_thickness]
    thick, shift = wall_profiles(segs, clean, resolved.wall_thickness)
    segs = recentre(segs, shift)
    segs, connected = snap_junctions(
        segs,
        resolved.snap_distance,
        resolved.extend_distance,
        blocker,
        resolved.opening_gap,
        proximity=proximity,
    )
    segs = fit_free_ends(segs, connected, clean if blocker is None else clean | blocker, thick)
    keep = (lengths(segs) >= max(resolved.min_wall_length, 1e-9)) & drop_covered(segs, thick)
    segs, connected = segs[keep], connected[keep]
    unique = dedupe(segs)
    if len(unique) != len(segs):
        index = [int(np.flatnonzero((segs == row).all(axis=1))[0]) for row in unique]
        segs, connected = segs[index], connected[index]
    return _clip(segs, mask.shape), connected, clean, resolved


def content_window(masks: list[np.ndarray], margin: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the set pixels of all ``masks``, grown by ``margin`` within the image.

    Plans sit on wide white margins; working on this window instead of the whole image saves
    a third or more of every whole-image operation.  Masks with nothing set give the full image.
    """
    height, width = masks[0].shape
    content = masks[0].copy()
    for mask in masks[1:]:
        content |= mask
    rows = np.flatnonzero(content.any(axis=1))
    cols = np.flatnonzero(content.any(axis=0))
    if rows.size == 0:
        return 0, height, 0, width
    return (
        max(int(rows[0]) - margin, 0),
        min(int(rows[-1]) + margin + 1, height),
        max(int(cols[0]) - margin, 0),
        min(int(cols[-1]) + margin + 1, width),
    )


def _placed_opening(opening: Opening, dx: float, dy: float, shape: tuple[int, int]) -> Opening:
    """A copy of ``opening`` moved by ``(dx, dy)``, its ends clipped into the image like the walls'.

    An opening blob of one or two pixels at the image border has a span that reaches half a
    pixel past it.
    """
    ((x1, y1, x2, y2),) = _clip(
        np.array([[opening.start[0] + dx, opening.start[1] + dy, opening.end[0] + dx, opening.end[1] + dy]]),
        shape,
    )
    return replace(opening, start=(float(x1), float(y1)), end=(float(x2), float(y2)))


def vectorize(
    wall_mask: np.ndarray, opening_mask: np.ndarray | None = None, options: VectorizeOptions | None = None
) -> VectorizedPlan:
    """Turn a wall mask (and optional opening mask) into walls and openings.

    Masks are 2-D; ``bool`` or numbers (non-zero, or > 127 for 0/255 ``uint8``, means set).
    Walls get ids ``w1, w2, ...`` in reading order, their measured thickness, the
    load-bearing heuristic (see :mod:`model_code.geometry.vectorize.thickness`) and its confidence.
    All tolerances derive from the full image size, but the work happens on the window
    that holds the walls and openings (:func:`content_window`).

    Raises:
        ValueError: a mask is not 2-D, empty, of a non-numeric type, or the shapes differ.
    """
    options = options or VectorizeOptions()
    full = _as_mask(wall_mask, "wall_mask")
    shape = (int(full.shape[0]), int(full.shape[1]))
    openings_full = None if opening_mask is None else _as_mask(opening_mask, "opening_mask", shape)
    if not full.any():
        resolved = options.resolve(shape, 1.0)
        openings = (
            []
            if openings_full is None
            else extract_openings(
                openings_full,
                np.zeros((0, 4)),
                [],
                np.zeros(0),
                np.zeros(0),
                resolved.opening_speck_area,
                0.0,
            )
        )
        openings = [_placed_opening(o, 0, 0, shape) for o in openings]
        return VectorizedPlan([], openings, 0.0, shape, resolved, opening_mask=openings_full)
    y0, y1, x0, x1 = content_window([full] if openings_full is None else [full, openings_full], 3)
    mask = full[y0:y1, x0:x1]
    openings_in = None if openings_full is None else openings_full[y0:y1, x0:x1]
    blocker = None
    if openings_in is not None and openings_in.any():
        blocker = cv2.dilate(openings_in.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    segs, connected, clean, resolved = trace_segments(mask, blocker, options, shape)
    tolerance = junction_tolerance(resolved.wall_thickness)
    corner = CORNER_REACH * resolved.wall_thickness + tolerance
    groups = junction_groups(segs, tolerance, corner)
    segs = _clip(meet_at_junctions(segs, groups, 2 * corner), mask.shape)
    for group in groups:  # ends that meet another wall are connected (not free)
        connected[group % len(segs), group // len(segs)] = True
    keep = distinct_segments(segs)
    segs, connected = segs[keep].reshape(-1, 4), connected[keep].reshape(-1, 2)
    thick = wall_thicknesses(segs, clean, resolved.wall_thickness)
    order = _order_by_position(segs) if len(segs) else np.zeros(0, int)
    segs, connected, thick = segs[order], connected[order], thick[order]
    barrier = rasterize_segments(segs, thick, mask.shape) | (blocker if blocker is not None else False)
    exterior = exterior_fraction(segs, thick, outside_region(mask, barrier))
    bearing, confidence = load_bearing(thick, exterior, resolved.thick_ratio)
    ids = [f"w{k}" for k in range(1, len(segs) + 1)]
    segs = segs + np.array([x0, y0, x0, y0], np.float64)
    walls = [
        Wall(
            start=(float(s[0]), float(s[1])),
            end=(float(s[2]), float(s[3])),
            thickness=float(t),
            is_load_bearing=bool(b),
            id=wid,
            confidence=float(c),
        )
        for s, t, b, c, wid in zip(segs, thick, bearing, confidence, ids, strict=True)
    ]
    openings = []
    if openings_in is not None:
        found = extract_openings(
            openings_in,
            segs - np.array([x0, y0, x0, y0], np.float64),
            ids,
            thick,
            exterior,
            resolved.opening_speck_area,
            resolved.opening_host_distance,
        )
        openings = [_placed_opening(o, x0, y0, shape) for o in found]
    return VectorizedPlan(
        walls=walls,
        openings=openings,
        wall_thickness=resolved.wall_thickness,
        shape=shape,
        options=resolved,
        segments=segs,
        free_ends=~connected,
        exterior=exterior,
        opening_mask=openings_full,
    )


CORNER_REACH = 0.75  # wall thicknesses: how far apart the two ends of an unjoined L corner may be


def junction_tolerance(wall_thickness: float) -> float:
    """How close (px) two wall ends must be to count as one junction: 1 px, or a fifth of a wall."""
    return max(1.0, 0.2 * float(wall_thickness))


def scale_points(points: np.ndarray, scale_x: float, scale_y: float) -> np.ndarray:
    """Pixel-centre coordinates ``(..., 2)`` of a reduced image in the full image.

    Pixel ``k`` of the reduced image covers full pixels ``k * s`` to ``(k + 1) * s``, so its
    centre ``k`` maps to ``(k + 0.5) * s - 0.5``.
    """
    scale = np.array([scale_x, scale_y], np.float64)
    return (np.asarray(points, np.float64) + 0.5) * scale - 0.5


def _rejoin(segs: np.ndarray, connected: np.ndarray, tolerance: float) -> np.ndarray:
    """After re-centring, move the ends that met another wall back onto it (free ends stay)."""
    snapped, _ = snap_junctions(segs, tolerance, 0.0)
    keep = np.repeat(~connected, 2, axis=1)  # (N, 4): x, y of each free end
    return np.where(keep, segs, snapped)


def scale_plan(
    plan: VectorizedPlan,
    scale_x: float,
    scale_y: float,
    wall_mask: np.ndarray | None = None,
    opening_mask: np.ndarray | None = None,
) -> VectorizedPlan:
    """``plan`` (traced on a reduced mask) in the coordinates of an image ``scale`` times larger.

    Walls and openings move with the pixel-centre mapping; lengths scale by the mean factor.
    With the full-size ``wall_mask``, each wall's thickness and centreline are measured again
    on it (the reduced mask quantises them to whole reduced pixels), ends that met another wall
    are moved back onto it, and openings move onto their host's centreline and take its thickness.
    Ends that were one junction in ``plan`` (:func:`junction_groups`) are one point again after all
    that: where the re-centred walls cross (:func:`meet_at_junctions`), identical for every wall.
    ``opening_mask`` becomes the plan's opening mask.
    """
    factor = (scale_x + scale_y) / 2.0
    if wall_mask is not None:
        shape = wall_mask.shape
    else:
        shape = (round(plan.shape[0] * scale_y), round(plan.shape[1] * scale_x))
    segs = scale_points(plan.segments.reshape(-1, 2), scale_x, scale_y).reshape(-1, 4)
    thick = np.array([(w.thickness or 0.0) * factor for w in plan.walls])
    if wall_mask is not None and len(segs):
        thick, shift = wall_profiles(segs, np.asarray(wall_mask, bool), plan.wall_thickness * factor)
        segs = _rejoin(recentre(segs, np.clip(shift, -factor, factor)), ~plan.free_ends, 2.0 * factor + 1.0)
    if len(segs):
        groups = junction_groups(plan.segments, 0.5)  # ends that vectorize() already made one point
        reach = 2.0 * (CORNER_REACH * plan.wall_thickness + junction_tolerance(plan.wall_thickness)) * factor
        segs = _clip(meet_at_junctions(segs, groups, reach), (int(shape[0]), int(shape[1])))
    walls = [
        replace(wall, start=(float(s[0]), float(s[1])), end=(float(s[2]), float(s[3])), thickness=float(t))
        for wall, s, t in zip(plan.walls, segs, thick, strict=True)
    ]
    by_id = {wall.id: (wall.thickness, seg) for wall, seg in zip(walls, segs, strict=True)}
    openings = []
    for opening in plan.openings:
        ends = scale_points(np.array([opening.start, opening.end]), scale_x, scale_y)
        width = (opening.thickness or 0.0) * factor
        if opening.wall_id in by_id:  # onto the host's re-measured centreline, with its thickness
            width, host = by_id[opening.wall_id]
            unit = (host[2:] - host[:2]) / max(float(np.hypot(*(host[2:] - host[:2]))), 1e-12)
            ends = host[:2] + ((ends - host[:2]) @ unit)[:, None] * unit
        openings.append(
            replace(
                opening,
                start=(float(ends[0, 0]), float(ends[0, 1])),
                end=(float(ends[1, 0]), float(ends[1, 1])),
                thickness=float(width),
            )
        )
    return replace(
        plan,
        walls=walls,
        openings=openings,
        wall_thickness=plan.wall_thickness * factor,
        shape=(int(shape[0]), int(shape[1])),
        segments=segs,
        opening_mask=None if opening_mask is None else np.asarray(opening_mask, bool),
    )
