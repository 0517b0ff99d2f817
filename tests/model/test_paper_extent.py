"""How far a drawing reaches on its paper (``model.paper``): the box a large, mostly blank image is
analysed on."""

from __future__ import annotations

import numpy as np
import pytest

from model_code.model.paper import (
    CROP_FROM_SIDE,
    MARGIN,
    MAX_BORDER,
    MIN_MARGIN_PX,
    drawing_extent,
    ink_extent,
    scan_border,
)


def _page(height: int, width: int, paper=(255, 255, 255)) -> np.ndarray:
    page = np.empty((height, width, 3), np.uint8)
    page[:] = paper
    return page


def test_ink_extent_is_the_rows_and_columns_with_ink():
    page = _page(300, 400)
    page[50:120, 60:200] = 0
    page[200:205, 300:390] = (200, 30, 30)  # red ink counts: colour, not only darkness
    assert ink_extent(page) == (60, 50, 390, 205)
    assert ink_extent(_page(300, 400)) is None
    grey = _page(300, 400, (128, 128, 128))
    grey[10:20, 10:30] = 200  # marks lighter than grey paper are ink too
    assert ink_extent(grey) == (10, 10, 30, 20)


def test_specks_do_not_stretch_the_extent():
    page = _page(300, 400)
    page[100:150, 100:200] = 0
    page[5, 5] = page[290, 395] = page[6, 390] = 0  # scanner dust: one pixel per row and column
    page[150:152, 10] = 30  # two pixels in one column
    assert ink_extent(page) == (100, 100, 200, 150)


def test_a_large_page_with_blank_margins_gives_the_drawing_and_a_margin():
    page = _page(2400, 3000)
    page[700:1500, 1000:2000] = 0
    page[700:1500, 1000:2000][100:-100, 100:-100] = 255  # a frame of ink, paper inside
    x0, y0, x1, y1 = drawing_extent(page)
    margin = max(MIN_MARGIN_PX, round(MARGIN * 1000))
    assert (x0, y0, x1, y1) == (1000 - margin, 700 - margin, 2000 + margin, 1500 + margin)


@pytest.mark.parametrize(
    "case",
    ["small image", "fills the image", "plan cut by the edges", "blank page", "usual margins"],
)
def test_no_box_where_the_whole_image_is_the_plan(case):
    side = CROP_FROM_SIDE + 200
    page = _page(side, side)
    if case == "small image":
        page = _page(CROP_FROM_SIDE, CROP_FROM_SIDE)
        page[400:600, 400:600] = 0
    elif case == "fills the image":
        page[5:-5, 5:-5] = 0
    elif case == "plan cut by the edges":
        page[:, 300:310] = page[500:510, :] = 0
    elif case == "usual margins":  # a tenth of the side blank all round: what plans usually have
        page[120:-120, 120:-120] = 0
    assert drawing_extent(page) is None


def test_a_dark_scan_border_is_found_on_every_side_it_runs_along():
    page = _page(600, 500)
    page[200:400, 150:350] = 0  # the plan
    assert scan_border(page) == (0, 0, 0, 0)
    page[:12] = 20
    page[:, -7:] = (40, 35, 30)  # a dark brown band down the right edge
    top, bottom, left, right = scan_border(page)
    assert (top, bottom, left, right) == (12, 0, 0, 7)
    assert drawing_extent(page) == (0, top, 500 - right, 600)  # at any size, inside the border
    grey = page.mean(axis=2).astype(np.uint8)
    assert scan_border(grey) == (top, bottom, left, right)


def test_walls_along_an_edge_and_dark_paper_are_not_a_border():
    page = _page(600, 500)
    page[:10, :] = 0
    page[:10, 200:240] = 255  # an exterior wall along the top edge, with a window: not a border
    page[:, :8] = 0
    page[-30:, :8] = 255  # a wall down the left edge that stops short of the corner
    assert scan_border(page) == (0, 0, 0, 0)
    dark = _page(600, 500, (90, 90, 90))  # a plan on dark grey paper, black walls
    dark[50:550, 50:60] = 0
    assert scan_border(dark) == (0, 0, 0, 0)
    deep = _page(600, 500)
    deep[:200] = 0  # a dark block far deeper than any border is cut at a tenth of the side
    assert scan_border(deep)[0] == round(MAX_BORDER * 600)
