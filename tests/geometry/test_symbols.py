"""Solid symbols (north arrows, arrow heads) told from walls by their shape alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model_code.geometry.symbols import (
    clear_upsampled,
    drop_solid_symbols,
    is_solid_symbol,
    on_solid_symbols,
    solid_symbols,
    touching,
)

THICKNESS = 6.0


def _canvas() -> np.ndarray:
    return np.zeros((200, 200), np.uint8)


def _triangle(points: list[tuple[int, int]]) -> np.ndarray:
    mask = _canvas()
    cv2.fillConvexPoly(mask, np.array(points, np.int32), 1)
    return mask.astype(bool)


def _rotated_rectangle(centre: tuple[float, float], size: tuple[float, float], angle: float) -> np.ndarray:
    mask = _canvas()
    box = cv2.boxPoints((centre, size, angle)).round().astype(np.int32)
    cv2.fillConvexPoly(mask, box, 1)
    return mask.astype(bool)


@pytest.mark.parametrize(
    "points",
    [
        [(60, 20), (100, 75), (55, 60)],  # a north arrow's solid half
        [(20, 150), (120, 150), (70, 100)],  # an isosceles arrow head
        [(30, 30), (150, 40), (40, 120)],  # a large, skewed triangle
    ],
)
def test_a_filled_triangle_is_a_symbol(points):
    mask = _triangle(points)
    assert is_solid_symbol(mask, THICKNESS)
    assert np.array_equal(solid_symbols(mask, THICKNESS), mask)


@pytest.mark.parametrize(
    "mask",
    [
        _rotated_rectangle((100, 100), (120, 7), 0),  # a straight wall piece
        _rotated_rectangle((100, 100), (120, 7), 33),  # the same, diagonal
        _rotated_rectangle((100, 100), (14, 14), 0),  # a square column
        _rotated_rectangle((100, 100), (14, 14), 45),  # the same, turned
        _rotated_rectangle((100, 100), (40, 40), 20),  # a large solid block (stair core, lift shaft)
    ],
    ids=["wall", "diagonal-wall", "column", "turned-column", "block"],
)
def test_rectangles_are_walls(mask):
    assert not is_solid_symbol(mask, THICKNESS)
    assert not solid_symbols(mask, THICKNESS).any()


def test_round_columns_corners_and_thin_lines_are_kept():
    disk = _canvas()
    cv2.circle(disk, (100, 100), 12, 1, -1)  # a round column fills pi/4 of its square
    corner = _canvas()
    corner[40:160, 40:47] = 1
    corner[153:160, 40:160] = 1  # an L of wall: far from convex
    line = _canvas()
    cv2.line(line, (20, 30), (180, 120), 1, 2)  # thin: fills its pixel-rounded rectangle badly
    for mask in (disk, corner, line):
        assert not solid_symbols(mask.astype(bool), THICKNESS).any()


@pytest.mark.parametrize(
    "points",
    [[(20, 100), (100, 80), (180, 100), (100, 120)], [(100, 20), (130, 90), (100, 110), (70, 90)]],
    ids=["diamond", "kite"],
)
def test_convex_shapes_half_their_rectangle_but_no_triangle_are_kept(points, monkeypatch):
    mask = _triangle(points)  # any convex polygon
    assert not is_solid_symbol(mask, THICKNESS)
    monkeypatch.setattr("model_code.geometry.symbols.MIN_TRIANGLE_FILL", 0.0)
    assert is_solid_symbol(mask, THICKNESS)  # the triangle test alone keeps them


def test_a_triangle_joined_to_a_wall_is_part_of_the_wall():
    mask = _triangle([(60, 20), (100, 75), (55, 60)]) | _rotated_rectangle((100, 80), (160, 7), 0)
    assert not solid_symbols(mask, THICKNESS).any()


def test_small_or_thin_triangles_are_not_judged():
    tiny = _triangle([(50, 50), (56, 58), (49, 57)])  # inscribed radius under MIN_RADIUS_PX
    assert not solid_symbols(tiny, THICKNESS).any()
    assert not solid_symbols(_triangle([(60, 20), (100, 75), (55, 60)]), 60.0).any()  # thinner than a wall


def test_only_the_symbol_leaves_a_plan_mask():
    wall = _rotated_rectangle((100, 150), (150, 7), 0) | _rotated_rectangle((30, 100), (7, 150), 0)
    arrow = _triangle([(120, 20), (170, 90), (110, 70)])
    found = solid_symbols(wall | arrow, THICKNESS)
    assert np.array_equal(found, arrow)


def test_clear_upsampled_removes_the_symbol_and_its_edges_at_the_larger_size():
    small_wall = _rotated_rectangle((100, 150), (150, 7), 0)
    small_arrow = _triangle([(120, 20), (170, 90), (110, 70)])
    # the same drawing at twice the size, with edges a pixel thicker than the small mask's
    big = cv2.resize((small_wall | small_arrow).astype(np.uint8), (400, 400), interpolation=cv2.INTER_NEAREST)
    big = cv2.dilate(big, np.ones((3, 3), np.uint8)).astype(bool)
    other = big.copy()
    expected_wall = cv2.dilate(
        cv2.resize(small_wall.astype(np.uint8), (400, 400), interpolation=cv2.INTER_NEAREST),
        np.ones((3, 3), np.uint8),
    ).astype(bool)
    clear_upsampled((big, other), small_arrow)
    assert np.array_equal(big, expected_wall)
    assert np.array_equal(other, expected_wall)
    untouched = expected_wall.copy()
    clear_upsampled((untouched,), np.zeros_like(small_arrow))
    assert np.array_equal(untouched, expected_wall)


def test_touching_takes_whole_components_within_reach():
    arrow = _triangle([(120, 20), (170, 90), (110, 70)])
    tip = _rotated_rectangle((173, 96), (8, 4), 40)  # an opening seen at the arrow's tip
    far = _rotated_rectangle((40, 180), (30, 5), 0)  # a real window elsewhere
    found = touching(tip | far, arrow)
    assert np.array_equal(found, tip)
    assert not found[far].any()
    assert not touching(far, arrow).any()
    assert not touching(tip, np.zeros_like(arrow)).any()


def _cut(mask: np.ndarray, keep: float) -> np.ndarray:
    """The left ``keep`` share of a mask's columns: a network's partial mark of a symbol."""
    xs = np.flatnonzero(mask.any(axis=0))
    cut = mask.copy()
    cut[:, xs[0] + int(keep * (xs[-1] - xs[0] + 1)) :] = False
    return cut


def test_a_partly_marked_symbol_is_judged_on_the_ink():
    arrow = _triangle([(120, 20), (170, 90), (110, 70)])
    marked = _cut(arrow, 0.6)  # a cut triangle: too little of its enclosing triangle to be judged
    assert not solid_symbols(marked, THICKNESS).any()
    wall = _rotated_rectangle((100, 150), (150, 7), 0) | _rotated_rectangle((30, 100), (7, 150), 0)
    ink = wall | arrow
    found = on_solid_symbols(wall | marked, ink, THICKNESS)
    assert np.array_equal(found, marked)
    kept, _ = drop_solid_symbols(wall | marked, np.zeros_like(wall), THICKNESS, ink=ink)
    assert np.array_equal(kept, wall)
    kept, _ = drop_solid_symbols(wall | marked, np.zeros_like(wall), THICKNESS)
    assert np.array_equal(kept, wall | marked)  # on the mask alone it stays


def test_a_wall_component_mostly_off_the_symbol_ink_is_kept():
    arrow = _triangle([(120, 20), (170, 90), (110, 70)])
    # a wall whose mask runs on into the arrow's corner: most of the component lies off the arrow
    spill = _rotated_rectangle((60, 70), (120, 8), 0) | _cut(arrow, 0.2)
    ink = arrow | _rotated_rectangle((50, 70), (90, 8), 0)  # the wall's ink stops short of the arrow's
    assert solid_symbols(ink, THICKNESS)[arrow].all()
    assert not on_solid_symbols(spill, ink, THICKNESS).any()
    plain_ink = _rotated_rectangle((100, 150), (150, 7), 0)  # no symbol in the ink: nothing goes
    assert not on_solid_symbols(plain_ink | _cut(arrow, 0.6), plain_ink, THICKNESS).any()
    assert not on_solid_symbols(np.zeros_like(arrow), arrow, THICKNESS).any()


def test_the_ink_must_match_the_mask():
    with pytest.raises(ValueError, match="differ in shape"):
        on_solid_symbols(_canvas().astype(bool) | True, np.zeros((10, 10), bool), THICKNESS)
