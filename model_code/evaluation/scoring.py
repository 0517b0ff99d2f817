"""One plan's scores for one backend, and the list of metrics the report aggregates.

Every number comes from :mod:`model_code.evaluation.metrics` (the one metric module).  A plan's score
keeps per-plan values (averaged over plans in the report) and additive counts (true/false
positives and negatives, summed over plans for the *pooled* metrics), so that bootstrap
resampling over plans can recompute either kind.

Rooms: besides precision/recall/F1 at IoU 0.5 and 0.7, every true room's outcome
(:class:`metrics.TruthRoom`: its type, its match at IoU 0.5 and the match's type, or the cause of
the miss) is kept per plan (``PlanScore.truth_rooms``) and counted for the pooled room-type
accuracy, the recall per type and the share of true rooms missed for each cause.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model_code.evaluation import metrics
from model_code.evaluation.truth import GroundTruth
from model_code.geometry import raster
from model_code.pipeline import PlanResult
from model_code.schema import ROOM_TYPES

TOLERANCE_PX = metrics.PIXEL_TOLERANCE  # tolerant wall F1: pixels within this distance count
ROOM_IOUS = metrics.ROOM_IOUS
ROOM_TYPE_ROWS: tuple[str, ...] = (*ROOM_TYPES, metrics.UNKNOWN)  # recall per type, misses per type


@dataclass
class PlanScore:
    """Scores of one backend on one plan."""

    values: dict[str, float] = field(default_factory=dict)  # per-plan metric values
    counts: dict[str, float] = field(default_factory=dict)  # additive counts: <prefix>_tp/_fp/_fn
    time_ms: float = 0.0
    walls: int = 0
    openings: int = 0
    rooms: int = 0
    truth_rooms: list[metrics.TruthRoom] | None = None  # each true room's outcome; None: no room truth
    room_types_known: bool = False  # the plan has a room-type map (true types can be known)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (floats rounded for a readable report)."""
        out = {
            "values": {k: round(v, 5) for k, v in self.values.items()},
            "counts": {k: round(v, 3) for k, v in self.counts.items()},
            "time_ms": round(self.time_ms, 1),
            "walls": self.walls,
            "openings": self.openings,
            "rooms": self.rooms,
        }
        if self.truth_rooms is not None:
            out["truth_rooms"] = [room.to_dict() for room in self.truth_rooms]
        return out


def _ratio(kind: str, tp: float, fp: float, fn: float) -> float:
    """IoU, F1, precision or recall from summed counts; NaN when undefined (0/0)."""
    numerator, denominator = {
        "iou": (tp, tp + fp + fn),
        "f1": (2 * tp, 2 * tp + fp + fn),
        "precision": (tp, tp + fp),
        "recall": (tp, tp + fn),
    }[kind]
    return math.nan if denominator <= 0 else float(numerator / denominator)


@dataclass(frozen=True)
class MetricDef:
    """One row of the report: a per-plan mean of ``values[key]`` or a pooled ratio of ``counts``."""

    key: str
    label: str
    source: str  # values key (mean) or counts prefix (pooled)
    pooled: str | None = None  # "iou", "f1", "precision", "recall" for pooled rows
    table: str = "main"  # the report's table: "main", "room_types" (recall per type), "misses"

    def applies(self, score: PlanScore) -> bool:
        """True when this plan has what the metric needs (e.g. vector ground truth)."""
        if self.pooled is None:
            return self.source in score.values
        return f"{self.source}_tp" in score.counts

    def rows(self, scores: Sequence[PlanScore]) -> np.ndarray:
        """One row per plan: its value ``(n,)``, or its ``(tp, fp, fn)`` counts ``(n, 3)`` when pooled."""
        if self.pooled is None:
            return np.array([s.values[self.source] for s in scores], dtype=np.float64)
        parts = ("tp", "fp", "fn")
        return np.array([[s.counts[f"{self.source}_{p}"] for p in parts] for s in scores], dtype=np.float64)

    def statistic(self, rows: np.ndarray) -> float:
        """The metric of the plans behind ``rows`` (mean, or the ratio of summed counts); NaN if undefined."""
        if len(rows) == 0:
            return math.nan
        if self.pooled is None:
            return float(np.mean(rows))
        tp, fp, fn = rows.sum(axis=0)
        return _ratio(self.pooled, tp, fp, fn)

    def aggregate(self, scores: Sequence[PlanScore]) -> float | None:
        """The metric over several plans (all of which :meth:`applies` to)."""
        value = self.statistic(self.rows(scores))
        return None if math.isnan(value) else value


METRICS: tuple[MetricDef, ...] = (
    MetricDef("wall_iou_pooled", "wall IoU, pooled", "wall", "iou"),
    MetricDef("wall_iou", "wall IoU, mean per plan", "wall_iou"),
    MetricDef("wall_f1_pooled", "wall F1, pooled", "wall", "f1"),
    MetricDef("wall_f1", "wall F1, mean per plan", "wall_f1"),
    MetricDef("wall_f1_tolerant", f"wall F1 within {TOLERANCE_PX:g} px, mean", "wall_f1_tolerant"),
    MetricDef("vector_wall_iou", "re-rasterised wall IoU (vector output), mean", "vector_wall_iou"),
    MetricDef("opening_f1_pooled", "opening pixel F1, pooled", "opening", "f1"),
    MetricDef("segment_precision", "wall segment precision, pooled", "segment", "precision"),
    MetricDef("segment_recall", "wall segment recall, pooled", "segment", "recall"),
    MetricDef("segment_f1", "wall segment F1, pooled", "segment", "f1"),
    MetricDef(
        "segment_length_recall", "wall length recall (matched length), pooled", "segment_length", "recall"
    ),
    MetricDef("opening_segment_f1", "opening segment F1, pooled", "opening_segment", "f1"),
    MetricDef(
        "wall_thickness_error",
        "wall thickness error (matched walls, median relative error), mean per plan (lower is better)",
        "wall_thickness_error",
    ),
    MetricDef("room_precision_50", "room precision @ IoU 0.5, pooled", "room50", "precision"),
    MetricDef("room_recall_50", "room recall @ IoU 0.5, pooled", "room50", "recall"),
    MetricDef("room_f1_50", "room F1 @ IoU 0.5, pooled", "room50", "f1"),
    MetricDef("room_precision_70", "room precision @ IoU 0.7, pooled", "room70", "precision"),
    MetricDef("room_recall_70", "room recall @ IoU 0.7, pooled", "room70", "recall"),
    MetricDef("room_f1_70", "room F1 @ IoU 0.7, pooled", "room70", "f1"),
    # correct / judged: tp = matched rooms of known true type with that type, fn = the others
    MetricDef(
        "room_type_accuracy", "room-type accuracy (rooms matched @ IoU 0.5), pooled", "room_type", "recall"
    ),
    MetricDef("time_ms", "time per plan, ms (mean)", "time_ms"),
    *(
        MetricDef(f"room_recall_50_{t}", f"room recall @ IoU 0.5: {t}", f"room50_{t}", "recall", "room_types")
        for t in ROOM_TYPE_ROWS
    ),
    *(
        MetricDef(f"room_missed_{c}", f"true rooms missed: {c}", f"room_miss_{c}", "recall", "misses")
        for c in metrics.MISS_CAUSES
    ),
)
METRICS_BY_KEY: dict[str, MetricDef] = {m.key: m for m in METRICS}


def _add_counts(score: PlanScore, prefix: str, tp: float, fp: float, fn: float) -> None:
    score.counts[f"{prefix}_tp"] = float(tp)
    score.counts[f"{prefix}_fp"] = float(fp)
    score.counts[f"{prefix}_fn"] = float(fn)


def score_pixels(score: PlanScore, truth: GroundTruth, result: PlanResult) -> None:
    """Wall and opening pixel metrics, tolerant wall F1 and the re-rasterised vector walls."""
    wall = metrics.pixel_counts(result.wall_mask, truth.wall)
    _add_counts(score, "wall", wall.tp, wall.fp, wall.fn)
    score.values["wall_iou"] = wall.iou
    score.values["wall_f1"] = wall.f1
    score.values["wall_f1_tolerant"] = metrics.tolerant_f1(result.wall_mask, truth.wall, TOLERANCE_PX)
    opening = metrics.pixel_counts(result.opening_mask, truth.opening)
    _add_counts(score, "opening", opening.tp, opening.fp, opening.fn)
    # Walls run through their doors and windows: compare walls minus openings with the wall mask.
    drawn, _ = raster.rasterize_plan(result.document.walls, result.document.openings, truth.shape)
    score.values["vector_wall_iou"] = metrics.iou(drawn, truth.wall)


def _add_matches(score: PlanScore, prefix: str, match: metrics.MatchScores) -> None:
    _add_counts(score, prefix, match.matched, match.predicted - match.matched, match.truth - match.matched)


def score_vectors(score: PlanScore, truth: GroundTruth, result: PlanResult) -> None:
    """Segment and opening matching against vector ground truth (annotation layouts only)."""
    if truth.annotation is None or not truth.annotation.walls:
        return
    doc = result.document
    matches = metrics.segment_matches(doc.walls, truth.annotation.walls, truth.shape)
    walls = metrics.segment_scores(doc.walls, truth.annotation.walls, truth.shape, matches=matches)
    _add_matches(score, "segment", walls)
    _add_counts(score, "segment_length", walls.matched_length, 0.0, walls.truth_length - walls.matched_length)
    openings = metrics.opening_scores(doc.openings, truth.annotation.openings, truth.shape)
    _add_matches(score, "opening_segment", openings)
    thickness = metrics.wall_thickness_error(doc.walls, truth.annotation.walls, matches)
    if thickness is not None:
        score.values["wall_thickness_error"] = thickness


def truth_room_labels(truth: GroundTruth) -> np.ndarray | None:
    """True room instances: the layout's label image, else the annotation's room polygons, else None."""
    if truth.room_labels is not None:
        return truth.room_labels
    if truth.annotation is not None and truth.annotation.rooms:
        return raster.rasterize_rooms(truth.annotation.rooms, truth.shape)
    return None


def too_small_area(truth: GroundTruth) -> float:
    """The area under which a true room is ``too_small``: the room stage's minimum, at least TOO_SMALL_PX.

    The room stage's default minimum (``VectorizeOptions.room_min_area``) for the plan's size and
    its true walls' typical thickness, so that the cause does not depend on the backend.
    """
    from model_code.geometry.vectorize import VectorizeOptions

    stage = VectorizeOptions().resolve(truth.shape, metrics.mask_thickness(truth.wall)).room_min_area
    return max(float(metrics.TOO_SMALL_PX), stage)


@dataclass
class RoomAnalysis:
    """One backend's rooms against the true rooms of one plan (the pictures draw it too)."""

    truth_labels: np.ndarray  # (H, W) true rooms 1..T (relabelled), 0 = none
    pred_labels: np.ndarray  # (H, W) label k = document room k - 1, 0 = none
    pred_types: list[str]  # each predicted room's type (UNKNOWN when untyped)
    outcomes: list[metrics.TruthRoom]  # each true room, in label order
    types_known: bool  # a room-type map was available


def room_analysis(truth: GroundTruth, result: PlanResult) -> RoomAnalysis | None:
    """Match the predicted rooms with the true ones (None when the plan has no room truth)."""
    labels = truth_room_labels(truth)
    if labels is None:
        return None
    truth_labels = metrics.relabel(labels)
    rooms = result.document.rooms
    pred_labels = raster.rasterize_rooms(rooms, truth.shape)
    pred_types = [metrics.known_type(room.type, ROOM_TYPES) for room in rooms]
    outcomes = metrics.room_outcomes(
        pred_labels, truth_labels, pred_types, truth.room_type, ROOM_TYPES, too_small_area(truth)
    )
    return RoomAnalysis(truth_labels, pred_labels, pred_types, outcomes, truth.room_type is not None)


def score_rooms(score: PlanScore, truth: GroundTruth, result: PlanResult) -> None:
    """Room matching (one-to-one) at IoU 0.5 and 0.7, room types and misses against the true rooms.

    Counts (pooled over plans): ``room50``/``room70`` matches; ``room_type`` (tp: matched rooms whose
    true type is known and equal to the predicted type, fn: the other matched rooms of known true
    type), only where a room-type map exists; ``room50_<type>`` (tp: true rooms of that type
    matched at IoU 0.5, fn: missed), likewise; ``room_miss_<cause>`` (tp: true rooms missed for
    that cause, fn: all other true rooms).  ``values["room_f1_50"]`` ranks the worst plans.
    """
    analysis = room_analysis(truth, result)
    if analysis is None:
        return
    for threshold, match in metrics.room_scores(
        analysis.pred_labels, analysis.truth_labels, ROOM_IOUS
    ).items():
        _add_matches(score, f"room{round(threshold * 100)}", match)
        if threshold == metrics.ROOM_MATCH_IOU:
            score.values["room_f1_50"] = match.f1
    outcomes = analysis.outcomes
    score.truth_rooms = outcomes
    score.room_types_known = analysis.types_known
    for cause in metrics.MISS_CAUSES:
        missed = sum(room.cause == cause for room in outcomes)
        _add_counts(score, f"room_miss_{cause}", missed, 0, len(outcomes) - missed)
    if not analysis.types_known:
        return
    judged = [room.type_correct for room in outcomes if room.type_correct is not None]
    _add_counts(score, "room_type", sum(judged), 0, len(judged) - sum(judged))
    for room_type in ROOM_TYPE_ROWS:
        of_type = [room for room in outcomes if room.type == room_type]
        found = sum(room.match is not None for room in of_type)
        _add_counts(score, f"room50_{room_type}", found, 0, len(of_type) - found)


def score_plan(truth: GroundTruth, result: PlanResult, time_ms: float | None = None) -> PlanScore:
    """All applicable metrics of one backend's result on one plan.

    ``time_ms`` is the measured wall-clock time of the analysis (default: the document's stage timings).
    """
    doc = result.document
    score = PlanScore(
        time_ms=float(sum(doc.timing_ms.values()) if time_ms is None else time_ms),
        walls=len(doc.walls),
        openings=len(doc.openings),
        rooms=len(doc.rooms),
    )
    score.values["time_ms"] = score.time_ms
    score_pixels(score, truth, result)
    score_vectors(score, truth, result)
    score_rooms(score, truth, result)
    return score


GROUND_TRUTH = "ground truth"  # the errors key of a plan whose annotation could not be read


@dataclass
class PlanRecord:
    """One plan's outcome: its size and, per backend label, its scores (or the error raised)."""

    stem: str
    width: int
    height: int
    scores: dict[str, PlanScore] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    overlay: str | None = None  # path of the side-by-side picture, relative to the report folder
    room_overlay: str | None = None  # path of the rooms-by-type picture, relative to the report folder
