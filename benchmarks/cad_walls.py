"""Wall IoU of any backends on the CAD sheets of ``other_styles/cad_walls``, with overlay pictures.

The folder holds ``<stem>.jpg`` beside ``<stem>_wall.png``, an RGB palette mask in which *any*
non-black pixel is wall ((128,0,0) partitions, (0,128,0) structural walls).  ``floorplan evaluate``
reads ``_wall.png`` as a white-on-black mask (grey > 127) and so sees no wall at all on these
sheets; this script reads the palette itself.  For each sheet and backend it runs the pipeline's
mask producer (``Pipeline.masks``: the U-Net's thresholded probabilities or the OpenCV baseline),
scores the wall mask against the truth with :mod:`model_code.evaluation.metrics` and writes one
picture per sheet (truth, then each backend: hits green, false walls red, misses blue).

Where the errors lie, per sheet and backend (:func:`error_breakdown`): the share of the truth's
structural walls and of its partitions that is found, the precision, and the share of false wall
pixels farther than :data:`FAR_PX` from any true wall (whole walls the truth leaves out, or
furniture and text taken for walls, rather than a wall drawn a little too thick).

Writes ``report.md`` and ``report.json`` (per-sheet and pooled wall IoU, mean time per sheet) and
``pictures/<stem>.jpg`` under ``--out``.  Keep ``--out`` outside the repository (the sheets may
not be copied).

Usage::

    .venv/bin/python benchmarks/cad_walls.py --data ../shared/datasets/other_styles/cad_walls \\
        --backend opencv --backend unet:default --out /tmp/cad_walls
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from model_code.evaluation import metrics
from model_code.evaluation.backends import BackendSpecError, open_backend
from model_code.evaluation.pictures import hstack_padded, tint_errors, tint_masks
from model_code.io.images import read_image
from model_code.pipeline import Pipeline, PipelineOptions

PANEL = 900  # px: longest side of each picture panel
FAR_PX = 3.0  # a false wall pixel farther than this from any true wall is a wall the truth lacks


def read_palette(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """The ``(h, w, 3)`` RGB palette mask of a sheet, resized nearest to ``shape`` if needed."""
    palette = read_image(path)
    if palette.shape[:2] != shape:
        palette = cv2.resize(palette, shape[::-1], interpolation=cv2.INTER_NEAREST)
    return palette


def palette_wall(palette: np.ndarray) -> np.ndarray:
    """The wall mask of a palette: any non-black pixel (:func:`error_breakdown` tells its classes apart)."""
    return palette.max(axis=2) > 0


def error_breakdown(pred: np.ndarray, palette: np.ndarray) -> dict[str, float]:
    """Where a predicted wall mask errs against a palette truth.

    ``structural_recall`` and ``partition_recall``: the share of the green ``(0, 128, 0)`` and the
    red ``(128, 0, 0)`` wall pixels predicted (``nan`` when the sheet has none); ``precision``: the
    share of predicted wall pixels that are wall in the truth; ``far_false_share``: the share of false
    wall pixels farther than :data:`FAR_PX` from any true wall pixel.  Two what-ifs say what each
    kind of error costs: ``iou_without_far_false``, the wall IoU with those far false pixels gone,
    and ``iou_with_partitions``, the wall IoU with every partition pixel found as well.
    """
    truth = palette_wall(palette)
    structural = truth & (palette[..., 1] > 0) & (palette[..., 0] == 0)
    partition = truth & (palette[..., 0] > 0) & (palette[..., 1] == 0)
    false = pred & ~truth
    distance = cv2.distanceTransform((~truth).view(np.uint8), cv2.DIST_L2, 3)

    def share(part: np.ndarray, whole: np.ndarray) -> float:
        count = int(whole.sum())
        return float(part.sum() / count) if count else float("nan")

    far = false & (distance > FAR_PX)
    return {
        "structural_recall": share(pred & structural, structural),
        "partition_recall": share(pred & partition, partition),
        "precision": share(pred & truth, pred),
        "far_false_share": share(far, false),
        "iou_without_far_false": share(pred & truth, (pred & ~far) | truth),
        "iou_with_partitions": share((pred | partition) & truth, pred | truth),
    }


def _mean_of(errors: list[dict[str, object]], spec: str, key: str) -> float:
    """The mean of one breakdown value over the sheets, for one backend."""
    return float(np.mean([float(e[key]) for e in errors if e["backend"] == spec]))  # type: ignore[arg-type]


def errors_panel(image: np.ndarray, pred: np.ndarray, truth: np.ndarray, title: str) -> np.ndarray:
    """Hits green, false walls red, missed walls blue over the lightened sheet, titled."""
    return _titled(tint_errors(image, pred, truth), title)


def _titled(picture: np.ndarray, title: str) -> np.ndarray:
    scale = PANEL / max(picture.shape[:2])
    body = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    bar = np.full((28, body.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the cad_walls folder")
    parser.add_argument(
        "--backend",
        action="append",
        required=True,
        help="opencv | unet:default | unet:DIR, a U-Net optionally with @views=2 or @views=4; repeatable",
    )
    parser.add_argument("--out", type=Path, required=True, help="report folder (created)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sheets")
    parser.add_argument("--no-pictures", action="store_true", help="skip the overlay pictures")
    args = parser.parse_args(argv)
    sheets = sorted(p for p in args.data.glob("*.jpg") if (args.data / f"{p.stem}_wall.png").is_file())
    sheets = sheets[: args.limit] if args.limit else sheets
    if not sheets:
        print(f"cad_walls: no <stem>.jpg with <stem>_wall.png in {args.data}", file=sys.stderr)
        return 2
    (args.out / "pictures").mkdir(parents=True, exist_ok=True)
    backends: dict[str, tuple[Pipeline, PipelineOptions]] = {}
    try:
        for text in args.backend:
            name, pipeline, options = open_backend(text)
            backends[name] = (pipeline, options)
    except BackendSpecError as exc:
        raise SystemExit(f"cad_walls: {exc}") from exc
    pooled = {spec: metrics.PixelCounts() for spec in backends}
    seconds = {spec: 0.0 for spec in backends}
    rows = []
    breakdown: dict[tuple[str, str], dict[str, float]] = {}
    for path in sheets:
        image = read_image(path)
        palette = read_palette(args.data / f"{path.stem}_wall.png", image.shape[:2])
        truth = palette_wall(palette)
        row: dict[str, object] = {"sheet": path.stem, "size": list(image.shape[:2])}
        panels = [_titled(tint_masks(image, truth, np.zeros_like(truth)), f"{path.stem}: truth")]
        for spec, (pipeline, options) in backends.items():
            start = time.perf_counter()
            wall, _opening, _probs = pipeline.masks(image, options)
            seconds[spec] += time.perf_counter() - start
            counts = metrics.pixel_counts(wall, truth)
            pooled[spec] += counts
            row[spec] = round(counts.iou, 4)
            breakdown[(path.stem, spec)] = error_breakdown(wall, palette)
            if not args.no_pictures:
                panels.append(errors_panel(image, wall, truth, f"{spec}: wall IoU {counts.iou:.3f}"))
        rows.append(row)
        if not args.no_pictures:
            picture = hstack_padded(panels)
            cv2.imwrite(str(args.out / "pictures" / f"{path.stem}.jpg"), picture[..., ::-1])
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    summary = {
        spec: {
            "wall_iou_pooled": round(pooled[spec].iou, 4),
            "wall_iou_mean": round(float(np.mean([r[spec] for r in rows])), 4),
            "seconds_per_sheet": round(seconds[spec] / len(rows), 3),
        }
        for spec in backends
    }
    errors = [{"sheet": sheet, "backend": spec, **values} for (sheet, spec), values in breakdown.items()]
    as_json = [{k: None if isinstance(v, float) and np.isnan(v) else v for k, v in e.items()} for e in errors]
    report = {"summary": summary, "sheets": rows, "errors": as_json}
    (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"# Wall IoU on {len(rows)} CAD sheets ({args.data})",
        "",
        "| backend | wall IoU pooled | wall IoU mean | s per sheet |",
        "| --- | --- | --- | --- |",
        *(
            f"| `{s}` | {v['wall_iou_pooled']:.3f} | {v['wall_iou_mean']:.3f} "
            f"| {v['seconds_per_sheet']:.2f} |"
            for s, v in summary.items()
        ),
        "",
        "| sheet | " + " | ".join(f"`{s}`" for s in backends) + " |",
        "| --- | " + " | ".join("---" for _ in backends) + " |",
        *(f"| {r['sheet']} | " + " | ".join(f"{r[s]:.3f}" for s in backends) + " |" for r in rows),
        "",
        f"Where the errors lie (far false: false wall pixels more than {FAR_PX:g} px from any true wall):",
        "",
        "| sheet | backend | structural recall | partition recall | precision | far false "
        "| IoU without far false | IoU with every partition |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {e['sheet']} | `{e['backend']}` | {e['structural_recall']:.2f} | {e['partition_recall']:.2f} "
            f"| {e['precision']:.2f} | {e['far_false_share']:.2f} | {e['iou_without_far_false']:.3f} "
            f"| {e['iou_with_partitions']:.3f} |"
            for e in errors
        ),
        *(
            f"| mean | `{spec}` | | | | | {_mean_of(errors, spec, 'iou_without_far_false'):.3f} "
            f"| {_mean_of(errors, spec, 'iou_with_partitions'):.3f} |"
            for spec in backends
        ),
        "",
    ]
    (args.out / "report.md").write_text("\n".join(lines))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
