"""Openings (doors, windows) from the opening channel, as segments across the gap in their host wall.

Each connected blob of the opening mask becomes one opening.  Its host is the nearest wall
whose centreline passes through the blob and whose direction agrees with the blob's long
axis; the opening segment lies on the host's centreline and spans the blob along it, so
``start``/``end`` are the two sides of the gap.  The type is a documented heuristic: the
masks do not tell doors from windows, so an opening in an exterior wall is called a
``window`` and one in an interior wall a ``door``; a blob with no host wall is an
``opening``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from model_code.schema import Opening
from model_code.vectorize.segments import lengths
from model_code.vectorize.spatial import SegmentIndex


def _principal_axis(points: np.ndarray) -> np.ndarray:
    """Unit vector of the long axis of a point cloud (PCA); x-axis for a single point."""
    if len(points) < 2:
        return np.array([1.0, 0.0])
    cov = np.cov((points - points.mean(axis=0)).T)
    values, vectors = np.linalg.eigh(cov)
    axis = vectors[:, int(np.argmax(values))]
    return axis / max(np.hypot(*axis), 1e-12)


def _elongation(points: np.ndarray) -> float:
    """Ratio of the long to the short standard deviation of a point cloud (1 = round)."""
    if len(points) < 3:
        return 1.0
    values = np.linalg.eigvalsh(np.cov((points - points.mean(axis=0)).T))
    return float(math.sqrt(max(values[-1], 1e-9) / max(values[0], 1e-9)))


def _host_wall(
    centre: np.ndarray,
    axis: np.ndarray,
    elongated: bool,
    segs: np.ndarray,
    index: SegmentIndex,
    max_distance: float,
) -> int:
    """Index of the host wall for a blob centred at ``centre``, or -1."""
    _, nearby = index.near(centre[None, :], 11.0 * max_distance)
    if nearby.size == 0:
        return -1
    best = _best_host(centre, axis, elongated, segs[nearby], max_distance)
    return int(nearby[best]) if best >= 0 else -1


def _best_host(
    centre: np.ndarray, axis: np.ndarray, elongated: bool, segs: np.ndarray, max_distance: float
) -> int:
    """Index (into ``segs``) of the best host among candidate walls, or -1."""
    length = np.maximum(lengths(segs), 1e-12)
    unit = (segs[:, 2:] - segs[:, :2]) / length[:, None]
    rel = centre[None, :] - segs[:, :2]
    along = np.sum(rel * unit, axis=1)
    across = np.abs(rel[:, 0] * unit[:, 1] - rel[:, 1] * unit[:, 0])
    outside = np.maximum(np.maximum(-along, along - length), 0.0)
    ok = across <= max_distance
    if elongated:
        ok &= np.abs(unit @ axis) >= math.cos(math.radians(25))
    score = np.where(ok, across + outside, np.inf)
    best = int(np.argmin(score))
    # the gap a door leaves is at most a few door widths from the neighbouring wall piece
    return best if np.isfinite(score[best]) and outside[best] <= 10 * max_distance else -1


def extract_openings(
    opening_mask: np.ndarray,
    segs: np.ndarray,
    wall_ids: list[str],
    thick: np.ndarray,
    exterior: np.ndarray,
    speck_area: float,
    host_distance: float,
) -> list[Opening]:
    """Openings from a ``bool`` mask, linked to the walls ``segs`` (ids ``wall_ids``).

    Openings are numbered ``o1, o2, ...`` in reading order of their midpoints (top to bottom,
    then left to right).
    """
    if opening_mask is None or not opening_mask.any():
        return []
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(
        opening_mask.view(np.uint8), connectivity=8
    )
    found: list[tuple[float, float, Opening]] = []
    index = SegmentIndex(segs, max(host_distance, 1.0))
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < speck_area:
            continue
        x0, y0 = stats[label, cv2.CC_STAT_LEFT], stats[label, cv2.CC_STAT_TOP]
        w, h = stats[label, cv2.CC_STAT_WIDTH], stats[label, cv2.CC_STAT_HEIGHT]
        ys, xs = np.nonzero(labels[y0 : y0 + h, x0 : x0 + w] == label)
        points = np.stack([xs + x0, ys + y0], axis=1).astype(np.float64)
        centre = centroids[label]
        axis = _principal_axis(points)
        host = _host_wall(centre, axis, _elongation(points) > 1.5, segs, index, host_distance)
        if host >= 0:
            seg = segs[host]
            direction = (seg[2:] - seg[:2]) / max(np.hypot(*(seg[2:] - seg[:2])), 1e-12)
            foot = seg[:2] + direction * float((centre - seg[:2]) @ direction)
            width = float(thick[host])
            kind = "window" if exterior[host] >= 0.5 else "door"
            wall_id: str | None = wall_ids[host]
        else:
            direction, foot = axis, centre
            normal = np.array([-axis[1], axis[0]])
            across = (points - centre) @ normal
            width = float(across.max() - across.min() + 1.0)
            kind, wall_id = "opening", None
        proj = (points - foot) @ direction
        start = foot + direction * (proj.min() - 0.5)
        end = foot + direction * (proj.max() + 0.5)
        mid = (start + end) / 2
        opening = Opening(
            type=kind,
            start=(float(start[0]), float(start[1])),
            end=(float(end[0]), float(end[1])),
            wall_id=wall_id,
            thickness=width,
        )
        found.append((round(float(mid[1]), 1), round(float(mid[0]), 1), opening))
    found.sort(key=lambda item: (item[0], item[1]))
    out = []
    for index, (_, _, opening) in enumerate(found, start=1):
        opening.id = f"o{index}"
        out.append(opening)
    return out
