"""Spatial look-ups over segments (scipy k-d trees), so pairwise steps scale with the plan.

Comparing every segment with every other costs ``N^2`` memory and time: fine for a clean
plan with a hundred walls, fatal for a noisy mask that falls apart into tens of thousands of
pieces.  These helpers return only the candidates that are close enough to matter; the
exact tests then run on those candidates.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import cKDTree


class SegmentIndex:
    """Points sampled along every segment (at most ``step`` apart, ends included) in a k-d tree."""

    def __init__(self, segs: np.ndarray, step: float):
        self.segs = np.asarray(segs, np.float64).reshape(-1, 4)
        self.step = max(float(step), 0.5)
        seg_lengths = np.hypot(self.segs[:, 2] - self.segs[:, 0], self.segs[:, 3] - self.segs[:, 1])
        counts = np.ceil(seg_lengths / self.step).astype(np.int64) + 1
        self.owner = np.repeat(np.arange(len(self.segs)), counts)
        rank = np.arange(len(self.owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        frac = rank / np.maximum(counts[self.owner] - 1, 1)
        starts, ends = self.segs[self.owner, :2], self.segs[self.owner, 2:]
        self.points = starts + (ends - starts) * frac[:, None]
        self.tree = cKDTree(self.points) if len(self.points) else None

    def pairs(self, radius: float, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(i, j)``, ``i < j``, of segments that may come within ``radius`` of each other.

        Every pair closer than ``radius`` is returned (sampled points of two such segments are
        within ``radius + step``); a few slightly farther pairs may be too.  With ``first > 0``
        only the pairs that involve a segment numbered ``first`` or higher are returned (the
        same pairs as without it, less those between two segments below ``first``).
        """
        empty = np.zeros(0, np.int64), np.zeros(0, np.int64)
        if self.tree is None or len(self.segs) < 2:
            return empty
        if first <= 0:
            found = self.tree.query_pairs(float(radius) + self.step, output_type="ndarray")
            if len(found) == 0:
                return empty
            a, b = self.owner[found[:, 0]], self.owner[found[:, 1]]
        else:  # the new segments' points against every segment
            mine = np.flatnonzero(self.owner >= first)
            point, b = self.near(self.points[mine], radius)
            a = self.owner[mine][point]
        keep = a != b
        i, j = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
        key = np.unique(i * len(self.segs) + j)
        return key // len(self.segs), key % len(self.segs)

    def near(self, points: np.ndarray, radius: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(point k, segment j)`` where segment ``j`` may lie within ``radius[k]`` of point ``k``."""
        points = np.asarray(points, np.float64).reshape(-1, 2)
        if self.tree is None or len(points) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        radii = np.broadcast_to(np.asarray(radius, np.float64), (len(points),)) + self.step
        hits = self.tree.query_ball_point(points, radii, return_sorted=False)
        counts = np.fromiter(map(len, hits), np.int64, len(hits))
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        k = np.repeat(np.arange(len(points)), counts)
        j = self.owner[np.fromiter(itertools.chain.from_iterable(hits), np.int64, total)]
        key = np.unique(k * len(self.segs) + j)
        return key // len(self.segs), key % len(self.segs)
