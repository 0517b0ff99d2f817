"""Annotation checks beyond the JSON Schema: coordinates inside the image, no zero-length
segments, consistent ids.  :func:`check_annotation_file` reports every problem of one file."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from model_code.datasets.layouts import IMAGE_SUFFIXES
from model_code.schema import schema_problems

MIN_LENGTH = 1e-6


def image_size_for(annotation_path: Path, data: dict[str, Any]) -> tuple[int, int] | None:
    """``(width, height)`` from the annotation's ``image`` object, else from the matching image
    in a sibling ``images/`` folder (header only), else None."""
    image = data.get("image")
    if (
        isinstance(image, dict)
        and isinstance(image.get("width"), int)
        and isinstance(image.get("height"), int)
    ):
        return image["width"], image["height"]
    for folder in (annotation_path.parent.parent / "images", annotation_path.parent):
        for suffix in IMAGE_SUFFIXES:
            candidate = folder / f"{annotation_path.stem}{suffix}"
            if candidate.is_file():
                try:
                    with Image.open(candidate) as img:
                        return img.size
                except OSError:
                    return None
    return None


def _outside(point: Iterable[float], size: tuple[int, int]) -> bool:
    x, y = point
    return not (0 <= x <= size[0] and 0 <= y <= size[1])


def _segment_problems(kind: str, items: list[dict[str, Any]], size: tuple[int, int] | None) -> list[str]:
    problems = []
    for index, item in enumerate(items):
        where = f"{kind}/{index}" + (f" (id {item['id']})" if item.get("id") is not None else "")
        if math.dist(item["start"], item["end"]) < MIN_LENGTH:
            problems.append(f"{where}: zero-length segment at {item['start']}")
        if size is not None:
            for end in ("start", "end"):
                if _outside(item[end], size):
                    problems.append(f"{where}: {end} {item[end]} is outside the {size[0]}x{size[1]} image")
    return problems


def _room_problems(rooms: list[dict[str, Any]], size: tuple[int, int] | None) -> list[str]:
    problems = []
    for index, room in enumerate(rooms):
        where = f"rooms/{index} (id {room['id']})"
        box = room.get("bounding_box")
        if box is not None:
            if box[0] > box[2] or box[1] > box[3]:
                problems.append(f"{where}: bounding_box {box} has x_min > x_max or y_min > y_max")
            if size is not None and (_outside(box[:2], size) or _outside(box[2:], size)):
                problems.append(f"{where}: bounding_box {box} is outside the {size[0]}x{size[1]} image")
        if size is not None and room.get("polygon"):
            outside = [p for p in room["polygon"] if _outside(p, size)]
            if outside:
                problems.append(
                    f"{where}: {len(outside)} polygon point(s) outside the image, e.g. {outside[0]}"
                )
    return problems


def _id_problems(data: dict[str, Any]) -> list[str]:
    problems = []
    wall_ids = [str(w["id"]) for w in data.get("walls", []) if w.get("id") is not None]
    duplicates = sorted({i for i in wall_ids if wall_ids.count(i) > 1})
    if duplicates:
        problems.append(f"walls: duplicate id(s) {duplicates}")
    known = set(wall_ids)
    for index, opening in enumerate(data.get("openings", [])):
        host = opening.get("wall_id")
        if host is not None and str(host) not in known:
            problems.append(f"openings/{index}: wall_id {host!r} names no wall")
    return problems


def annotation_problems(data: Any, size: tuple[int, int] | None) -> list[str]:
    """Every problem of one parsed annotation document (schema first, then geometry and ids)."""
    problems = schema_problems(data, "annotation")
    if problems:
        return problems
    problems += _segment_problems("walls", data.get("walls", []), size)
    problems += _segment_problems("openings", data.get("openings", []), size)
    problems += _room_problems(data.get("rooms", []), size)
    problems += _id_problems(data)
    return problems


def check_annotation_file(path: str | Path) -> tuple[list[str], list[str]]:
    """``(problems, notes)`` of one annotation JSON file; notes are not errors."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read: {exc}"], []
    except ValueError as exc:
        return [f"not valid JSON: {exc}"], []
    size = image_size_for(path, data) if isinstance(data, dict) else None
    notes = [] if size else ["image size unknown (no 'image' object, no matching image): bounds not checked"]
    return annotation_problems(data, size), notes


def annotation_files(paths: Iterable[str | Path]) -> list[Path]:
    """JSON files named directly, or inside folders (their ``annotations/`` sub-folder when present)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            folder = path / "annotations" if (path / "annotations").is_dir() else path
            files.extend(sorted(folder.glob("*.json")))
        else:
            files.append(path)
    return files
