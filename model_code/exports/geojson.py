"""The result document as a GeoJSON FeatureCollection (RFC 7946) in the plan's own planar coordinates.

:func:`feature_collection` (a dict) and :func:`to_geojson` (its JSON text) give one Feature per
wall, opening and room, in that order, each with the record's id as the Feature ``id``:

* walls - ``Polygon``: the square-capped band of the wall's thickness around its centreline;
  properties ``kind: "wall"``, ``id``, ``thickness_px``, ``length_px``, ``is_load_bearing``,
  ``confidence``;
* openings - ``Polygon``: the band across the gap, as thick as the opening (or its host wall);
  properties ``kind: "door" | "window" | "opening"``, ``id``, ``wall_id``, ``width_px``,
  ``thickness_px``;
* rooms - ``Polygon``: the room's polygon (or its bounding box when it has none, ``outline:
  "bounding_box"``); properties ``kind: "room"``, ``id``, ``name_hint``, ``type``,
  ``type_confidence``, ``area_px`` (the document's pixel count), ``label``.

Coordinates are **not** WGS84 longitude/latitude, whatever RFC 7946 assumes: they are planar,
with the origin at the bottom-left corner of the input image and **y up** (``y = height - row``),
so the plan is the right way up in GIS viewers (QGIS, Leaflet's ``CRS.Simple``), as in the DXF
export.  The unit is the pixel, or the metre when ``metres_per_pixel`` is given (then every
``*_px`` property gets a ``*_m`` / ``area_m2`` twin).  The top-level foreign member
``coordinate_system`` says all this to a reader, and ``bbox`` is the image's extent.  Rings are
closed and counter-clockwise (RFC 7946's right-hand rule) in these y-up coordinates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from model_code.exports.shapes import (
    Units,
    document_size,
    opening_band,
    opening_thickness,
    room_label,
    room_outline,
    wall_band,
    wall_thickness,
    walls_by_id,
)
from model_code.schema import Annotation, ResultDocument

MEDIA_TYPE = "application/geo+json"


def _ring(points: Sequence[Sequence[float]], height: float, units: Units) -> list[list[float]]:
    """A closed, counter-clockwise ring in output coordinates (y flipped, scaled, rounded)."""
    ring = [
        [round(units.length(float(x)), units.digits), round(units.length(height - float(y)), units.digits)]
        for x, y in points
    ]
    signed = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:] + ring[:1], strict=True))
    if signed < 0:
        ring.reverse()
    return [*ring, ring[0]]


def _polygon(points: Sequence[Sequence[float]], height: float, units: Units) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [_ring(points, height, units)]}


def _scaled(properties: dict[str, Any], units: Units, lengths: Sequence[str] = (), area: str = "") -> None:
    """Add the metre twins (``thickness_m``, ``area_m2``) of pixel properties when scaled."""
    if not units.scaled:
        return
    for key in lengths:
        value = properties.get(f"{key}_px")
        properties[f"{key}_m"] = None if value is None else round(units.length(value), 4)
    if area:
        value = properties.get(f"{area}_px")
        properties[f"{area}_m2"] = None if value is None else round(units.area(value), 4)


def _feature(feature_id: str, geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "id": feature_id, "geometry": geometry, "properties": properties}


def feature_collection(
    document: ResultDocument | Annotation, metres_per_pixel: float | None = None
) -> dict[str, Any]:
    """The document as a GeoJSON FeatureCollection dict; see the module docstring.

    Raises:
        ValueError: the document has no positive size, or ``metres_per_pixel`` is not a
            finite number > 0.
    """
    units = Units(metres_per_pixel)
    width, height = document_size(document, "a GeoJSON")
    hosts = walls_by_id(document.walls)
    features = []
    for index, wall in enumerate(document.walls):
        properties: dict[str, Any] = {
            "kind": "wall",
            "id": wall.id,
            "thickness_px": round(wall_thickness(wall), 2),
            "length_px": round(wall.length, 2),
            "is_load_bearing": bool(wall.is_load_bearing),
            "confidence": None if wall.confidence is None else round(wall.confidence, 3),
        }
        _scaled(properties, units, ("thickness", "length"))
        features.append(
            _feature(wall.id or f"wall{index + 1}", _polygon(wall_band(wall), height, units), properties)
        )
    for index, opening in enumerate(document.openings):
        properties = {
            "kind": opening.type,
            "id": opening.id,
            "wall_id": opening.wall_id,
            "width_px": round(opening.length, 2),
            "thickness_px": round(opening_thickness(opening, hosts), 2),
        }
        _scaled(properties, units, ("width", "thickness"))
        band = opening_band(opening, hosts)
        features.append(
            _feature(opening.id or f"opening{index + 1}", _polygon(band, height, units), properties)
        )
    for room in document.rooms:
        outline = room_outline(room)
        if outline is None:
            continue
        properties = {
            "kind": "room",
            "id": room.id,
            "name_hint": room.name_hint,
            "type": room.type,
            "type_confidence": room.type_confidence,
            "area_px": None if room.area_px is None else round(room.area_px, 1),
            "outline": "polygon" if room.polygon and len(room.polygon) >= 3 else "bounding_box",
            "label": "\n".join(room_label(room, units)),
        }
        _scaled(properties, units, area="area")
        if room.dimensions_m is not None:  # the document's own extents, already in metres
            properties["dimensions_m"] = [round(v, 3) for v in room.dimensions_m]
        features.append(_feature(room.id, _polygon(outline, height, units), properties))
    extent = [0.0, 0.0, round(units.length(width), units.digits), round(units.length(height), units.digits)]
    system: dict[str, Any] = {
        "type": "planar",
        "units": units.name,
        "origin": "bottom-left corner of the input image",
        "axes": "x to the right, y up (y = image height - pixel row)",
        "image": {"width": int(width), "height": int(height)},
        "metres_per_pixel": units.metres_per_pixel,
        "note": "plan coordinates, not WGS84 longitude/latitude",
    }
    collection: dict[str, Any] = {"type": "FeatureCollection"}
    if document.image_id:
        collection["name"] = document.image_id
    collection.update({"coordinate_system": system, "bbox": extent, "features": features})
    return collection


def to_geojson(document: ResultDocument | Annotation, metres_per_pixel: float | None = None) -> str:
    """:func:`feature_collection` as compact JSON text."""
    return json.dumps(feature_collection(document, metres_per_pixel), ensure_ascii=False)
