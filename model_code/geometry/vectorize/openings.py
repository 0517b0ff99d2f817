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

from model_code.geometry.components import label_components
from model_code.geometry.spatial import SegmentIndex
from model_code.geometry.vectorize.segments import lengths
from model_code.schema import Opening


def blob_shape(blob: np.ndarray, x0: int = 0, y0: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Centroid ``(x, y)``, unit long axis and elongation of a ``bool`` blob cropped at ``(x0, y0)``.

    From the image moments (one OpenCV call): the axis is the principal eigenvector of the
    pixel covariance (the x-axis for a single pixel), the elongation the ratio of the long to
    the short standard deviation (1 = round; 1 for fewer than three pixels).
    """
    m = cv2.moments(np.ascontiguousarray(blob, dtype=bool).view(np.uint8), binaryImage=True)
    count = m["m00"]
    if count == 0:
        raise ValueError("blob_shape needs at least one set pixel")
    centre = np.array([m["m10"] / count + x0, m["m01"] / count + y0])
    if count < 2:
        return centre, np.array([1.0, 0.0]), 1.0
    cov = np.array([[m["mu20"], m["mu11"]], [m["mu11"], m["mu02"]]]) / count
    values, vectors = np.linalg.eigh(cov)
    axis = vectors[:, int(np.argmax(values))]
    axis = axis / max(np.hypot(*axis), 1e-12)
    elongation = 1.0 if count < 3 else float(math.sqrt(max(values[-1], 1e-9) / max(values[0], 1e-9)))
    return centre, axis, elongation


def _host_walls(
    centres: np.ndarray,
    axes: np.ndarray,
    elongated: np.ndarray,
    segs: np.ndarray,
    index: SegmentIndex,
    max_distance: float,
) -> np.ndarray:
    """Index of the host wall of every blob (centre, axis, elongated?), or -1; one tree query for all."""
    hosts = np.full(len(centres), -1, np.int64)
    if len(centres) == 0:
        return hosts
    blob, nearby = index.near(centres, 11.0 * max_distance)
    bounds = np.searchsorted(blob, np.arange(len(centres) + 1))  # near() returns pairs sorted by blob
    for k in range(len(centres)):
        candidates = nearby[bounds[k] : bounds[k + 1]]
        if candidates.size:
            best = _best_host(centres[k], axes[k], bool(elongated[k]), segs[candidates], max_distance)
            hosts[k] = int(candidates[best]) if best >= 0 else -1
    return hosts


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
    parts = label_components(opening_mask, connectivity=8)
    found: list[tuple[float, float, Opening]] = []
    blobs = []
    for label in range(1, parts.count):
        if parts.area(label) < speck_area:
            continue
        blob, x0, y0 = parts.crop(label)
        ys, xs = np.nonzero(blob)
        points = np.stack([xs + x0, ys + y0], axis=1).astype(np.float64)
        blobs.append((points, *blob_shape(blob, x0, y0)))
    hosts = _host_walls(
        np.array([b[1] for b in blobs]).reshape(-1, 2),
        np.array([b[2] for b in blobs]).reshape(-1, 2),
        np.array([b[3] > 1.5 for b in blobs], bool),
        segs,
        SegmentIndex(segs, max(host_distance, 1.0)),
        host_distance,
    )
    for (points, centre, axis, _), host in zip(blobs, hosts, strict=True):
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
