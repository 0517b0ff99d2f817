"""Tracing walls at the working size and scaling them up gives the answer of tracing at input size.

The U-Net here is an "ink detector" plugged into a real :class:`LoadedModel`: its logits say
wall wherever the input is dark, so the masks are known exactly and the test checks the
plumbing and the geometry of :func:`scale_plan` / :func:`scale_rooms`, not a model's quality.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from model_code.evaluation.metrics import iou
from model_code.geometry.raster import rasterize_plan
from model_code.geometry.rooms import detect_rooms, scale_rooms
from model_code.geometry.vectorize import scale_plan, vectorize
from model_code.model.checkpoint import ModelMetadata
from model_code.model.loader import LoadedModel
from model_code.pipeline import Pipeline, PipelineOptions
from tests.conftest import TINY_SPEC
from tests.geometry.vectorize.test_shapes import band


def ink_model(working_size: int) -> LoadedModel:
    """A LoadedModel whose forward marks dark input pixels as wall (both channels)."""
    meta = ModelMetadata(spec=TINY_SPEC, working_size=working_size)
    mean = np.asarray(meta.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(meta.std, np.float32).reshape(1, 3, 1, 1)

    def forward(batch: np.ndarray) -> np.ndarray:
        grey = (batch * std + mean).mean(axis=1, keepdims=True)  # back to 0..1
        wall = 1.0 / (1.0 + np.exp(-(0.5 - grey) * 40.0))  # dark -> probability near 1
        return np.concatenate([wall, np.zeros_like(wall)], axis=1).astype(np.float32)  # no openings

    return LoadedModel(meta, forward, runtime="ink")


def two_rooms(side: int = 512, t: int = 12) -> np.ndarray:
    """An RGB drawing of two rooms with ``t``-px black walls on white paper."""
    mask = np.zeros((side, side), bool)
    lo, hi = side // 8, side - side // 8
    for x0, y0, x1, y1 in ((lo, lo, hi, lo), (lo, hi, hi, hi), (lo, lo, lo, hi), (hi, lo, hi, hi)):
        band(mask, x0, y0, x1, y1, t)
    band(mask, side // 2, lo, side // 2, hi, t)
    image = np.full((side, side, 3), 255, np.uint8)
    image[mask] = 0
    return image


def test_working_and_input_resolution_agree():
    pipeline = Pipeline(ink_model(working_size=256))
    image = two_rooms()
    fine = pipeline.analyze(image, PipelineOptions(resolution="input")).document
    coarse = pipeline.analyze(image, PipelineOptions(resolution="working")).document
    assert "rescale" in coarse.timing_ms and "rescale" not in fine.timing_ms
    assert len(coarse.walls) == len(fine.walls) == 5
    assert len(coarse.rooms) == len(fine.rooms) == 2
    for a in coarse.walls:
        best = min(fine.walls, key=lambda b: math.dist(a.start, b.start) + math.dist(a.end, b.end))
        assert math.dist(a.start, best.start) <= 2.0 and math.dist(a.end, best.end) <= 2.0
        assert a.thickness == pytest.approx(best.thickness, abs=1.0)

    def by_box(rooms):
        return sorted(rooms, key=lambda r: r.bounding_box)

    for a, b in zip(by_box(coarse.rooms), by_box(fine.rooms), strict=True):
        assert np.allclose(a.bounding_box, b.bounding_box, atol=3.0)
        assert a.area_px == pytest.approx(b.area_px, rel=0.03)


def test_small_inputs_are_traced_at_input_size():
    pipeline = Pipeline(ink_model(working_size=256))
    document = pipeline.analyze(two_rooms(side=200, t=6), PipelineOptions()).document
    assert "rescale" not in document.timing_ms
    assert len(document.rooms) == 2


def test_min_wall_length_is_in_input_pixels():
    pipeline = Pipeline(ink_model(working_size=256))
    image = two_rooms()
    cv2.line(image, (300, 250), (300 + 40, 250), (0, 0, 0), 8)  # a 40 px stub inside the right room
    short = pipeline.analyze(image, PipelineOptions(min_wall_length=30)).document
    long = pipeline.analyze(image, PipelineOptions(min_wall_length=60)).document
    assert len(short.walls) == len(long.walls) + 1


def test_scale_plan_matches_tracing_the_full_mask():
    mask = np.zeros((400, 560), bool)
    for x0, y0, x1, y1 in ((60, 60, 500, 60), (60, 340, 500, 340), (60, 60, 60, 340), (500, 60, 500, 340)):
        band(mask, x0, y0, x1, y1, 10)
    band(mask, 280, 60, 280, 340, 10)
    small = cv2.resize(mask.view(np.uint8), (280, 200), interpolation=cv2.INTER_AREA) > 0
    full = vectorize(mask)
    scaled = scale_plan(vectorize(small), 2.0, 2.0, mask)
    assert scaled.shape == mask.shape and len(scaled.walls) == len(full.walls) == 5
    assert iou(rasterize_plan(scaled.walls, scaled.openings, mask.shape)[0], mask) > 0.95
    for wall in scaled.walls:
        assert wall.thickness == pytest.approx(10.0, abs=1.0)
    rooms = scale_rooms(detect_rooms(vectorize(small), small), 2.0, 2.0)
    full_rooms = detect_rooms(full, mask)
    assert len(rooms) == len(full_rooms) == 2
    for a, b in zip(rooms, full_rooms, strict=True):
        assert np.allclose(a.bounding_box, b.bounding_box, atol=2.5)
        assert a.area_px == pytest.approx(b.area_px, rel=0.03)
