"""What the vector exports (SVG, GeoJSON, DXF) share: units, bands, room outlines and labels.

* :class:`Units` - pixels, or metres when the caller knows the plan's scale
  (``metres_per_pixel``); lengths scale by it, areas by its square;
* :func:`wall_band` - a wall as the square-capped band of its thickness
  (:func:`model_code.geometry.raster.segment_polygon`, the band the masks and overlays draw);
* :func:`opening_band` - an opening as the band across its gap (butt ends: exactly
  ``start`` to ``end``), as thick as the opening or its host wall;
* :func:`room_outline`, :func:`label_point`, :func:`room_label` - a room's ring (its polygon, or
  its bounding box when it has none), a point well inside it, and its label lines
  (id and ``name_hint``, then the area).

Everything here is in input-image pixels, x to the right and y down; each export maps the
points to its own coordinate system.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from model_code.geometry.raster import segment_polygon
from model_code.schema import Annotation, Opening, Point, ResultDocument, Room, Wall

# Thickness of a wall (or an opening without a host wall) that carries none, in pixels.
DEFAULT_THICKNESS_PX = 2.0


@dataclass(frozen=True)
class Units:
    """Output units: pixels (``metres_per_pixel`` None) or metres."""

    metres_per_pixel: float | None = None

    def __post_init__(self) -> None:
        mpp = self.metres_per_pixel
        number = isinstance(mpp, numbers.Real) and not isinstance(mpp, bool)
        if mpp is not None and not (number and math.isfinite(mpp) and mpp > 0):
            raise ValueError(f"metres_per_pixel must be a finite number > 0, got {mpp!r}")
        if mpp is not None:
            object.__setattr__(self, "metres_per_pixel", float(mpp))  # numpy scalars too

    @property
    def scaled(self) -> bool:
        """True when the output is in metres."""
        return self.metres_per_pixel is not None

    @property
    def factor(self) -> float:
        """Output units per pixel."""
        return 1.0 if self.metres_per_pixel is None else float(self.metres_per_pixel)

    @property
    def name(self) -> str:
        """``"pixel"`` or ``"metre"``."""
        return "metre" if self.scaled else "pixel"

    @property
    def digits(self) -> int:
        """Decimals kept for coordinates: 2 in pixels (the document's), 4 in metres (0.1 mm)."""
        return 4 if self.scaled else 2

    def length(self, pixels: float) -> float:
        """A length in pixels in output units."""
        return pixels * self.factor

    def area(self, pixels: float) -> float:
        """An area in square pixels in output units."""
        return pixels * self.factor * self.factor

    def area_text(self, area_px: float) -> str:
        """The area for a label: ``"1234 px²"`` or ``"12.3 m²"``."""
        if self.scaled:
            return f"{self.area(area_px):.1f} m²"
        return f"{area_px:.0f} px²"


def wall_thickness(wall: Wall) -> float:
    """The wall's thickness in pixels (:data:`DEFAULT_THICKNESS_PX` when it has none)."""
    return float(wall.thickness) if wall.thickness else DEFAULT_THICKNESS_PX


def opening_thickness(opening: Opening, walls: Mapping[str, Wall]) -> float:
    """The opening's thickness, else its host wall's, else :data:`DEFAULT_THICKNESS_PX`."""
    if opening.thickness:
        return float(opening.thickness)
    host = walls.get(opening.wall_id or "")
    return wall_thickness(host) if host is not None else DEFAULT_THICKNESS_PX


def wall_band(wall: Wall) -> np.ndarray:
    """Corners ``(4, 2)`` of the wall's band: its thickness, square caps (corners fill)."""
    return segment_polygon(wall.start, wall.end, wall_thickness(wall))


def opening_band(opening: Opening, walls: Mapping[str, Wall]) -> np.ndarray:
    """Corners ``(4, 2)`` of the band across the opening's gap, from ``start`` to ``end`` exactly."""
    p = np.asarray(opening.start, np.float64)
    q = np.asarray(opening.end, np.float64)
    half = max(opening_thickness(opening, walls), 1.0) / 2.0
    vector = q - p
    length = float(np.hypot(*vector))
    unit = vector / length if length > 1e-9 else np.array([1.0, 0.0])
    normal = np.array([-unit[1], unit[0]]) * half
    return np.array([p + normal, q + normal, q - normal, p - normal])


def walls_by_id(walls: Sequence[Wall]) -> dict[str, Wall]:
    """The walls that have an id, by id (an opening's ``wall_id`` points into it)."""
    return {wall.id: wall for wall in walls if wall.id is not None}


def room_outline(room: Room) -> list[Point] | None:
    """The room's ring (first point not repeated): its polygon, else its bounding box; None if neither."""
    if room.polygon and len(room.polygon) >= 3:
        return [(float(x), float(y)) for x, y in room.polygon]
    if room.bounding_box and len(room.bounding_box) == 4:
        x0, y0, x1, y1 = (float(v) for v in room.bounding_box)
        if x1 > x0 and y1 > y0:
            return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return None


def label_point(outline: Sequence[Point]) -> Point:
    """A point well inside the ring (its pole of inaccessibility) for the room's label."""
    from shapely.geometry import Polygon
    from shapely.ops import polylabel

    polygon = Polygon(outline)
    if not polygon.is_valid or polygon.area <= 0:
        centre = np.asarray(outline, np.float64).mean(axis=0)
        return float(centre[0]), float(centre[1])
    point = polylabel(polygon, tolerance=max(0.5, polygon.length / 200))
    return float(point.x), float(point.y)


def room_label(room: Room, units: Units) -> list[str]:
    """The label lines: ``"r1"`` or ``"r1 kitchen"`` (its ``name_hint``), then the area when known."""
    first = room.id if not room.name_hint else f"{room.id} {room.name_hint}"
    lines = [first]
    if room.area_px is not None:
        lines.append(units.area_text(room.area_px))
    return lines


def document_size(document: ResultDocument | Annotation, export: str) -> tuple[int, int]:
    """``(width, height)`` of the document's image; ``ValueError`` naming ``export`` when it has none."""
    width, height = document.width, document.height
    if not width or not height or width <= 0 or height <= 0:
        raise ValueError(f"the document needs its image width and height for {export} export")
    return width, height


def label_height(width: float, height: float) -> float:
    """Text height for room labels in pixels: about 1/50 of the plan's larger side, at least 6 px."""
    return max(6.0, max(width, height) / 50.0)
