"""Real plans redrawn in the generator's styles: the layout read off the masks, exact truth, every style."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model_code.datasets.room_maps import type_index
from model_code.synth.redraw import plan_layout, redraw_plan, thickness_percentiles
from model_code.synth.styles import ALL_STYLES

HEIGHT, WIDTH = 200, 300


def two_rooms() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 240 x 140 px flat: 8 px exterior walls, a 4 px partition at x = 150 with a door, a window on top.

    Left room a bedroom, right room a living room (room-type map values)."""
    wall = np.zeros((HEIGHT, WIDTH), bool)
    wall[30:38, 30:270] = wall[162:170, 30:270] = True  # top, bottom
    wall[30:170, 30:38] = wall[30:170, 262:270] = True  # left, right
    wall[30:170, 148:152] = True  # partition
    opening = np.zeros_like(wall)
    opening[80:110, 148:152] = True  # door in the partition
    opening[30:38, 60:100] = True  # window in the top wall
    wall &= ~opening
    room_type = np.zeros((HEIGHT, WIDTH), np.uint8)
    room_type[38:162, 38:148] = type_index("bedroom")
    room_type[38:162, 152:262] = type_index("living")
    return wall, opening, room_type


def test_thicknesses_are_measured_along_the_walls():
    wall, _, _ = two_rooms()
    median, high = thickness_percentiles(wall)
    assert 6 <= median <= 10 and high >= median
    partition = np.zeros_like(wall)
    partition[20:180, 100:104] = True
    assert 3 <= thickness_percentiles(partition)[0] <= 5


def test_layout_has_the_rooms_openings_and_wall_runs_of_the_masks():
    wall, opening, room_type = two_rooms()
    kinds_seen, windows = set(), 0
    for seed in range(8):
        layout = plan_layout(wall, opening, room_type, np.random.default_rng(seed))
        assert len(layout.rooms) == 2
        left, right = sorted(layout.rooms, key=lambda room: room.rect[0])
        assert left.kind == "bedroom" and right.kind in ("living", "kitchen", "dining")
        assert left.interior.area == pytest.approx(110 * 124, rel=0.05)
        kinds_seen.add(right.kind)
        assert len(layout.openings) == 2
        door = next(o for o in layout.openings if abs(o.start[0] - 150) < 3)
        assert door.type == "door" and door.rooms[0] is not None and door.rooms[1] is not None
        assert abs(door.swing_normal[0]) == pytest.approx(1.0) and door.swing_normal[1] == pytest.approx(0.0)
        assert abs(door.start[1] - door.end[1]) == pytest.approx(29, abs=1.5)
        top = next(o for o in layout.openings if o is not door)
        assert None in top.rooms  # the outside is on one side
        windows += top.type == "window"
        runs = {(w.exterior, w.start[1] == w.end[1]) for w in layout.walls}
        assert (True, True) in runs and (False, False) in runs  # exterior horizontal, interior vertical
        partition = next(w for w in layout.walls if not w.exterior)
        assert partition.thickness == 4 and not partition.load_bearing
        assert 50 <= layout.ppm <= 90  # the 8 px median wall read as 0.12 m
    assert windows >= 5 and len(kinds_seen) >= 2


@pytest.mark.parametrize("style", ALL_STYLES)
def test_every_style_inks_the_walls_and_keeps_the_truth(style):
    wall, opening, room_type = two_rooms()
    plan = redraw_plan(wall, opening, room_type, seed=5, styles=[style])
    assert plan.style == style and plan.sheet_box is None
    assert plan.image.shape == (HEIGHT, WIDTH, 3) and plan.image.dtype == np.uint8
    assert np.array_equal(plan.wall, wall) and np.array_equal(plan.opening, opening)
    assert np.array_equal(plan.room_type, room_type)
    grey = cv2.cvtColor(plan.image, cv2.COLOR_RGB2GRAY).astype(int)
    paper = int(np.median(grey[60:70, 60:70]))  # an empty corner of the bedroom
    edge = wall & ~cv2.erode(wall.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert np.mean(np.abs(grey[edge] - paper) > 25) > 0.6  # the wall faces are drawn


def test_the_same_seed_draws_the_same_image_and_another_seed_another():
    wall, opening, room_type = two_rooms()
    first = redraw_plan(wall, opening, room_type, seed=11, styles=["cad", "cad_colour"])
    again = redraw_plan(wall, opening, room_type, seed=11, styles=["cad", "cad_colour"])
    other = redraw_plan(wall, opening, room_type, seed=12, styles=["cad", "cad_colour"])
    assert np.array_equal(first.image, again.image)
    assert not np.array_equal(first.image, other.image)


def test_on_a_sheet_the_truth_moves_with_the_plan():
    wall, opening, room_type = two_rooms()
    plan = redraw_plan(wall, opening, room_type, seed=3, styles=["cad"], sheet=1.0)
    assert plan.sheet_box is not None
    x0, y0, x1, y1 = plan.sheet_box
    assert (y1 - y0, x1 - x0) == (HEIGHT, WIDTH)
    assert (
        plan.image.shape[:2] == plan.wall.shape and plan.wall.shape[0] > HEIGHT and plan.wall.shape[1] > WIDTH
    )
    assert np.array_equal(plan.wall[y0:y1, x0:x1], wall) and plan.wall.sum() == wall.sum()
    assert np.array_equal(plan.opening[y0:y1, x0:x1], opening) and plan.opening.sum() == opening.sum()
    assert np.array_equal(plan.room_type[y0:y1, x0:x1], room_type) and plan.room_type.sum() == room_type.sum()
    grey = cv2.cvtColor(plan.image, cv2.COLOR_RGB2GRAY)
    assert (grey[: y0 - 5] < 128).any() or (grey[:, : x0 - 5] < 128).any()  # frame or title drawn outside


def test_a_plan_without_room_types_or_openings_still_redraws():
    wall, _, _ = two_rooms()
    plan = redraw_plan(wall, np.zeros_like(wall), None, seed=1, sheet=0.0)
    assert plan.room_type is None and np.array_equal(plan.wall, wall)
    empty = redraw_plan(np.zeros((64, 64), bool), np.zeros((64, 64), bool), None, seed=1)
    assert empty.image.shape == (64, 64, 3) and not empty.wall.any()


def test_bad_arguments_are_refused():
    wall, opening, room_type = two_rooms()
    with pytest.raises(ValueError, match="unknown styles"):
        redraw_plan(wall, opening, room_type, seed=1, styles=["watercolour"])
    with pytest.raises(ValueError, match="sheet"):
        redraw_plan(wall, opening, room_type, seed=1, sheet=1.5)
