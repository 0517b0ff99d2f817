"""Hand-built masks with known answers: the exact wall structure vectorize must return."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from model_code.evaluation.metrics import iou
from model_code.geometry.raster import rasterize_plan, rasterize_segments
from model_code.geometry.rooms import detect_rooms
from model_code.geometry.vectorize import VectorizeOptions, vectorize
from model_code.geometry.vectorize.segments import refine_breaks

T = 6  # wall thickness of the hand-built masks (px)


def band(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int, t: int = T) -> None:
    """Draw an axis-aligned wall from (x0, y0) to (x1, y1) (centreline, inclusive) with thickness t."""
    lo, hi = t // 2, t - t // 2
    if y0 == y1:
        mask[y0 - lo : y0 + hi, min(x0, x1) - lo : max(x0, x1) + hi] = True
    else:
        mask[min(y0, y1) - lo : max(y0, y1) + hi, x0 - lo : x0 + hi] = True


def room_mask(shape=(120, 160), box=(20, 20, 140, 100)) -> np.ndarray:
    """A rectangular room outline: centrelines on ``box`` = (x0, y0, x1, y1)."""
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = box
    band(mask, x0, y0, x1, y0)
    band(mask, x0, y1, x1, y1)
    band(mask, x0, y0, x0, y1)
    band(mask, x1, y0, x1, y1)
    return mask


def ends(wall) -> set[tuple[float, float]]:
    """The two endpoints of a wall, rounded to 0.5 px."""
    return {tuple(round(v * 2) / 2 for v in wall.start), tuple(round(v * 2) / 2 for v in wall.end)}


def near(point, target, tol=1.0) -> bool:
    """Whether two points are within ``tol`` px."""
    return math.dist(point, target) <= tol


def test_rectangular_room_gives_four_walls_meeting_at_corners():
    mask = room_mask()
    plan = vectorize(mask)
    assert len(plan.walls) == 4
    assert [w.id for w in plan.walls] == ["w1", "w2", "w3", "w4"]
    corners = [(19.5, 19.5), (139.5, 19.5), (19.5, 99.5), (139.5, 99.5)]
    for wall in plan.walls:
        assert abs(wall.thickness - T) <= 0.5
        assert wall.is_load_bearing  # all four are exterior walls
        for point in (wall.start, wall.end):
            assert any(near(point, c, 0.75) for c in corners), point
    assert iou(rasterize_plan(plan.walls, plan.openings, mask.shape)[0], mask) > 0.97
    rooms = detect_rooms(plan, mask)
    assert len(rooms) == 1
    x_min, y_min, x_max, y_max = rooms[0].bounding_box
    assert (x_min, y_min, x_max, y_max) == pytest.approx((23, 23, 136, 96), abs=1.0)
    assert rooms[0].area_px == pytest.approx(114 * 74, rel=0.02)
    assert rooms[0].id == "r1" and rooms[0].name_hint is None


def test_l_corner_meets_exactly():
    mask = np.zeros((100, 100), bool)
    band(mask, 20, 20, 80, 20)
    band(mask, 20, 20, 20, 80)
    plan = vectorize(mask)
    assert len(plan.walls) == 2
    shared = ends(plan.walls[0]) & ends(plan.walls[1])
    assert len(shared) == 1
    assert near(next(iter(shared)), (19.5, 19.5), 0.75)


def test_t_junction_stem_ends_on_the_through_wall():
    mask = np.zeros((100, 140), bool)
    band(mask, 10, 30, 130, 30)  # through wall
    band(mask, 70, 30, 70, 90)  # stem
    plan = vectorize(mask)
    assert len(plan.walls) == 2
    horizontal = [w for w in plan.walls if abs(w.start[1] - w.end[1]) < 0.5]
    vertical = [w for w in plan.walls if abs(w.start[0] - w.end[0]) < 0.5]
    assert len(horizontal) == 1 and len(vertical) == 1
    assert horizontal[0].length == pytest.approx(120, abs=1.5)
    top = min(vertical[0].start, vertical[0].end, key=lambda p: p[1])
    assert top[1] == pytest.approx(horizontal[0].start[1], abs=0.01)  # exactly on the through wall
    assert vertical[0].length == pytest.approx(60, abs=1.5)


def test_diagonal_wall_keeps_its_angle():
    mask = room_mask((140, 180), (20, 20, 160, 120))
    cv2.line(mask.view(np.uint8), (40, 110), (140, 30), 1, T)  # about 38.7 degrees, inside the room
    plan = vectorize(mask)
    angles = [
        math.degrees(math.atan2(w.end[1] - w.start[1], w.end[0] - w.start[0])) % 180 for w in plan.walls
    ]
    diagonal = [a for a in angles if 10 < a < 80 or 100 < a < 170]
    assert len(diagonal) == 1
    assert diagonal[0] == pytest.approx(180 - math.degrees(math.atan2(80, 100)), abs=2.0)
    assert len(plan.walls) == 5
    assert len(detect_rooms(plan, mask)) == 2  # the diagonal splits the room


def test_arc_becomes_a_short_connected_polyline():
    mask = np.zeros((200, 200), np.uint8)
    cv2.ellipse(mask, (100, 100), (70, 70), 0, 180, 270, 1, T)
    plan = vectorize(mask.astype(bool))
    assert 3 <= len(plan.walls) <= 12
    for wall in plan.walls:
        for point in (wall.start, wall.end):
            assert abs(math.dist(point, (100, 100)) - 70) <= T  # on the arc, within a thickness
    total = sum(w.length for w in plan.walls)
    assert total == pytest.approx(math.pi * 70 / 2, rel=0.12)


def test_door_gap_with_opening_mask_keeps_the_wall_and_links_the_door():
    mask = room_mask()
    band(mask, 80, 20, 80, 100)  # partition between two rooms
    opening = np.zeros_like(mask)
    opening[45:75, 77:83] = True  # a door in the partition
    mask &= ~opening
    plan = vectorize(mask, opening)
    partition = [w for w in plan.walls if abs(w.start[0] - 79.5) < 1 and abs(w.end[0] - 79.5) < 1]
    assert len(partition) == 1  # the wall runs through its door
    assert partition[0].length == pytest.approx(80, abs=1.5)
    assert len(plan.openings) == 1
    door = plan.openings[0]
    assert door.id == "o1" and door.wall_id == partition[0].id and door.type == "door"
    assert door.length == pytest.approx(30, abs=1.5)
    assert abs(door.start[0] - 79.5) < 1 and abs(door.end[0] - 79.5) < 1
    assert len(detect_rooms(plan, mask)) == 2
    assert iou(rasterize_plan(plan.walls, plan.openings, mask.shape)[0], mask) > 0.95


def test_door_gap_without_opening_is_bridged_for_rooms():
    mask = room_mask((200, 300), (20, 20, 280, 180))
    band(mask, 150, 20, 150, 180)
    mask[90:110, 146:154] = False  # an undetected door: a plain gap in the partition
    plan = vectorize(mask)
    assert len(plan.openings) == 0
    rooms = detect_rooms(plan, mask)
    assert len(rooms) == 2
    assert [r.id for r in rooms] == ["r1", "r2"]
    assert rooms[0].bounding_box[0] < rooms[1].bounding_box[0]  # ordered by position


def test_one_pixel_break_is_merged():
    mask = np.zeros((60, 160), bool)
    band(mask, 10, 30, 150, 30)
    mask[:, 80] = False
    plan = vectorize(mask)
    assert len(plan.walls) == 1
    assert plan.walls[0].length == pytest.approx(140, abs=1.5)


def test_noise_specks_are_ignored():
    mask = room_mask()
    rng = np.random.default_rng(1)
    for _ in range(30):
        y, x = rng.integers(30, 90), rng.integers(30, 130)
        mask[y : y + 2, x : x + 2] = True
    plan = vectorize(mask)
    assert len(plan.walls) == 4
    assert len(detect_rooms(plan, mask)) == 1


def test_empty_mask_gives_nothing():
    mask = np.zeros((64, 80), bool)
    opening = np.zeros_like(mask)
    plan = vectorize(mask, opening)
    assert plan.walls == [] and plan.openings == [] and plan.shape == (64, 80)
    assert detect_rooms(plan, mask) == []


def test_all_wall_mask_gives_no_rooms_and_stays_inside():
    mask = np.ones((64, 80), bool)
    plan = vectorize(mask)
    assert detect_rooms(plan, mask) == []
    assert len(plan.walls) <= 1
    for wall in plan.walls:
        for x, y in (wall.start, wall.end):
            assert 0 <= x <= 79 and 0 <= y <= 63


def test_min_wall_length_option_drops_short_walls():
    mask = np.zeros((100, 140), bool)
    band(mask, 10, 30, 130, 30)
    band(mask, 20, 60, 50, 60)  # 30 px stand-alone wall
    assert len(vectorize(mask).walls) == 2
    assert len(vectorize(mask, options=VectorizeOptions(min_wall_length=40)).walls) == 1


def test_options_scale_with_thickness_and_size():
    small = VectorizeOptions().resolve((100, 100), 8.0)
    large = VectorizeOptions().resolve((400, 400), 32.0)
    assert large.dp_epsilon == pytest.approx(4 * small.dp_epsilon)
    assert VectorizeOptions().resolve((100, 100), 2.0).dp_epsilon == 1.0  # never below a pixel
    assert large.merge_gap > small.merge_gap and large.room_min_area > small.room_min_area
    assert VectorizeOptions(min_wall_length=7).resolve((100, 100), 4.0).min_wall_length == 7


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "abc"])
def test_options_reject_bad_values(bad):
    with pytest.raises(ValueError, match="min_wall_length"):
        VectorizeOptions(min_wall_length=bad)


def test_bad_masks_are_rejected_clearly():
    with pytest.raises(ValueError, match="2-D"):
        vectorize(np.zeros((10, 10, 3), bool))
    with pytest.raises(ValueError, match="shape"):
        vectorize(np.zeros((10, 10), bool), np.zeros((10, 12), bool))
    with pytest.raises(ValueError, match="empty"):
        vectorize(np.zeros((0, 10), bool))
    with pytest.raises(ValueError, match="dtype"):
        vectorize(np.zeros((4, 4), object))
    plan = vectorize(np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="shape"):
        detect_rooms(plan, np.zeros((12, 10), bool))


def test_uint8_255_masks_are_accepted():
    mask = room_mask().astype(np.uint8) * 255
    assert len(vectorize(mask).walls) == 4


def partitioned_room(
    shape: tuple[int, int],
    box: tuple[int, int, int, int],
    outer: int,
    inner: int,
    rows: tuple[int, ...],
    cols: tuple[int, ...],
    window: tuple[slice, slice],
) -> tuple[np.ndarray, np.ndarray]:
    """A room of ``outer``-px walls on ``box`` cut by ``inner``-px partitions, with a window.

    Partitions run across the room at the centreline rows ``rows`` and columns ``cols``.
    Returns ``(wall mask without the window, window mask)``.
    """
    mask = np.zeros(shape, bool)
    x0, y0, x1, y1 = box
    for a, b, c, d in ((x0, y0, x1, y0), (x0, y1, x1, y1), (x0, y0, x0, y1), (x1, y0, x1, y1)):
        band(mask, a, b, c, d, t=outer)
    for y in rows:
        band(mask, x0, y, x1, y, t=inner)
    for x in cols:
        band(mask, x, y0, x, y1, t=inner)
    opening = np.zeros_like(mask)
    opening[window] = True
    return mask & ~opening, opening


def the_window_wall(plan, x_min: float, length: float, tolerance: float):
    """The one wall right of ``x_min``: it spans ``length`` px and hosts the plan's one opening."""
    right = [w for w in plan.walls if min(w.start[0], w.end[0]) > x_min]
    assert len(right) == 1, [(w.start, w.end, w.thickness) for w in right]
    assert abs(right[0].start[1] - right[0].end[1]) == pytest.approx(length, abs=tolerance)
    assert len(plan.openings) == 1 and plan.openings[0].wall_id == right[0].id
    return right[0]


def test_thick_wall_continues_through_a_window_beside_a_junction():
    # thick exterior walls, thin partitions (so the typical thickness is the thin one), and a
    # window in the right exterior wall just above where a partition meets it: the short wall
    # piece between the junction and the window is a wall, not a skeleton spur
    window = (slice(130, 144), slice(273, 287))  # it ends 6 px above the partition at y = 150
    rows, cols = (70, 110, 150, 190), (100, 190)
    mask, opening = partitioned_room((260, 300), (20, 20, 280, 240), 14, 4, rows, cols, window)
    plan = vectorize(mask, opening)
    assert plan.wall_thickness < 8
    the_window_wall(plan, 270, 220, 2)


def test_refine_breaks_moves_a_vertex_to_where_the_runs_meet():
    straight = np.stack([np.full(41, 50.0), np.arange(41.0)], axis=1)  # (50, 0) .. (50, 40)
    turn = math.radians(15)
    chord = straight[-1] + np.arange(1, 26)[:, None] * np.array([math.sin(turn), math.cos(turn)])
    path = np.vstack([straight, chord])
    assert refine_breaks(path, [0, 28, len(path) - 1], trim=2) == [0, 40, len(path) - 1]
    assert refine_breaks(path, [0, len(path) - 1], trim=2) == [0, len(path) - 1]
    assert refine_breaks(path, [0, 0, 40, 40, len(path) - 1], trim=2) == [0, 40, len(path) - 1]


def test_rounded_corner_chords_meet_at_the_true_vertices():
    # a quarter-circle corner drawn as three chords in thick walls, a window close to its end
    centre, radius = np.array([90.0, 90.0]), 50.0
    turns = np.linspace(math.pi, 1.5 * math.pi, 4)
    arc = [centre + radius * np.array([math.cos(a), math.sin(a)]) for a in turns]
    chords = [np.concatenate([a, b]) for a, b in itertools.pairwise(arc)]
    sides = [[90, 40, 260, 40], [40, 90, 40, 260], [260, 40, 260, 260], [40, 260, 260, 260]]
    mask = rasterize_segments(np.array([*chords, *sides], np.float64), 12.0, (300, 300))
    opening = np.zeros_like(mask)
    opening[104:126, 30:51] = True
    plan = vectorize(mask & ~opening, opening)
    points = [p for w in plan.walls for p in (w.start, w.end)]
    for vertex in arc[1:]:  # the far end of the last chord is lost in the window's wall stub
        assert min(math.dist(p, vertex) for p in points) <= 1.5, vertex


def test_very_thick_wall_continues_through_its_window():
    # the centreline of a 32 px wall stops about 16 px short of its window, further than the
    # typical (8 px) wall's tolerances reach (14 px): the wall's own thickness decides that its
    # end touches the window
    window = (slice(360, 480), slice(763, 797))  # in the middle of the right wall's bay
    rows, cols = (180, 300, 540, 660), (420,)
    mask, opening = partitioned_room((840, 840), (60, 60, 780, 780), 32, 8, rows, cols, window)
    plan = vectorize(mask, opening)
    assert plan.wall_thickness < 12
    assert the_window_wall(plan, 740, 720, 4).thickness == pytest.approx(32, abs=1)
