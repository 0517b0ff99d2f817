"""The one metric module, shared by the tests, the evaluation CLI and the training loop.

Pure numpy / scipy / shapely / OpenCV functions, no I/O:

* pixel metrics on wall masks: :func:`pixel_counts` (accumulate them over images for the
  pooled numbers), :func:`iou`, :func:`f1`, :func:`tolerant_f1` (3 px tolerance);
* vector metrics: :func:`match_segments` / :func:`segment_scores` (one-to-one matching,
  both endpoints within 1 % of the longest image side in either direction, angle within
  5 degrees; precision, recall, F1 and length-weighted recall) and :func:`opening_scores`
  (the same matching with the looser :data:`OPENING_TOLERANCE` / :data:`OPENING_ANGLE`);
* rooms: :func:`room_iou_matrix` on label images, :func:`match_rooms` / :func:`room_scores`
  (one-to-one Hungarian matching, precision/recall/F1 at IoU 0.5 and 0.7), and
  :func:`room_outcomes`: what became of every true room (its majority type from a room-type
  map, its match at IoU 0.5 and the matched room's type, or why it was missed: :data:`MISS_CAUSES`,
  defined there);
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
ROOM_MATCH_IOU = 0.5  # the matches that room types, recall per type and misses are judged on
UNKNOWN = "unknown"  # the type of a room whose type is not one of the vocabulary's

# Why a true room was not matched at ROOM_MATCH_IOU (see room_outcomes): the first that holds, in this order.
MISS_CAUSES: tuple[str, ...] = ("too_small", "merged", "split", "lost_to_outside", "other")
TOO_SMALL_PX = 300  # true rooms below this many pixels (or the room stage's minimum area) are too small
MERGE_COVER = 0.5  # merged: one prediction covers at least this share of the true room ...
MERGE_OTHER = 0.25  # ... and at least this share of another true room
SPLIT_PART = 0.2  # split: two or more predictions each cover at least this share ...
SPLIT_TOTAL = 0.5  # ... and together at least this share of the true room
OUTSIDE_SHARE = 0.5  # lost_to_outside: more than this share lies in no predicted room
# One line per cause for the report (room_outcomes defines them)
MISS_CAUSE_DEFINITIONS: dict[str, str] = {
    "too_small": f"fewer pixels than the room stage's minimum area or {TOO_SMALL_PX} px, whichever is more",
    "merged": f"one predicted room covers >= {MERGE_COVER:.0%} of it and >= {MERGE_OTHER:.0%} of another "
    "true room (the wall between them was lost)",
    "split": f"two or more predicted rooms each cover >= {SPLIT_PART:.0%} of it, "
    f"together >= {SPLIT_TOTAL:.0%}",
    "lost_to_outside": f"more than {OUTSIDE_SHARE:.0%} of its pixels are in no predicted room",
    "other": "none of the above (e.g. a prediction spilling into space no true room holds, or shifted)",
}


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


def segment_matches(
    pred, truth, shape, tolerance_fraction: float = SEGMENT_TOLERANCE, angle_deg: float = SEGMENT_ANGLE
) -> list[tuple[int, int]]:
    """:func:`match_segments` for one image of ``shape`` (H, W), the endpoint tolerance being
    ``tolerance_fraction`` of its longest side."""
    tolerance = tolerance_fraction * max(int(shape[0]), int(shape[1]))
    return match_segments(pred, truth, tolerance, angle_deg)


def segment_scores(
    pred,
    truth,
    shape,
    tolerance_fraction: float = SEGMENT_TOLERANCE,
    angle_deg: float = SEGMENT_ANGLE,
    matches: list[tuple[int, int]] | None = None,
) -> MatchScores:
    """Segment precision/recall/F1 and length-weighted recall for one image of ``shape`` (H, W).

    Endpoint tolerance is ``tolerance_fraction`` of the longest image side.  Length-weighted
    recall is the summed length of matched true segments over the total true length.  ``matches``:
    the :func:`segment_matches` of these segments when the caller already has them.
    """
    p, t = _as_segments(pred), _as_segments(truth)
    if matches is None:
        matches = segment_matches(p, t, shape, tolerance_fraction, angle_deg)
    true_lengths = np.hypot(t[:, 2] - t[:, 0], t[:, 3] - t[:, 1])
    matched_length = float(sum(true_lengths[j] for _, j in matches))
    return MatchScores(len(matches), len(p), len(t), matched_length, float(true_lengths.sum()))


def wall_thickness_error(pred, truth, matches: list[tuple[int, int]]) -> float | None:
    """Median relative thickness error ``|t - t_true| / t_true`` over the ``matches`` (pred, truth index)
    of walls ``pred`` and ``truth`` (:func:`segment_matches`).

    Only matched pairs where both walls have a thickness count; None when there is none.
    """
    errors = [
        abs(pred[i].thickness - truth[j].thickness) / truth[j].thickness
        for i, j in matches
        if pred[i].thickness and truth[j].thickness
    ]
    return float(np.median(errors)) if errors else None


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


def match_rooms(matrix: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """One-to-one matches ``(pred_index, truth_index)`` with IoU >= ``threshold`` (Hungarian on IoU).

    ``matrix`` is :func:`room_iou_matrix`'s ``(P, T)``; the most matches, then the highest total IoU.
    """
    matrix = np.asarray(matrix, np.float64)
    return _assign(matrix >= threshold, 1.0 - matrix)


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
    return {float(t): MatchScores(len(match_rooms(matrix, t)), n_pred, n_true) for t in thresholds}


def known_type(room_type: str | None, vocabulary: Sequence[str]) -> str:
    """``room_type`` when it is one of ``vocabulary``, else :data:`UNKNOWN` (``None`` included)."""
    return room_type if room_type in vocabulary else UNKNOWN


def majority_types(truth_labels: np.ndarray, type_map: np.ndarray, vocabulary: Sequence[str]) -> list[str]:
    """The type of each true room 1..T: the most frequent known type among its pixels in ``type_map``.

    ``type_map`` holds ``k`` in ``1..len(vocabulary)`` for a pixel of type ``vocabulary[k - 1]``
    (any other value: no room or unknown, as :mod:`model_code.datasets.room_maps`).  A room with no
    known-type pixel is :data:`UNKNOWN`; a tie goes to the type listed first.
    """
    labels = np.asarray(truth_labels, np.int64)
    values = np.asarray(type_map, np.int64)
    if labels.shape != values.shape:
        raise ValueError(f"type map shape {values.shape} differs from the room labels' {labels.shape}")
    n_true, n_types = int(labels.max(initial=0)), len(vocabulary)
    known = (labels > 0) & (values >= 1) & (values <= n_types)
    votes = np.bincount(
        (labels[known] - 1) * n_types + (values[known] - 1), minlength=n_true * n_types
    ).reshape(n_true, n_types)
    return [vocabulary[int(np.argmax(row))] if row.any() else UNKNOWN for row in votes]


@dataclass
class TruthRoom:
    """What became of one true room (see :func:`room_outcomes`)."""

    area: int  # pixels
    type: str  # its majority type, or UNKNOWN
    match: int | None  # 0-based index of the predicted room matched at ROOM_MATCH_IOU, else None
    iou: float  # IoU with that match; when unmatched, the best IoU with any predicted room
    predicted_type: str | None  # the matched room's type (UNKNOWN when untyped); None when unmatched
    cause: str | None  # why it was missed (one of MISS_CAUSES); None when matched

    @property
    def type_correct(self) -> bool | None:
        """Whether the match has the true type; None when unmatched or the true type is unknown."""
        if self.match is None or self.type == UNKNOWN:
            return None
        return self.predicted_type == self.type

    def to_dict(self) -> dict:
        """JSON form."""
        return {
            "area": self.area,
            "type": self.type,
            "match": self.match,
            "iou": round(self.iou, 4),
            "predicted_type": self.predicted_type,
            "cause": self.cause,
        }


def miss_cause(joint: np.ndarray, truth: int, min_area: float) -> str:
    """Why the true room ``truth`` (1-based) was not matched; ``joint`` is the ``(P+1, T+1)`` pixel
    histogram of (predicted label, true label), row/column 0 meaning no room.  See :func:`room_outcomes`.
    """
    area = float(joint[:, truth].sum())
    if area < min_area:
        return "too_small"
    cover = joint[1:, truth] / area  # share of the true room inside each predicted room
    truth_areas = np.maximum(joint.sum(axis=0)[1:], 1).astype(np.float64)
    others = joint[1:, 1:] / truth_areas[None, :]  # share of each true room inside each prediction
    others[:, truth - 1] = 0.0
    if np.any((cover >= MERGE_COVER) & (others.max(axis=1, initial=0.0) >= MERGE_OTHER)):
        return "merged"
    parts = cover[cover >= SPLIT_PART]
    if len(parts) >= 2 and parts.sum() >= SPLIT_TOTAL:
        return "split"
    if joint[0, truth] / area > OUTSIDE_SHARE:
        return "lost_to_outside"
    return "other"


def room_outcomes(
    pred_labels: np.ndarray,
    truth_labels: np.ndarray,
    pred_types: Sequence[str | None],
    type_map: np.ndarray | None = None,
    vocabulary: Sequence[str] = (),
    min_area: float = TOO_SMALL_PX,
    threshold: float = ROOM_MATCH_IOU,
) -> list[TruthRoom]:
    """Every true room's match, type and, when missed, the cause.

    ``pred_labels``: label ``k`` is predicted room ``k - 1`` of ``pred_types`` (0 = no room; a room
    with no pixel never matches).  ``truth_labels``: true rooms ``1..T`` (consecutive, see
    :func:`relabel`); the result is in that order.  ``type_map`` and ``vocabulary``: see
    :func:`majority_types` (without them every true type is unknown).  Predicted types outside the
    vocabulary, ``None`` included, are :data:`UNKNOWN`, which never equals a true type.

    Rooms are matched one to one at IoU >= ``threshold`` (:func:`match_rooms`).  The cause of a
    miss is the first of these that holds, with ``cover(p)`` the share of the true room's pixels
    inside predicted room ``p``:

    * ``too_small``: the true room has fewer than ``min_area`` pixels (the evaluation passes
      ``max(TOO_SMALL_PX, the room stage's minimum area)``); nothing else is asked of it;
    * ``merged``: a predicted room covers at least half of it (``MERGE_COVER``) and at least a
      quarter (``MERGE_OTHER``) of another true room: the wall between them was lost, and the
      prediction matched the other room or, too big, none;
    * ``split``: two or more predicted rooms each cover at least 20 % of it (``SPLIT_PART``) and
      together at least half (``SPLIT_TOTAL``), and none matched it;
    * ``lost_to_outside``: more than half of its pixels (``OUTSIDE_SHARE``) are in no predicted
      room (the room stage took it for the outside, or the walls around it were not closed);
    * ``other``: anything else (e.g. a prediction covering it but spilling into corridors or the
      outside that no true room holds, or one that is shifted).
    """
    truth = relabel(truth_labels).astype(np.int64)
    pred = np.asarray(pred_labels, np.int64)
    if pred.shape != truth.shape:
        raise ValueError(f"label shapes differ: {pred.shape} vs {truth.shape}")
    n_pred = max(len(pred_types), int(pred.max(initial=0)))
    if n_pred > len(pred_types):
        raise ValueError(f"predicted label {n_pred} has no type (only {len(pred_types)} given)")
    n_true = int(truth.max(initial=0))
    joint = np.bincount((pred * (n_true + 1) + truth).ravel(), minlength=(n_pred + 1) * (n_true + 1))
    joint = joint.reshape(n_pred + 1, n_true + 1)
    inter = joint[1:, 1:].astype(np.float64)
    union = joint[1:, :].sum(axis=1)[:, None] + joint[:, 1:].sum(axis=0)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.where(union > 0, inter / union, 0.0)
    matched = {t: p for p, t in match_rooms(matrix, threshold)}
    types = [UNKNOWN] * n_true if type_map is None else majority_types(truth, type_map, vocabulary)
    out = []
    for t in range(n_true):
        area = int(joint[:, t + 1].sum())
        p = matched.get(t)
        if p is not None:
            kind = known_type(pred_types[p], vocabulary)
            out.append(TruthRoom(area, types[t], p, float(matrix[p, t]), kind, None))
            continue
        best = float(matrix[:, t].max(initial=0.0))
        out.append(TruthRoom(area, types[t], None, best, None, miss_cause(joint, t + 1, min_area)))
    return out


def mask_thickness(wall: np.ndarray) -> float:
    """Typical wall thickness (px) of a mask: twice the median distance-transform ridge (0 if empty).

    The vectorizer's quick estimate, used here to judge the room stage's minimum area on the truth.
    """
    mask = np.asarray(wall, bool)
    if not mask.any():
        return 0.0
    dist = cv2.distanceTransform(np.pad(mask.view(np.uint8), 1), cv2.DIST_L2, cv2.DIST_MASK_5)[1:-1, 1:-1]
    peaks = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & (dist > 0)
    return float(max(2.0 * np.median(dist[peaks]) - 0.5, 1.0))


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
