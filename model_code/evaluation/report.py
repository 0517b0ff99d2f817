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

import numpy as np

from model_code.evaluation import metrics
from model_code.evaluation.pictures import write_gallery
from model_code.evaluation.scoring import GROUND_TRUTH, METRICS, MetricDef, PlanRecord


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
