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
