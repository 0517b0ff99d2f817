"""The generator's pixel compositing gives numpy's bytes, in place, also on views."""

from __future__ import annotations

import numpy as np
import pytest

from model_code.synth.canvas import blank, paint, paste


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
