"""Per-request options: parsing from strings, validation, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from model_code.pipeline import OptionsError, PipelineOptions


def test_defaults_and_string_values():
    assert PipelineOptions.from_mapping({}) == PipelineOptions()
    options = PipelineOptions.from_mapping(
        {
            "threshold": "0.3",
            "min_wall_length": "12",
            "backend": " OpenCV ",
            "render": "overlay",
            "resolution": "Input",
            "wall_edges": " Network",
        }
    )
    assert options == PipelineOptions(
        threshold=0.3,
        min_wall_length=12.0,
        backend="opencv",
        render="overlay",
        resolution="input",
        wall_edges="network",
    )
    assert PipelineOptions().resolution == "working"
    assert PipelineOptions().wall_edges == "drawing"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"threshold": "1.5"}, "threshold must be strictly between 0 and 1"),
        ({"threshold": "abc"}, "non-numeric"),
        ({"min_wall_length": "-1"}, "min_wall_length must be a finite number >= 0"),
        ({"min_wall_length": "nan"}, "min_wall_length must be a finite number >= 0"),
        ({"min_wall_length": "1e309"}, "min_wall_length must be a finite number >= 0"),
        ({"threshold": "nan"}, "threshold must be strictly between 0 and 1"),
        ({"backend": "magic"}, "backend must be one of"),
        ({"render": "svg"}, "render must be one of"),
        ({"resolution": "full"}, "resolution must be one of"),
        ({"wall_edges": "ink"}, "wall_edges must be one of"),
        ({"colour": "red"}, "unknown option"),
        ({"views": "3"}, r"views must be one of \[1, 2, 4\]"),
        ({"views": "four"}, "views must be one of"),
        ({"views": True}, "views must be one of"),
        ({"views": 2.5}, "views must be one of"),
    ],
)
def test_bad_values_are_clear_errors(values, message):
    with pytest.raises(OptionsError, match=message):
        PipelineOptions.from_mapping(values)


@pytest.mark.parametrize(("value", "views"), [("4", 4), (" 2 ", 2), (1, 1), (4.0, 4), ("", 1), (None, 1)])
def test_views_are_one_two_or_four(value, views):
    assert PipelineOptions.from_mapping({"views": value}).views == views
    assert PipelineOptions().views == 1


@pytest.mark.parametrize(("value", "page"), [("2", 2), (" 3 ", 3), (4, 4), (5.0, 5), ("", 1), (None, 1)])
def test_page_is_a_whole_number_from_one(value, page):
    assert PipelineOptions.from_mapping({"page": value}).page == page
    assert PipelineOptions().page == 1


@pytest.mark.parametrize("value", ["0", 0, "-1", "abc", "2.5", 2.5, True, "1e3"])
def test_bad_pages_are_clear_errors(value):
    with pytest.raises(OptionsError, match="page must be a whole number >= 1"):
        PipelineOptions.from_mapping({"page": value})


def test_analyze_file_reads_the_chosen_page_and_records_it(tmp_path):
    from model_code.io.pages import PageNotFoundError
    from model_code.pipeline import Pipeline
    from tests.io.documents import vector_pdf
    from tests.serving.helpers import encode, plan_image

    path = tmp_path / "plan.pdf"
    path.write_bytes(vector_pdf([(144, 72), (216, 144)]))
    pipeline = Pipeline(None)
    second = pipeline.analyze_file(path, PipelineOptions(backend="opencv", page=2)).document
    assert (second.width, second.height, second.page) == (450, 300, (2, 2))
    assert second.to_dict()["page"] == {"number": 2, "count": 2}
    assert second.walls  # the drawn outline is found on the rendered page
    first = pipeline.analyze_file(path, PipelineOptions(backend="opencv"), pdf_dpi=72).document
    assert (first.width, first.height, first.page) == (144, 72, (1, 2))
    with pytest.raises(PageNotFoundError, match="has 2 pages"):
        pipeline.analyze_file(path, PipelineOptions(backend="opencv"), page=3)
    png = pipeline.analyze_file(encode(plan_image(64, 48)), PipelineOptions(backend="opencv")).document
    assert png.page is None and "page" not in png.to_dict()


def test_pdf_render_dpi_is_the_one_place_that_chooses_the_resolution(monkeypatch):
    from model_code import pipeline as module
    from tests.io.documents import vector_pdf

    data = vector_pdf([(72, 72), (72, 72)])
    assert module.decode_plan(data, 2).image.shape == (150, 150, 3)
    asked = []

    def choose(pdf: bytes, page: int) -> float:
        asked.append(page)
        return 50.0

    monkeypatch.setattr(module, "pdf_render_dpi", choose)
    assert module.decode_plan(data, 2).image.shape == (50, 50, 3) and asked == [2]
    assert module.decode_plan(data, 1, pdf_dpi=100).image.shape == (100, 100, 3) and asked == [2]


def test_views_are_averaged_and_recorded_in_the_document(tiny_checkpoint, drawn_plan):
    from model_code.pipeline import Pipeline
    from model_code.schema import validate_result

    pipeline = Pipeline.load(tiny_checkpoint)
    one = pipeline.analyze(drawn_plan, PipelineOptions(views=1)).document.to_dict()
    four = pipeline.analyze(drawn_plan, PipelineOptions(views=4)).document.to_dict()
    assert one["inference"]["views"] == 1 and four["inference"]["views"] == 4
    # the three mirrored views are network passes of their own, at whichever scale was chosen
    rescaled = "forward_scaled" in one["timing_ms"]
    tiles = one["inference"]["tiles"]
    assert four["inference"]["tiles"] == tiles + 3 * (tiles - 1 if rescaled else 1)
    assert ("forward_scaled" if rescaled else "forward_views") in four["timing_ms"]
    validate_result(four)
    probs_one, _, _ = pipeline.forward(drawn_plan, PipelineOptions(views=1))
    probs_four, _, _ = pipeline.forward(drawn_plan, PipelineOptions(views=4))
    assert probs_four.shape == probs_one.shape and not np.array_equal(probs_four, probs_one)


def test_every_option_is_documented_for_the_endpoint_and_the_readme():
    """docs/serving.md's options table names every option (and nothing else); the README lists them.

    A new option that is parsed but never documented is what this guards against."""
    from dataclasses import fields
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    serving = (root / "docs" / "serving.md").read_text(encoding="utf-8")
    table = serving.split("| option | values | default | effect |", 1)[1].split("\n\n", 1)[0]
    documented = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    names = {f.name for f in fields(PipelineOptions)}
    assert documented == names
    readme = (root / "README.md").read_text(encoding="utf-8")
    options_list = readme.split("Options are set through", 1)[1].split("\n\n", 1)[0]
    assert [name for name in sorted(names) if f"`{name}" not in options_list] == []
