"""Room detection, the R3D room-instance reader and the overlay picture."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model_code.datasets.r3d import plan_ids, read_plan, room_instances
from model_code.evaluation.metrics import room_scores
from model_code.exports.overlay import DOOR_COLOUR, WALL_COLOUR, draw_overlay
from model_code.geometry.raster import rasterize_rooms
from model_code.geometry.rooms import detect_rooms
from model_code.geometry.vectorize import VectorizeOptions, vectorize
from model_code.io.images import write_png


def grid_plan(rows: int = 2, cols: int = 3, cell: int = 50, t: int = 5, margin: int = 20) -> np.ndarray:
    """Wall mask of a rows x cols grid of rooms; centrelines every ``cell`` px."""
    height, width = 2 * margin + rows * cell, 2 * margin + cols * cell
    mask = np.zeros((height, width), bool)
    lo, hi = t // 2, t - t // 2
    for r in range(rows + 1):
        y = margin + r * cell
        mask[y - lo : y + hi, margin - lo : width - margin + hi] = True
    for c in range(cols + 1):
        x = margin + c * cell
        mask[margin - lo : height - margin + hi, x - lo : x + hi] = True
    return mask


def test_grid_rooms_are_found_ordered_and_exact():
    mask = grid_plan()
    plan = vectorize(mask)
    rooms = detect_rooms(plan, mask)
    assert [r.id for r in rooms] == ["r1", "r2", "r3", "r4", "r5", "r6"]
    lefts = [r.bounding_box[0] for r in rooms]
    tops = [r.bounding_box[1] for r in rooms]
    assert tops == sorted(tops) and lefts[:3] == sorted(lefts[:3])  # reading order
    for room in rooms:
        assert room.area_px == pytest.approx(45 * 45, abs=2)
        assert len(room.polygon) == 4  # simplified to the four corners
    truth = np.zeros(mask.shape, np.int32)
    for k, (r, c) in enumerate([(r, c) for r in range(2) for c in range(3)], start=1):
        truth[23 + r * 50 : 68 + r * 50, 23 + c * 50 : 68 + c * 50] = k
    scores = room_scores(rasterize_rooms(rooms, mask.shape), truth)
    assert scores[0.7].f1 == 1.0


def test_outside_and_specks_are_not_rooms():
    mask = grid_plan(1, 1)
    mask[40:44, 40:44] = True  # a pillar inside the room: not a room, not a hole
    plan = vectorize(mask)
    rooms = detect_rooms(plan, mask)
    assert len(rooms) == 1
    tiny = detect_rooms(plan, mask, VectorizeOptions(room_min_area=10_000))
    assert tiny == []


def test_open_plan_without_closing_walls_gives_no_room():
    mask = np.zeros((120, 160), bool)
    mask[20:25, 20:140] = True  # a lone wall: nothing is enclosed
    assert detect_rooms(vectorize(mask), mask) == []


def test_room_instances_split_colours_and_walls_and_drop_noise():
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = (224, 255, 192)
    rgb[:, 30:] = (224, 255, 192)  # same colour on both sides of a wall
    rgb[:10, 40:] = (192, 255, 255)  # a bathroom
    rgb[30:, :10] = (2, 2, 2)  # noise grey -> background
    rgb[0, 0] = (255, 160, 96)  # a one-pixel speck
    walls = np.zeros((40, 60), bool)
    walls[:, 29:31] = True
    labels = room_instances(rgb, walls, min_area=4)
    assert labels.dtype == np.int32
    assert len(np.unique(labels[labels > 0])) == 3
    assert labels[35, 5] == 0 and labels[0, 0] == 0 and not labels[walls].any()
    with pytest.raises(ValueError, match="differ"):
        room_instances(rgb, walls[:10])


def test_read_plan_resizes_masks_and_lists_ids(tmp_path):
    image = np.full((40, 60, 3), 255, np.uint8)
    Image.fromarray(image).save(tmp_path / "7.jpg")
    wall = np.zeros((20, 30), bool)
    wall[5:8, :] = True
    write_png(tmp_path / "7_wall.png", np.repeat((wall * 255).astype(np.uint8)[:, :, None], 3, axis=2))
    write_png(tmp_path / "7_close.png", np.zeros((20, 30), bool))
    write_png(tmp_path / "7_rooms.png", np.zeros((40, 60, 3), np.uint8))
    write_png(tmp_path / "8_wall.png", wall)  # no image: not a plan
    assert plan_ids(tmp_path) == ["7"]
    plan = read_plan(tmp_path, "7")
    assert plan.shape == (40, 60) and plan.wall.dtype == bool
    assert plan.wall[10:16].all() and not plan.wall[:10].any()
    assert plan.rooms_rgb.shape == (40, 60, 3)
    with pytest.raises(FileNotFoundError):
        read_plan(tmp_path, "8")
    with pytest.raises(FileNotFoundError):
        plan_ids(tmp_path / "missing")


def test_overlay_draws_walls_openings_and_rooms_without_touching_the_input():
    mask = grid_plan(1, 2)
    opening = np.zeros_like(mask)
    opening[40:55, 68:73] = True  # a door in the middle wall
    wall = mask & ~opening
    plan = vectorize(wall, opening)
    rooms = detect_rooms(plan, wall)
    image = np.full((*mask.shape, 3), 255, np.uint8)
    before = image.copy()
    picture = draw_overlay(image, plan.walls, plan.openings, rooms)
    assert np.array_equal(image, before)
    assert picture.shape == image.shape and picture.dtype == np.uint8
    assert tuple(picture[18, 45]) == WALL_COLOUR  # on the top wall, off the centreline
    assert tuple(picture[47, 70]) == DOOR_COLOUR
    room_pixel = picture[35, 45]
    assert not np.array_equal(room_pixel, [255, 255, 255])  # tinted
    grey = draw_overlay(mask, [], [], [])  # a bool mask works too: walls black on white
    assert grey.shape == (*mask.shape, 3) and tuple(grey[0, 0]) == (255, 255, 255)
    with pytest.raises(ValueError, match="image"):
        draw_overlay(np.zeros((4, 4, 5), np.uint8), [], [], [])
