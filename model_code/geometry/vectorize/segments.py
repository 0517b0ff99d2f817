"""Skeleton paths -> few, long, straight wall segments that meet exactly at junctions.

Segments are ``(N, 4)`` float arrays of ``x1, y1, x2, y2``.  The steps, in the order
:func:`model_code.geometry.vectorize.vectorize` applies them:

1. :func:`polyline_segments` - Douglas-Peucker (OpenCV) on each skeleton path, so a straight
   wall becomes one segment and an arc a short polyline;
2. :func:`snap_orientations` - near-axis walls are rotated onto the plan's dominant
   orientations (:func:`dominant_angle`), true diagonals are left alone;
3. :func:`merge_collinear` - collinear runs are merged across junctions and small gaps
   (angle, perpendicular offset and gap tolerances) and through doors and windows;
4. :func:`snap_junctions` - ends move to the intersection with the wall they meet (L and T
   junctions) and dangling ends are extended to a wall within tolerance;
5. :func:`fit_free_ends` - ends that meet nothing are placed half a thickness inside the
   end of the mask, the convention :func:`model_code.geometry.raster.rasterize_walls` draws back;
6. :func:`drop_short` and :func:`dedupe`.

All pairwise tests are vectorised numpy; loops run over merges, never over pixels.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
from scipy.spatial import cKDTree

from model_code.geometry.spatial import SegmentIndex


def lengths(segs: np.ndarray) -> np.ndarray:
    """Length of each segment."""
    return np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])


def angles(segs: np.ndarray) -> np.ndarray:
    """Undirected angle of each segment in ``[0, pi)``."""
    return np.mod(np.arctan2(segs[:, 3] - segs[:, 1], segs[:, 2] - segs[:, 0]), np.pi)


def _vertex_indices(path: np.ndarray, vertices: np.ndarray) -> list[int]:
    """Indices in ``path`` of the Douglas-Peucker ``vertices`` (which are path points, in order)."""
    indices, start = [], 0
    for vertex in vertices:
        hits = np.flatnonzero(np.all(np.abs(path[start:] - vertex) < 1e-3, axis=1))
        index = start + int(hits[0]) if hits.size else start
        indices.append(index)
        start = index
    indices[0], indices[-1] = 0, len(path) - 1
    return indices


Line = tuple[np.ndarray, np.ndarray]  # (origin, unit direction)


def _core(points: np.ndarray, trim: int) -> np.ndarray:
    """``points`` without ``trim`` points at each end (all of them when too few would be left)."""
    return points[trim : len(points) - trim] if len(points) > 2 * trim + 2 else points


def _core_line(points: np.ndarray, trim: int) -> Line:
    """Least-squares line through ``points`` with ``trim`` points dropped at each end."""
    core = _core(points, trim)
    vx, vy, x0, y0 = cv2.fitLine(core.astype(np.float32), cv2.DIST_L2, 0, 0.01, 0.01).ravel()
    return np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)


def _fitted_piece(
    points: np.ndarray, first: np.ndarray, last: np.ndarray, trim: int, line: Line | None = None
) -> np.ndarray:
    """Least-squares line through ``points`` (ends trimmed), spanning the projections of first/last.

    Douglas-Peucker vertices sit on the skeleton, which cuts corners diagonally; the line fitted
    to the straight middle of the run is where the wall's centreline really is.  ``line`` is
    :func:`_core_line` of the same points when the caller already has it.
    """
    if len(_core(points, trim)) < 3:
        return np.concatenate([first, last])
    origin, direction = line if line is not None else _core_line(points, trim)
    a = origin + direction * float((first - origin) @ direction)
    b = origin + direction * float((last - origin) @ direction)
    return np.concatenate([a, b])


def refine_breaks(
    path: np.ndarray,
    indices: list[int],
    trim: int,
    iterations: int = 4,
    lines: dict[tuple[int, int], Line] | None = None,
) -> list[int]:
    """Move each interior Douglas-Peucker vertex to the path point that best splits its two pieces.

    Douglas-Peucker puts a vertex where the path deviates most from a chord, which on a gentle
    bend (the chords of a rounded corner) can be well away from where one straight run ends and
    the next begins.  Each round fits a line to every piece and moves every break to the point
    that minimises the summed distance of the path to the two lines on either side of it.
    ``lines``, if given, collects the fitted line of each piece ``(i0, i1)`` for reuse.
    """
    indices = [i for k, i in enumerate(indices) if k == 0 or i > indices[k - 1]]
    if len(indices) < 3:
        return indices
    lines = {} if lines is None else lines
    for _ in range(iterations):
        normals = []
        for piece in itertools.pairwise(indices):
            if piece not in lines:
                lines[piece] = _core_line(path[piece[0] : piece[1] + 1], trim)
            origin, (vx, vy) = lines[piece]
            normals.append((origin, np.array([-vy, vx])))
        moved = list(indices)
        for k in range(1, len(indices) - 1):
            lo, hi = moved[k - 1] + 2, indices[k + 1] - 2
            if hi <= lo:
                continue
            points = path[lo : hi + 1]
            (oa, na), (ob, nb) = normals[k - 1], normals[k]
            before = np.cumsum(np.abs((points - oa) @ na))
            after = np.cumsum(np.abs((points - ob) @ nb)[::-1])[::-1]
            moved[k] = lo + int(np.argmin(before + after))
        if moved == indices:
            break
        indices = moved
    return indices


def polyline_segments(
    path: np.ndarray, epsilon: float, trim: float = 0.0, spacing: float = 1.0
) -> np.ndarray:
    """Douglas-Peucker simplification of one ``(K, 2)`` path into ``(M, 4)`` segments.

    Each piece is then refitted by least squares to its pixels, ignoring ``trim`` pixels at
    each end, so corners rounded by the skeleton do not tilt the walls.  ``spacing`` is the
    distance between path points (2 for a skeleton traced at half resolution).
    """
    if len(path) < 2:
        return np.zeros((0, 4))
    if len(path) > 3 and np.array_equal(path[0], path[-1]):
        # a closed ring (a room outline with no junction): split it at its farthest point
        far = int(np.argmax(np.hypot(*(path - path[0]).T)))
        return np.vstack(
            [
                polyline_segments(path[: far + 1], epsilon, trim, spacing),
                polyline_segments(path[far:], epsilon, trim, spacing),
            ]
        )
    simplified = cv2.approxPolyDP(path.astype(np.float32).reshape(-1, 1, 2), float(epsilon), False)
    vertices = simplified.reshape(-1, 2).astype(np.float64)
    if len(vertices) < 2:
        vertices = np.vstack([path[0], path[-1]])
    lines: dict[tuple[int, int], Line] = {}
    indices = refine_breaks(path, _vertex_indices(path, vertices), int(trim / spacing), lines=lines)
    pieces = []
    for i0, i1 in itertools.pairwise(indices):
        if i1 <= i0:
            continue
        points = path[i0 : i1 + 1]
        pieces.append(_fitted_piece(points, path[i0], path[i1], int(trim / spacing), lines.get((i0, i1))))
    if not pieces:
        return np.zeros((0, 4))
    segs = np.asarray(pieces)
    return segs[lengths(segs) > 1e-9]


def dominant_angle(segs: np.ndarray) -> float:
    """The plan's main orientation in ``[0, pi/2)``: length-weighted mode of angles modulo 90 degrees."""
    if len(segs) == 0:
        return 0.0
    folded = np.degrees(np.mod(angles(segs), np.pi / 2))
    weights = lengths(segs)
    hist, _ = np.histogram(folded, bins=90, range=(0.0, 90.0), weights=weights)
    smooth = hist + np.roll(hist, 1) + np.roll(hist, -1)
    peak = (int(np.argmax(smooth)) + 0.5) * math.pi / 180.0
    # refine: circular mean (period 90 degrees) of the segments within 5 degrees of the peak
    diff = np.angle(np.exp(4j * (np.mod(angles(segs), np.pi / 2) - peak))) / 4
    near = np.abs(diff) < math.radians(5)
    if not near.any():
        return float(np.mod(peak, np.pi / 2))
    # long pieces have the most reliable directions: weight by squared length
    mean = np.angle(np.sum(weights[near] ** 2 * np.exp(4j * np.mod(angles(segs[near]), np.pi / 2)))) / 4
    mean = float(np.mod(mean, np.pi / 2))
    # a plan within half a degree of the image axes is drawn on them (scan noise, rounded corners)
    if min(mean, np.pi / 2 - mean) < math.radians(0.5):
        return 0.0
    return mean


def _rotate_about_midpoint(segs: np.ndarray, target: np.ndarray) -> np.ndarray:
    mid = (segs[:, :2] + segs[:, 2:]) / 2
    half = lengths(segs) / 2
    direction = np.stack([np.cos(target), np.sin(target)], axis=1)
    current = segs[:, 2:] - segs[:, :2]
    flip = np.sum(current * direction, axis=1) < 0
    direction[flip] *= -1
    offset = direction * half[:, None]
    return np.hstack([mid - offset, mid + offset])


def snap_orientations(segs: np.ndarray, theta0: float, tolerance_deg: float) -> np.ndarray:
    """Rotate segments within ``tolerance_deg`` of ``theta0`` or ``theta0 + 90`` onto it exactly."""
    if len(segs) == 0:
        return segs
    axes = np.array([theta0, theta0 + np.pi / 2])
    ang = angles(segs)
    diff = np.angle(np.exp(2j * (ang[:, None] - axes[None, :]))) / 2  # period 180 degrees
    best = np.argmin(np.abs(diff), axis=1)
    close = np.abs(diff[np.arange(len(segs)), best]) <= math.radians(tolerance_deg)
    out = segs.copy()
    if close.any():
        out[close] = _rotate_about_midpoint(segs[close], axes[best[close]])
    return out


def _fit_line(group: np.ndarray) -> np.ndarray:
    """One segment covering a group of nearly collinear segments.

    The direction is the longest piece's (already snapped to the plan's axes when it was
    near one; short pieces' directions are mostly pixel noise), the position the
    length-weighted mean of the pieces, the extent the span of all their endpoints.
    """
    weights = lengths(group)
    ref = group[np.argmax(weights)]
    direction = (ref[2:] - ref[:2]) / max(np.hypot(*(ref[2:] - ref[:2])), 1e-12)
    mids = (group[:, :2] + group[:, 2:]) / 2
    centre = np.sum(mids * weights[:, None], axis=0) / max(weights.sum(), 1e-12)
    ends = np.vstack([group[:, :2], group[:, 2:]])
    proj = (ends - centre) @ direction
    return np.concatenate([centre + direction * proj.min(), centre + direction * proj.max()])


def _line_coverage(mask: np.ndarray | None, p: np.ndarray, q: np.ndarray) -> float:
    """Share of the straight path from ``p`` to ``q`` (one sample per pixel) that lies on ``mask``."""
    if mask is None:
        return 0.0
    steps = max(math.ceil(float(np.hypot(*(q - p)))), 1) + 1
    xs = np.rint(np.linspace(p[0], q[0], steps)).astype(int)
    ys = np.rint(np.linspace(p[1], q[1], steps)).astype(int)
    height, width = mask.shape
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    hits = np.zeros(steps, bool)
    hits[inside] = mask[ys[inside], xs[inside]]
    return float(hits.mean())


def _line_blocked(blocker: np.ndarray | None, p: np.ndarray, q: np.ndarray) -> bool:
    """True when the straight path from ``p`` to ``q`` crosses a set pixel of ``blocker``."""
    return _line_coverage(blocker, p, q) > 0


def _collinear_pairs(
    segs: np.ndarray,
    candidates: tuple[np.ndarray, np.ndarray],
    angle_tol: float,
    offset_tol: float,
    gap_tol: float,
    stub_length: float,
    thick: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which candidate pairs ``(i, j)`` are collinear, and their gaps (negative = overlap).

    With per-segment ``thick``, the offset tolerance is also at most half the thinner wall's
    thickness (at least 1.5 px): two thin walls a few pixels apart are a step, not one wall.

    The longer segment of a pair is the reference: the shorter one's endpoints must lie within
    ``offset_tol`` of its line.  The angle tolerance grows for a stub (at most ``stub_length``)
    beside a wall at least three times longer (up to 30 degrees), since its direction is mostly
    pixel noise: it may tilt as long as its tilt over its own length stays within twice the
    offset tolerance (measured best with no length limit on the synthetic plans).
    """
    ci, cj = candidates
    length = np.maximum(lengths(segs), 1e-12)
    swap = length[cj] > length[ci]
    ref, other = np.where(swap, cj, ci), np.where(swap, ci, cj)
    ang = angles(segs)
    dang = np.abs(np.angle(np.exp(2j * (ang[ref] - ang[other])))) / 2
    unit = (segs[ref, 2:] - segs[ref, :2]) / length[ref, None]
    normal = np.stack([-unit[:, 1], unit[:, 0]], axis=1)
    rel_a = segs[other, :2] - segs[ref, :2]
    rel_b = segs[other, 2:] - segs[ref, :2]
    offset = np.maximum(np.abs(np.sum(rel_a * normal, axis=1)), np.abs(np.sum(rel_b * normal, axis=1)))
    pa, pb = np.sum(rel_a * unit, axis=1), np.sum(rel_b * unit, axis=1)
    gap = np.maximum(np.minimum(pa, pb) - length[ref], -np.maximum(pa, pb))
    shorter, longer = length[other], length[ref]
    allowed = np.clip(np.arctan2(2.0 * offset_tol, shorter), math.radians(angle_tol), math.radians(30.0))
    stub = (longer >= 3.0 * shorter) & (shorter <= stub_length)
    allowed = np.where(stub, allowed, math.radians(angle_tol))
    # a stub tilted beyond angle_tol must still hug the long wall: pixel noise moves its ends by a
    # pixel or two, a chord of a curve (which must stay apart) by a good part of a thickness
    tilted = dang > math.radians(angle_tol)
    limit = np.full(len(ci), float(offset_tol))
    if thick is not None:
        limit = np.minimum(limit, np.maximum(1.5, 0.5 * np.minimum(thick[ci], thick[cj])))
    ok = (dang <= allowed) & (offset <= np.where(tilted, np.minimum(limit, 2.0), limit)) & (gap <= gap_tol)
    return ci[ok], cj[ok], gap[ok]


class OpeningProximity:
    """Answers "is an opening pixel within ``radius`` of this point?" for many points at once.

    A point is near an opening when it lies on one or within ``radius`` of an opening's
    outline; the outline pixels sit in a k-d tree, so building costs one erosion and queries
    cost a tree look-up each, whatever the image size.
    """

    def __init__(self, openings: np.ndarray):
        self.mask = np.asarray(openings, bool)
        inner = cv2.erode(self.mask.view(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT)
        ys, xs = np.nonzero(self.mask & ~inner.astype(bool))
        self.tree = cKDTree(np.stack([xs, ys], axis=1).astype(np.float64)) if len(xs) else None

    def near(self, points: np.ndarray, radius: float | np.ndarray) -> np.ndarray:
        """Boolean per point (points outside the image count only through their distance).

        ``radius`` is one distance for all points or one per point.
        """
        out = np.zeros(len(points), bool)
        if self.tree is None or len(points) == 0:
            return out
        height, width = self.mask.shape
        xs = np.rint(points[:, 0]).astype(np.int64)
        ys = np.rint(points[:, 1]).astype(np.int64)
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        out[inside] = self.mask[ys[inside], xs[inside]]
        radii = np.broadcast_to(np.asarray(radius, np.float64), (len(points),)) + 1e-9
        distance, _ = self.tree.query(points, k=1, distance_upper_bound=float(radii.max()))
        return out | (distance <= radii)


def opening_proximity(openings: np.ndarray | None) -> OpeningProximity | None:
    """An :class:`OpeningProximity` for the mask, or ``None`` when it has no openings."""
    if openings is None or not openings.any():
        return None
    return OpeningProximity(openings)


def _opening_pairs(
    segs: np.ndarray,
    proximity: OpeningProximity | None,
    radius: float | np.ndarray,
    reach: float,
    first: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``: an end of ``i`` touches an opening, an end of ``j`` is within ``reach``.

    An end touches an opening within ``radius`` of it (one distance, or one per segment).
    Only ends need looking at: a piece continuing a wall across an opening starts within
    ``reach`` of where the other stops (overlapping pieces are found as close pairs).  With
    ``first > 0`` only the pairs that involve a segment numbered ``first`` or higher are returned.
    """
    empty = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if proximity is None or len(segs) < 2:
        return empty
    n = len(segs)
    ends = np.vstack([segs[:, :2], segs[:, 2:]])
    radii = np.broadcast_to(np.asarray(radius, np.float64), (n,))
    touched = np.flatnonzero(proximity.near(ends, np.concatenate([radii, radii])))
    if len(touched) == 0:
        return empty
    if first <= 0:
        sources, hits = touched, cKDTree(ends).query_ball_point(ends[touched], reach, return_sorted=False)
        counts = np.fromiter(map(len, hits), np.int64, len(hits))
        found = np.fromiter(itertools.chain.from_iterable(hits), np.int64, int(counts.sum()))
    else:
        # touched ends of the new segments against every end, and the other touched ends
        # against the new segments' ends
        is_new = np.arange(2 * n) % n >= first
        new_ends = np.flatnonzero(is_new)
        mine, others = touched[is_new[touched]], touched[~is_new[touched]]
        hits_mine = cKDTree(ends).query_ball_point(ends[mine], reach, return_sorted=False)
        hits_others = cKDTree(ends[new_ends]).query_ball_point(ends[others], reach, return_sorted=False)
        sources = np.concatenate([mine, others])
        counts = np.fromiter(map(len, itertools.chain(hits_mine, hits_others)), np.int64, len(sources))
        found_mine = np.fromiter(itertools.chain.from_iterable(hits_mine), np.int64)
        found_others = new_ends[np.fromiter(itertools.chain.from_iterable(hits_others), np.int64)]
        found = np.concatenate([found_mine, found_others])
    i = np.repeat(sources, counts) % n
    j = found % n
    keep = i != j
    i, j = i[keep], j[keep]
    return np.minimum(i, j), np.maximum(i, j)


def merge_collinear(
    segs: np.ndarray,
    angle_tol: float,
    offset_tol: float,
    gap_tol: float,
    openings: np.ndarray | None = None,
    opening_gap: float = 0.0,
    thickness: np.ndarray | None = None,
    thickness_ratio: float = 1.35,
    stub_length: float = math.inf,
    max_passes: int = 20,
    proximity: OpeningProximity | None = None,
) -> np.ndarray:
    """Merge nearly collinear segments that overlap, are at most ``gap_tol`` apart, or span an opening.

    A wall continues through its doors and windows (the customers' format puts an opening
    *in* its host wall), so two collinear pieces separated by up to ``opening_gap`` are merged
    when one of them ends at an opening (within ``gap_tol`` or its own thickness) and the gap
    between them lies on the opening mask ``openings`` (at least 60 % of it, leaving out half
    the thinner wall's thickness at each end).
    Pairs are merged closest first, each segment at most once per pass, and passes repeat
    until nothing changes, so a chain of pieces along one wall becomes one wall while an arc
    (whose pieces turn by more than ``angle_tol``) stays a polyline.  With per-segment
    ``thickness``, pieces whose thicknesses differ by more than ``thickness_ratio`` (and by more
    than 1.5 px) stay apart: a thick exterior wall and the thin partition in line with it are
    two walls.  ``proximity`` is :func:`opening_proximity` of ``openings`` when the caller
    already has it.
    """
    segs = np.asarray(segs, np.float64).reshape(-1, 4)
    thick = np.ones(len(segs)) if thickness is None else np.asarray(thickness, np.float64).copy()
    reach = max(gap_tol, opening_gap if openings is not None else 0.0)
    if proximity is None:
        proximity = opening_proximity(openings)
    near = gap_tol + offset_tol
    # Pairs of two segments that came through a pass unmerged never merge later (the tests
    # depend on the pair alone), so after the first pass only pairs with a new segment (the
    # merged ones, appended from index ``first`` on) are looked at.
    first = 0
    for _ in range(max_passes):
        if len(segs) < 2:
            return segs
        index = SegmentIndex(segs, near)
        close = index.pairs(near, first)
        # a centreline stops half its own thickness short of an opening in its wall
        bridged = _opening_pairs(segs, proximity, np.maximum(gap_tol, thick), reach + offset_tol, first)
        candidates = (np.concatenate([close[0], bridged[0]]), np.concatenate([close[1], bridged[1]]))
        key = np.unique(candidates[0] * len(segs) + candidates[1])
        candidates = (key // len(segs), key % len(segs))
        i_idx, j_idx, gaps = _collinear_pairs(
            segs, candidates, angle_tol, offset_tol, reach, stub_length, None if thickness is None else thick
        )
        if len(i_idx) == 0:
            return segs
        used = np.zeros(len(segs), bool)
        merged: list[np.ndarray] = []
        merged_thick: list[float] = []
        for k in np.argsort(gaps, kind="stable"):
            i, j = int(i_idx[k]), int(j_idx[k])
            if used[i] or used[j]:
                continue
            thin, wide = sorted((thick[i], thick[j]))
            if wide > thickness_ratio * thin and wide - thin > 1.5:
                continue
            line = _fit_line(segs[[i, j]])
            if gaps[k] > gap_tol and _gap_coverage(segs[i], segs[j], line, openings, thin / 2) < 0.6:
                continue
            used[i] = used[j] = True
            merged.append(line)
            weight = lengths(segs[[i, j]])
            merged_thick.append(float(np.average(thick[[i, j]], weights=np.maximum(weight, 1e-9))))
        if not merged:
            return segs
        segs = np.vstack([segs[~used], np.asarray(merged)])
        thick = np.concatenate([thick[~used], merged_thick])
        first = len(segs) - len(merged)
    return segs


def _gap_coverage(
    a: np.ndarray, b: np.ndarray, line: np.ndarray, mask: np.ndarray | None, inset: float = 0.0
) -> float:
    """Share of the gap between collinear segments ``a`` and ``b`` that lies on ``mask``.

    The gap is shortened by ``inset`` at both ends (at most to its midpoint): a centreline
    stops half a wall thickness before the mask ends, so that much of a gap is always wall.
    """
    if mask is None:
        return 0.0
    direction = line[2:] - line[:2]
    direction /= max(np.hypot(*direction), 1e-12)
    ends_a = np.vstack([a[:2], a[2:]])
    ends_b = np.vstack([b[:2], b[2:]])
    pa, pb = ends_a @ direction, ends_b @ direction
    if pa.max() <= pb.min():
        p, q = ends_a[np.argmax(pa)], ends_b[np.argmin(pb)]
    else:
        p, q = ends_b[np.argmax(pb)], ends_a[np.argmin(pa)]
    span = float(np.hypot(*(q - p)))
    if span > 1e-9 and inset > 0:
        step = (q - p) * min(inset / span, 0.5)
        p, q = p + step, q - step
    return _line_coverage(mask, p, q)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def snap_junctions(
    segs: np.ndarray,
    snap_distance: float,
    extend_distance: float,
    openings: np.ndarray | None = None,
    opening_gap: float = 0.0,
    min_angle_deg: float = 35.0,
    proximity: OpeningProximity | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Move each end onto the wall it meets; returns new segments and an ``(N, 2)`` "connected" flag.

    For the end ``P`` of segment ``i`` with outward direction ``d`` and every segment ``j`` that
    crosses it at ``min_angle_deg`` or more, ``X`` is where the two lines cross and ``s`` the
    signed distance from ``P`` to ``X`` along ``d``.  ``X`` must lie on ``j`` (within ``snap_distance`` of its
    extent); the nearest acceptable ``X`` wins.  Acceptable: ``|s| <= snap_distance`` (L and T
    junctions: both ends of an L corner pick each other and land on the same point, a T stem
    lands on the through wall); a dangling end extended by up to ``extend_distance`` when the
    extension crosses no opening; or extended by up to ``opening_gap`` through a door or
    window (at least 60 % of the extension on the ``openings`` mask), since a wall runs
    through the openings it hosts.  Ends that already touch another end at a shallow angle
    (consecutive pieces of an arc, whose lines cross far away) meet halfway instead.
    ``proximity`` is :func:`opening_proximity` of ``openings`` when the caller already has it.
    """
    n = len(segs)
    connected = np.zeros((n, 2), bool)
    if n < 2:
        return segs.copy(), connected
    length = np.maximum(lengths(segs), 1e-12)
    unit = (segs[:, 2:] - segs[:, :2]) / length[:, None]
    out = segs.copy()
    sin_min = math.sin(math.radians(min_angle_deg))
    sin_collinear = math.sin(math.radians(5.0))
    all_ends = np.vstack([segs[:, :2], segs[:, 2:]])
    owner = np.concatenate([np.arange(n), np.arange(n)])
    mate, mate_gap = _nearest_other_end(all_ends, owner)
    direction = np.vstack([-unit, unit])  # outward direction of each end
    # how far each end may look: through an opening it touches, or the ordinary extension
    reach = np.full(2 * n, float(extend_distance))
    if openings is not None and openings.any() and opening_gap > extend_distance:
        proximity = proximity or opening_proximity(openings)
        assert proximity is not None
        reach[proximity.near(all_ends, extend_distance)] = opening_gap
    index = SegmentIndex(segs, snap_distance)
    end_id, j = index.near(all_ends, np.maximum(reach, snap_distance) + snap_distance)
    i = owner[end_id]
    keep = i != j
    end_id, i, j = end_id[keep], i[keep], j[keep]
    d, p = direction[end_id], all_ends[end_id]
    denom = _cross(d, unit[j])
    rel = segs[j, :2] - p
    with np.errstate(divide="ignore", invalid="ignore"):
        step = _cross(rel, unit[j]) / denom
        u = _cross(rel, d) / denom
    ok = np.abs(denom) >= sin_min
    ok &= (u >= -snap_distance) & (u <= length[j] + snap_distance)
    ok &= (step >= -snap_distance) & (step <= reach[end_id]) & (step >= -0.5 * length[i])
    end_id, step = end_id[ok], step[ok]
    order = np.lexsort((np.abs(step), end_id))
    end_id, step = end_id[order], step[order]
    starts = np.searchsorted(end_id, np.arange(2 * n))
    stops = np.searchsorted(end_id, np.arange(2 * n), side="right")
    for e in range(2 * n):
        seg, side = int(owner[e]), int(e >= n)
        sine = abs(_cross(direction[e], unit[owner[mate[e]]])) if mate[e] >= 0 else 1.0
        if mate_gap[e] <= snap_distance and sine < sin_min:
            # ends that already touch at a shallow angle (the pieces of an arc): their lines
            # cross far away, so they meet halfway instead; walls in line (different
            # thicknesses, never merged) just stay where they are
            if sine > sin_collinear:
                out[seg, 2 * side : 2 * side + 2] = (all_ends[e] + all_ends[mate[e]]) / 2
            connected[seg, side] = True
            continue
        for k in range(starts[e], stops[e]):
            move = float(step[k])
            target = all_ends[e] + direction[e] * move
            if move > snap_distance and not _extension_allowed(
                all_ends[e], target, move, extend_distance, openings
            ):
                continue
            out[seg, 2 * side : 2 * side + 2] = target
            connected[seg, side] = True
            break
    return out, connected


def _nearest_other_end(ends: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every segment end, the nearest end of another segment and its distance (-1, inf if none)."""
    count = min(len(ends), 4)
    distance, found = cKDTree(ends).query(ends, k=count)
    distance, found = distance.reshape(len(ends), -1), found.reshape(len(ends), -1)
    other = owner[found] != owner[:, None]
    first = np.argmax(other, axis=1)
    has = other[np.arange(len(ends)), first]
    mate = np.where(has, found[np.arange(len(ends)), first], -1)
    gap = np.where(has, distance[np.arange(len(ends)), first], np.inf)
    return mate, gap


def _extension_allowed(
    p: np.ndarray, target: np.ndarray, step: float, extend_distance: float, openings: np.ndarray | None
) -> bool:
    """Whether a dangling end may be extended from ``p`` to ``target`` (see :func:`snap_junctions`)."""
    coverage = _line_coverage(openings, p, target)
    if step <= extend_distance and coverage == 0.0:
        return True
    return coverage >= 0.6


def fit_free_ends(
    segs: np.ndarray,
    connected: np.ndarray,
    wall_mask: np.ndarray,
    thicknesses: np.ndarray,
    step: float = 0.25,
) -> np.ndarray:
    """Place every unconnected end half a wall thickness inside the end of the wall mask.

    The skeleton of a bar stops short of (or, with a fork, beyond) the bar's end; reading the
    mask along the wall direction every ``step`` px from the end to the first background
    sample and stepping back ``t / 2`` puts the end where a square-capped wall of thickness
    ``t`` reproduces the mask.  An end never moves by more than half the wall's length.
    """
    out = segs.copy()
    length = np.maximum(lengths(segs), 1e-12)
    unit = (segs[:, 2:] - segs[:, :2]) / length[:, None]
    for end in (0, 1):
        free_all = np.flatnonzero(~connected[:, end])
        if free_all.size == 0:
            continue
        reach = float(np.max(2.0 * thicknesses[free_all] + 4.0))
        block = max(1, 2_000_000 // (int(reach / step) + 2))  # bounded memory on very noisy masks
        for first in range(0, len(free_all), block):
            free = free_all[first : first + block]
            _fit_ends(
                out, segs, free, end, unit[free] if end == 1 else -unit[free], wall_mask, thicknesses, step
            )
    return out


def _fit_ends(
    out: np.ndarray,
    segs: np.ndarray,
    free: np.ndarray,
    end: int,
    d: np.ndarray,
    wall_mask: np.ndarray,
    thicknesses: np.ndarray,
    step: float,
) -> None:
    """Move the ``end`` of the segments ``free`` (outward directions ``d``) in ``out`` (see fit_free_ends)."""
    height, width = wall_mask.shape
    length = np.maximum(lengths(segs[free]), 1e-12)
    p = segs[free, 2 * end : 2 * end + 2]
    t = thicknesses[free]
    reach = float(np.max(2.0 * t + 4.0))
    offsets = np.arange(0.0, reach + step, step)
    xs = np.floor(p[:, 0:1] + d[:, 0:1] * offsets + 0.5).astype(np.int64)
    ys = np.floor(p[:, 1:2] + d[:, 1:2] * offsets + 0.5).astype(np.int64)
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    on = np.zeros(xs.shape, bool)
    on[inside] = wall_mask[ys[inside], xs[inside]]
    first_off = np.where(on.all(axis=1), len(offsets), np.argmin(on, axis=1))
    mask_end = first_off * step - step / 2
    shift = np.maximum(mask_end - 0.5 * t, -0.5 * length)
    usable = on[:, 0] & (first_off < len(offsets))
    moved = p + d * shift[:, None]
    out[free[usable], 2 * end : 2 * end + 2] = moved[usable]


def point_segment_distance(points: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """Distance from each point ``(P, 2)`` to the segment ``(P, 4)`` on the same row: ``(P,)``."""
    a, b = segs[:, :2], segs[:, 2:]
    ab = b - a
    t = np.clip(np.sum((points - a) * ab, axis=1) / np.maximum(np.sum(ab * ab, axis=1), 1e-12), 0.0, 1.0)
    return np.hypot(*(points - (a + ab * t[:, None])).T)


def drop_covered(segs: np.ndarray, thickness: np.ndarray, slack: float = 1.0) -> np.ndarray:
    """Keep-mask that drops segments lying entirely inside the band of a longer wall.

    A stub left between a door and the wall beyond it, or a duplicate piece, has both ends
    within ``t / 2 + slack`` of a longer wall of thickness ``t``; it adds nothing.
    """
    n = len(segs)
    keep = np.ones(n, bool)
    if n < 2:
        return keep
    reach = np.maximum(thickness / 2.0, 1.0) + slack
    ci, cj = SegmentIndex(segs, float(reach.max())).pairs(float(reach.max()))
    seg_lengths = lengths(segs)
    for inner, outer in ((ci, cj), (cj, ci)):
        inside = (point_segment_distance(segs[inner, :2], segs[outer]) <= reach[outer]) & (
            point_segment_distance(segs[inner, 2:], segs[outer]) <= reach[outer]
        )
        keep[inner[inside & (seg_lengths[outer] > seg_lengths[inner])]] = False
    return keep


def dedupe(segs: np.ndarray, tolerance: float = 1.0) -> np.ndarray:
    """Remove segments whose two ends both lie within ``tolerance`` of another segment's ends."""
    keep = np.ones(len(segs), bool)
    if len(segs) < 2:
        return segs[keep]
    # candidates: pairs with an end of one within tolerance of an end of the other
    n = len(segs)
    close = cKDTree(np.vstack([segs[:, :2], segs[:, 2:]])).query_pairs(tolerance, output_type="ndarray")
    a, b = close[:, 0] % n, close[:, 1] % n
    key = np.unique(np.minimum(a, b)[a != b] * n + np.maximum(a, b)[a != b])
    ci, cj = key // n, key % n
    for i, j in zip(ci, cj, strict=True):  # in index order; the earlier segment is kept
        if not keep[i] or not keep[j]:
            continue
        same = max(np.hypot(*(segs[j, :2] - segs[i, :2])), np.hypot(*(segs[j, 2:] - segs[i, 2:])))
        swapped = max(np.hypot(*(segs[j, :2] - segs[i, 2:])), np.hypot(*(segs[j, 2:] - segs[i, :2])))
        if min(same, swapped) <= tolerance:
            keep[j] = False
    return segs[keep]
