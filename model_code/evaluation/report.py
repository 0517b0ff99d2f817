"""Aggregation with bootstrap confidence intervals and the report files.

``report.json`` holds everything (settings, per-backend summaries with 95% CIs, the room
breakdown per backend, per-plan scores); ``report.md`` the side-by-side table, the rooms
section (room-type accuracy, recall per type, misses by cause and type), the skipped plans and
the galleries of the worst plans; ``overlays/<stem>.png`` one picture per plan (ground truth |
each backend), ``room_overlays/<stem>.png`` its rooms by type, ``gallery.png`` the worst plans
by wall IoU stacked and ``gallery_rooms.png`` the worst by room F1.
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
from model_code.evaluation.scoring import (
    GROUND_TRUTH,
    METRICS,
    ROOM_TYPE_ROWS,
    MetricDef,
    PlanRecord,
)


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


def room_f1(record: PlanRecord, backend: str) -> float | None:
    """The backend's room F1 @ IoU 0.5 on one plan (-1 for an error, None without room truth)."""
    score = record.scores.get(backend)
    if score is None:
        return -1.0
    value = score.values.get("room_f1_50")
    return None if value is None else float(value)


def worst_by_room_f1(records: Sequence[PlanRecord], backend: str, count: int) -> list[PlanRecord]:
    """The ``count`` plans with room truth and the lowest room F1 @ IoU 0.5 for ``backend`` (ties by stem)."""
    scored = [r for r in records if GROUND_TRUTH not in r.errors and room_f1(r, backend) is not None]
    return sorted(scored, key=lambda r: (room_f1(r, backend), r.stem))[:count]


def room_breakdown(records: Sequence[PlanRecord], backend: str) -> dict[str, Any]:
    """Room counts of one backend over all plans with room truth (matching at IoU 0.5).

    ``truth_rooms``; ``typed`` (true rooms of a known type, in plans with a room-type map);
    ``recall_by_type`` ``{type: {"truth", "matched"}}`` (plans with a room-type map);
    ``type_judged``/``type_correct`` (matched rooms of known true type / with that type);
    ``type_confusion`` ``{true type: {predicted type: rooms}}`` over matched rooms;
    ``misses`` ``{cause: {"all": rooms, type: rooms, ...}}``.
    """
    out: dict[str, Any] = {
        "truth_rooms": 0,
        "typed": 0,
        "plans": 0,
        "plans_with_types": 0,
        "recall_by_type": {t: {"truth": 0, "matched": 0} for t in ROOM_TYPE_ROWS},
        "type_judged": 0,
        "type_correct": 0,
        "type_confusion": {},
        "misses": {c: {"all": 0, **dict.fromkeys(ROOM_TYPE_ROWS, 0)} for c in metrics.MISS_CAUSES},
    }
    for record in records:
        score = record.scores.get(backend)
        if score is None or score.truth_rooms is None:
            continue
        out["plans"] += 1
        out["plans_with_types"] += int(score.room_types_known)
        for room in score.truth_rooms:
            out["truth_rooms"] += 1
            if room.cause is not None:
                out["misses"][room.cause]["all"] += 1
                out["misses"][room.cause][room.type] += 1
            if not score.room_types_known:
                continue
            out["typed"] += int(room.type != metrics.UNKNOWN)
            out["recall_by_type"][room.type]["truth"] += 1
            out["recall_by_type"][room.type]["matched"] += int(room.match is not None)
            if room.type_correct is not None:
                out["type_judged"] += 1
                out["type_correct"] += int(room.type_correct)
                row = out["type_confusion"].setdefault(room.type, {})
                row[room.predicted_type] = row.get(room.predicted_type, 0) + 1
    return out


def markdown_table(summaries: dict[str, dict[str, Summary]], table: str = "main") -> str:
    """The side-by-side table: one row per metric (of ``table``), one column per backend."""
    backends = list(summaries)
    lines = [
        "| metric | " + " | ".join(backends) + " |",
        "| --- | " + " | ".join("---" for _ in backends) + " |",
    ]
    for definition in (d for d in METRICS if d.table == table):
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
    worst_rooms = worst_by_room_f1(records, backends[0], gallery_size) if backends else []
    room_gallery = write_gallery(out_dir, worst_rooms, name="gallery_rooms.png", picture="room_overlay")
    breakdown = {b: room_breakdown(records, b) for b in backends}
    payload = {
        "settings": settings,
        "backends": {b: {k: asdict(s) for k, s in per.items()} for b, per in summaries.items()},
        "metrics": {d.key: d.label for d in METRICS},
        "worst_plans": [r.stem for r in worst],
        "worst_plans_by_room_f1": [r.stem for r in worst_rooms],
        "room_breakdown": breakdown,
        "miss_causes": metrics.MISS_CAUSE_DEFINITIONS,
        "plans": [record_dict(r) for r in records],
    }
    (out_dir / "report.json").write_text(json.dumps(payload, indent=2) + "\n")
    markdown = markdown_report(records, backends, summaries, settings, worst, gallery)
    rooms = rooms_section(records, backends, summaries, breakdown, worst_rooms, room_gallery)
    (out_dir / "report.md").write_text(markdown + ("\n" + rooms if rooms else ""))
    return summaries


def record_dict(record: PlanRecord) -> dict[str, Any]:
    """JSON form of one plan's outcome."""
    return {
        "stem": record.stem,
        "width": record.width,
        "height": record.height,
        "overlay": record.overlay,
        "room_overlay": record.room_overlay,
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


def _cell(summary: Summary, extra: str = "") -> str:
    return summary.cell() + (f" ({extra})" if extra and summary.value is not None else "")


def rooms_section(
    records: Sequence[PlanRecord],
    backends: Sequence[str],
    summaries: dict[str, dict[str, Summary]],
    breakdown: dict[str, dict[str, Any]],
    worst: Sequence[PlanRecord],
    gallery: str | None,
) -> str:
    """The report's rooms section: type accuracy, recall per type, misses by cause, the worst by room F1."""
    if not backends or not any(b["plans"] for b in breakdown.values()):
        return ""
    first = breakdown[backends[0]]
    header = "| | " + " | ".join(backends) + " |\n| --- | " + " | ".join("---" for _ in backends) + " |"
    lines = [
        "## Rooms",
        "",
        f"{first['truth_rooms']} true rooms in {first['plans']} plans; {first['plans_with_types']} plans "
        f"have a room-type map ({first['typed']} true rooms of a known type).  Rooms are matched one to "
        "one (Hungarian on IoU); type accuracy, recall per type and misses use the matches at IoU 0.5.  "
        "A true room's type is the most frequent known type among its pixels; a predicted room "
        "without a type counts as `unknown`, which is always wrong.  Values: pooled over plans "
        "[95% bootstrap CI over plans].",
        "",
        "### Room-type accuracy (matched rooms of known true type)",
        "",
        header,
    ]
    cells = []
    for b in backends:
        judged, correct = breakdown[b]["type_judged"], breakdown[b]["type_correct"]
        cells.append(_cell(summaries[b]["room_type_accuracy"], f"{correct}/{judged}"))
    lines += ["| accuracy | " + " | ".join(cells) + " |", ""]
    confusion = [
        f"- `{b}`: "
        + "; ".join(
            f"{truth} -> " + ", ".join(f"{pred} {n}" for pred, n in sorted(row.items()))
            for truth, row in sorted(breakdown[b]["type_confusion"].items())
        )
        for b in backends
        if breakdown[b]["type_confusion"]
    ]
    if confusion:
        lines += ["Predicted types of the matched rooms, by true type:", "", *confusion, ""]
    lines += [
        "### Recall per room type (true rooms matched @ IoU 0.5)",
        "",
        "| true type | true rooms | " + " | ".join(f"{b} recall (matched)" for b in backends) + " |",
        "| --- | --- | " + " | ".join("---" for _ in backends) + " |",
    ]
    for room_type in ROOM_TYPE_ROWS:
        truth = first["recall_by_type"][room_type]["truth"]
        if truth == 0:
            continue
        row = []
        for b in backends:
            matched = breakdown[b]["recall_by_type"][room_type]["matched"]
            row.append(_cell(summaries[b][f"room_recall_50_{room_type}"], str(matched)))
        lines.append(f"| {room_type} | {truth} | " + " | ".join(row) + " |")
    lines += [
        "",
        "### Misses by cause (true rooms not matched @ IoU 0.5)",
        "",
        "Each missed true room gets the first cause that holds, in this order:",
        "",
        *(f"- `{cause}`: {text}" for cause, text in metrics.MISS_CAUSE_DEFINITIONS.items()),
        "",
        "Share of all true rooms [95% CI] (rooms):",
        "",
        header,
    ]
    for cause in metrics.MISS_CAUSES:
        row = [
            _cell(summaries[b][f"room_missed_{cause}"], str(breakdown[b]["misses"][cause]["all"]))
            for b in backends
        ]
        lines.append(f"| {cause} | " + " | ".join(row) + " |")
    types = [
        t
        for t in ROOM_TYPE_ROWS
        if any(breakdown[b]["misses"][c][t] for b in backends for c in metrics.MISS_CAUSES)
    ]
    if types:
        lines += ["", "Missed true rooms by cause and true type:", ""]
        lines += [
            "| backend | cause | " + " | ".join(types) + " |",
            "| --- | --- | " + " | ".join("---" for _ in types) + " |",
        ]
        for b in backends:
            for cause in metrics.MISS_CAUSES:
                counts = breakdown[b]["misses"][cause]
                lines.append(f"| {b} | {cause} | " + " | ".join(str(counts[t]) for t in types) + " |")
    lines.append("")
    if worst:
        lines += [
            f"### The {len(worst)} worst plans by `{backends[0]}` room F1 @ IoU 0.5",
            "",
            "| plan | " + " | ".join(f"{b} room F1" for b in backends) + " | rooms by type |",
            "| --- | " + " | ".join("---" for _ in backends) + " | --- |",
        ]
        for record in worst:
            values = [room_f1(record, b) for b in backends]
            cells = ["n/a" if v is None else "error" if v < 0 else f"{v:.3f}" for v in values]
            link = f"[png]({record.room_overlay})" if record.room_overlay else "-"
            lines.append(f"| {record.stem} | " + " | ".join(cells) + f" | {link} |")
        lines.append("")
        if gallery:
            caption = f"true rooms by type | {' | '.join(backends)}: rooms by predicted type"
            lines += [f"![the worst plans by room F1: {caption}]({gallery})", ""]
    return "\n".join(lines)
