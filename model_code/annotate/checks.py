"""Every rule the annotation tool checks before a plan counts as validated, in one place.

The rules are those of ``floorplan validate`` (:func:`model_code.datasets.checks.annotation_problems`:
the JSON Schema, coordinates inside the image, zero-length segments, wall ids), so a plan
validated in the tool passes the dataset check.  Three rules matter while drawing by hand and
are added here: walls and openings shorter than 1 px (a double click), room polygons that
cross themselves or have no area, and duplicate opening or room ids.  Each problem carries the
JSON path of its element and a point on the plan, so the editor draws it where it is.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from model_code.datasets.checks import MIN_LENGTH
from model_code.datasets.checks import annotation_problems as dataset_problems
from model_code.schema import schema_problems

MIN_SEGMENT_LENGTH = 1.0  # px: shorter walls and openings are accidental double clicks
MIN_ROOM_AREA = 1.0  # px^2
_PATH = re.compile(
    r"^(?P<path>(?P<kind>walls|openings|rooms)(?:/(?P<index>\d+))?)(?P<rest>[^:]*):\s*(?P<msg>.*)$"
)


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


def _inside(point: list[float], size: tuple[int, int] | None) -> bool:
    return size is None or (0 <= point[0] <= size[0] and 0 <= point[1] <= size[1])


def element_point(
    data: dict[str, Any], kind: str, index: int, size: tuple[int, int] | None
) -> tuple[float, float] | None:
    """Where to mark an element on the plan: an endpoint outside the image, else its middle."""
    items = data.get(kind) or []
    if not 0 <= index < len(items):
        return None
    item = items[index]
    if kind == "rooms":
        points = item.get("polygon") or []
        if points:
            outside = [p for p in points if not _inside(p, size)]
            return tuple(outside[0]) if outside else tuple(Polygon(points).representative_point().coords[0])
        box = item["bounding_box"]
        return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)
    start, end = item["start"], item["end"]
    for point in (start, end):
        if not _inside(point, size):
            return tuple(point)
    return ((start[0] + end[0]) / 2.0, (start[1] + end[1]) / 2.0)


def _locate(message: str, data: Any, size: tuple[int, int] | None) -> Problem:
    """Turn a ``floorplan validate`` message (``"walls/3 (id w4): ..."``) into a located Problem."""
    match = _PATH.match(message)
    if not match or not isinstance(data, dict):
        return Problem(message, message.split(":", 1)[0] if ":" in message else None)
    index = match.group("index")
    point = None
    if index is not None:
        try:
            point = element_point(data, match.group("kind"), int(index), size)
        except (KeyError, TypeError, ValueError, IndexError):
            point = None
    return Problem(match.group("msg"), match.group("path"), point)


def _drawing_problems(data: dict[str, Any], size: tuple[int, int] | None) -> list[Problem]:
    problems = []
    for kind in ("walls", "openings"):
        for index, item in enumerate(data.get(kind) or []):
            if MIN_LENGTH <= math.dist(item["start"], item["end"]) < MIN_SEGMENT_LENGTH:
                point = element_point(data, kind, index, size)
                problems.append(Problem(f"{kind[:-1]} shorter than 1 px", f"{kind}/{index}", point))
    for index, room in enumerate(data.get("rooms") or []):
        if room.get("polygon"):
            shape = Polygon(room["polygon"])
            point = tuple(room["polygon"][0])
            if not shape.is_valid:
                problems.append(
                    Problem(f"polygon is invalid: {explain_validity(shape)}", f"rooms/{index}", point)
                )
            elif shape.area < MIN_ROOM_AREA:
                problems.append(Problem("polygon has no area", f"rooms/{index}", point))
    for kind in ("openings", "rooms"):
        items = data.get(kind) or []
        counts = Counter(str(item["id"]) for item in items if item.get("id") is not None)
        for index, item in enumerate(items):
            if item.get("id") is not None and counts[str(item["id"])] > 1:
                point = element_point(data, kind, index, size)
                problems.append(Problem(f"duplicate id {item['id']!r}", f"{kind}/{index}", point))
    return problems


def annotation_problems(data: Any, width: int | None = None, height: int | None = None) -> list[Problem]:
    """Every problem of an annotation document; empty when it may be marked validated.

    ``width``/``height`` is the plan's pixel size (defaults to the document's ``image`` object);
    without it, the outside-the-image rules are skipped.  A document that breaks the JSON
    Schema gets only its schema problems (its geometry cannot be read).
    """
    structural = schema_problems(data, "annotation")
    if structural:
        return [Problem(message, message.split(":", 1)[0]) for message in structural]
    if width is None or height is None:
        image = data.get("image") or {}
        width, height = image.get("width"), image.get("height")
    size = None if width is None or height is None else (int(width), int(height))
    problems = [_locate(message, data, size) for message in dataset_problems(data, size)]
    return problems + _drawing_problems(data, size)
