"""The one metric module, shared by the tests, the evaluation CLI and the training loop.

Pure numpy / scipy / shapely / OpenCV functions, no I/O:

* pixel metrics on wall masks: :func:`pixel_counts` (accumulate them over images for the
  pooled numbers), :func:`iou`, :func:`f1`, :func:`tolerant_f1` (3 px tolerance);
* vector metrics: :func:`match_segments` / :func:`segment_scores` (one-to-one matching,
  both endpoints within 1 % of the longest image side in either direction, angle within
  5 degrees; precision, recall, F1 and length-weighted recall) and :func:`opening_scores`
  (the same matching with the looser :data:`OPENING_TOLERANCE` / :data:`OPENING_ANGLE`);
* rooms: :func:`room_iou_matrix` on label images, :func:`room_scores` (one-to-one Hungarian
  matching, precision/recall/F1 at IoU 0.5 and 0.7), :func:`rasterize_rooms`;
* :func:`rasterize_walls` (each wall a square-capped band of its thickness) and
  :func:`rasterize_plan` (walls minus openings) for the re-rasterised wall IoU, and
  :func:`bootstrap_ci` (seeded 95 % intervals over images).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from model_code.schema import Opening, Room, Wall

SEGMENT_TOLERANCE = 0.01  # endpoints within 1 % of the longest image side
SEGMENT_ANGLE = 5.0  # degrees
OPENING_TOLERANCE = 0.02  # openings are short and their ends fuzzy: 2 % of the longest side
OPENING_ANGLE = 15.0  # degrees
PIXEL_TOLERANCE = 3.0  # px, for the tolerant F1
ROOM_IOUS = (0.5, 0.7)


# --------------------------------------------------------------------------- pixel metrics


@dataclass
class PixelCounts:
    """True positives, false positives and false negatives; add them to pool over images."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: PixelCounts) -> PixelCounts:
        return PixelCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def iou(self) -> float:
        """Intersection over union (1.0 when both masks are empty)."""
        union = self.tp + self.fp + self.fn
        return 1.0 if union == 0 else self.tp / union

    @property
    def precision(self) -> float:
        """Fraction of predicted pixels that are true (1.0 when nothing was predicted)."""
        return 1.0 if self.tp + self.fp == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        """Fraction of true pixels that were predicted (1.0 when there are none)."""
        return 1.0 if self.tp + self.fn == 0 else self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (equals the Dice coefficient)."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 1.0 if denominator == 0 else 2 * self.tp / denominator


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground-truth shape {gt.shape}")
    return pred, gt


def pixel_counts(pred: np.ndarray, gt: np.ndarray) -> PixelCounts:
    """TP/FP/FN of a predicted ``bool`` mask against the ground truth of the same shape."""
    pred, gt = _check_pair(pred, gt)
    tp = int(np.count_nonzero(pred & gt))
    return PixelCounts(tp, int(np.count_nonzero(pred)) - tp, int(np.count_nonzero(gt)) - tp)


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Pixel intersection over union of two masks (1.0 when both are empty)."""
    return pixel_counts(pred, gt).iou


def f1(pred: np.ndarray, gt: np.ndarray) -> float:
    """Pixel F1 (Dice) of two masks (1.0 when both are empty)."""
    return pixel_counts(pred, gt).f1


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest set pixel of ``mask`` (inf if none)."""
    if not mask.any():
        return np.full(mask.shape, np.inf, np.float32)
    return cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


@dataclass
class TolerantCounts:
    """Counts behind the tolerant F1; add them to pool over images.

    ``pred_near``: predicted pixels within the tolerance of a true pixel (of ``pred_total``);
    ``truth_covered``: true pixels within the tolerance of a predicted one (of ``truth_total``).
    """

    pred_near: int = 0
    pred_total: int = 0
    truth_covered: int = 0
    truth_total: int = 0

    def __add__(self, other: TolerantCounts) -> TolerantCounts:
        return TolerantCounts(
            self.pred_near + other.pred_near,
            self.pred_total + other.pred_total,
            self.truth_covered + other.truth_covered,
            self.truth_total + other.truth_total,
        )

    @property
    def precision(self) -> float:
        """Share of predicted pixels near the truth (1.0 when nothing was predicted)."""
        return 1.0 if self.pred_total == 0 else self.pred_near / self.pred_total

    @property
    def recall(self) -> float:
        """Share of true pixels near a prediction (1.0 when there are none)."""
        return 1.0 if self.truth_total == 0 else self.truth_covered / self.truth_total

    @property
    def f1(self) -> float:
        """Harmonic mean of the tolerant precision and recall."""
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def tolerant_counts(pred: np.ndarray, gt: np.ndarray, tolerance: float = PIXEL_TOLERANCE) -> TolerantCounts:
    """Counts for the tolerant F1: a pixel is right if within ``tolerance`` px of the other mask."""
    pred, gt = _check_pair(pred, gt)
    near_gt = _distance_to(gt) <= tolerance
    near_pred = _distance_to(pred) <= tolerance
    return TolerantCounts(
        int(np.count_nonzero(pred & near_gt)),
        int(np.count_nonzero(pred)),
        int(np.count_nonzero(gt & near_pred)),
        int(np.count_nonzero(gt)),
    )


def tolerant_f1(pred: np.ndarray, gt: np.ndarray, tolerance: float = PIXEL_TOLERANCE) -> float:
    """Boundary-tolerant F1: pixels count as matched within ``tolerance`` px (both directions)."""
    return tolerant_counts(pred, gt, tolerance).f1


# --------------------------------------------------------------------------- rasterisation


def segment_polygon(start: Sequence[float], end: Sequence[float], thickness: float) -> np.ndarray:
    """Corners ``(4, 2)`` of a segment drawn as a band of ``thickness`` with square caps.

    The band extends ``thickness / 2`` past both ends, so walls that meet at a corner point
    fill the corner.  A zero-length segment is a ``thickness`` square.
    """
    p = np.asarray(start, np.float64)
    q = np.asarray(end, np.float64)
    half = max(float(thickness), 1.0) / 2.0
    vector = q - p
    length = float(np.hypot(*vector))
    unit = vector / length if length > 1e-9 else np.array([1.0, 0.0])
    normal = np.array([-unit[1], unit[0]])
    a, b = p - unit * half, q + unit * half
    return np.array([a + normal * half, b + normal * half, b - normal * half, a - normal * half])


def fill_convex(polygons: np.ndarray, shape) -> np.ndarray:
    """``bool`` mask of the pixels whose centres lie inside any of the convex ``(P, K, 2)`` polygons.

    Pixel ``(row, col)`` has its centre at ``x = col, y = row``; a centre exactly on an edge
    counts as inside (the rule :mod:`model_code.synth` draws its masks with), so a band whose
    edges fall between pixel centres covers exactly the expected pixels and an opening from
    ``x = 20`` to ``x = 30`` covers columns 20 to 30.  Scanlines are computed for all polygons
    at once and painted with a difference image, so the cost is one pass over the covered rows
    plus one cumulative sum.
    """
    height, width = int(shape[0]), int(shape[1])
    polygons = np.asarray(polygons, np.float64)
    if polygons.size == 0 or height == 0 or width == 0:
        return np.zeros((height, width), bool)
    top = np.clip(np.ceil(polygons[:, :, 1].min(axis=1)), 0, height).astype(np.int64)
    bottom = np.clip(np.floor(polygons[:, :, 1].max(axis=1)), -1, height - 1).astype(np.int64)
    counts = np.maximum(bottom - top + 1, 0)
    if counts.sum() == 0:
        return np.zeros((height, width), bool)
    pid = np.repeat(np.arange(len(polygons)), counts)
    y = (top[pid] + np.arange(len(pid)) - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.float64)
    a, b = polygons[pid], np.roll(polygons, -1, axis=1)[pid]
    ya, yb, xa, xb = a[:, :, 1], b[:, :, 1], a[:, :, 0], b[:, :, 0]
    spans = (y[:, None] >= np.minimum(ya, yb)) & (y[:, None] <= np.maximum(ya, yb)) & (ya != yb)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = np.where(spans, xa + (y[:, None] - ya) * (xb - xa) / (yb - ya), np.nan)
    hit = spans.any(axis=1)
    with np.errstate(all="ignore"):
        left = np.ceil(np.nanmin(np.where(hit[:, None], xs, 0.0), axis=1))
        right = np.floor(np.nanmax(np.where(hit[:, None], xs, 0.0), axis=1))
    left = np.clip(left, 0, width).astype(np.int64)
    right = np.clip(right, -1, width - 1).astype(np.int64)
    ok = hit & (right >= left)
    out = np.zeros((height, width), bool)
    if not ok.any():
        return out
    rows, left, right = y[ok].astype(np.int64), left[ok], right[ok]
    # paint only the window the polygons cover
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    c0, c1 = int(left.min()), int(right.max()) + 1
    span = c1 - c0 + 1
    size = (r1 - r0) * span
    diff = np.bincount((rows - r0) * span + left - c0, minlength=size).astype(np.int32)
    diff -= np.bincount((rows - r0) * span + right + 1 - c0, minlength=size).astype(np.int32)
    window = np.add.accumulate(diff.reshape(r1 - r0, span)[:, :-1], axis=1, dtype=np.int32) > 0
    out[r0:r1, c0:c1] = window
    return out


def rasterize_segments(segments: np.ndarray, thickness: Sequence[float] | float, shape) -> np.ndarray:
    """``bool`` mask of ``shape`` with each ``(x1, y1, x2, y2)`` segment drawn as a square-capped band."""
    segments = np.asarray(segments, np.float64).reshape(-1, 4)
    widths = np.broadcast_to(np.asarray(thickness, np.float64), (len(segments),))
    polygons = [segment_polygon(s[:2], s[2:], t) for s, t in zip(segments, widths, strict=True)]
    return fill_convex(np.asarray(polygons).reshape(-1, 4, 2), shape)


def rasterize_walls(walls: Sequence[Wall], shape, default_thickness: float = 3.0) -> np.ndarray:
    """``bool`` mask of ``shape`` (H, W) with each wall drawn with its thickness (square caps).

    A wall without a thickness is drawn ``default_thickness`` wide.
    """
    if not walls:
        return np.zeros((int(shape[0]), int(shape[1])), bool)
    segments = np.array([[*w.start, *w.end] for w in walls], np.float64)
    widths = [default_thickness if w.thickness is None else w.thickness for w in walls]
    return rasterize_segments(segments, widths, shape)


def rasterize_openings(openings: Sequence[Opening], shape, default_thickness: float = 3.0) -> np.ndarray:
    """``bool`` mask with each opening drawn like a wall: its span along the host, its thickness across."""
    if not openings:
        return np.zeros((int(shape[0]), int(shape[1])), bool)
    segments = np.array([[*o.start, *o.end] for o in openings], np.float64)
    widths = [default_thickness if o.thickness is None else o.thickness for o in openings]
    # an opening's start/end already are the sides of the gap: no square caps along it
    polygons = []
    for seg, width in zip(segments, widths, strict=True):
        poly = segment_polygon(seg[:2], seg[2:], width)
        length = float(np.hypot(*(seg[2:] - seg[:2])))
        if length > 1e-9:
            unit = (seg[2:] - seg[:2]) / length
            half = max(float(width), 1.0) / 2.0
            poly = poly + np.array([unit * half, -unit * half, -unit * half, unit * half])
        polygons.append(poly)
    return fill_convex(np.asarray(polygons).reshape(-1, 4, 2), shape)


def rasterize_plan(
    walls: Sequence[Wall], openings: Sequence[Opening], shape
) -> tuple[np.ndarray, np.ndarray]:
    """``(wall_mask, opening_mask)`` of a vector plan: walls with their thickness minus the openings.

    A wall runs through its doors and windows, so the wall mask of a plan is the union of
    its walls with the openings cut out (the same rule the synthetic generator and the R3D
    masks follow).  Compare this wall mask, not :func:`rasterize_walls`, with a true wall mask.
    """
    wall = rasterize_walls(walls, shape)
    opening = rasterize_openings(openings, shape)
    return wall & ~opening, opening


def rasterize_rooms(rooms: Sequence[Room], shape) -> np.ndarray:
    """``int32`` label image: room ``k`` (1-based, in list order) fills its polygon, 0 elsewhere.

    Rooms without a polygon use their bounding box.  Later rooms overwrite earlier ones.
    Vertices are rounded to pixel centres and boundary pixels count as inside, so a polygon
    traced through the boundary pixels of a region (as :mod:`model_code.rooms` does) draws
    that region back exactly.
    """
    height, width = int(shape[0]), int(shape[1])
    labels = np.zeros((height, width), np.int32)
    for index, room in enumerate(rooms, start=1):
        if room.polygon and len(room.polygon) >= 3:
            poly = np.asarray(room.polygon, np.float64)
        else:
            x0, y0, x1, y1 = room.bounding_box
            poly = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
        pts = np.rint(poly).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(labels, [pts], index, lineType=cv2.LINE_8)
    return labels


# --------------------------------------------------------------------------- vector metrics


@dataclass
class MatchScores:
    """Counts and scores of a one-to-one matching between predicted and true items."""

    matched: int
    predicted: int
    truth: int
    matched_length: float = 0.0
    truth_length: float = 0.0

    def __add__(self, other: MatchScores) -> MatchScores:
        return MatchScores(
            self.matched + other.matched,
            self.predicted + other.predicted,
            self.truth + other.truth,
            self.matched_length + other.matched_length,
            self.truth_length + other.truth_length,
        )

    @property
    def precision(self) -> float:
        """Matched / predicted (1.0 when nothing was predicted)."""
        return 1.0 if self.predicted == 0 else self.matched / self.predicted

    @property
    def recall(self) -> float:
        """Matched / truth (1.0 when there is no truth)."""
        return 1.0 if self.truth == 0 else self.matched / self.truth

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.predicted + self.truth
        return 1.0 if total == 0 else 2 * self.matched / total

    @property
    def length_recall(self) -> float:
        """Share of the true length that was matched (1.0 when there is no truth)."""
        return 1.0 if self.truth_length <= 0 else self.matched_length / self.truth_length


def _as_segments(items) -> np.ndarray:
    """``(N, 4)`` array from walls/openings (``start``/``end``) or an array-like of segments."""
    if isinstance(items, np.ndarray):
        return items.astype(np.float64).reshape(-1, 4)
    rows = [[*item.start, *item.end] if hasattr(item, "start") else list(item) for item in items]
    return np.asarray(rows, np.float64).reshape(-1, 4)


def match_segments(pred, truth, tolerance: float, angle_deg: float = SEGMENT_ANGLE) -> list[tuple[int, int]]:
    """One-to-one matches ``(pred_index, truth_index)`` between two sets of segments.

    A pair may match when both endpoints are within ``tolerance`` px (in either direction)
    and the undirected angles differ by at most ``angle_deg``; among those, the Hungarian
    algorithm picks the assignment with the most matches and, among those, the smallest
    total endpoint distance.  ``pred``/``truth`` are walls, openings or ``(N, 4)`` arrays.
    """
    p, t = _as_segments(pred), _as_segments(truth)
    if len(p) == 0 or len(t) == 0:
        return []
    same = np.maximum(
        np.hypot(*(p[:, None, :2] - t[None, :, :2]).transpose(2, 0, 1)),
        np.hypot(*(p[:, None, 2:] - t[None, :, 2:]).transpose(2, 0, 1)),
    )
    swap = np.maximum(
        np.hypot(*(p[:, None, :2] - t[None, :, 2:]).transpose(2, 0, 1)),
        np.hypot(*(p[:, None, 2:] - t[None, :, :2]).transpose(2, 0, 1)),
    )
    distance = np.minimum(same, swap)
    ang_p = np.arctan2(p[:, 3] - p[:, 1], p[:, 2] - p[:, 0])
    ang_t = np.arctan2(t[:, 3] - t[:, 1], t[:, 2] - t[:, 0])
    dang = np.abs(np.angle(np.exp(2j * (ang_p[:, None] - ang_t[None, :])))) / 2
    # very short segments have no meaningful angle: their endpoints already pin them down
    short = (np.hypot(p[:, 2] - p[:, 0], p[:, 3] - p[:, 1])[:, None] <= 2 * tolerance) | (
        np.hypot(t[:, 2] - t[:, 0], t[:, 3] - t[:, 1])[None, :] <= 2 * tolerance
    )
    ok = (distance <= tolerance) & ((dang <= math.radians(angle_deg)) | short)
    return _assign(ok, distance / max(tolerance, 1e-12))


def _assign(ok: np.ndarray, cost: np.ndarray) -> list[tuple[int, int]]:
    """Maximum-cardinality, then minimum-cost, one-to-one assignment over allowed pairs."""
    if not ok.any():
        return []
    rows = np.flatnonzero(ok.any(axis=1))
    cols = np.flatnonzero(ok.any(axis=0))
    sub_ok = ok[np.ix_(rows, cols)]
    # each match is worth more than any total of costs, so cardinality comes first
    big = float(len(rows) + len(cols) + 1)
    weights = np.where(sub_ok, big - np.clip(cost[np.ix_(rows, cols)], 0, 1), 0.0)
    r, c = linear_sum_assignment(weights, maximize=True)
    return [(int(rows[i]), int(cols[j])) for i, j in zip(r, c, strict=True) if sub_ok[i, j]]


def segment_scores(
    pred, truth, shape, tolerance_fraction: float = SEGMENT_TOLERANCE, angle_deg: float = SEGMENT_ANGLE
) -> MatchScores:
    """Segment precision/recall/F1 and length-weighted recall for one image of ``shape`` (H, W).

    Endpoint tolerance is ``tolerance_fraction`` of the longest image side.  Length-weighted
    recall is the summed length of matched true segments over the total true length.
    """
    tolerance = tolerance_fraction * max(int(shape[0]), int(shape[1]))
    p, t = _as_segments(pred), _as_segments(truth)
    matches = match_segments(p, t, tolerance, angle_deg)
    true_lengths = np.hypot(t[:, 2] - t[:, 0], t[:, 3] - t[:, 1])
    matched_length = float(sum(true_lengths[j] for _, j in matches))
    return MatchScores(len(matches), len(p), len(t), matched_length, float(true_lengths.sum()))


def opening_scores(
    pred, truth, shape, tolerance_fraction: float = OPENING_TOLERANCE, angle_deg: float = OPENING_ANGLE
) -> MatchScores:
    """Opening precision/recall/F1: segment matching with the looser opening tolerances.

    Openings are short (a door is a few wall thicknesses) and their ends are fuzzy in the
    masks, so endpoints may be off by 2 % of the longest image side and the angle by 15
    degrees.  The type (door/window) is not compared.
    """
    return segment_scores(pred, truth, shape, tolerance_fraction, angle_deg)


# --------------------------------------------------------------------------- rooms


def room_iou_matrix(pred_labels: np.ndarray, truth_labels: np.ndarray) -> np.ndarray:
    """IoU of every predicted room (label 1..P) with every true room (label 1..T): ``(P, T)``.

    Labels are consecutive positive integers; 0 is background.  Computed from one joint
    histogram, so it costs one pass over the pixels.
    """
    pred_labels = np.asarray(pred_labels, np.int64)
    truth_labels = np.asarray(truth_labels, np.int64)
    if pred_labels.shape != truth_labels.shape:
        raise ValueError(f"label shapes differ: {pred_labels.shape} vs {truth_labels.shape}")
    n_pred, n_true = int(pred_labels.max(initial=0)), int(truth_labels.max(initial=0))
    joint = np.bincount(
        (pred_labels * (n_true + 1) + truth_labels).ravel(), minlength=(n_pred + 1) * (n_true + 1)
    ).reshape(n_pred + 1, n_true + 1)
    inter = joint[1:, 1:].astype(np.float64)
    area_pred = joint[1:, :].sum(axis=1).astype(np.float64)
    area_true = joint[:, 1:].sum(axis=0).astype(np.float64)
    union = area_pred[:, None] + area_true[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def relabel(labels: np.ndarray) -> np.ndarray:
    """Map the distinct positive labels of an image to ``1..K`` (0 stays background)."""
    labels = np.asarray(labels)
    values = np.unique(labels)
    values = values[values > 0]
    lookup = np.zeros(int(labels.max(initial=0)) + 1, np.int32)
    lookup[values] = np.arange(1, len(values) + 1, dtype=np.int32)
    out = np.zeros(labels.shape, np.int32)
    positive = labels > 0
    out[positive] = lookup[labels[positive]]
    return out


def room_scores(
    pred_labels: np.ndarray, truth_labels: np.ndarray, thresholds: Sequence[float] = ROOM_IOUS
) -> dict[float, MatchScores]:
    """Room precision/recall/F1 at each IoU threshold, one-to-one (Hungarian on IoU).

    Both inputs are label images (0 = not a room); use :func:`rasterize_rooms` for polygons.
    """
    pred = relabel(pred_labels)
    truth = relabel(truth_labels)
    matrix = room_iou_matrix(pred, truth)
    n_pred, n_true = matrix.shape
    out = {}
    for threshold in thresholds:
        ok = matrix >= threshold
        matches = _assign(ok, 1.0 - matrix)
        out[float(threshold)] = MatchScores(len(matches), n_pred, n_true)
    return out


# --------------------------------------------------------------------------- statistics


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval over images (rows), seeded so reports are reproducible.

    ``values`` is one number per image, or one row of numbers per image (e.g. TP, FP, FN) with a
    ``statistic`` that turns a resampled ``(n, k)`` array into one number (pooled metrics).
    The default statistic is the mean.  One image gives a zero-width interval; none gives NaNs.
    """
    data = np.asarray(values, np.float64)
    if data.shape[0] == 0:
        return (math.nan, math.nan)
    stat = statistic or (lambda sample: float(np.mean(sample)))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.shape[0], size=(n_resamples, data.shape[0]))
    estimates = np.array([stat(data[idx]) for idx in picks])
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [alpha, 1.0 - alpha])
    return (float(low), float(high))
