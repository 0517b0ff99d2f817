"""Room types in every export: GeoJSON properties, SVG attributes, overlay colours and labels."""

from __future__ import annotations

import json

import numpy as np

from model_code.exports.geojson import to_geojson
from model_code.exports.overlay import ROOM_COLOURS, TYPE_COLOURS, draw_overlay, room_caption, room_colour
from model_code.exports.svg import to_svg
from model_code.schema import DOCUMENT_ROOM_TYPES, ResultDocument, Room, load_schema


def typed_document() -> ResultDocument:
    rooms = [
        Room(
            "r1",
            [10, 10, 60, 60],
            [(10, 10), (60, 10), (60, 60), (10, 60)],
            2500.0,
            "Bedroom",
            "bedroom",
            0.91,
        ),
        Room("r2", [70, 10, 95, 60], [(70, 10), (95, 10), (95, 60), (70, 60)], 1250.0, None, "unknown", None),
    ]
    model = {"name": "test", "version": "0", "backend": "unet"}
    return ResultDocument(width=100, height=80, walls=[], openings=[], rooms=rooms, model=model)


def test_geojson_and_svg_carry_the_room_type():
    document = typed_document()
    features = json.loads(to_geojson(document))["features"]
    rooms = {f["properties"]["id"]: f["properties"] for f in features if f["properties"]["kind"] == "room"}
    assert rooms["r1"]["type"] == "bedroom" and rooms["r1"]["type_confidence"] == 0.91
    assert rooms["r2"]["type"] == "unknown" and rooms["r2"]["type_confidence"] is None
    svg = to_svg(document)
    svg = svg.decode() if isinstance(svg, bytes) else svg
    assert 'data-type="bedroom"' in svg and 'data-type="unknown"' in svg


def test_overlay_colours_rooms_by_type_and_labels_them():
    document = typed_document()
    bedroom, unknown = document.rooms
    assert room_colour(bedroom, 0) == TYPE_COLOURS["bedroom"]
    assert room_colour(unknown, 1) == ROOM_COLOURS[1]  # no type: the cycling palette
    assert room_caption(bedroom) == "r1 bedroom" and room_caption(unknown) == "r2"
    plain = np.full((80, 100, 3), 255, np.uint8)
    picture = draw_overlay(plain, [], rooms=document.rooms)
    assert picture.shape == (80, 100, 3)
    inside = picture[15, 15].astype(int)  # a corner of r1, away from its label
    expected = np.array(TYPE_COLOURS["bedroom"]) * 0.35 + 255 * 0.65
    assert np.abs(inside - expected).max() <= 3


def test_the_schemas_list_the_vocabulary():
    for name in ("result", "annotation"):
        schema = load_schema(name)
        enum = schema["$defs"]["room"]["properties"]["type"]["enum"]
        assert [e for e in enum if e is not None] == list(DOCUMENT_ROOM_TYPES)
