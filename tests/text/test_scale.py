"""One robust pixels-per-metre estimate from the evidence, and the document it feeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Polygon

from model_code.schema import ResultDocument, Room, Wall, validate_result
from model_code.text.annotate import annotate_document, face_gap
from model_code.text.engine import TextBox
from model_code.text.scale import Evidence, dimension_evidence, estimate_scale


def test_an_outlier_does_not_move_the_estimate():
    evidence = [
        Evidence("dimensions", "4.00 x 3.00 m", 50.0, 1.0),
        Evidence("dimensions", "3.50 x 2.00 m", 50.8, 1.0),
        Evidence("area", "12.0 m2", 49.6, 0.7),
        Evidence("dimensions", "misread", 92.0, 1.0),
    ]
    estimate = estimate_scale(evidence)
    assert estimate is not None
    assert estimate.pixels_per_meter == pytest.approx(50.1, abs=0.5)
    assert [e.used for e in evidence] == [True, True, True, False]
    assert 0.5 < estimate.confidence < 1.0
    assert estimate.source == "text"


def test_no_evidence_no_estimate():
    assert estimate_scale([]) is None


def test_dimensions_pair_the_long_sides_and_distrust_disagreement():
    ppm, weight = dimension_evidence((3.0, 4.0), (200.0, 150.0))
    assert ppm == pytest.approx(50.0) and weight == 1.0
    ppm, weight = dimension_evidence((3.0, 4.0), (400.0, 150.0))
    assert weight < 0.5


def square_room(room_id: str, x: float, y: float, w: float, h: float, **kw) -> Room:
    polygon = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return Room(room_id, [x, y, x + w, y + h], polygon, w * h, **kw)


def text(x: float, y: float, s: str, confidence: float = 0.95) -> TextBox:
    return TextBox(
        (x - 30, y - 6, x + 30, y + 6),
        s,
        confidence,
        np.array([[x - 30, y - 6], [x + 30, y - 6], [x + 30, y + 6], [x - 30, y + 6]], np.float32),
    )


def document() -> ResultDocument:
    rooms = [
        square_room("r1", 0, 0, 200, 150, name_hint="Living room", type="living", type_confidence=0.3),
        square_room("r2", 200, 0, 100, 150, name_hint="Bedroom", type="bedroom", type_confidence=0.95),
        square_room("r3", 0, 150, 300, 100),
    ]
    walls = [Wall((0, 0), (300, 0), thickness=10.0, id="w1")]
    return ResultDocument(400, 300, walls, [], rooms, {"name": "t", "version": "0", "backend": "opencv"})


def test_names_types_scale_and_metres_reach_the_document():
    doc = document()
    texts = [
        text(100, 60, "CHAMBRE 2"),
        text(100, 80, "4,00 x 3,00 m"),
        text(250, 60, "Kitchen/"),
        text(250, 75, "Diner"),
        text(250, 90, "2.00 x 3.00m"),
        text(150, 200, "15 m²"),
        text(350, 280, "Ground Floor"),
    ]
    estimate = annotate_document(doc, texts)
    assert estimate is not None
    r1, r2, r3 = doc.rooms
    assert r1.name_hint == "CHAMBRE 2" and r1.type == "bedroom"  # the model was unsure
    assert r2.name_hint == "Kitchen/Diner" and r2.type == "living"  # the model was sure; the plan wins
    assert r2.type_confidence == pytest.approx(0.95)  # now the reading's confidence
    assert r3.name_hint is None
    assert doc.scale is not None and doc.scale.source == "text"
    assert doc.scale.pixels_per_meter == pytest.approx(50.0, rel=0.01)
    assert r1.area_m2 == pytest.approx(12.0, rel=0.02)
    assert doc.walls[0].length_m == pytest.approx(6.0, rel=0.02)
    assert doc.walls[0].thickness_m == pytest.approx(0.2, rel=0.02)
    out = doc.to_dict()
    validate_result(out)
    assert next(t["text"] for t in out["texts"]) == "CHAMBRE 2"
    assert out["scale"]["evidence"] and all("used" in e for e in out["scale"]["evidence"])


def test_the_option_overrides_and_nothing_is_invented_without_a_scale():
    doc = document()
    annotate_document(doc, [text(100, 60, "Bedroom")])
    assert doc.scale is None and all(r.area_m2 is None for r in doc.rooms)
    assert "scale" not in doc.to_dict() and "area_m2" not in doc.to_dict()["rooms"][0]
    doc = document()
    annotate_document(doc, [text(100, 80, "4.00 x 3.00 m")], pixels_per_meter=100.0)
    assert doc.scale.source == "option" and doc.scale.pixels_per_meter == 100.0
    assert doc.rooms[0].area_m2 == pytest.approx(3.0)
    doc = document()
    annotate_document(doc, None, pixels_per_meter=25.0)
    assert doc.texts is None and doc.rooms[0].area_m2 == pytest.approx(48.0)
    validate_result(doc.to_dict())


def test_a_pdf_drawing_scale_with_its_render_resolution():
    doc = document()
    annotate_document(doc, [text(350, 280, "Scale 1:100")], dpi=254.0)
    assert doc.scale is not None and doc.scale.source == "pdf"
    assert doc.scale.pixels_per_meter == pytest.approx(254.0 / 0.0254 / 100)
    assert math.isclose(doc.rooms[0].area_m2, 200 * 150 / 100.0**2)


def test_exports_use_the_document_scale():
    from model_code.exports.formats import export_document

    doc = document()
    annotate_document(doc, None, pixels_per_meter=50.0)
    geojson = export_document(doc, "geojson")
    plain = export_document(document(), "geojson")
    assert geojson != plain
    import json

    rooms = [f for f in json.loads(geojson)["features"] if f["properties"]["kind"] == "room"]
    assert rooms[0]["properties"]["dimensions_m"] == pytest.approx(list(doc.rooms[0].dimensions_m), abs=1e-3)
    assert all("dimensions_m" not in f["properties"] for f in json.loads(plain)["features"])


def walled_room(door: bool = False) -> tuple[np.ndarray, Room, Wall]:
    """A 4 x 3 m room at 50 px/m between wall faces (free pixel columns 10..209, rows 10..159), 6 px
    walls, and the room as the room stage traces it at half resolution: 2 px inside every face."""
    barrier = np.zeros((200, 260), bool)
    barrier[4:166, 4:10] = barrier[4:166, 210:216] = True
    barrier[4:10, 4:216] = barrier[160:166, 4:216] = True
    if door:  # a doorway, drawn as an opening: still part of the barrier
        barrier[160:166, 60:100] = True
    room = square_room("r1", 11.5, 11.5, 196.0, 146.0, type="living", type_confidence=0.9)
    return barrier, room, Wall((7, 7), (213, 7), thickness=6.0, id="w1")


def test_the_face_gap_is_measured_from_the_barrier():
    barrier, room, _ = walled_room()
    assert face_gap(Polygon(room.polygon), barrier, limit=6.0) == pytest.approx(2.0, abs=0.1)
    assert face_gap(Polygon(room.polygon), barrier, limit=1.0) == 1.0  # never more than the limit
    assert face_gap(Polygon(room.polygon), np.zeros_like(barrier), limit=6.0) == 0.0


@pytest.mark.parametrize("printed", ["4.00 x 3.00 m", "12.0 m²"])
def test_printed_sizes_are_measured_between_the_wall_faces(printed):
    barrier, room, wall = walled_room(door=True)
    doc = ResultDocument(260, 200, [wall], [], [room], {"name": "t", "version": "0", "backend": "opencv"})
    annotate_document(doc, [text(100, 60, printed)], barrier=barrier)
    assert doc.scale is not None
    assert doc.scale.pixels_per_meter == pytest.approx(50.0, rel=0.005)  # the outline alone says ~49
    # area_m2 stays the traced polygon's area, at the right scale
    assert doc.rooms[0].area_m2 == pytest.approx(196 * 146 / 50.0**2, rel=0.01)


def test_dimensions_are_the_extents_between_the_wall_faces():
    barrier, room, wall = walled_room()
    doc = ResultDocument(260, 200, [wall], [], [room], {"name": "t", "version": "0", "backend": "opencv"})
    annotate_document(doc, None, pixels_per_meter=50.0, barrier=barrier)
    assert doc.rooms[0].dimensions_m == pytest.approx((4.0, 3.0), abs=0.02)  # faces 200 x 150 px apart
    data = doc.to_dict()
    validate_result(data)
    assert data["rooms"][0]["dimensions_m"] == pytest.approx([4.0, 3.0], abs=0.02)
    plain = ResultDocument(
        260, 200, [wall], [], [walled_room()[1]], {"name": "t", "version": "0", "backend": "t"}
    )
    annotate_document(plain, None, pixels_per_meter=50.0)  # no barrier: the traced outline itself
    assert plain.rooms[0].dimensions_m == pytest.approx((196 / 50, 146 / 50), abs=0.02)


def test_an_l_shaped_room_prints_its_extents_not_its_area():
    shape = [(0.0, 0.0), (300.0, 0.0), (300.0, 100.0), (100.0, 100.0), (100.0, 200.0), (0.0, 200.0)]
    room = Room("r1", [0, 0, 300, 200], polygon=shape, area_px=Polygon(shape).area)
    doc = ResultDocument(320, 220, [], [], [room], {"name": "t", "version": "0", "backend": "opencv"})
    annotate_document(doc, None, pixels_per_meter=100.0)
    assert doc.rooms[0].dimensions_m == pytest.approx((3.0, 2.0))
    assert doc.rooms[0].area_m2 == pytest.approx(4.0)  # less than 3.0 x 2.0: the true area
    assert "dimensions_m" not in document().to_dict()["rooms"][0]  # without a scale nothing is invented
