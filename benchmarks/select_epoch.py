"""Choose a training run's epoch on what the product serves, not only on the loop's pixel IoU.

The training loop keeps the epoch with the best validation wall and opening IoU (``--monitor``).
Rooms are what customers read, and a run can gain pixels while it loses rooms (docs/training.md: the
twenty-seventh session's run gained walls and lost 0.016 of room F1). A run trained with
``--keep-epoch-models`` keeps every epoch's model in ``<checkpoint-dir>/epochs/``; this script runs
``floorplan evaluate`` (the serving pipeline) on the last ``--last`` of them and on the loop's best
epoch, side by side on one split, scores each by :func:`selection_score` (the mean of wall IoU per
plan, opening pixel F1 and room F1 at IoU 0.5) and writes the highest as a complete model to ``--out``:
the final model folder of the run (``--final``: its metadata, curve, history and room classifier)
with the chosen epoch's weights, ``training.best_epoch`` and ``metrics`` set to it and
``training.selection`` recording the candidates' numbers. ``selection.md`` beside the evaluation
report lists them. Room F1 does not depend on the room classifier (it only names rooms), so the
epoch models, which have none, are compared fairly.

Selecting on the split you report on flatters the chosen epoch a little; the generated sets and the
other styles, which no selection saw, say whether it generalises. Example (twenty-eighth session)::

    floorplan train ... --keep-epoch-models --out ~/runs/default8/model \\
        --checkpoint-dir ~/runs/default8/checkpoints
    .venv/bin/python benchmarks/select_epoch.py --checkpoints ~/runs/default8/checkpoints \\
        --final ~/runs/default8/model --data ../shared/datasets/r3d/train --split validation --last 8 \\
        --out ~/runs/default8/selected --report /tmp/selection
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HEADLINE = ("wall_iou", "opening_f1_pooled", "room_f1_50")  # what selection_score averages
SHOWN = ("wall_iou", "wall_iou_pooled", "opening_f1_pooled", "room_f1_50", "room_f1_70")


def selection_score(metrics: dict[str, float | None]) -> float:
    """The mean of :data:`HEADLINE`: wall IoU (mean per plan), opening pixel F1, room F1 @ 0.5.  A
    metric the split cannot measure (no rooms in its truth) is left out of the mean."""
    values = [metrics[k] for k in HEADLINE if metrics.get(k) is not None]
    if not values:
        raise ValueError(f"the evaluation measured none of {', '.join(HEADLINE)}")
    return sum(values) / len(values)


def candidates(checkpoints: Path, last: int, loop_best: int | None) -> dict[int, Path]:
    """Epoch number -> kept model folder: the last ``last`` epochs kept, and the loop's best epoch."""
    from model_code.training.checkpoints import EPOCHS_DIR, kept_epochs

    kept = kept_epochs(checkpoints)
    if not kept:
        raise FileNotFoundError(
            f"no epoch models in {checkpoints / EPOCHS_DIR}: train with --keep-epoch-models"
        )
    chosen = {e: kept[e] for e in sorted(kept)[-last:]}
    if loop_best in kept:
        chosen[loop_best] = kept[loop_best]
    return dict(sorted(chosen.items()))


def evaluate(
    models: dict[int, Path], data: Path, split: str, workers: int, report: Path
) -> dict[int, dict[str, float | None]]:
    """``floorplan evaluate`` of every model side by side (one process); epoch -> headline values."""
    command = [sys.executable, "-m", "model_code", "evaluate", "--data", str(data), "--split", split,
               "--no-overlays", "--workers", str(workers), "--resamples", "200",
               "--out", str(report)]  # fmt: skip
    for path in models.values():
        command += ["--backend", f"unet:{path}"]
    subprocess.run(command, check=True)
    backends = json.loads((report / "report.json").read_text())["backends"]
    return {
        epoch: {k: backends[f"unet:{path.name}"][k]["value"] for k in SHOWN} for epoch, path in models.items()
    }


def write_selected(final: Path, weights_from: Path, epoch: int, record: dict, out: Path) -> Path:
    """``final`` copied to ``out`` with ``weights_from``'s weights and the selection in its metadata."""
    from model_code.model.checkpoint import METADATA_FILE, WEIGHTS_FILE

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(final, out)
    shutil.copyfile(weights_from / WEIGHTS_FILE, out / WEIGHTS_FILE)
    meta = json.loads((out / METADATA_FILE).read_text())
    meta["metrics"] = json.loads((weights_from / METADATA_FILE).read_text())["metrics"]
    meta["training"]["best_epoch"] = epoch
    meta["training"]["selection"] = record
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out


def table(scores: dict[int, dict[str, float | None]], chosen: int, loop_best: int | None) -> str:
    """The candidates as a Markdown table, the chosen row in bold."""
    lines = ["| epoch | " + " | ".join(SHOWN) + " | score |", "| --- |" + " --- |" * (len(SHOWN) + 1)]
    for epoch, values in scores.items():
        cells = [f"{values[k]:.4f}" if values[k] is not None else "-" for k in SHOWN]
        label = f"{epoch}" + (" (loop's best)" if epoch == loop_best else "")
        row = [label, *cells, f"{selection_score(values):.4f}"]
        lines.append("| " + " | ".join(f"**{c}**" if epoch == chosen else c for c in row) + " |")
    return "\n".join(lines) + "\n"


def select(
    checkpoints: Path, final: Path, data: Path, split: str, last: int, workers: int, report: Path, out: Path
) -> int:
    """Evaluate the candidates, write the chosen model to ``out``; returns the chosen epoch."""
    from model_code.model.checkpoint import read_metadata

    loop_best = read_metadata(final).training.get("best_epoch")
    models = candidates(checkpoints, last, loop_best)
    scores = evaluate(models, data, split, workers, report)
    chosen = max(scores, key=lambda e: (round(selection_score(scores[e]), 6), e))  # a tie: the later epoch
    record = {
        "by": "mean of " + ", ".join(HEADLINE) + " through the serving pipeline (benchmarks/select_epoch.py)",
        "data": str(data),
        "split": split,
        "loop_best_epoch": loop_best,
        "candidates": {str(e): {**v, "score": selection_score(v)} for e, v in scores.items()},
    }
    write_selected(final, models[chosen], chosen, record, out)
    text = table(scores, chosen, loop_best)
    (report / "selection.md").write_text(f"# Epoch selection on {data} ({split})\n\n{text}")
    print(text + f"chosen: epoch {chosen} -> {out}", flush=True)
    return chosen


def main() -> int:
    """Parse the arguments and select."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=Path, required=True, help="the run's --checkpoint-dir")
    parser.add_argument("--final", type=Path, required=True, help="the run's --out (the final model)")
    parser.add_argument("--data", type=Path, required=True, help="dataset to evaluate on (e.g. R3D)")
    parser.add_argument("--split", default="validation", help="split of --data (as floorplan evaluate)")
    parser.add_argument("--last", type=int, default=6, help="how many of the last kept epochs to compare")
    parser.add_argument("--workers", type=int, default=2, help="evaluation worker processes")
    parser.add_argument("--report", type=Path, required=True, help="evaluation report and selection.md")
    parser.add_argument("--out", type=Path, required=True, help="where the chosen model is written")
    args = parser.parse_args()
    if args.last < 1:
        parser.error("--last must be at least 1")
    from model_code.model.checkpoint import CheckpointError

    try:
        select(
            args.checkpoints,
            args.final,
            args.data,
            args.split,
            args.last,
            args.workers,
            args.report,
            args.out,
        )
    except (CheckpointError, FileNotFoundError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"select_epoch: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
