"""Aggregation with bootstrap confidence intervals and the report files.

``report.json`` holds everything (settings, per-backend summaries with 95% CIs, per-plan
scores); ``report.md`` the side-by-side table, the skipped plans and the gallery of the worst
plans; ``overlays/<stem>.png`` one picture per plan (ground truth | each backend) and
``gallery.png`` the worst plans stacked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from model_code import metrics
from model_code.evaluation.runner import GROUND_TRUTH, PlanRecord
from model_code.evaluation.scoring import METRICS, MetricDef
from model_code.evaluation.truth import GroundTruth
from model_code.imageio import read_image, write_png
from model_code.pipeline import PlanResult

PANEL_SIZE = 480  # longest side of one panel in the side-by-side pictures
HEADER = 28  # px of caption above each panel
GROUND_TRUTH_COLOURS = {"wall": (220, 40, 40), "opening": (30, 120, 230)}


@dataclass
class Summary:
    """One metric of one backend over the plans it applies to: value and 95% bootstrap CI."""

    value: float | None
    low: float | None
    high: float | None
    plans: int

    def cell(self, digits: int = 3) -> str:
        """Markdown table cell, e.g. ``0.912 [0.890, 0.931]``; ``n/a`` when not applicable."""
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def summarize_metric(
    definition: MetricDef, records: Sequence[PlanRecord], backend: str, resamples: int, seed: int
) -> Summary:
    """Value and 95% bootstrap CI of one metric for one backend over the plans it applies to."""
    scores = [r.scores[backend] for r in records if backend in r.scores]
    scores = [s for s in scores if definition.applies(s)]
    if not scores:
        return Summary(None, None, None, 0)
    value = definition.aggregate(scores)
    if value is None:
        return Summary(None, None, None, len(scores))
    if len(scores) < 2 or resamples <= 0:
        return Summary(value, None, None, len(scores))
    rows = definition.rows(scores)
    low, high = metrics.bootstrap_ci(
        rows, definition.statistic, confidence=0.95, n_resamples=resamples, seed=seed
    )
    return Summary(value, _finite(low), _finite(high), len(scores))


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def summarize(
    records: Sequence[PlanRecord], backends: Sequence[str], resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, Summary]]:
    """``{backend: {metric key: Summary}}`` for every metric of :data:`scoring.METRICS`."""
    return {
        backend: {d.key: summarize_metric(d, records, backend, resamples, seed) for d in METRICS}
        for backend in backends
    }


def primary_score(record: PlanRecord, backend: str) -> float:
    """The number plans are ranked by for the gallery: the backend's wall IoU (errors rank worst)."""
    score = record.scores.get(backend)
    if score is None:
        return -1.0
    return float(score.values.get("wall_iou", -1.0))


def worst_plans(records: Sequence[PlanRecord], backend: str, count: int) -> list[PlanRecord]:
    """The ``count`` plans with the lowest wall IoU for ``backend`` (ties broken by stem)."""
    scored = [r for r in records if GROUND_TRUTH not in r.errors]
    return sorted(scored, key=lambda r: (primary_score(r, backend), r.stem))[:count]


def markdown_table(summaries: dict[str, dict[str, Summary]]) -> str:
    """The side-by-side table: one row per metric, one column per backend."""
    backends = list(summaries)
    lines = [
        "| metric | " + " | ".join(backends) + " |",
        "| --- | " + " | ".join("---" for _ in backends) + " |",
    ]
    for definition in METRICS:
        cells = [summaries[b][definition.key] for b in backends]
        if all(c.value is None for c in cells):
            continue
        plans = max(c.plans for c in cells)
        digits = 0 if definition.key == "time_ms" else 3
        row = " | ".join(c.cell(digits) for c in cells)
        lines.append(f"| {definition.label} (n={plans}) | {row} |")
    return "\n".join(lines)


def write_report(
    out_dir: Path,
    records: Sequence[PlanRecord],
    backends: Sequence[str],
    settings: dict[str, Any],
    resamples: int = 1000,
    seed: int = 0,
    gallery_size: int = 10,
) -> dict[str, dict[str, Summary]]:
    """Write ``report.json``, ``report.md`` and ``gallery.png`` into ``out_dir``; return the summaries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = summarize(records, backends, resamples, seed)
    worst = worst_plans(records, backends[0], gallery_size) if backends else []
    gallery = write_gallery(out_dir, worst)
    payload = {
        "settings": settings,
        "backends": {b: {k: asdict(s) for k, s in per.items()} for b, per in summaries.items()},
        "metrics": {d.key: d.label for d in METRICS},
        "worst_plans": [r.stem for r in worst],
        "plans": [record_dict(r) for r in records],
    }
    (out_dir / "report.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out_dir / "report.md").write_text(
        markdown_report(records, backends, summaries, settings, worst, gallery)
    )
    return summaries


def record_dict(record: PlanRecord) -> dict[str, Any]:
    """JSON form of one plan's outcome."""
    return {
        "stem": record.stem,
        "width": record.width,
        "height": record.height,
        "overlay": record.overlay,
        "errors": record.errors,
        "scores": {name: score.to_dict() for name, score in record.scores.items()},
    }


def markdown_report(
    records: Sequence[PlanRecord],
    backends: Sequence[str],
    summaries: dict[str, dict[str, Summary]],
    settings: dict[str, Any],
    worst: Sequence[PlanRecord],
    gallery: str | None,
) -> str:
    """The human-readable report."""
    lines = [
        "# Evaluation report",
        "",
        f"- data: `{settings.get('data')}` (split: {settings.get('split')}, "
        f"layout: {settings.get('layout')})",
        f"- plans: {len(records)}; backends: {', '.join(f'`{b}`' for b in backends)}",
        "- values: pooled or mean over plans as labelled, with 95% bootstrap CIs over plans "
        f"({settings.get('resamples')} resamples, seed {settings.get('seed')}); "
        "n = plans the metric applies to",
        "",
        markdown_table(summaries),
        "",
    ]
    failed = [(r.stem, name, msg) for r in records for name, msg in r.errors.items()]
    if failed:
        lines += ["## Plans that failed", "", "| plan | where | error |", "| --- | --- | --- |"]
        lines += [f"| {stem} | {name} | {msg.replace('|', '/')} |" for stem, name, msg in failed]
        lines.append("")
    if worst:
        lines += [
            f"## The {len(worst)} worst plans (by `{backends[0]}` wall IoU)",
            "",
            "| plan | " + " | ".join(f"{b} wall IoU" for b in backends) + " | overlay |",
            "| --- | " + " | ".join("---" for _ in backends) + " | --- |",
        ]
        for record in worst:
            cells = []
            for backend in backends:
                score = record.scores.get(backend)
                cells.append(
                    "error" if score is None else f"{score.values.get('wall_iou', float('nan')):.3f}"
                )
            link = f"[png]({record.overlay})" if record.overlay else "-"
            lines.append(f"| {record.stem} | " + " | ".join(cells) + f" | {link} |")
        lines.append("")
        if gallery:
            lines += [f"![the worst plans: ground truth | {' | '.join(backends)}]({gallery})", ""]
    return "\n".join(lines)


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    """Scale so the longest side is ``size`` (area interpolation when shrinking)."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=interpolation
    )


def _caption(panel: np.ndarray, text: str) -> np.ndarray:
    """Put a white caption strip with ``text`` above ``panel``."""
    strip = np.full((HEADER, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(strip, text, (6, HEADER - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, panel])


def tint_masks(
    image: np.ndarray,
    wall: np.ndarray,
    opening: np.ndarray,
    rooms: np.ndarray | None = None,
    alpha: float = 0.6,
) -> np.ndarray:
    """Ground-truth pixel masks over a lightened plan: walls red, openings blue, rooms in pastels."""
    out = (image.astype(np.float32) * 0.5 + 127.5).astype(np.float32)
    if rooms is not None and rooms.max(initial=0) > 0:
        count = int(rooms.max()) + 1
        palette = np.random.default_rng(0).integers(120, 240, size=(count, 3)).astype(np.float32)
        inside = rooms > 0
        out[inside] = out[inside] * 0.6 + palette[rooms[inside]] * 0.4
    for mask, colour in ((wall, GROUND_TRUTH_COLOURS["wall"]), (opening, GROUND_TRUTH_COLOURS["opening"])):
        out[mask] = out[mask] * (1 - alpha) + np.asarray(colour, np.float32) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def truth_panel(truth: GroundTruth) -> np.ndarray:
    """The ground truth as a picture: vector overlay when an annotation exists, else tinted masks."""
    from model_code.overlay import draw_overlay

    if truth.annotation is not None and truth.annotation.walls:
        ann = truth.annotation
        return draw_overlay(truth.image, ann.walls, ann.openings, ann.rooms)
    return tint_masks(truth.image, truth.wall, truth.opening, truth.room_labels)


def side_by_side(truth: GroundTruth, results: dict[str, PlanResult], order: Sequence[str]) -> np.ndarray:
    """Ground truth | each backend's walls, openings and rooms, captioned, one row."""
    from model_code.overlay import draw_overlay

    panels = [_caption(_fit(truth_panel(truth), PANEL_SIZE), f"{truth.stem}: ground truth")]
    for name in order:
        result = results.get(name)
        if result is None:
            blank = np.full_like(panels[0][HEADER:], 255)
            panels.append(_caption(blank, f"{name}: failed"))
            continue
        doc = result.document
        picture = draw_overlay(truth.image, doc.walls, doc.openings, doc.rooms)
        caption = f"{name}: {len(doc.walls)} walls, {len(doc.openings)} openings, {len(doc.rooms)} rooms"
        panels.append(_caption(_fit(picture, PANEL_SIZE), caption))
    return hstack_padded(panels)


def hstack_padded(panels: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Place RGB panels left to right on white, top-aligned, ``gap`` px apart."""
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for panel in panels:
        canvas[: panel.shape[0], x : x + panel.shape[1]] = panel
        x += panel.shape[1] + gap
    return canvas


def write_gallery(out_dir: Path, worst: Sequence[PlanRecord], max_width: int = 1200) -> str | None:
    """Stack the overlays of the worst plans into ``gallery.png``; returns its relative path or None."""
    rows = []
    for record in worst:
        if record.overlay and (out_dir / record.overlay).is_file():
            row = read_image(out_dir / record.overlay)
            if row.shape[1] > max_width:
                scale = max_width / row.shape[1]
                size = (max_width, max(1, round(row.shape[0] * scale)))
                row = cv2.resize(row, size, interpolation=cv2.INTER_AREA)
            rows.append(row)
    if not rows:
        return None
    width = max(r.shape[1] for r in rows)
    canvas_rows = []
    for row in rows:
        padded = np.full((row.shape[0], width, 3), 255, dtype=np.uint8)
        padded[:, : row.shape[1]] = row
        canvas_rows.append(padded)
        canvas_rows.append(np.full((8, width, 3), 200, dtype=np.uint8))
    write_png(out_dir / "gallery.png", np.vstack(canvas_rows[:-1]))
    return "gallery.png"
