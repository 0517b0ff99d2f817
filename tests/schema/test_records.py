"""The annotation format and result document: round trips and schema validation."""

from __future__ import annotations

import pytest

from model_code.schema import (
    Annotation,
    Opening,
    ResultDocument,
    Room,
    SchemaError,
    Wall,
    schema_problems,
    validate_annotation,
    validate_result,
)

CUSTOMER_DOC = {
    "image_id": "plan_001",
    "walls": [{"start": [10, 20], "end": [110, 20], "is_load_bearing": True}],
    "rooms": [{"id": 1, "bounding_box": [10, 20, 110, 80], "name_hint": "kitchen"}],
}


def test_customer_format_is_valid_and_round_trips():
    validate_annotation(CUSTOMER_DOC)
    annotation = Annotation.from_dict(CUSTOMER_DOC)
    assert annotation.walls[0].length == 100
    assert annotation.rooms[0].id == "1"
    out = annotation.to_dict()
    validate_annotation(out)
    assert out["walls"][0] == {"start": [10.0, 20.0], "end": [110.0, 20.0], "is_load_bearing": True}
    assert out["rooms"][0]["bounding_box"] == [10.0, 20.0, 110.0, 80.0]


def test_every_problem_is_reported_with_its_place():
    bad = {"walls": [{"start": [1, 2]}], "rooms": [{"bounding_box": [1, 2, 3]}]}
    problems = schema_problems(bad, "annotation")
    text = "\n".join(problems)
    assert "'image_id' is a required property" in text
    assert "walls/0" in text and "'end' is a required property" in text
    assert "rooms/0" in text
    with pytest.raises(SchemaError) as info:
        validate_annotation(bad)
    assert len(info.value.problems) == len(problems) >= 4


def test_polygon_only_room_gets_a_bounding_box():
    room = Room.from_dict({"id": "r1", "polygon": [[0, 0], [10, 0], [10, 5]]})
    assert room.bounding_box == [0.0, 0.0, 10.0, 5.0]


def test_result_document_is_valid_and_a_valid_annotation_body():
    document = ResultDocument(
        width=200,
        height=100,
        walls=[Wall((0, 0), (100, 0), thickness=6.0, is_load_bearing=True, id="w1", confidence=0.9)],
        openings=[Opening("door", (40, 0), (60, 0), id="o1", wall_id="w1")],
        rooms=[Room("r1", [0, 0, 100, 50], [(0, 0), (100, 0), (100, 50), (0, 50)], 5000.0, None)],
        model={"name": "m", "version": "1", "backend": "unet"},
        timing_ms={"forward": 12.345},
    )
    data = document.to_dict()
    validate_result(data)
    validate_annotation({"image_id": "x", **data})
    assert data["timing_ms"]["forward"] == 12.3


def test_result_document_requires_the_extended_fields():
    data = {
        "schema_version": "1.0",
        "image": {"width": 1, "height": 1},
        "model": {"name": "m", "version": "1", "backend": "unet"},
        "walls": [{"start": [0, 0], "end": [1, 1], "is_load_bearing": False}],
        "openings": [],
        "rooms": [],
        "timing_ms": {},
    }
    with pytest.raises(SchemaError, match="'id' is a required property"):
        validate_result(data)


def test_a_document_found_on_part_of_an_image_is_placed_on_the_image():
    from model_code.schema import PlanScale, TextLine

    document = ResultDocument(
        width=100,
        height=80,
        walls=[Wall(start=(10.0, 20.0), end=(90.0, 20.0), thickness=4.0, id="w1")],
        openings=[Opening(type="door", start=(30.0, 20.0), end=(40.0, 20.0), id="o1", wall_id="w1")],
        rooms=[
            Room(
                id="r1",
                bounding_box=[10, 20, 90, 70],
                polygon=[(10, 20), (90, 20), (90, 70), (10, 70)],
                area_px=4000.0,
            )
        ],
        model={"name": "t", "version": "0", "backend": "opencv"},
        texts=[TextLine(box=(20.0, 30.0, 50.0, 40.0), text="Kitchen", confidence=0.9)],
        scale=PlanScale(
            50.0,
            0.8,
            "text",
            [
                {
                    "kind": "area",
                    "text": "20 m2",
                    "pixels_per_meter": 50.0,
                    "used": True,
                    "box": [20.0, 30.0, 50.0, 40.0],
                }
            ],
        ),
        drawing_area=(5, 5, 95, 75),
    )
    document.place_on(300, 200, 1000, 900)
    data = document.to_dict()
    validate_result(data)
    assert data["image"] == {"width": 1000, "height": 900}
    assert data["walls"][0]["start"] == [310, 220] and data["walls"][0]["thickness"] == 4
    assert data["openings"][0]["end"] == [340, 220]
    assert data["rooms"][0]["polygon"][0] == [310, 220] and data["rooms"][0]["bounding_box"] == [
        310,
        220,
        390,
        270,
    ]
    assert data["rooms"][0]["area_px"] == 4000
    assert data["texts"][0]["box"] == [320, 230, 350, 240]
    assert data["scale"]["evidence"][0]["box"] == [320, 230, 350, 240]
    assert data["scale"]["pixels_per_meter"] == 50
    assert data["drawing_area"] == [305, 205, 395, 275]
