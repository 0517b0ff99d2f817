"""A plan on a large sheet of blank paper is analysed on its drawing's box and placed back on the sheet.

Before, the working scale was chosen for the whole image: generated plans pasted on paper three times
their size lost a third of their rooms (``benchmarks/plan_on_paper.py``), seed 1013 every one.
"""

from __future__ import annotations

import numpy as np
import pytest

from model_code.evaluation.scoring import score_plan
from model_code.evaluation.truth import GroundTruth
from model_code.model.paper import drawing_extent, ink_extent
from model_code.pipeline import Pipeline, PipelineOptions
from model_code.schema import validate_result
from model_code.synth import generate_plan
from tests.text.helpers import needs_engine


@pytest.fixture(scope="module")
def bundled() -> Pipeline:
    return Pipeline.load()


def _on_paper(layers: list[np.ndarray], factor: int, corner: tuple[int, int]) -> list[np.ndarray]:
    """Each layer on a page ``factor`` times its sides, its top-left corner at ``corner`` (x, y); the
    image (first layer) on white paper, the masks on zeros."""
    out = []
    for k, layer in enumerate(layers):
        height, width = layer.shape[:2]
        page = np.full((factor * height, factor * width, *layer.shape[2:]), 255 if k == 0 else 0, layer.dtype)
        page[corner[1] : corner[1] + height, corner[0] : corner[0] + width] = layer
        out.append(page)
    return out


def _same_moved(values, reference, dx: float, dy: float) -> bool:
    """Whether ``values`` (points or boxes) are ``reference`` moved by ``(dx, dy)``, to the document's
    rounding (two decimals)."""
    moved = np.asarray(reference, float) + np.resize([dx, dy], np.shape(reference))
    return bool(np.allclose(np.asarray(values, float), moved, atol=0.011, rtol=0))


@pytest.mark.parametrize("text", ["off", pytest.param("on", marks=needs_engine)])
def test_the_sheet_result_is_the_drawing_box_result_placed_on_the_sheet(text):
    plan = generate_plan(1013, size=900, print_text=True)
    (sheet,) = _on_paper([plan.image], 3, (700, 1100))
    extent = drawing_extent(sheet)
    assert extent is not None
    x0, y0, x1, y1 = extent
    ink = ink_extent(
        plan.image
    )  # every inked row and column of the plan lies in the box, with paper round it
    assert x0 < 700 + ink[0] and y0 < 1100 + ink[1] and x1 > 700 + ink[2] and y1 > 1100 + ink[3]
    pipeline = Pipeline(None)
    options = PipelineOptions(backend="opencv", text=text)
    on_sheet = pipeline.analyze(sheet, options)
    alone = pipeline.analyze(np.ascontiguousarray(sheet[y0:y1, x0:x1]), options)
    document, reference = on_sheet.document.to_dict(), alone.document.to_dict()
    validate_result(document)
    assert document["image"] == {"width": sheet.shape[1], "height": sheet.shape[0]}
    assert document["drawing_area"] == [x0, y0, x1, y1]
    assert len(document["walls"]) == len(reference["walls"]) > 10
    for wall, ref in zip(document["walls"], reference["walls"], strict=True):
        assert _same_moved([wall["start"], wall["end"]], [ref["start"], ref["end"]], x0, y0)
        assert wall["thickness"] == ref["thickness"]
    for opening, ref in zip(document["openings"], reference["openings"], strict=True):
        assert _same_moved([opening["start"], opening["end"]], [ref["start"], ref["end"]], x0, y0)
    assert len(document["rooms"]) == len(reference["rooms"]) > 3
    for room, ref in zip(document["rooms"], reference["rooms"], strict=True):
        assert _same_moved(room["polygon"], ref["polygon"], x0, y0)
        assert _same_moved(room["bounding_box"], ref["bounding_box"], x0, y0)
        assert (room["area_px"], room.get("name_hint"), room["type"]) == (
            ref["area_px"],
            ref.get("name_hint"),
            ref["type"],
        )
    if text == "on":
        assert len(document["texts"]) == len(reference["texts"]) > 3
        for line, ref in zip(document["texts"], reference["texts"], strict=True):
            assert line["text"] == ref["text"]
            assert _same_moved(line["box"], ref["box"], x0, y0)
        assert any(room.get("name_hint") for room in document["rooms"])
    # the masks are the sheet's: the box's masks in place, nothing outside
    assert on_sheet.wall_mask.shape == sheet.shape[:2]
    assert np.array_equal(on_sheet.wall_mask[y0:y1, x0:x1], alone.wall_mask)
    assert not on_sheet.wall_mask.sum() - alone.wall_mask.sum()
    wall, opening, _ = pipeline.masks(sheet, options)
    assert np.array_equal(wall, on_sheet.wall_mask) and np.array_equal(opening, on_sheet.opening_mask)


def test_a_plan_on_paper_three_times_its_size_keeps_its_rooms(bundled):
    plan = generate_plan(1013, size=1024)
    alone = score_plan(
        GroundTruth("alone", plan.image, plan.wall_mask, plan.opening_mask, None, plan.room_labels),
        bundled.analyze(plan.image),
    )
    image, wall, opening, labels = _on_paper(
        [plan.image, plan.wall_mask, plan.opening_mask, plan.room_labels], 3, (1200, 800)
    )
    result = bundled.analyze(image)
    on_paper = score_plan(GroundTruth("on paper", image, wall, opening, None, labels), result)
    assert result.document.inference["working_scale"] >= 0.5  # the plan's own fit, not the sheet's (1/6)
    assert on_paper.values["room_f1_50"] >= alone.values["room_f1_50"] - 0.05 >= 0.9
    assert on_paper.values["wall_iou"] >= alone.values["wall_iou"] - 0.02


def test_the_endpoint_answers_a_plan_on_paper_in_the_sheets_pixels():
    import io

    from PIL import Image

    from model_code.serving.app import create_app
    from model_code.serving.config import ServingConfig
    from tests.serving.helpers import ping_once_loaded

    plan = generate_plan(1013, size=900)
    (sheet,) = _on_paper([plan.image], 3, (1000, 200))
    client = create_app(ServingConfig(workers=1), loader=lambda: Pipeline(None)).test_client()
    assert ping_once_loaded(client).status_code == 200
    body = io.BytesIO()
    Image.fromarray(sheet).save(body, format="PNG")
    response = client.post(
        "/invocations",
        data=body.getvalue(),
        content_type="image/png",
        headers={"X-Amzn-SageMaker-Custom-Attributes": "backend=opencv"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.json
    validate_result(document)
    x0, y0, x1, y1 = document["drawing_area"]
    ink = ink_extent(plan.image)
    assert x0 < 1000 + ink[0] and y0 < 200 + ink[1] and x1 > 1000 + ink[2] and y1 > 200 + ink[3]
    assert x1 - x0 < sheet.shape[1] / 2 and y1 - y0 < sheet.shape[0] / 2
    assert document["walls"] and document["rooms"]
    for wall in document["walls"]:
        for x, y in (wall["start"], wall["end"]):
            assert x0 <= x <= x1 and y0 <= y <= y1
    assert "paper" in document["timing_ms"]


@pytest.mark.parametrize("backend", ["unet", "opencv"])
def test_a_plan_in_a_dark_scan_border_reads_as_the_plan_alone(bundled, backend):
    plan = generate_plan(7, size=700)  # its border is not taken for a sheet's frame: wall IoU 0.917 -> 0.68
    options = PipelineOptions(backend=backend)
    scores = {}
    for name, pad in (("alone", 0), ("border", 14)):
        image = np.pad(plan.image, ((pad, pad), (pad, pad), (0, 0)), constant_values=25)
        masks = (plan.wall_mask, plan.opening_mask, plan.room_labels)
        wall, opening, labels = (np.pad(m, pad) for m in masks)
        result = bundled.analyze(image, options)
        scores[name] = score_plan(GroundTruth(name, image, wall, opening, None, labels), result)
        if name == "border":
            document = result.document.to_dict()
            validate_result(document)
            x0, y0, x1, y1 = document["drawing_area"]
            assert 14 <= x0 <= 17 and 14 <= y0 <= 17 and image.shape[1] - 17 <= x1 <= image.shape[1] - 14
            assert image.shape[0] - 17 <= y1 <= image.shape[0] - 14
            assert not result.wall_mask[:14].any() and not result.wall_mask[:, -14:].any()
    assert scores["border"].values["wall_iou"] >= scores["alone"].values["wall_iou"] - 0.01
    assert scores["border"].values["room_f1_50"] >= scores["alone"].values["room_f1_50"] - 0.05


@pytest.mark.parametrize("backend", ["unet", "opencv"])
def test_a_light_on_dark_drawing_reads_as_its_negative(bundled, backend):
    plan = generate_plan(7, size=700)
    options = PipelineOptions(backend=backend)
    plain = bundled.analyze(plan.image, options)
    negative = bundled.analyze(255 - plan.image, options)
    document = negative.document.to_dict()
    validate_result(document)
    assert document["inverted"] is True and "inverted" not in plain.document.to_dict()
    assert document["walls"] == plain.document.to_dict()["walls"]
    assert np.array_equal(negative.wall_mask, plain.wall_mask)
    wall, _, _ = bundled.masks(255 - plan.image, options)
    assert np.array_equal(wall, plain.wall_mask)


def test_a_faint_photocopy_reads_as_the_plan(bundled):
    plan = generate_plan(1005, size=700)  # faded to 30% and read as it is: wall IoU 0.972 -> 0.916
    faded = (255 - (255 - plan.image.astype(np.float32)) * 0.3).astype(np.uint8)
    scores = {}
    for name, image in (("plan", plan.image), ("faded", faded)):
        result = bundled.analyze(image)
        truth = GroundTruth(name, image, plan.wall_mask, plan.opening_mask, None, plan.room_labels)
        scores[name] = score_plan(truth, result)
    assert scores["faded"].values["wall_iou"] >= scores["plan"].values["wall_iou"] - 0.02
    assert scores["faded"].values["room_f1_50"] >= scores["plan"].values["room_f1_50"] - 0.05
