"""Scale-aware inference: thickness estimate, working-scale choice, the memory path, the document
field, exact junctions and checkpoints without the new metadata field."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from model_code.model.checkpoint import ModelMetadata, read_metadata
from model_code.model.inference import predict_probabilities, tile_count, upsample_mask
from model_code.model.scale import (
    DEFAULT_TRAINING_WALL_THICKNESS_PX,
    MAX_GAIN,
    base_shape,
    choose_working_scale,
    drawing_zoom,
    mask_wall_thickness,
)
from model_code.pipeline import Pipeline, PipelineOptions
from model_code.schema import validate_result
from tests.test_pipeline_resolution import ink_model


def drawn_plan(side: int, thickness: int) -> np.ndarray:
    """Three rooms drawn with ``thickness``-px black walls on white paper (RGB)."""
    image = np.full((side, side, 3), 255, np.uint8)
    lo, hi, mid, t = side // 8, side - side // 8, side // 2, thickness
    for y0, y1, x0, x1 in (
        (lo, lo + t, lo, hi + t),  # top
        (hi, hi + t, lo, hi + t),  # bottom
        (lo, hi + t, lo, lo + t),  # left
        (lo, hi + t, hi, hi + t),  # right
        (lo, hi, mid, mid + t),  # the partition
        (mid, mid + t, lo, mid),  # the half partition
    ):
        image[y0:y1, x0:x1] = 0
    return image


@pytest.mark.parametrize("thickness", [4, 9, 16])
def test_mask_thickness_of_known_strokes(thickness):
    mask = drawn_plan(400, thickness)[:, :, 0] < 128
    assert mask_wall_thickness(mask) == pytest.approx(thickness, abs=1.5)
    assert mask_wall_thickness(np.zeros((50, 50), bool)) is None


@pytest.mark.parametrize("thickness", [12, 24])
def test_coarse_pass_estimates_the_drawn_thickness(thickness):
    pipeline = Pipeline(ink_model(working_size=256))
    _, choice, _ = pipeline.forward(drawn_plan(1024, thickness), PipelineOptions())
    assert choice.wall_thickness_px == pytest.approx(thickness, rel=0.25)


def test_working_scale_choice():
    fit = 512 / 2048
    # walls as thick as in training at the fit scale: the fit scale (the dead band)
    same = choose_working_scale(2048, 2048, 512, DEFAULT_TRAINING_WALL_THICKNESS_PX)
    assert (same.method, same.shape, same.scale) == ("fit", (512, 512), fit)
    # thin walls: a larger scale, capped at MAX_GAIN times the fit scale
    thin = choose_working_scale(2048, 2048, 512, 1.5)
    assert thin.method == "clamped" and thin.scale == pytest.approx(fit * MAX_GAIN)
    assert thin.wall_thickness_px == pytest.approx(1.5 / fit)
    mild = choose_working_scale(2048, 2048, 512, 4.0, max_gain=4.0)
    assert mild.method == "measured" and mild.scale == pytest.approx(
        fit * DEFAULT_TRAINING_WALL_THICKNESS_PX / 4.0
    )
    # up to twice the working size: the fit scale whatever the walls (the latency of a 1,024 px plan)
    assert choose_working_scale(1024, 1024, 512, 1.5).method == "fit"
    # a 600 px plan is never blown up; a small one is taken to the working size as before
    assert choose_working_scale(600, 600, 512, 1.0, rescale_from=0).scale == pytest.approx(1.0)
    small = choose_working_scale(300, 200, 512, 1.0)
    assert small.shape == (512, 341) and small.scale > 1
    # a 7,000 px scan with thin walls is not shrunk to 512; the working pixels stay bounded
    scan = choose_working_scale(7000, 7000, 512, 1.0, max_gain=100.0)
    assert max(scan.shape) > 512 and scan.shape[0] * scan.shape[1] <= 6_000_000 * 1.01
    # nothing measured (a blank page): today's fit-to-working-size
    blank = choose_working_scale(4000, 3000, 512, None)
    assert (blank.method, blank.shape, blank.wall_thickness_px) == ("fallback", (512, 384), None)


def test_blank_page_falls_back_to_the_fit_scale():
    pipeline = Pipeline(ink_model(working_size=128))
    result = pipeline.analyze(np.full((600, 400, 3), 255, np.uint8))
    scale = result.document.to_dict()["inference"]
    assert scale["method"] == "fallback" and scale["wall_thickness_px"] is None
    assert (scale["working_height"], scale["working_width"]) == (128, 85)


def test_tiled_and_untiled_masks_agree():
    model = ink_model(working_size=128)
    image = drawn_plan(300, 7)
    whole = predict_probabilities(model, image, shape=(300, 300), tile_size=320, at_working_size=True)
    tiled = predict_probabilities(
        model, image, shape=(300, 300), tile_size=128, tile_overlap=32, at_working_size=True
    )
    assert tile_count((300, 300), 128, 32) == 9 and tile_count((300, 300), 320, 32) == 1
    assert np.array_equal(whole[0] > 0.5, tiled[0] > 0.5)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # one byte per input pixel on the way up: the float path's mask but within 1/255 of the threshold
    small = predict_probabilities(model, image, shape=(150, 150), at_working_size=True)
    fast = upsample_mask(small[0], (300, 300), 0.5)
    slow = cv2.resize(small[0], (300, 300), interpolation=cv2.INTER_LINEAR) > 0.5
    assert fast.dtype == bool and fast.shape == (300, 300)
    assert np.mean(fast != slow) < 0.002


def test_document_reports_the_scale():
    pipeline = Pipeline(ink_model(working_size=256))
    result = pipeline.analyze(drawn_plan(1024, 24))
    data = result.document.to_dict()
    validate_result(json.loads(json.dumps(data)))
    scale = data["inference"]
    assert set(scale) == {
        "working_scale",
        "working_width",
        "working_height",
        "wall_thickness_px",
        "method",
        "tiles",
        "views",
    }
    assert scale["method"] == "fit" and scale["working_scale"] == pytest.approx(0.25)
    assert (
        scale["tiles"] == 1
        and scale["views"] == 1
        and scale["wall_thickness_px"] == pytest.approx(24, rel=0.25)
    )
    assert result.probabilities is not None and result.probabilities.shape[1:] == (256, 256)
    assert result.wall_mask.shape == (1024, 1024)
    opencv = Pipeline(None).analyze(drawn_plan(300, 6), PipelineOptions(backend="opencv"))
    assert "inference" not in opencv.document.to_dict()


def test_thin_walls_are_traced_at_a_larger_scale():
    pipeline = Pipeline(ink_model(working_size=256))
    result = pipeline.analyze(drawn_plan(1024, 8))  # 2 px at the fit scale; 1024 > 2 x 256
    scale = result.document.to_dict()["inference"]
    assert scale["method"] in ("measured", "clamped") and scale["working_width"] == 256 * MAX_GAIN
    assert "forward_scaled" in result.document.timing_ms


def _ends(walls):
    return [(k, tuple(w.start)) for k, w in enumerate(walls)] + [
        (k, tuple(w.end)) for k, w in enumerate(walls)
    ]


def _meeting_exactly(truth, walls, radius):
    """(truth ends that meet another truth wall's end, those whose nearest returned end is identical
    to another returned wall's end) - the measure of benchmarks/junctions.py."""
    truth_ends, ends = _ends(truth), _ends(walls)
    meeting = exact = 0
    for k, point in truth_ends:
        if not any(j != k and math.dist(p, point) <= 0.5 for j, p in truth_ends):
            continue
        meeting += 1
        owner, nearest = min(ends, key=lambda e: math.dist(e[1], point))
        if math.dist(nearest, point) <= radius:
            exact += any(j != owner and p == nearest for j, p in ends)
    return meeting, exact


def test_walls_that_meet_share_their_end_point_after_scaling():
    from model_code.schema import Wall

    pipeline = Pipeline(ink_model(working_size=256))
    walls = pipeline.analyze(drawn_plan(1000, 24)).document.walls  # traced at 256, mapped back
    c, t, m = 125 + 12, 875 + 12, 500 + 12  # the drawing's centrelines
    truth = [
        Wall(start=a, end=b)
        for a, b in (((c, c), (t, c)), ((t, c), (t, t)), ((t, t), (c, t)), ((c, t), (c, c)), ((c, m), (m, m)))
    ]
    meeting, exact = _meeting_exactly(truth, walls, 24)
    assert meeting == 8 and exact == meeting


def test_generated_plan_corners_are_exact():
    from model_code.synth import generate_plan

    plan = generate_plan(0, 1024)
    document = Pipeline.load().analyze(plan.image).document
    meeting, exact = _meeting_exactly(plan.annotation.walls, document.walls, 15)
    assert meeting >= 10 and exact / meeting >= 0.95


def test_old_metadata_without_wall_thickness_loads(tiny_checkpoint, tmp_path):
    data = json.loads((tiny_checkpoint / "model.json").read_text())
    assert "wall_thickness_px" not in data  # what checkpoints before the field look like
    meta = read_metadata(tiny_checkpoint)
    assert meta.wall_thickness_px is None
    from model_code.model.loader import load_model

    pipeline = Pipeline(load_model(tiny_checkpoint))
    assert pipeline.training_wall_thickness() == DEFAULT_TRAINING_WALL_THICKNESS_PX
    data["wall_thickness_px"] = 4.5
    again = ModelMetadata.from_dict(data)
    assert again.wall_thickness_px == 4.5 and again.to_dict()["wall_thickness_px"] == 4.5
    data["wall_thickness_px"] = -1
    from model_code.model.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="wall_thickness_px"):
        ModelMetadata.from_dict(data)


def test_a_sheets_drawing_area_is_fit_to_the_working_size():
    assert drawing_zoom(1123, 1588, None) == 1.0  # no sheet
    assert drawing_zoom(1123, 1588, (107, 82, 1256, 1039)) == pytest.approx(1588 / 1149)
    assert drawing_zoom(1000, 1000, (0, 0, 100, 100)) == 2.0  # a small plan on a large sheet: capped
    assert drawing_zoom(1000, 1000, (0, 0, 1000, 1000)) == 1.0
    zoom = 1588 / 1149
    plain = choose_working_scale(1123, 1588, 512, 6.0)
    sheet = choose_working_scale(1123, 1588, 512, 6.0, zoom=zoom)
    assert plain.shape == (362, 512) and plain.method == "fit"
    assert (
        sheet.shape == (500, 708)
        and sheet.method == "drawing"
        and sheet.fit_scale == pytest.approx(708 / 1588, abs=1e-3)
    )
    # thin walls still rescale, at most MAX_GAIN times the sheet's own fit (as without the zoom)
    thin = choose_working_scale(1123, 1588, 512, 1.5, zoom=zoom)
    assert thin.shape == choose_working_scale(1123, 1588, 512, 1.5).shape == (543, 768)
    assert choose_working_scale(300, 400, 512, 6.0, zoom=2.0).shape == (
        384,
        512,
    )  # never an upscale beyond fit
    assert choose_working_scale(1123, 1588, 512, None, zoom=zoom).method == "fallback"


def test_plans_in_the_native_band_keep_their_own_size():
    assert base_shape(600, 450, 512) == (512, 384)  # 1.0: every larger plan is shrunk
    assert base_shape(600, 450, 512, native_up_to=1.25) == (600, 450)  # 600 <= 640: its own size
    assert base_shape(700, 450, 512, native_up_to=1.25) == (512, 329)  # beyond the band: fit
    assert base_shape(300, 200, 512, native_up_to=1.25) == (512, 341)  # smaller plans: blown up as before
    choice = choose_working_scale(600, 450, 512, 6.0, native_up_to=1.25)
    assert choice.shape == (600, 450) and choice.fit_scale == 1.0 and choice.method == "fit"
    assert choose_working_scale(1024, 1024, 512, 6.0, native_up_to=1.25).shape == (512, 512)


def test_a_checkpoint_with_a_native_band_sees_a_small_plan_at_its_own_size():
    model = ink_model(working_size=256)
    model.metadata.native_up_to = 1.5
    result = Pipeline(model).analyze(drawn_plan(320, 8))  # 320 <= 1.5 x 256: one pass at 320 px
    scale = result.document.to_dict()["inference"]
    assert scale["working_width"] == 320 and scale["working_scale"] == pytest.approx(1.0)
    assert result.probabilities.shape[1:] == (320, 320)
    assert predict_probabilities(model, drawn_plan(320, 8), at_working_size=True).shape[1:] == (320, 320)
    model.metadata.native_up_to = 1.0
    assert Pipeline(model).analyze(drawn_plan(320, 8)).document.to_dict()["inference"]["working_width"] == 256


def test_native_up_to_round_trips_and_is_bounded(tiny_checkpoint):
    from model_code.model.checkpoint import CheckpointError

    data = json.loads((tiny_checkpoint / "model.json").read_text())
    assert "native_up_to" not in data and read_metadata(tiny_checkpoint).native_up_to == 1.0
    data["native_up_to"] = 1.1875
    again = ModelMetadata.from_dict(data)
    assert again.native_up_to == 1.1875 and again.to_dict()["native_up_to"] == 1.1875
    for bad in (0.5, 3.0, float("nan")):
        data["native_up_to"] = bad
        with pytest.raises(CheckpointError, match="native_up_to"):
            ModelMetadata.from_dict(data)


def test_large_images_are_decoded_strip_by_strip(monkeypatch):
    import model_code.io.images as images

    rng = np.random.default_rng(0)
    ok, data = cv2.imencode(".jpg", rng.integers(0, 255, (300, 200, 3), dtype=np.uint8))
    assert ok
    whole = images.decode_image(data.tobytes())
    monkeypatch.setattr(images, "STRIP_BYTES", 1000)  # 1 row per strip
    assert np.array_equal(images.decode_image(data.tobytes()), whole)
