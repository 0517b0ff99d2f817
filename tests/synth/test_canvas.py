"""The generator's pixel compositing gives numpy's bytes, in place, also on views; its polygon masks are
the full image's, windowed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model_code.synth.canvas import SCALE, SHIFT, blank, fixed_point, paint, paste, polygon_mask


def _image(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.integers(0, 256, (*shape, 3), dtype=np.uint8)


def test_blank_is_one_colour_and_writable() -> None:
    page = blank(7, 5, (250, 248, 240))
    assert page.shape == (7, 5, 3) and page.dtype == np.uint8
    assert (page == np.array([250, 248, 240], np.uint8)).all()
    page[0, 0] = 0  # its own memory, not a broadcast view
    assert page[1, 1].tolist() == [250, 248, 240]


@pytest.mark.parametrize("density", [0.0, 0.06, 0.9, 1.0])
def test_paint_and_paste_give_what_boolean_indexing_gives(density: float) -> None:
    rng = np.random.default_rng(3)
    image, layer = _image(rng, (61, 47)), _image(rng, (61, 47))
    where = rng.random((61, 47)) < density
    painted, expected = image.copy(), image.copy()
    paint(painted, where, (12, 34, 56))
    expected[where] = (12, 34, 56)
    assert np.array_equal(painted, expected)
    pasted, expected = image.copy(), image.copy()
    paste(pasted, layer, where)
    expected[where] = layer[where]
    assert np.array_equal(pasted, expected)


def test_a_view_is_written_in_place() -> None:
    rng = np.random.default_rng(4)
    image = _image(rng, (40, 30))
    expected = image.copy()
    view = image[5:25, 3:20]
    where = rng.random(view.shape[:2]) < 0.5
    paint(view, where, (1, 2, 3))
    expected[5:25, 3:20][where] = (1, 2, 3)
    assert np.array_equal(image, expected)


def test_mismatched_shapes_are_refused() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="differ"):
        paste(image, np.zeros((8, 7, 3), np.uint8), np.ones((8, 8), bool))
    with pytest.raises(ValueError, match="differ"):
        paint(image, np.ones((7, 8), bool), (0, 0, 0))


@pytest.mark.parametrize("seed", range(6))
def test_a_windowed_polygon_mask_is_the_full_images_mask_there(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (110, 130)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 7))
    radii = rng.uniform(10, 40, 7)
    centre = rng.uniform([55, 45], [75, 65])
    ring = centre + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii[:, None]  # sub-pixel, slanted
    full = np.zeros(shape, np.uint8)
    cv2.fillPoly(full, [np.round(ring * SCALE).astype(np.int32)], 1, cv2.LINE_8, SHIFT)
    assert full.any()
    for window in [(0, 0, 130, 110), (13, 7, 61, 50), (60, 50, 61, 51), (100, 60, 130, 110), (5, 5, 5, 9)]:
        x0, y0, x1, y1 = window
        assert np.array_equal(polygon_mask(ring, window), full[y0:y1, x0:x1].astype(bool)), window


def test_fixed_point_has_shift_fractional_bits() -> None:
    assert SCALE == 1 << SHIFT
    assert fixed_point(1.5, 2.25) == (24, 36)
    assert fixed_point(np.float64(0.03125), -1.0) == (0, -16)  # banker's rounding of 0.5, like round()
