"""Typed records for the customers' annotation format and our result document.

The customers' annotation format is::

    {"image_id": str,
     "walls": [{"start": [x, y], "end": [x, y], "is_load_bearing": bool}],
     "rooms": [{"id": ..., "bounding_box": [x_min, y_min, x_max, y_max], "name_hint": str}]}

We extend it compatibly (never break it): walls may carry ``id``, ``thickness`` and
``confidence``; rooms may carry ``polygon`` and ``area_px``; a top-level ``openings`` list
holds doors and windows; an optional ``image`` object gives the pixel size.  The result
document returned by the endpoint is the same records plus ``schema_version``, ``model``
and ``timing_ms``, so a result is always a valid annotation body as well.

Coordinates are image pixels, x to the right and y down, as floats.
The JSON Schema files live beside this module, in ``model_code/schema/``; :func:`validate_annotation`
and :func:`validate_result` check documents against them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema

from model_code.io.files import atomic_write_bytes

RESULT_SCHEMA_VERSION = "1.0"
SCHEMA_DIR = Path(__file__).parent
OPENING_TYPES = ("door", "window", "opening")

Point = tuple[float, float]
OpeningType = Literal["door", "window", "opening"]


def _point(value: Any) -> Point:
    return (float(value[0]), float(value[1]))


def _round(value: float, ndigits: int = 2) -> float:
    return round(float(value), ndigits)


def bounding_box_of(points: list[Point]) -> list[float]:
    """Return ``[x_min, y_min, x_max, y_max]`` of a list of points."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return [min(xs), min(ys), max(xs), max(ys)]


@dataclass
class Wall:
    """A straight wall segment along its centreline, with its full thickness in pixels."""

    start: Point
    end: Point
    thickness: float | None = None
    is_load_bearing: bool = False
    id: str | None = None
    confidence: float | None = None
    length_m: float | None = None  # with a document scale
    thickness_m: float | None = None

    @property
    def length(self) -> float:
        """Euclidean length of the centreline in pixels."""
        return math.dist(self.start, self.end)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the JSON form (customers' keys first, extensions only when set)."""
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out["start"] = [_round(self.start[0]), _round(self.start[1])]
        out["end"] = [_round(self.end[0]), _round(self.end[1])]
        if self.thickness is not None:
            out["thickness"] = _round(self.thickness)
        out["is_load_bearing"] = bool(self.is_load_bearing)
        if self.confidence is not None:
            out["confidence"] = _round(self.confidence, 3)
        if self.length_m is not None:
            out["length_m"] = _round(self.length_m, 3)
        if self.thickness_m is not None:
            out["thickness_m"] = _round(self.thickness_m, 3)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Wall:
        """Parse one wall record (customers' format or ours)."""
        return cls(
            start=_point(data["start"]),
            end=_point(data["end"]),
            thickness=None if data.get("thickness") is None else float(data["thickness"]),
            is_load_bearing=bool(data.get("is_load_bearing", False)),
            id=None if data.get("id") is None else str(data["id"]),
            confidence=None if data.get("confidence") is None else float(data["confidence"]),
            length_m=None if data.get("length_m") is None else float(data["length_m"]),
            thickness_m=None if data.get("thickness_m") is None else float(data["thickness_m"]),
        )


@dataclass
class Opening:
    """A door, window or plain opening: a segment across the gap in its host wall."""

    type: OpeningType
    start: Point
    end: Point
    id: str | None = None
    wall_id: str | None = None
    thickness: float | None = None

    @property
    def length(self) -> float:
        """Width of the opening in pixels."""
        return math.dist(self.start, self.end)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the JSON form."""
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out["type"] = self.type
        out["start"] = [_round(self.start[0]), _round(self.start[1])]
        out["end"] = [_round(self.end[0]), _round(self.end[1])]
        out["wall_id"] = self.wall_id
        if self.thickness is not None:
            out["thickness"] = _round(self.thickness)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Opening:
        """Parse one opening record."""
        return cls(
            type=data.get("type", "opening"),
            start=_point(data["start"]),
            end=_point(data["end"]),
            id=None if data.get("id") is None else str(data["id"]),
            wall_id=None if data.get("wall_id") is None else str(data["wall_id"]),
            thickness=None if data.get("thickness") is None else float(data["thickness"]),
        )


@dataclass
class Room:
    """A room: its id, optional polygon (closed ring, first point not repeated) and box."""

    id: str
    bounding_box: list[float]
    polygon: list[Point] | None = None
    area_px: float | None = None
    name_hint: str | None = None
    type: str | None = None
    type_confidence: float | None = None
    area_m2: float | None = None  # with a document scale
    # with a document scale: the room's extents (longer side first), as plans print "4.93 x 4.70m"
    dimensions_m: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the JSON form (``type`` and ``type_confidence``, ``area_m2`` and
        ``dimensions_m`` only when known)."""
        out: dict[str, Any] = {"id": self.id}
        if self.polygon is not None:
            out["polygon"] = [[_round(x), _round(y)] for x, y in self.polygon]
        out["bounding_box"] = [_round(v) for v in self.bounding_box]
        if self.area_px is not None:
            out["area_px"] = _round(self.area_px, 1)
        if self.area_m2 is not None:
            out["area_m2"] = _round(self.area_m2, 2)
        if self.dimensions_m is not None:
            out["dimensions_m"] = [_round(v, 2) for v in self.dimensions_m]
        out["name_hint"] = self.name_hint
        if self.type is not None:
            out["type"] = self.type
            out["type_confidence"] = None if self.type_confidence is None else _round(self.type_confidence, 3)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Room:
        """Parse one room record; a polygon-only room gets its box computed."""
        polygon = None if data.get("polygon") is None else [_point(p) for p in data["polygon"]]
        box = data.get("bounding_box")
        if box is None and polygon:
            box = bounding_box_of(polygon)
        return cls(
            id=str(data["id"]),
            bounding_box=[float(v) for v in box],
            polygon=polygon,
            area_px=None if data.get("area_px") is None else float(data["area_px"]),
            name_hint=data.get("name_hint"),
            type=data.get("type"),
            type_confidence=None if data.get("type_confidence") is None else float(data["type_confidence"]),
            area_m2=None if data.get("area_m2") is None else float(data["area_m2"]),
            dimensions_m=None if data.get("dimensions_m") is None else _point(data["dimensions_m"]),
        )


@dataclass
class Annotation:
    """One annotated plan in the customers' format plus our compatible extensions."""

    image_id: str
    walls: list[Wall] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)
    openings: list[Opening] = field(default_factory=list)
    width: int | None = None
    height: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the JSON form."""
        out: dict[str, Any] = {"image_id": self.image_id}
        if self.width is not None and self.height is not None:
            out["image"] = {"width": int(self.width), "height": int(self.height)}
        out["walls"] = [w.to_dict() for w in self.walls]
        out["openings"] = [o.to_dict() for o in self.openings]
        out["rooms"] = [r.to_dict() for r in self.rooms]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Annotation:
        """Parse an annotation dict (call :func:`validate_annotation` first for clear errors)."""
        image = data.get("image") or {}
        return cls(
            image_id=str(data["image_id"]),
            walls=[Wall.from_dict(w) for w in data.get("walls", [])],
            rooms=[Room.from_dict(r) for r in data.get("rooms", [])],
            openings=[Opening.from_dict(o) for o in data.get("openings", [])],
            width=image.get("width"),
            height=image.get("height"),
        )

    def save(self, path: str | Path) -> None:
        """Write the annotation as pretty JSON, atomically."""
        atomic_write_bytes(path, (json.dumps(self.to_dict(), indent=1) + "\n").encode())

    @classmethod
    def load(cls, path: str | Path) -> Annotation:
        """Read and validate an annotation JSON file."""
        data = json.loads(Path(path).read_text())
        validate_annotation(data)
        return cls.from_dict(data)


@dataclass
class TextLine:
    """A line of text read on the plan: ``[x_min, y_min, x_max, y_max]`` box, the text, its confidence."""

    box: tuple[float, float, float, float]
    text: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the JSON form."""
        return {
            "box": [_round(v) for v in self.box],
            "text": self.text,
            "confidence": _round(min(1.0, max(0.0, self.confidence)), 3),
        }


@dataclass
class PlanScale:
    """The plan's scale: pixels per metre, confidence (0..1), ``source`` (``text``, ``pdf``, ``option``)
    and the evidence behind it (JSON objects: kind, text, pixels_per_meter, box, room_id, weight, used)."""

    pixels_per_meter: float
    confidence: float
    source: str
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def metres_per_pixel(self) -> float:
        """The exports' unit conversion."""
        return 1.0 / self.pixels_per_meter

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the JSON form."""
        return {
            "pixels_per_meter": _round(self.pixels_per_meter, 3),
            "confidence": _round(self.confidence, 3),
            "source": self.source,
            "evidence": [dict(e) for e in self.evidence],
        }


@dataclass
class ResultDocument:
    """What ``/invocations`` returns: the plan's geometry plus provenance and timings."""

    width: int
    height: int
    walls: list[Wall]
    openings: list[Opening]
    rooms: list[Room]
    model: dict[str, Any]
    timing_ms: dict[str, float] = field(default_factory=dict)
    image_id: str | None = None
    page: tuple[int, int] | None = None  # (number from 1, count) for a PDF or TIFF input, else None
    texts: list[TextLine] | None = None  # with the text option on
    scale: PlanScale | None = None  # from the plan's text or the pixels_per_meter option
    # where the network saw the plan (U-Net backend): ``working_scale`` (working px per input px),
    # ``working_width``/``working_height``, ``wall_thickness_px`` (estimated, input px, or None),
    # ``method`` (fit, measured, clamped, fallback), ``tiles`` (network passes, every view counted)
    # and ``views`` (the mirrored views averaged at the working scale)
    inference: dict[str, Any] | None = None
    # the drawing area inside a sheet's frame and title block, (x0, y0, x1, y1) input px; None: no sheet
    drawing_area: tuple[int, int, int, int] | None = None
    # the drawing was light on dark (a CAD viewer's black background, a blueprint) and its negative analysed
    inverted: bool = False

    def place_on(self, dx: float, dy: float, width: int, height: int) -> None:
        """Make this document, found on a part of a larger image whose top-left corner is ``(dx, dy)``,
        the ``width x height`` image's: every coordinate moved by ``(dx, dy)``, in place.

        Walls, openings, rooms (box and polygon), text boxes, the scale's evidence boxes and the drawing
        area move; lengths, areas, thicknesses and the scale do not change.
        """

        def point(p: Point) -> Point:
            return (p[0] + dx, p[1] + dy)

        def box(b: Any) -> list[float]:
            return [float(b[0]) + dx, float(b[1]) + dy, float(b[2]) + dx, float(b[3]) + dy]

        self.width, self.height = int(width), int(height)
        for item in (*self.walls, *self.openings):
            item.start, item.end = point(item.start), point(item.end)
        for room in self.rooms:
            room.bounding_box = box(room.bounding_box)
            if room.polygon is not None:
                room.polygon = [point(p) for p in room.polygon]
        for line in self.texts or []:
            line.box = tuple(box(line.box))  # type: ignore[assignment]
        if self.scale is not None:
            for evidence in self.scale.evidence:
                if evidence.get("box") is not None:
                    evidence["box"] = [round(v, 1) for v in box(evidence["box"])]
        if self.drawing_area is not None:
            x0, y0, x1, y1 = self.drawing_area
            self.drawing_area = (x0 + round(dx), y0 + round(dy), x1 + round(dx), y1 + round(dy))

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the versioned JSON result document."""
        out: dict[str, Any] = {"schema_version": RESULT_SCHEMA_VERSION}
        if self.image_id is not None:
            out["image_id"] = self.image_id
        out["image"] = {"width": int(self.width), "height": int(self.height)}
        out["model"] = dict(self.model)
        out["walls"] = [w.to_dict() for w in self.walls]
        out["openings"] = [o.to_dict() for o in self.openings]
        out["rooms"] = [r.to_dict() for r in self.rooms]
        out["timing_ms"] = {k: _round(v, 1) for k, v in self.timing_ms.items()}
        if self.page is not None:
            out["page"] = {"number": int(self.page[0]), "count": int(self.page[1])}
        if self.texts is not None:
            out["texts"] = [t.to_dict() for t in self.texts]
        if self.scale is not None:
            out["scale"] = self.scale.to_dict()
        if self.drawing_area is not None:
            out["drawing_area"] = [int(v) for v in self.drawing_area]
        if self.inverted:
            out["inverted"] = True
        if self.inference is not None:
            thickness = self.inference.get("wall_thickness_px")
            out["inference"] = {
                "working_scale": _round(float(self.inference["working_scale"]), 6),
                "working_width": int(self.inference["working_width"]),
                "working_height": int(self.inference["working_height"]),
                "wall_thickness_px": None if thickness is None else _round(float(thickness), 2),
                "method": str(self.inference["method"]),
                "tiles": int(self.inference["tiles"]),
                "views": int(self.inference.get("views", 1)),
            }
        return out


class SchemaError(ValueError):
    """A document does not match its JSON Schema; ``problems`` lists every violation."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Load one of the JSON Schema files shipped in ``model_code/schema``."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def schema_problems(data: Any, name: str) -> list[str]:
    """Every JSON Schema violation of ``data`` against schema ``name``, as readable strings."""
    validator = jsonschema.Draft202012Validator(load_schema(name))
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        problems.append(f"{where}: {error.message}")
    return problems


def validate_annotation(data: Any) -> None:
    """Raise :class:`SchemaError` unless ``data`` is a valid annotation document."""
    problems = schema_problems(data, "annotation")
    if problems:
        raise SchemaError(problems)


def validate_result(data: Any) -> None:
    """Raise :class:`SchemaError` unless ``data`` is a valid result document."""
    problems = schema_problems(data, "result")
    if problems:
        raise SchemaError(problems)
