"""Accuracy and latency of reading the plan's text (docs/text.md): the tables in that document.

Four parts, each optional:

* ``--synth N``: N generated plans (``print_text=True``, 1,024 px) through the pipeline with
  ``text=on``: room names right (the room that holds a labelled room's point has ``name_hint`` equal
  to the printed label, case and spaces aside), scale within 2% of the generator's pixels per metre
  on plans that print a dimension or area.
* ``--r3d``: the R3D validation split (ids from the bundled model card): the type a label means
  against the R3D type map under its box; whether a scale is found on plans that print dimensions;
  each room with printed dimensions: ``area_m2`` against the printed product, and its ``dimensions_m``
  (extents between the wall faces) against the printed sides and their product; and the annotated
  R3D room under it, the ceiling of any correct area: its own area and its rectangle's against the
  printed product, and whether it fills 90% of that rectangle.
* ``--engines N``: the OCR engines on N generated plans: printed lines read exactly, and time.
  Tesseract (Debian's ``tesseract-ocr``, when installed) runs as a command, for the comparison only.
* ``--latency``: the pipeline with text off and on, on generated plans of 1,024 and 3,500 px.

``--engine-runtime`` picks what runs the OCR models (``openvino`` or ``onnxruntime``; default: OpenVINO
when importable, as in the product).

Example: ``python benchmarks/text_accuracy.py --synth 20 --r3d --engines 10 --latency``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from shapely.geometry import Point, Polygon

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.plan_on_paper import on_paper
from model_code.datasets.layouts import open_dataset
from model_code.datasets.room_maps import TYPE_NONE, TYPE_UNKNOWN, r3d_type_map
from model_code.evaluation.truth import load_ground_truth
from model_code.pipeline import Pipeline, PipelineOptions
from model_code.schema import ROOM_TYPES, room_type_of_name
from model_code.synth import generate_plan
from model_code.text import shared_reader
from model_code.text.parse import name_part, parse_measures

R3D = Path("/work/shared/datasets/r3d/train")
MODEL_JSON = Path(__file__).resolve().parent.parent / "model_code/default_model/model.json"


def normalised(text: str | None) -> str:
    """A printed or read line compared case and spaces aside."""
    return re.sub(r"\s+", " ", (text or "").strip().lower())


def same(a: str | None, b: str | None) -> bool:
    return normalised(a) == normalised(b) and bool(a)


def synth_accuracy(pipeline: Pipeline, count: int, size: int = 1024, sheet_factor: float = 1.0) -> dict:
    """Room names and scale read on ``count`` generated plans (``size`` px), each pasted on paper
    ``sheet_factor`` times its sides (``plan_on_paper.on_paper``; 1: the plan alone).  ``labels_read``:
    printed room names found among the lines read (the OCR alone, whatever the rooms)."""
    names_total = names_right = 0
    labels_total = labels_read = 0
    scale_plans = scale_right = scale_found = 0
    errors = []
    per_language: dict[str, list[int]] = {}
    started = time.perf_counter()
    for seed in range(1000, 1000 + count):
        plan = generate_plan(seed, size=size, print_text=True)
        image, room_labels = plan.image, plan.room_labels
        if sheet_factor > 1.0:
            image, room_labels = on_paper(image, [room_labels], sheet_factor, seed)
        result = pipeline.analyze(image, PipelineOptions(text="on"))
        doc = result.document
        read = {normalised(name_part(t.text)) for t in doc.texts or []}
        for printed in plan.printed:
            if printed.kind == "name":
                labels_total += 1
                labels_read += normalised(printed.text) in read
        shapes = [
            (room, Polygon(room.polygon)) for room in doc.rooms if room.polygon and len(room.polygon) >= 3
        ]
        for k, truth in enumerate(plan.annotation.rooms, start=1):
            if not truth.name_hint:
                continue
            ys, xs = np.nonzero(room_labels == k)
            if len(xs) == 0:
                continue
            point = Point(float(np.median(xs)), float(np.median(ys)))
            if room_labels[int(point.y), int(point.x)] != k:
                i = len(xs) // 2
                point = Point(float(xs[i]), float(ys[i]))
            names_total += 1
            found = [room for room, poly in shapes if poly.contains(point)]
            right = bool(found) and same(found[0].name_hint, truth.name_hint)
            names_right += right
            per_language.setdefault(plan.language or "?", [0, 0])
            per_language[plan.language or "?"][0] += right
            per_language[plan.language or "?"][1] += 1
        if any(p.kind in ("dimensions", "area") for p in plan.printed):
            scale_plans += 1
            if doc.scale is not None:
                scale_found += 1
                error = doc.scale.pixels_per_meter / plan.ppm - 1
                errors.append(error)
                scale_right += abs(error) <= 0.02
    return {
        "plans": count,
        "size": size,
        "sheet_factor": sheet_factor,
        "detect_side": pipeline.text_reader.detect_side,
        "seconds_per_plan": round((time.perf_counter() - started) / max(1, count), 2),
        "labels_printed": labels_total,
        "labels_read": labels_read,
        "labels_read_rate": round(labels_read / max(1, labels_total), 3),
        "labelled_rooms": names_total,
        "names_right": names_right,
        "names_rate": round(names_right / max(1, names_total), 3),
        "names_by_language": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per_language.items())},
        "plans_printing_sizes": scale_plans,
        "scale_found": scale_found,
        "scale_within_2pct": scale_right,
        "scale_rate": round(scale_right / max(1, scale_plans), 3),
        "scale_median_abs_error": round(float(np.median(np.abs(errors))), 4) if errors else None,
    }


def r3d_accuracy(pipeline: Pipeline, overlays: Path | None = None) -> dict:
    ids = json.loads(MODEL_JSON.read_text())["training"]["validation_ids"]
    labels = labels_right = 0
    confusion: list[tuple[str, str, str]] = []
    printing = found = 0
    area_total = area_right = 0
    area_errors = []
    extents_right = extents_product_right = 0
    misses: dict[str, int] = {}
    truth_fill_right = truth_area_right = truth_extent_right = truth_rooms = 0
    samples = {sample.stem: sample for sample in open_dataset(R3D)}
    for plan_id in ids:
        truth_rooms_map = load_ground_truth(samples[plan_id]).room_labels
        image = np.asarray(Image.open(R3D / f"{plan_id}.jpg").convert("RGB"))
        types = r3d_type_map(np.asarray(Image.open(R3D / f"{plan_id}_rooms.png").convert("RGB")))
        if types.shape != image.shape[:2]:
            types = np.asarray(Image.fromarray(types).resize(image.shape[1::-1], Image.NEAREST))
        result = pipeline.analyze(image, PipelineOptions(text="on"))
        doc = result.document
        for text in doc.texts or []:
            name = name_part(text.text)
            meaning = room_type_of_name(name, fuzzy=True) if name else None
            if meaning is None:
                continue
            x0, y0, x1, y1 = (round(v) for v in text.box)
            under = types[y0:y1, x0:x1].ravel()
            under = under[(under != TYPE_NONE) & (under != TYPE_UNKNOWN)]
            if under.size == 0:
                continue
            truth = ROOM_TYPES[int(np.bincount(under).argmax()) - 1]
            labels += 1
            labels_right += truth == meaning
            if truth != meaning:
                confusion.append((text.text, meaning, truth))
        prints = any(m.kind == "dimensions" for t in doc.texts or [] for m in parse_measures(t.text))
        printing += prints
        found += prints and doc.scale is not None
        if doc.scale is not None:
            rooms = {r.id: r for r in doc.rooms}
            seen = set()
            for e in doc.scale.evidence:
                if e["kind"] != "dimensions" or e.get("room_id") in seen or e.get("room_id") not in rooms:
                    continue
                seen.add(e["room_id"])
                sides = [m for m in parse_measures(e["text"]) if m.kind == "dimensions"]
                room = rooms[e["room_id"]]
                if not sides or room.area_m2 is None:
                    continue
                printed = sides[0].sides_m[0] * sides[0].sides_m[1]
                area_total += 1
                err = room.area_m2 / printed - 1
                area_errors.append(err)
                area_right += abs(err) <= 0.10
                if room.dimensions_m is not None:
                    extents = sorted(room.dimensions_m)
                    wanted = sorted(sides[0].sides_m[:2])
                    extents_right += all(abs(e / w - 1) <= 0.10 for e, w in zip(extents, wanted, strict=True))
                    extents_product_right += abs(extents[0] * extents[1] / printed - 1) <= 0.10
                true_room = true_room_under(truth_rooms_map, room)
                if true_room is not None:  # the R3D room itself: how far its own area is from the product
                    truth_rooms += 1
                    truth_fill_right += true_room.area >= 0.9 * true_room.minimum_rotated_rectangle.area
                    true_m2 = true_room.area / doc.scale.pixels_per_meter**2
                    truth_area_right += abs(true_m2 / printed - 1) <= 0.10
                    extent_m2 = true_room.minimum_rotated_rectangle.area / doc.scale.pixels_per_meter**2
                    truth_extent_right += abs(extent_m2 / printed - 1) <= 0.10
                if abs(err) > 0.10:
                    cause = area_miss_cause(room, sides[0].sides_m, result, doc)
                    misses[cause] = misses.get(cause, 0) + 1
        if overlays is not None:
            draw_overlay(image, doc, overlays / f"r3d_{plan_id}.png")
    return {
        "plans": len(ids),
        "labels_meaning_a_type": labels,
        "type_from_label_right": labels_right,
        "type_rate": round(labels_right / max(1, labels), 3),
        "wrong": confusion[:10],
        "plans_printing_dimensions": printing,
        "scale_found": found,
        "scale_rate": round(found / max(1, printing), 3),
        "rooms_with_printed_dimensions": area_total,
        "area_within_10pct": area_right,
        "area_rate": round(area_right / max(1, area_total), 3),
        "area_median_abs_error": round(float(np.median(np.abs(area_errors))), 4) if area_errors else None,
        "area_misses": misses,
        "dimensions_m_sides_within_10pct": extents_right,
        "dimensions_m_product_within_10pct": extents_product_right,
        "true_rooms_of_those": truth_rooms,
        "true_room_fills_90pct_of_its_rectangle": truth_fill_right,
        "true_room_area_within_10pct_of_printed_product": truth_area_right,
        "true_room_rectangle_within_10pct_of_printed_product": truth_extent_right,
    }


def true_room_under(labels: np.ndarray | None, room) -> Polygon | None:
    """The R3D room (instance label) that most of a predicted room's polygon covers, as its pixel outline."""
    if labels is None or room.polygon is None:
        return None
    mask = np.zeros(labels.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(room.polygon)).astype(np.int32)], 1)
    under = labels[mask.astype(bool)]
    under = under[under > 0]
    if under.size == 0:
        return None
    region = (labels == np.bincount(under).argmax()).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contour = max(contours, key=cv2.contourArea).reshape(-1, 2)
    return Polygon(contour) if len(contour) >= 3 else None


def area_miss_cause(room, sides_m: tuple[float, ...], result, doc) -> str:
    """Why a room's area_m2 is over 10% from its printed product: its outline between the wall faces
    against the printed sides, and how much of its rectangle the polygon fills."""
    from model_code.text.annotate import _gap_limit, clear_outline

    polygon = Polygon(room.polygon)
    outline = clear_outline(polygon, result.wall_mask | result.opening_mask, _gap_limit(doc))
    ring = np.asarray(outline.minimum_rotated_rectangle.exterior.coords)
    ppm = doc.scale.pixels_per_meter
    drawn = sorted([float(np.hypot(*(ring[1] - ring[0]))) / ppm, float(np.hypot(*(ring[2] - ring[1]))) / ppm])
    if max(abs(d / p - 1) for d, p in zip(drawn, sorted(sides_m), strict=True)) > 0.10:
        return "drawn sides over 10% from the printed ones (merged or split room, or another room's line)"
    if polygon.area < 0.9 * polygon.minimum_rotated_rectangle.area:
        return "sides agree, polygon fills under 90% of its rectangle (L-shape, bay, notch)"
    return "sides agree, near-rectangular"


def draw_overlay(image: np.ndarray, doc, path: Path) -> None:
    """Rooms outlined, each with its name_hint, type, area_m2 and dimensions_m; text boxes in blue."""
    import cv2

    scale = 2 if max(image.shape[:2]) < 900 else 1
    canvas = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC).copy()
    for text in doc.texts or []:
        x0, y0, x1, y1 = (int(v * scale) for v in text.box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (60, 120, 255), 1)
    for room in doc.rooms:
        if not room.polygon:
            continue
        ring = (np.asarray(room.polygon) * scale).astype(np.int32)
        cv2.polylines(canvas, [ring], True, (0, 170, 0), 2)
        cx, cy = ring.mean(axis=0).astype(int)
        area = "" if room.area_m2 is None else f"{room.area_m2:.1f} m2"
        size = "" if room.dimensions_m is None else "{:.2f} x {:.2f} m".format(*room.dimensions_m)
        for i, line in enumerate([room.name_hint or "", f"{room.type}", area, size]):
            org = (int(cx) - 40, int(cy) - 10 + 16 * i)
            cv2.putText(canvas, line, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 3, cv2.LINE_AA)
            cv2.putText(canvas, line, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 0, 0), 1, cv2.LINE_AA)
    if doc.scale is not None:
        scale = doc.scale
        caption = f"scale {scale.pixels_per_meter:.1f} px/m (conf {scale.confidence:.2f}, {scale.source})"
        cv2.putText(canvas, caption, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (200, 0, 0), 2, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)


def tesseract_lines(image: np.ndarray) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.png"
        Image.fromarray(image).save(path)
        done = subprocess.run(
            ["tesseract", str(path), "stdout", "--psm", "11", "-l", "eng"],
            capture_output=True,
            text=True,
            timeout=120,
            env={"OMP_THREAD_LIMIT": "2", "PATH": "/usr/bin:/bin"},
        )
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def engines(reader, count: int, size: int = 1024) -> dict:
    def norm(s: str) -> str:
        return re.sub(r"\s+", "", s.lower())

    out = {}
    candidates = {"pp-ocrv4 (ours)": lambda img: [t.text for t in reader.read(img)]}
    if shutil.which("tesseract"):
        candidates["tesseract 5 (eng, psm 11)"] = tesseract_lines
    plans = [generate_plan(seed, size=size, print_text=True) for seed in range(2000, 2000 + count)]
    for name, read in candidates.items():
        found = {"name": [0, 0], "dimensions": [0, 0], "area": [0, 0]}
        times = []
        for plan in plans:
            start = time.perf_counter()
            lines = read(plan.image)
            times.append(time.perf_counter() - start)
            joined = [norm(line) for line in lines]
            for printed in plan.printed:
                ok = any(norm(printed.text) == line or norm(printed.text) in line for line in joined)
                found[printed.kind][0] += ok
                found[printed.kind][1] += 1
        out[name] = {
            **{k: f"{v[0]}/{v[1]} ({v[0] / max(1, v[1]):.2f})" for k, v in found.items()},
            "median_s": round(float(np.median(times)), 3),
        }
    return out


def latency(pipeline: Pipeline, repeats: int = 3) -> dict:
    out = {}
    for size in (1024, 3500):
        plan = generate_plan(7, size=size, print_text=True)
        for mode in ("off", "on"):
            pipeline.analyze(plan.image, PipelineOptions(text=mode))
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                result = pipeline.analyze(plan.image, PipelineOptions(text=mode))
                times.append((time.perf_counter() - start) * 1000)
            out[f"{size}px text={mode}"] = {
                "median_ms": round(float(np.median(times))),
                "text_ms": round(result.document.timing_ms.get("text", 0.0)),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--synth", type=int, default=0)
    parser.add_argument(
        "--sheet-factor",
        type=float,
        default=1.0,
        help="--synth: paste each plan on paper this many times its sides (text smaller against the image)",
    )
    parser.add_argument(
        "--detect-side", type=int, default=None, help="the OCR detector's longest side (default: the product)"
    )
    parser.add_argument("--r3d", action="store_true")
    parser.add_argument("--engines", type=int, default=0)
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--overlays", type=Path, default=None, help="write R3D overlays here")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--engine-runtime", choices=["openvino", "onnxruntime"], default=None)
    args = parser.parse_args()
    pipeline = Pipeline.load()
    side = {} if args.detect_side is None else {"detect_side": args.detect_side}
    pipeline.text_reader = shared_reader(threads=args.threads, runtime=args.engine_runtime, **side)
    report = {"engine_runtime": pipeline.text_reader.runtime}
    if args.engines:
        report["engines"] = engines(pipeline.text_reader, args.engines)
    if args.synth:
        report["synth"] = synth_accuracy(pipeline, args.synth, sheet_factor=args.sheet_factor)
    if args.r3d:
        report["r3d"] = r3d_accuracy(pipeline, args.overlays)
    if args.latency:
        report["latency"] = latency(pipeline)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
