"""Wall IoU at input size with the network's edges and with edges moved onto the drawing's ink.

For each plan the pipeline's forward pass runs once (working scale chosen as in the product, the
sheet's drawing area found first); then the wall probability is taken to the input size both
ways: ``network`` (bilinear bytes thresholded, ``inference.upsample_mask``) and ``drawing`` with
every ``--radius`` x ``--eps`` of the guided filter (``inference.guided_mask``).  The sheet
decision is not replayed (plans on sheets are scored on the whole mask both ways), so use it on
R3D and generated folders; the product's numbers come from ``floorplan evaluate``.

``--pictures DIR`` writes, for each plan, a zoomed crop around its largest change: the network's
edges and the first setting's, hits green, false walls red, missed walls blue.

Prints mean wall IoU per setting (and per generated style with ``--synth-styles``: the plans are
regenerated from their ``synth_<seed>`` names with the given ``--synth-size`` and ``--synth-sheet``,
as ``floorplan synth`` drew them) and writes JSON with ``--out``.  Tune only on your own splits::

    .venv/bin/python benchmarks/wall_edges.py --data ../shared/datasets/r3d/train --split train \\
        --limit 80 --radius 2 3 4 --eps 0.003 0.01 0.03
    floorplan synth --count 60 --out /tmp/gen --seed 8000000 --size 512:2048 --sheet 0.2 \\
        --styles solid,grey,cad,hatched,thin,colour,scan,architectural,brochure,cad_colour
    .venv/bin/python benchmarks/wall_edges.py --data /tmp/gen --split all --radius 2 3 4 \\
        --synth-styles solid,grey,cad,hatched,thin,colour,scan,architectural,brochure,cad_colour \\
        --synth-size 512:2048 --synth-sheet 0.2
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from rooms_tuning import add_sample_arguments, selected_samples
from tqdm import tqdm

from model_code.evaluation import metrics
from model_code.evaluation.pictures import hstack_padded, tint_errors
from model_code.evaluation.truth import load_ground_truth
from model_code.model.inference import guided_mask, upsample_mask
from model_code.pipeline import Pipeline, PipelineOptions


def synth_style(stem: str, styles: list[str], size: tuple[int, int], sheet: float) -> str:
    """The style generated plan ``synth_<seed>`` was drawn in (regenerated with the same arguments)."""
    from model_code.synth import generate_plan

    return generate_plan(int(stem.split("_")[1]), size=size, styles=styles, sheet=sheet).style


CROP = 160  # px of the input around the largest change, drawn 3x
ZOOM = 3


def errors_crop(image: np.ndarray, mask: np.ndarray, truth: np.ndarray, box: tuple, title: str) -> np.ndarray:
    """Hits green, false walls red, missed walls blue over the lightened crop ``box``, zoomed and titled."""
    y0, y1, x0, x1 = box
    out = tint_errors(image[y0:y1, x0:x1], mask[y0:y1, x0:x1], truth[y0:y1, x0:x1])
    out = cv2.resize(out, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
    bar = np.full((24, out.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, out])


def largest_change(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int]:
    """The ``CROP``-square box (y0, y1, x0, x1) where masks ``a`` and ``b`` differ most."""
    height, width = a.shape
    counts = cv2.boxFilter((a != b).astype(np.float32), -1, (CROP, CROP), normalize=False)
    y, x = np.unravel_index(int(np.argmax(counts)), counts.shape)
    y0 = int(np.clip(y - CROP // 2, 0, max(0, height - CROP)))
    x0 = int(np.clip(x - CROP // 2, 0, max(0, width - CROP)))
    return y0, min(height, y0 + CROP), x0, min(width, x0 + CROP)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sample_arguments(parser)
    parser.add_argument("--radius", type=int, nargs="+", default=[3], help="guided-filter radii (input px)")
    parser.add_argument("--eps", type=float, nargs="+", default=[0.01], help="guided-filter regularisations")
    parser.add_argument(
        "--synth-styles", default=None, help="comma-separated styles the folder was drawn from"
    )
    parser.add_argument("--synth-size", default="256:2048", help="the folder's --size (MIN:MAX)")
    parser.add_argument("--synth-sheet", type=float, default=0.0, help="the folder's --sheet")
    parser.add_argument("--out", type=Path, default=None, help="write the per-plan table as JSON here")
    parser.add_argument("--pictures", type=Path, default=None, help="write a crop picture per plan here")
    args = parser.parse_args()
    if min(args.radius) < 1 or min(args.eps) <= 0:
        parser.error("--radius must be >= 1 and --eps > 0")
    samples = selected_samples(args)
    if not samples:
        parser.error(f"no plans in {args.data} ({args.split})")
    pipeline, options = Pipeline.load(args.model), PipelineOptions()
    settings = ["network"] + [f"r{r} eps{e:g}" for r in args.radius for e in args.eps]
    rows = []
    for sample in tqdm(samples, desc="plans"):
        truth = load_ground_truth(sample)
        image = truth.image
        probs, _choice, _passes = pipeline.forward(image, options, {}, pipeline.drawing_area(image, {}))
        wall = probs[list(pipeline.model.metadata.spec.channels).index("wall")]
        row: dict[str, object] = {"plan": sample.image_path.stem}
        if args.synth_styles:
            low, high = (int(v) for v in args.synth_size.split(":"))
            row["style"] = synth_style(
                row["plan"], args.synth_styles.split(","), (low, high), args.synth_sheet
            )
        network = upsample_mask(wall, image.shape[:2], 0.5)
        row["network"] = metrics.pixel_counts(network, truth.wall).iou
        masks = {}
        for radius in args.radius:
            for eps in args.eps:
                name = f"r{radius} eps{eps:g}"
                masks[name] = guided_mask(wall, image, 0.5, radius, eps)
                row[name] = metrics.pixel_counts(masks[name], truth.wall).iou
        rows.append(row)
        if args.pictures:
            first = settings[1]
            box = largest_change(network, masks[first])
            panels = [
                errors_crop(image, network, truth.wall, box, f"network: IoU {row['network']:.3f}"),
                errors_crop(image, masks[first], truth.wall, box, f"drawing {first}: IoU {row[first]:.3f}"),
            ]
            args.pictures.mkdir(parents=True, exist_ok=True)
            picture = hstack_padded(panels)
            cv2.imwrite(str(args.pictures / f"{row['plan']}.png"), picture[..., ::-1])
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups["all"].append(row)
        if "style" in row:
            groups[str(row["style"])].append(row)
    print(f"mean wall IoU at input size, {len(rows)} plans of {args.data} ({args.split})")
    print("| plans | n | " + " | ".join(settings) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in settings) + " |")
    for name, members in sorted(groups.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        means = [float(np.mean([m[s] for m in members])) for s in settings]
        print(f"| {name} | {len(members)} | " + " | ".join(f"{v:.4f}" for v in means) + " |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
