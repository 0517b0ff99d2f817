"""A solid north arrow next to a plan is not a wall, for either backend (``geometry.symbols``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import model_code.geometry.symbols as symbols_module
from model_code.pipeline import Pipeline, PipelineOptions
from model_code.schema import validate_result
from model_code.synth import generate_plan


@pytest.fixture(scope="module")
def bundled() -> Pipeline:
    return Pipeline.load()


def _with_arrow(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A generated plan with the solid half of a north arrow in its empty top-right corner: the
    image, the arrow's pixels and the plan's true wall mask."""
    plan = generate_plan(seed, 900)
    image = plan.image.copy()
    width = image.shape[1]
    corners = np.array([[width - 70, 20], [width - 30, 75], [width - 75, 60]], np.int32)
    cv2.fillConvexPoly(image, corners, (0, 0, 0))
    arrow = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(arrow, corners, 1)
    return image, arrow.astype(bool), plan.wall_mask


def _walls_near(document: dict, arrow: np.ndarray, reach: float = 10.0) -> int:
    ys, xs = np.nonzero(arrow)
    x0, y0, x1, y1 = xs.min() - reach, ys.min() - reach, xs.max() + reach, ys.max() + reach
    return sum(
        any(x0 <= p[0] <= x1 and y0 <= p[1] <= y1 for p in (wall["start"], wall["end"]))
        for wall in document["walls"]
    )


@pytest.mark.parametrize("backend", ["unet", "opencv"])
def test_a_north_arrow_gives_no_wall(bundled, backend, monkeypatch):
    image, arrow, truth = _with_arrow(5)
    assert not truth[arrow].any()
    options = PipelineOptions(backend=backend)
    result = bundled.analyze(image, options)
    document = result.document.to_dict()
    validate_result(document)
    assert not result.wall_mask[arrow].any()
    reach = cv2.dilate(arrow.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert not result.opening_mask[reach].any()
    assert _walls_near(document, arrow) == 0
    assert document["walls"], "the plan's own walls are still found"
    # without the step the arrow is a wall: the test above can fail
    monkeypatch.setattr(symbols_module, "solid_symbols", lambda wall, thickness: np.zeros_like(wall, bool))
    plain = bundled.analyze(image, options)
    assert plain.wall_mask[arrow].sum() > 0.5 * arrow.sum()
    assert iou_outside(plain.wall_mask, result.wall_mask, arrow) > 0.99  # nothing else changed


def test_the_baseline_judges_a_large_mask_on_a_smaller_copy(bundled, monkeypatch):
    """Over ``MAX_WORKING_PIXELS`` the baseline's symbols are found on a nearest-shrunk copy and
    cleared whole at full size (here the budget is lowered instead of the plan enlarged)."""
    image, arrow, _ = _with_arrow(5)
    monkeypatch.setattr("model_code.model.scale.MAX_WORKING_PIXELS", image.shape[0] * image.shape[1] // 9)
    result = bundled.analyze(image, PipelineOptions(backend="opencv"))
    assert not result.wall_mask[arrow].any()
    assert _walls_near(result.document.to_dict(), arrow) == 0


@pytest.mark.parametrize("views", [1, 4])
def test_masks_and_analyze_agree_on_the_arrow(bundled, views):
    image, arrow, _ = _with_arrow(11)
    options = PipelineOptions(views=views)
    wall, _, _ = bundled.masks(image, options)
    assert not wall[arrow].any()
    assert np.array_equal(wall, bundled.analyze(image, options).wall_mask)


def test_a_partly_marked_arrow_is_judged_on_the_drawings_ink(bundled, monkeypatch):
    """A network that marks only the left 60 % of the arrow leaves a cut triangle, which is no symbol
    by its own shape; the arrow's ink is one, so the mark goes with it (``on_solid_symbols``)."""
    image, arrow, _ = _with_arrow(5)
    xs = np.flatnonzero(arrow.any(axis=0))
    cut_at = xs[0] + 0.6 * (xs[-1] - xs[0])
    forward = Pipeline.forward

    def partial(self, image, options, timing=None, area=None):
        probs, choice, passes = forward(self, image, options, timing, area)
        probs = probs.copy()
        wall = probs[list(self.model.metadata.spec.channels).index("wall")]
        scale = wall.shape[1] / image.shape[1]
        small = cv2.resize(arrow.view(np.uint8), wall.shape[::-1], interpolation=cv2.INTER_AREA)
        wall[cv2.dilate(small, np.ones((3, 3), np.uint8)) > 0] = 0.0  # the model's own mark goes
        small[:, int(cut_at * scale) :] = 0
        wall[small > 0] = 1.0  # the left 60 % is marked
        return probs, choice, passes

    monkeypatch.setattr(Pipeline, "forward", partial)
    result = bundled.analyze(image)
    assert not result.wall_mask[arrow].any()
    assert _walls_near(result.document.to_dict(), arrow) == 0
    # judged on the mask alone the cut triangle is a wall: the test above can fail
    monkeypatch.setattr(symbols_module, "on_solid_symbols", lambda wall, ink, thickness: np.zeros_like(wall))
    plain = bundled.analyze(image)
    assert plain.wall_mask[arrow].sum() > 0.3 * arrow.sum()
    assert _walls_near(plain.document.to_dict(), arrow) > 0


def iou_outside(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """IoU of two masks away from ``region`` (grown by a few pixels)."""
    away = ~cv2.dilate(region.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    union = np.count_nonzero((a | b) & away)
    return 1.0 if union == 0 else np.count_nonzero(a & b & away) / union
