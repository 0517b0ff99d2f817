"""Walls that meet share one end point, exactly.

:func:`~model_code.geometry.vectorize.segments.snap_junctions` lands the two ends of an L corner on
the same point, but floating-point arithmetic, the re-centring of each wall on its own band and
the mapping from the working scale to the input leave them a fraction of a pixel apart.  Here the
ends that meet are grouped once (:func:`junction_groups`) and every group is given one point
(:func:`meet_at_junctions`): where the walls' lines cross (least squares over all of them), so
that each wall keeps its direction; the mean of the ends when the lines are (nearly) parallel or
cross far away.  Every member gets the very same two floats.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

MIN_CROSSING_SIN = 0.17  # ~10 degrees: lines closer to parallel than this do not define a point
CORNER_SIN = 0.57  # ~35 degrees: two ends farther apart than ``tolerance`` meet only at such a corner


def _crossing_near(
    segs: np.ndarray, ends: np.ndarray, a: np.ndarray, b: np.ndarray, reach: float
) -> np.ndarray:
    """For end pairs ``(a, b)``: their segments cross at ``CORNER_SIN`` or more, within ``reach``
    of both ends."""
    n = len(segs)
    ia, ib = a % n, b % n
    da, db = segs[ia, 2:] - segs[ia, :2], segs[ib, 2:] - segs[ib, :2]
    na, nb = np.hypot(da[:, 0], da[:, 1]), np.hypot(db[:, 0], db[:, 1])
    ok = (na > 1e-12) & (nb > 1e-12)
    da, db = da / np.maximum(na, 1e-12)[:, None], db / np.maximum(nb, 1e-12)[:, None]
    denom = da[:, 0] * db[:, 1] - da[:, 1] * db[:, 0]
    ok &= np.abs(denom) >= CORNER_SIN
    rel = ends[b] - ends[a]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = (rel[:, 0] * db[:, 1] - rel[:, 1] * db[:, 0]) / denom
        cross = ends[a] + t[:, None] * da
        near_a = np.hypot(*(cross - ends[a]).T) <= reach
        near_b = np.hypot(*(cross - ends[b]).T) <= reach
    return ok & near_a & near_b


def junction_groups(
    segs: np.ndarray, tolerance: float, corner_reach: float | None = None
) -> list[np.ndarray]:
    """Groups of end indices (``k < N``: start of segment ``k``; ``k >= N``: end of ``k - N``) that
    meet, chained, each with ends of at least two segments.

    Two ends of different segments meet when they are within ``tolerance`` of each other, or (with
    ``corner_reach``) within ``corner_reach`` of each other and of the point where their segments'
    lines cross at 35 degrees or more: an L corner whose two ends both stop short of it.  Groups
    that would hold both ends of one segment are dropped.
    """
    n = len(segs)
    if n < 2:
        return []
    segs = np.asarray(segs, np.float64)
    ends = np.vstack([segs[:, :2], segs[:, 2:]])
    reach = max(float(tolerance), float(corner_reach or 0.0), 1e-9)
    pairs = cKDTree(ends).query_pairs(reach, output_type="ndarray")
    if len(pairs) == 0:
        return []
    owner = np.concatenate([np.arange(n), np.arange(n)])
    pairs = pairs[owner[pairs[:, 0]] != owner[pairs[:, 1]]]
    if len(pairs) == 0:
        return []
    a, b = pairs[:, 0], pairs[:, 1]
    close = np.hypot(*(ends[a] - ends[b]).T) <= tolerance
    if corner_reach:
        close |= _crossing_near(segs, ends, a, b, float(corner_reach))
    pairs = pairs[close]
    if len(pairs) == 0:
        return []
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(2 * n, 2 * n))
    count, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels, minlength=count)
    order = np.argsort(labels, kind="stable")
    groups = np.split(order, np.cumsum(sizes)[:-1])
    # a group holding both ends of one segment would collapse it: such a tangle is left alone
    return [g for g in groups if len(g) >= 2 and len(np.unique(owner[g])) == len(g)]


def _meeting_point(segs: np.ndarray, group: np.ndarray, reach: float) -> np.ndarray:
    n = len(segs)
    index = group % n
    ends = np.where((group < n)[:, None], segs[index, :2], segs[index, 2:])
    centre = ends.mean(axis=0)
    vectors = segs[index, 2:] - segs[index, :2]
    norms = np.hypot(vectors[:, 0], vectors[:, 1])
    if (norms <= 1e-12).any():
        return centre
    units = vectors / norms[:, None]
    cross = np.abs(units[:, None, 0] * units[None, :, 1] - units[:, None, 1] * units[None, :, 0])
    if cross.max() < MIN_CROSSING_SIN:
        return centre
    # minimise the summed squared distance to every line: sum (I - u u^T) (x - p) = 0
    projector = np.eye(2)[None] - units[:, :, None] * units[:, None, :]
    point = np.linalg.solve(projector.sum(axis=0), (projector @ ends[:, :, None]).sum(axis=0))[:, 0]
    if not np.isfinite(point).all() or np.hypot(*(point - centre)) > reach:
        return centre
    return point


def meet_at_junctions(segs: np.ndarray, groups: list[np.ndarray], reach: float) -> np.ndarray:
    """``segs`` with every end of a group moved to the group's one meeting point.

    ``reach``: a crossing farther than this from the ends' mean is not trusted (the mean is used).
    """
    out = np.array(segs, np.float64, copy=True)
    n = len(out)
    for group in groups:
        point = _meeting_point(out, group, reach)
        for k in group.tolist():
            if k < n:
                out[k, 0], out[k, 1] = point
            else:
                out[k - n, 2], out[k - n, 3] = point
    return out


def distinct_segments(segs: np.ndarray) -> np.ndarray:
    """Indices of the segments to keep after meeting: not of zero length, not a copy of an earlier one
    (in either direction)."""
    keep, seen = [], set()
    for k, (x1, y1, x2, y2) in enumerate(np.asarray(segs, np.float64).tolist()):
        if x1 == x2 and y1 == y2:
            continue
        key = ((x1, y1), (x2, y2)) if (x1, y1) <= (x2, y2) else ((x2, y2), (x1, y1))
        if key not in seen:
            seen.add(key)
            keep.append(k)
    return np.asarray(keep, int)
