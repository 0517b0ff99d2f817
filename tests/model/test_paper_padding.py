"""The working image is padded with the plan's own paper colour, never with white on a grey scan."""

from __future__ import annotations

import numpy as np

from model_code.model.inference import normalize, pad_to_multiple, predict_probabilities
from model_code.model.loader import load_model
from model_code.model.paper import paper_colour


def _grey_plan(height: int = 150, width: int = 201, paper: int = 120) -> np.ndarray:
    image = np.full((height, width, 3), paper, np.uint8)
    image[:, width - 6 :] = 0  # a wall along the right edge: the edge's median is still the paper
    image[40:46, 20:180] = 0
    return image


def test_paper_colour_is_the_median_of_the_outer_ring():
    assert paper_colour(np.full((40, 50, 3), 255, np.uint8)) == (255.0, 255.0, 255.0)
    assert paper_colour(_grey_plan()) == (120.0, 120.0, 120.0)
    beige = np.zeros((30, 30, 3), np.uint8)
    beige[:] = (238, 226, 196)
    beige[10:20, 10:20] = 0  # ink inside does not count
    assert paper_colour(beige) == (238.0, 226.0, 196.0)
    assert paper_colour(np.full((1, 3, 3), 7, np.uint8)) == (7.0, 7.0, 7.0)  # smaller than the ring


def test_padding_takes_the_paper_colour():
    image = _grey_plan()
    padded = pad_to_multiple(image, 32)
    assert padded.shape == (160, 224, 3)
    assert np.array_equal(padded[:150, :201], image)
    assert (padded[150:] == 120).all() and (padded[:, 201:] == 120).all()
    assert pad_to_multiple(padded, 32) is padded  # already a multiple: untouched


def test_the_network_sees_paper_not_white_beyond_a_grey_plan(tiny_checkpoint):
    model = load_model(tiny_checkpoint)
    seen: list[np.ndarray] = []
    forward = model.forward
    model.forward = lambda batch: (seen.append(batch.copy()), forward(batch))[1]
    image = _grey_plan(100, 115)  # fits the tiny model's 128 px working size: padded, not resized
    predict_probabilities(model, image, at_working_size=True, shape=(100, 115))
    meta = model.metadata
    grey = normalize(np.full((1, 1, 3), 120, np.uint8), meta.mean, meta.std)[:, 0, 0]
    (batch,) = seen
    assert batch.shape[-2:] == (128, 128)
    assert np.allclose(batch[0, :, 100:, :], grey[:, None, None])
    assert np.allclose(batch[0, :, :, 115:], grey[:, None, None])
