"""One plan at every size: wall IoU, segment and room F1, time and peak memory per size (a script).

Each generated plan is rendered once at the generator's largest size (4,096 px) and resampled
to every size asked for (area interpolation down, bilinear up), so strokes, walls and text
scale with the drawing: ``generate_plan(seed, size)`` draws lines 1-4 px wide whatever the
size, which would make the small renderings relatively bolder.  The truth (annotation walls,
openings, rooms) is scaled with the pixel-centre mapping and rasterised at each size.

Every size of every plan runs in a fresh subprocess that decodes the PNG (as the server does),
loads the model and analyses the plan; it reports the analysis time (decode + analyse, model
load excluded) and its peak RSS (``VmHWM``, the whole process: Python, libraries, model, image;
not ``ru_maxrss``, which Linux carries over from the parent).  ``--fit`` runs today's
fit-to-working-size scale instead of the measured one.  Example::

    .venv/bin/python benchmarks/scale_table.py --seeds 0 1 2 --sizes 512 1024 2048 4096 8192
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE_SIZE = 4096


def scaled_plan(seed: int, size: int, source=None):
    """``(image, annotation)`` of plan ``seed`` resampled so its longest side is ``size``."""
    from model_code.synth import generate_plan

    plan = source or generate_plan(seed, SOURCE_SIZE)
    height, width = plan.image.shape[:2]
    factor = size / max(height, width)
    shape = (max(1, round(height * factor)), max(1, round(width * factor)))
    fx, fy = shape[1] / width, shape[0] / height
    mode = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    image = plan.image if factor == 1 else cv2.resize(plan.image, (shape[1], shape[0]), interpolation=mode)

    def point(p):
        return ((p[0] + 0.5) * fx - 0.5, (p[1] + 0.5) * fy - 0.5)

    mean = (fx + fy) / 2
    note = plan.annotation
    walls = [
        replace(w, start=point(w.start), end=point(w.end), thickness=(w.thickness or 0) * mean)
        for w in note.walls
    ]
    openings = [
        replace(
            o,
            start=point(o.start),
            end=point(o.end),
            thickness=None if o.thickness is None else o.thickness * mean,
        )
        for o in note.openings
    ]
    rooms = [
        replace(r, polygon=None if r.polygon is None else [point(p) for p in r.polygon], bounding_box=None)
        for r in note.rooms
    ]
    return image, replace(note, walls=walls, openings=openings, rooms=rooms, width=shape[1], height=shape[0])


def child(png: str, out: str, fit: bool) -> None:
    """Analyse one PNG in this fresh process; write the document, the wall mask and the numbers."""
    import time

    from model_code.io.images import decode_image
    from model_code.pipeline import Pipeline

    pipeline = Pipeline.load()
    if fit:
        Pipeline.training_wall_thickness = lambda self: 1e-9  # type: ignore[method-assign]
    data = Path(png).read_bytes()
    start = time.perf_counter()
    result = pipeline.analyze(decode_image(data, max_pixels=200_000_000))
    seconds = time.perf_counter() - start
    np.save(out + ".wall.npy", np.packbits(result.wall_mask))
    document = result.document.to_dict()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child of a large
    # parent would report the parent's peak
    status = Path("/proc/self/status").read_text().split("\n")
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024  # kB
    Path(out).write_text(json.dumps({"document": document, "seconds": seconds, "peak_rss_mb": rss}))


def run_child(image: np.ndarray, fit: bool, folder: Path) -> dict:
    png, out = folder / "plan.png", folder / "out.json"
    cv2.imwrite(str(png), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    command = [sys.executable, __file__, "--child", str(png), str(out)] + (["--fit"] if fit else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, check=True, env=env)
    result = json.loads(out.read_text())
    bits = np.load(str(out) + ".wall.npy")
    result["wall_mask"] = (
        np.unpackbits(bits)[: image.shape[0] * image.shape[1]].reshape(image.shape[:2]).astype(bool)
    )
    return result


def score(result: dict, annotation) -> dict:
    from model_code.evaluation import metrics
    from model_code.geometry.raster import rasterize_rooms
    from model_code.schema import Room, Wall
    from model_code.synth.raster import rasterize_annotation

    shape = (annotation.height, annotation.width)
    wall, _, labels = rasterize_annotation(annotation, *shape)
    document = result["document"]
    walls = [Wall.from_dict(w) for w in document["walls"]]
    rooms = [Room.from_dict(r) for r in document["rooms"]]
    rooms_f1 = metrics.room_scores(rasterize_rooms(rooms, shape), labels, (0.5,))[0.5].f1
    return {
        "wall_iou": metrics.iou(result["wall_mask"], wall),
        "segment_f1": metrics.segment_scores(walls, annotation.walls, shape).f1,
        "room_f1": rooms_f1,
        "seconds": result["seconds"],
        "peak_rss_mb": result["peak_rss_mb"],
        "working": max(document["inference"]["working_width"], document["inference"]["working_height"]),
        "method": document["inference"]["method"],
    }


def big(seed: int, megapixels: list[float], fit: bool) -> None:
    """Peak RSS and time of one plan at each size in megapixels (one subprocess each)."""
    from model_code.synth import generate_plan

    source = generate_plan(seed, SOURCE_SIZE)
    height, width = source.image.shape[:2]
    print("| megapixels | size | PNG MB | working side | time s | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for mp in megapixels:
        side = round(max(height, width) * (mp * 1e6 / (height * width)) ** 0.5)
        image, _ = scaled_plan(seed, side, source)
        with tempfile.TemporaryDirectory() as tmp:
            result = run_child(image, fit, Path(tmp))
            png_mb = (Path(tmp) / "plan.png").stat().st_size / 2**20
        scale = result["document"]["inference"]
        print(
            f"| {image.shape[0] * image.shape[1] / 1e6:.0f} | {image.shape[1]}x{image.shape[0]} "
            f"| {png_mb:.1f} "
            f"| {max(scale['working_width'], scale['working_height'])} | {result['seconds']:.1f} "
            f"| {result['peak_rss_mb']:.0f} |",
            flush=True,
        )
        del image, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192])
    parser.add_argument("--fit", action="store_true", help="today's fit-to-working-size scale")
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    parser.add_argument(
        "--megapixels",
        type=float,
        nargs="+",
        default=None,
        help="instead of the table: the first seed's plan blown up to these many megapixels; "
        "prints its PNG size, time and peak RSS (the worker memory budget check)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.fit)
        return 0
    if args.megapixels:
        big(args.seeds[0], args.megapixels, args.fit)
        return 0
    from model_code.synth import generate_plan

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            source = generate_plan(seed, SOURCE_SIZE)
            for size in args.sizes:
                image, annotation = scaled_plan(seed, size, source)
                row = {
                    "seed": seed,
                    "size": size,
                    "style": source.style,
                    **score(run_child(image, args.fit, Path(tmp)), annotation),
                }
                print(
                    json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}),
                    flush=True,
                )
                rows.append(row)
    print(f"\n{len(args.seeds)} plans (seeds {args.seeds}), {'fit scale' if args.fit else 'measured scale'}")
    print(
        "| size | wall IoU | segment F1 | room F1 | working side (per plan) | time s (max) "
        "| peak RSS MB (max) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in args.sizes:
        at = [r for r in rows if r["size"] == size]
        mean = {
            k: float(np.mean([r[k] for r in at])) for k in ("wall_iou", "segment_f1", "room_f1", "seconds")
        }
        sides = " ".join(f"{r['working']}{'*' if r['method'] in ('measured', 'clamped') else ''}" for r in at)
        print(
            f"| {size} | {mean['wall_iou']:.3f} | {mean['segment_f1']:.3f} | {mean['room_f1']:.3f} "
            f"| {sides} | {mean['seconds']:.1f} ({max(r['seconds'] for r in at):.1f}) "
            f"| {max(r['peak_rss_mb'] for r in at):.0f} |"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
