"""Every rule the annotation tool checks before a plan counts as validated, in one place.

Structural rules come from the JSON Schema (:func:`model_code.schema.schema_problems`).
Geometric rules (coordinates outside the image, zero-length walls and openings, degenerate
room polygons, duplicate ids, dangling ``wall_id``) are checked here.  Each problem carries
the JSON path of the element and a point on the plan, so the editor can draw it where it is.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from model_code.schema import schema_problems

MIN_SEGMENT_LENGTH = 1.0  # px: walls and openings shorter than this are "zero-length"
MIN_ROOM_AREA = 1.0  # px^2
EDGE_TOLERANCE = 0.5  # px: coordinates may sit on the image border


@dataclass
class Problem:
    """One validation problem: where it is (JSON path and plan point) and what is wrong."""

    message: str
    path: str | None = None
    point: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the editor."""
        out = asdict(self)
        out["point"] = None if self.point is None else [float(self.point[0]), float(self.point[1])]
        return out


def _outside(point: list[float], width: int | None, height: int | None) -> bool:
    if width is None or height is None:
        return False
    x, y = point
    return not (
        -EDGE_TOLERANCE <= x <= width + EDGE_TOLERANCE and -EDGE_TOLERANCE <= y <= height + EDGE_TOLERANCE
    )


def _midpoint(a: list[float], b: list[float]) -> tuple[float, float]:
    return ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0)


def _segment_problems(
    kind: str, items: list[dict[str, Any]], width: int | None, height: int | None
) -> list[Problem]:
    problems = []
    for index, item in enumerate(items):
        path = f"{kind}/{index}"
        start, end = item["start"], item["end"]
        if math.dist(start, end) < MIN_SEGMENT_LENGTH:
            problems.append(Problem(f"zero-length {kind[:-1]} (shorter than 1 px)", path, tuple(start)))
        for name, point in (("start", start), ("end", end)):
            if _outside(point, width, height):
                problems.append(
                    Problem(
                        f"{kind[:-1]} {name} {point} lies outside the {width}x{height} image",
                        path,
                        tuple(point),
                    )
                )
    return problems


def _room_problems(rooms: list[dict[str, Any]], width: int | None, height: int | None) -> list[Problem]:
    problems = []
    for index, room in enumerate(rooms):
        path = f"rooms/{index}"
        polygon = room.get("polygon")
        box = room.get("bounding_box")
        if box is not None:
            where = _midpoint(box[:2], box[2:])
            if box[0] >= box[2] or box[1] >= box[3]:
                problems.append(
                    Problem("room bounding_box is empty (x_min >= x_max or y_min >= y_max)", path, where)
                )
            elif _outside(box[:2], width, height) or _outside(box[2:], width, height):
                problems.append(Problem("room bounding_box lies outside the image", path, where))
        if polygon:
            shape = Polygon(polygon)
            where = tuple(polygon[0])
            if not shape.is_valid:
                problems.append(Problem(f"room polygon is invalid: {explain_validity(shape)}", path, where))
            elif shape.area < MIN_ROOM_AREA:
                problems.append(Problem("room polygon has no area", path, where))
            if any(_outside(p, width, height) for p in polygon):
                problems.append(Problem("room polygon has points outside the image", path, where))
    return problems


def _id_problems(data: dict[str, Any]) -> list[Problem]:
    problems = []
    for kind in ("walls", "openings", "rooms"):
        items = data.get(kind) or []
        counts = Counter(str(item["id"]) for item in items if item.get("id") is not None)
        for index, item in enumerate(items):
            if item.get("id") is not None and counts[str(item["id"])] > 1:
                point = item.get("start") or (item.get("polygon") or [None])[0]
                problems.append(Problem(f"duplicate id {item['id']!r} in {kind}", f"{kind}/{index}", point))
    wall_ids = {str(w["id"]) for w in data.get("walls") or [] if w.get("id") is not None}
    for index, opening in enumerate(data.get("openings") or []):
        if opening.get("wall_id") is not None and str(opening["wall_id"]) not in wall_ids:
            problems.append(
                Problem(
                    f"opening refers to missing wall {opening['wall_id']!r}",
                    f"openings/{index}",
                    tuple(opening["start"]),
                )
            )
    return problems


def annotation_problems(data: Any, width: int | None = None, height: int | None = None) -> list[Problem]:
    """Every problem of an annotation document; empty when it may be marked validated.

    ``width``/``height`` is the plan's pixel size (defaults to the document's ``image`` object);
    without it, the outside-the-image rules are skipped.
    """
    structural = schema_problems(data, "annotation")
    if structural:
        return [Problem(message, message.split(":", 1)[0]) for message in structural]
    image = data.get("image") or {}
    width = width if width is not None else image.get("width")
    height = height if height is not None else image.get("height")
    problems = _segment_problems("walls", data.get("walls") or [], width, height)
    problems += _segment_problems("openings", data.get("openings") or [], width, height)
    problems += _room_problems(data.get("rooms") or [], width, height)
    problems += _id_problems(data)
    return problems
