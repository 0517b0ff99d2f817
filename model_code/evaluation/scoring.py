"""One plan's scores for one backend, and the list of metrics the report aggregates.

Every number comes from :mod:`model_code.evaluation.metrics` (the one metric module).  A plan's score
keeps per-plan values (averaged over plans in the report) and additive counts (true/false
positives and negatives, summed over plans for the *pooled* metrics), so that bootstrap
resampling over plans can recompute either kind.
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

TOLERANCE_PX = metrics.PIXEL_TOLERANCE  # tolerant wall F1: pixels within this distance count
ROOM_IOUS = metrics.ROOM_IOUS


@dataclass
class PlanScore:
    """Scores of one backend on one plan."""

    values: dict[str, float] = field(default_factory=dict)  # per-plan metric values
    counts: dict[str, float] = field(default_factory=dict)  # additive counts: <prefix>_tp/_fp/_fn
    time_ms: float = 0.0
    walls: int = 0
    openings: int = 0
    rooms: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (floats rounded for a readable report)."""
        return {
            "values": {k: round(v, 5) for k, v in self.values.items()},
            "counts": {k: round(v, 3) for k, v in self.counts.items()},
            "time_ms": round(self.time_ms, 1),
            "walls": self.walls,
            "openings": self.openings,
            "rooms": self.rooms,
        }


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
    MetricDef("room_precision_50", "room precision @ IoU 0.5, pooled", "room50", "precision"),
    MetricDef("room_recall_50", "room recall @ IoU 0.5, pooled", "room50", "recall"),
    MetricDef("room_f1_50", "room F1 @ IoU 0.5, pooled", "room50", "f1"),
    MetricDef("room_f1_70", "room F1 @ IoU 0.7, pooled", "room70", "f1"),
    MetricDef("time_ms", "time per plan, ms (mean)", "time_ms"),
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
    walls = metrics.segment_scores(doc.walls, truth.annotation.walls, truth.shape)
    _add_matches(score, "segment", walls)
    _add_counts(score, "segment_length", walls.matched_length, 0.0, walls.truth_length - walls.matched_length)
    openings = metrics.opening_scores(doc.openings, truth.annotation.openings, truth.shape)
    _add_matches(score, "opening_segment", openings)


def truth_room_labels(truth: GroundTruth) -> np.ndarray | None:
    """True room instances: the layout's label image, else the annotation's room polygons, else None."""
    if truth.room_labels is not None:
        return truth.room_labels
    if truth.annotation is not None and truth.annotation.rooms:
        return raster.rasterize_rooms(truth.annotation.rooms, truth.shape)
    return None


def score_rooms(score: PlanScore, truth: GroundTruth, result: PlanResult) -> None:
    """Room matching (one-to-one) at IoU 0.5 and 0.7 against the true room instances."""
    labels = truth_room_labels(truth)
    if labels is None:
        return
    predicted = raster.rasterize_rooms(result.document.rooms, truth.shape)
    for threshold, match in metrics.room_scores(predicted, labels, ROOM_IOUS).items():
        _add_matches(score, f"room{round(threshold * 100)}", match)


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
