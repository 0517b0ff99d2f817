"""Documents to export: a hand-made one with every kind of record, and one the pipeline produced."""

from __future__ import annotations

import pytest

from model_code.pipeline import Pipeline, PipelineOptions
from model_code.schema import Opening, ResultDocument, Room, Wall
from tests.serving.helpers import plan_image


@pytest.fixture
def small_document() -> ResultDocument:
    """200 x 100 px: a 180 x 80 box of 4 walls split by a 5th, a door, a window, a plain opening,
    a polygon room with a name and a box-only room."""
    walls = [
        Wall((10, 10), (190, 10), 4.0, True, "w1", 1.0),
        Wall((190, 10), (190, 90), 4.0, True, "w2", 1.0),
        Wall((190, 90), (10, 90), 4.0, True, "w3", 1.0),
        Wall((10, 90), (10, 10), 4.0, True, "w4", 1.0),
        Wall((100, 10), (100, 90), None, False, "w5", 0.5),
    ]
    openings = [
        Opening("door", (100, 40), (100, 60), "o1", "w5", None),
        Opening("window", (40, 10), (70, 10), "o2", "w1", 4.0),
        Opening("opening", (140, 90), (160, 90), "o3", "w3", 4.0),
    ]
    rooms = [
        Room("r1", [12, 12, 98, 88], [(12, 12), (98, 12), (98, 88), (12, 88)], 86 * 76, "Kitchen & <dining>"),
        Room("r2", [102, 12, 188, 88], None, 86 * 76, None),
    ]
    return ResultDocument(200, 100, walls, openings, rooms, {"name": "test"}, image_id="small")


@pytest.fixture(scope="session")
def pipeline_document() -> ResultDocument:
    """What the OpenCV backend finds on a generated 320 x 240 plan (walls, all opening types, rooms)."""
    return Pipeline(None).analyze(plan_image(320, 240), PipelineOptions(backend="opencv")).document
