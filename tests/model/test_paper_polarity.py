"""Light-on-dark drawings (a CAD viewer's black background, a blueprint) are recognised by their thin
strokes and analysed as their negative; light areas on grey paper are not strokes."""

from __future__ import annotations

import numpy as np
import pytest

from model_code.model.paper import MAX_INK_GAIN, dark_on_light, ink_gain, light_on_dark, with_dark_ink
from model_code.synth import generate_plan


@pytest.mark.parametrize("seed", [3, 8100022])
def test_a_generated_plan_is_dark_on_light_and_its_negative_is_not(seed):
    plan = generate_plan(seed, (600, 900), sheet=1.0 if seed > 1000 else 0.0)
    assert not light_on_dark(plan.image)
    assert light_on_dark(255 - plan.image)
    image, inverted = dark_on_light(plan.image)
    assert image is plan.image and not inverted
    image, inverted = dark_on_light(255 - plan.image)
    assert inverted and np.array_equal(image, plan.image)


def test_cad_lines_in_colour_on_black_are_light_on_dark():
    page = np.zeros((400, 600, 3), np.uint8)
    page[100:103, 50:550] = (255, 255, 0)  # yellow and cyan layers, one pixel lines, as CAD viewers draw
    page[100:300, 50:53] = (0, 255, 255)
    page[297:300, 50:550] = (255, 255, 255)
    page[100:300, 547:550] = (255, 0, 0)
    assert light_on_dark(page)
    assert light_on_dark(page.mean(axis=2).astype(np.uint8))  # grey images too


def test_white_areas_on_grey_paper_are_not_strokes():
    page = np.full((400, 600, 3), 90, np.uint8)  # grey paper (a scan), black walls
    page[50:53, 50:550] = page[50:350, 50:53] = 0
    page[350:, :] = 255  # a white margin at the bottom, and a white box: areas, not lines
    page[150:250, 200:400] = 255
    assert not light_on_dark(page)
    assert not light_on_dark(np.full((50, 50, 3), 0, np.uint8))  # a black page has no strokes at all


def test_faint_ink_is_darkened_until_its_darkest_ink_is_black():
    plan = generate_plan(3, (600, 900))
    assert ink_gain(plan.image) == 1.0
    image, gain = with_dark_ink(plan.image)
    assert image is plan.image and gain == 1.0
    faded = (255 - (255 - plan.image.astype(np.float32)) * 0.3).astype(np.uint8)  # a light photocopy
    assert 2.5 <= ink_gain(faded) <= MAX_INK_GAIN
    darker, gain = with_dark_ink(faded)
    assert gain > 2.5 and darker.dtype == np.uint8 and darker.shape == faded.shape
    assert int(np.percentile(darker, 1)) < 40 < int(np.percentile(faded, 1))  # the ink is near black again
    assert np.array_equal(darker[faded == 255], faded[faded == 255])  # the paper stays
    grey, _ = with_dark_ink(faded[..., 0])
    assert grey.shape == faded.shape[:2] and grey.min() < 40


def test_light_colours_and_blank_pages_are_not_faint_ink():
    page = np.full((300, 300, 3), 255, np.uint8)
    assert ink_gain(page) == 1.0  # no ink at all
    page[50:250, 50:250] = (200, 230, 255)  # a pale blue floor fill, and black walls round it
    page[48:52, 48:252] = page[248:252, 48:252] = page[48:252, 48:52] = page[48:252, 248:252] = 0
    assert ink_gain(page) == 1.0
