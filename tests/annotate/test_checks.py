"""Validation rules of the annotation tool: schema plus geometry, each problem located on the plan."""

from __future__ import annotations

from model_code.annotate.checks import annotation_problems
from tests.annotate.helpers import sample_annotation


def test_valid_annotation_has_no_problem() -> None:
    assert annotation_problems(sample_annotation(), 256, 192) == []


def test_schema_violations_come_first_with_their_path() -> None:
    data = sample_annotation()
    data["openings"][0]["type"] = "hatch"
    problems = annotation_problems(data, 256, 192)
    assert [p.path for p in problems] == ["openings/0/type"]


def test_geometric_problems_are_located() -> None:
    data = sample_annotation()
    data["walls"][0]["end"] = [20.4, 20]  # zero length
    data["walls"][1]["end"] = [300, 172]  # right of the 256 px image
    data["openings"][0]["wall_id"] = "w9"  # no such wall
    data["rooms"][0]["polygon"] = [[20, 20], [128, 172], [128, 20], [20, 172]]  # bow tie
    data["rooms"][1]["bounding_box"] = [236, 20, 128, 172]  # x_min > x_max
    data["rooms"].append({"id": "r1", "bounding_box": [0, 0, 10, 10]})  # duplicate id
    problems = annotation_problems(data, 256, 192)
    by_path = {}
    for problem in problems:
        by_path.setdefault(problem.path, []).append(problem.message)
    assert "zero-length wall" in by_path["walls/0"][0]
    assert "outside the 256x192 image" in by_path["walls/1"][0]
    assert by_path["walls/1"] and problems[1].point == (300, 172)
    assert "missing wall 'w9'" in by_path["openings/0"][0]
    assert "invalid" in by_path["rooms/0"][0]
    assert "empty" in by_path["rooms/1"][0]
    assert any("duplicate id" in m for m in by_path["rooms/2"])
    assert all(p.to_dict()["message"] for p in problems)


def test_image_size_from_document_when_not_given() -> None:
    data = sample_annotation()
    data["image"] = {"width": 100, "height": 100}
    assert any("outside" in p.message for p in annotation_problems(data))
    assert annotation_problems(sample_annotation()) == []  # no size known: the outside rule is skipped
