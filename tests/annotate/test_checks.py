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
    data["walls"][0]["end"] = [20, 20]  # zero length (the dataset rule)
    data["walls"][2]["end"] = [128, 20.5]  # a double click: shorter than 1 px (the drawing rule)
    data["walls"][1]["end"] = [300, 172]  # right of the 256 px image
    data["openings"][0]["wall_id"] = "w9"  # no such wall
    data["rooms"][0]["polygon"] = [[20, 20], [128, 172], [128, 20], [20, 172]]  # bow tie
    data["rooms"][1]["bounding_box"] = [236, 20, 128, 172]  # x_min > x_max
    data["rooms"].append({"id": "r1", "bounding_box": [0, 0, 10, 10]})  # duplicate id
    problems = annotation_problems(data, 256, 192)
    by_path: dict[str, list] = {}
    for problem in problems:
        by_path.setdefault(problem.path, []).append(problem)
    assert "zero-length" in by_path["walls/0"][0].message
    assert "shorter than 1 px" in by_path["walls/2"][0].message
    assert "outside the 256x192 image" in by_path["walls/1"][0].message
    assert by_path["walls/1"][0].point == (300, 172)  # marked where the stray endpoint is
    assert "w9" in by_path["openings/0"][0].message
    assert "invalid" in by_path["rooms/0"][0].message
    assert "x_min > x_max" in by_path["rooms/1"][0].message
    assert any("duplicate id" in p.message for p in by_path["rooms/2"])
    assert all(not p.message.startswith(("walls/", "rooms/", "openings/")) for p in problems)
    assert all(p.point is not None for p in problems)


def test_agrees_with_the_dataset_validate_rules() -> None:
    from model_code.datasets.checks import annotation_problems as dataset_problems

    data = sample_annotation()
    data["walls"][1]["start"] = [-5, 20]
    data["walls"].append(dict(data["walls"][0]))  # duplicate wall id
    ours = annotation_problems(data, 256, 192)
    theirs = dataset_problems(data, (256, 192))
    assert len(theirs) == 2 and len(ours) == 2
    assert {p.path for p in ours} == {"walls/1", "walls"}


def test_image_size_from_document_when_not_given() -> None:
    data = sample_annotation()
    data["image"] = {"width": 100, "height": 100}
    assert any("outside" in p.message for p in annotation_problems(data))
    assert annotation_problems(sample_annotation()) == []  # no size known: the outside rule is skipped
