"""The result document as a DXF drawing (AutoCAD R2010, written with ezdxf), one layer per kind of thing.

:func:`to_dxf` writes, in model space:

* ``WALLS`` (colour 1, red): per wall a closed ``LWPOLYLINE`` of its band (its thickness,
  square caps) and a solid ``HATCH`` of the same band;
* ``DOORS`` (5, blue), ``WINDOWS`` (4, cyan) and ``OPENINGS`` (3, green): per door, window or
  plain opening (``type: "opening"``, a gap with neither door nor window) a closed
  ``LWPOLYLINE`` of the band across its gap and a solid ``HATCH`` of it (drawn over the wall's);
* ``ROOMS`` (7, black on white, white on black): per room a closed ``LWPOLYLINE`` of its polygon
  (or its bounding box) and an ``MTEXT`` label (id and ``name_hint``, then the area) at a point
  well inside it.

Plain openings get a layer of their own rather than ``DOORS``, so a CAD user can tell a doorway
without a leaf from a door and freeze either.  Every entity carries its record's id as XDATA of
the application ``FLOORPLAN`` (group code 1000).

Coordinates: the image's bottom-left corner is the origin and **y points up** (``Y = height - row``),
so the plan is the right way up in CAD (image rows grow downwards, CAD's y upwards).  The unit is
the pixel, written as unitless (``$INSUNITS`` 0), or the metre when ``metres_per_pixel`` is given
(``$INSUNITS`` 6, ``$MEASUREMENT`` 1).  The initial view shows the whole image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import ezdxf
from ezdxf.enums import MTextEntityAlignment

from model_code.exports.shapes import (
    Units,
    document_size,
    label_height,
    label_point,
    opening_band,
    room_label,
    room_outline,
    wall_band,
    walls_by_id,
)
from model_code.schema import Annotation, ResultDocument

MEDIA_TYPE = "application/dxf"
DXF_VERSION = "R2010"
APP_ID = "FLOORPLAN"
# layer name -> AutoCAD colour index
LAYERS = {"WALLS": 1, "DOORS": 5, "WINDOWS": 4, "OPENINGS": 3, "ROOMS": 7}
OPENING_LAYERS = {"door": "DOORS", "window": "WINDOWS", "opening": "OPENINGS"}
INSUNITS_UNITLESS = 0
INSUNITS_METRES = 6


def _points(points: Sequence[Sequence[float]], height: float, units: Units) -> list[tuple[float, float]]:
    """Image pixels to drawing coordinates: y flipped about the image's height, then scaled."""
    return [(units.length(float(x)), units.length(height - float(y))) for x, y in points]


def _mtext_escape(text: str) -> str:
    """Plain text as MTEXT content: backslashes and braces escaped, line breaks as spaces."""
    text = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
    return " ".join(text.splitlines())


def to_dxf(document: ResultDocument | Annotation, metres_per_pixel: float | None = None) -> bytes:
    """The document as DXF file bytes (ASCII DXF, UTF-8); see the module docstring.

    Raises:
        ValueError: the document has no positive size, or ``metres_per_pixel`` is not a
            finite number > 0.
    """
    units = Units(metres_per_pixel)
    width, height = document_size(document, "a DXF")
    drawing = ezdxf.new(DXF_VERSION, setup=False)
    drawing.units = INSUNITS_METRES if units.scaled else INSUNITS_UNITLESS
    drawing.header["$MEASUREMENT"] = 1  # metric
    drawing.appids.add(APP_ID)
    for name, colour in LAYERS.items():
        drawing.layers.add(name, color=colour)
    space = drawing.modelspace()
    hosts = walls_by_id(document.walls)

    def tag(entity, record_id: str | None) -> None:
        if record_id:
            entity.set_xdata(APP_ID, [(1000, record_id)])

    labels = []
    for room in document.rooms:
        outline = room_outline(room)
        if outline is None:
            continue
        ring = _points(outline, height, units)
        tag(space.add_lwpolyline(ring, close=True, dxfattribs={"layer": "ROOMS"}), room.id)
        labels.append((room, outline))
    for wall in document.walls:
        band = _points(wall_band(wall), height, units)
        tag(space.add_lwpolyline(band, close=True, dxfattribs={"layer": "WALLS"}), wall.id)
        hatch = space.add_hatch(color=256, dxfattribs={"layer": "WALLS"})  # 256: colour by layer
        hatch.paths.add_polyline_path(band, is_closed=True)
        tag(hatch, wall.id)
    for opening in document.openings:
        layer = OPENING_LAYERS.get(opening.type, "OPENINGS")
        band = _points(opening_band(opening, hosts), height, units)
        tag(space.add_lwpolyline(band, close=True, dxfattribs={"layer": layer}), opening.id)
        hatch = space.add_hatch(color=256, dxfattribs={"layer": layer})
        hatch.paths.add_polyline_path(band, is_closed=True)
        tag(hatch, opening.id)
    text_height = units.length(label_height(width, height))
    for room, outline in labels:
        ((x, y),) = _points([label_point(outline)], height, units)
        text = "\\P".join(_mtext_escape(line) for line in room_label(room, units))
        label = space.add_mtext(text, dxfattribs={"layer": "ROOMS", "char_height": text_height})
        label.set_location((x, y), attachment_point=MTextEntityAlignment.MIDDLE_CENTER)
        tag(label, room.id)
    drawing.set_modelspace_vport(
        height=units.length(height) * 1.05, center=(units.length(width) / 2, units.length(height) / 2)
    )
    stream = io.StringIO()
    drawing.write(stream)
    return stream.getvalue().encode("utf-8")
