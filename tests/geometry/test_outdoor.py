"""Outdoor spaces: a balcony fenced by thin drawn lines is a room; the page, a frame or a label is not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model_code.geometry.outdoor import drawn_lines, outdoor_spaces
from model_code.geometry.rooms import detect_rooms
from model_code.geometry.vectorize import vectorize
from model_code.pipeline import Pipeline, PipelineOptions
from model_code.schema import ROOM_TYPES

T = 5
HEIGHT, WIDTH = 300, 480
L_SHAPE = [(50, 50), (350, 50), (350, 170), (250, 170), (250, 250), (50, 250)]  # a notch at the bottom right
NOTCH = (250, 170, 350, 250)  # x0, y0, x1, y1 of the balcony in the notch


def l_building() -> np.ndarray:
    """Wall mask of an L-shaped flat (outer walls ``T`` thick) with one partition: two rooms."""
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.polylines(mask, [np.array(L_SHAPE, np.int32)], True, 1, T)
    mask[50:250, 148:153] = 1
    return mask.astype(bool)


def drawing(mask: np.ndarray, railing: bool = True) -> np.ndarray:
    """The plan as an RGB image: black walls on white paper and, if asked, a one-pixel railing."""
    image = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    image[mask] = 0
    if railing:
        x0, y0, x1, y1 = NOTCH
        cv2.polylines(image, [np.array([(x0, y1), (x1, y1), (x1, y0)], np.int32)], False, (90, 90, 90), 1)
    return image


def rooms_of(mask: np.ndarray, image: np.ndarray | None):
    return detect_rooms(vectorize(mask), mask, image=image)


def in_notch(room) -> bool:
    x0, y0, x1, y1 = room.bounding_box
    nx0, ny0, nx1, ny1 = NOTCH
    return x0 >= nx0 - T and y0 >= ny0 - T and x1 <= nx1 + T and y1 <= ny1 + T


def test_a_balcony_fenced_by_a_thin_railing_is_a_room():
    mask = l_building()
    without = rooms_of(mask, None)
    assert len(without) == 2 and not any(in_notch(r) for r in without)  # the railing is no wall
    rooms = rooms_of(mask, drawing(mask))
    assert len(rooms) == 3
    balcony = [r for r in rooms if in_notch(r)]
    assert len(balcony) == 1
    assert balcony[0].area_px == pytest.approx(100 * 80, rel=0.15)
    assert balcony[0].type == "unknown"  # typed later, by the room classifier


def test_a_balcony_is_found_when_the_wall_mask_is_thinner_than_the_ink():
    """Walls drawn 2 px wider on each side than the mask: the edges of that ink along the whole facade
    lie outside the walls, fenced in, and must not join the balcony to a ring round the building."""
    mask = l_building()
    ink = cv2.dilate(mask.view(np.uint8), np.ones((5, 5), np.uint8)).view(bool)
    rooms = rooms_of(mask, drawing(ink))
    balcony = [r for r in rooms if in_notch(r)]
    assert len(rooms) == 3 and len(balcony) == 1
    assert balcony[0].area_px == pytest.approx(100 * 80, rel=0.15)


def test_with_type_maps_an_outdoor_space_takes_their_type_and_is_never_refused():
    mask = l_building()
    probs = np.zeros((len(ROOM_TYPES), HEIGHT, WIDTH), np.float32)
    probs[ROOM_TYPES.index("bedroom"), 55:245, 55:148] = 0.95
    probs[ROOM_TYPES.index("living"), 55:245, 153:345] = 0.95
    x0, y0, x1, y1 = NOTCH
    probs[:, y0:y1, x0:x1] = 0.0
    probs[ROOM_TYPES.index("balcony"), y0 + 5 : y1 - 20, x0 + 5 : x1 - 5] = 0.9  # a little of the balcony
    rooms = detect_rooms(vectorize(mask), mask, room_types=probs, image=drawing(mask))
    balcony = [r for r in rooms if in_notch(r)]
    assert len(balcony) == 1 and balcony[0].type == "balcony"
    assert balcony[0].type_confidence is not None and 0.3 < balcony[0].type_confidence < 0.9
    assert sorted(r.type for r in rooms) == ["balcony", "bedroom", "living"]


def crosshatch(image: np.ndarray, box: tuple[int, int, int, int], step: int = 9) -> None:
    """Draw a one-pixel diagonal crosshatch every ``step`` px inside ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    tile = np.full((y1 - y0, x1 - x0, 3), 255, np.uint8)
    size = max(tile.shape[:2])
    for k in range(-size, 2 * size, step):
        cv2.line(tile, (k, 0), (k + size, size), (120, 120, 120), 1)
        cv2.line(tile, (k, 0), (k - size, size), (120, 120, 120), 1)
    image[y0:y1, x0:x1] = np.minimum(image[y0:y1, x0:x1], tile)


def test_a_hatched_patio_is_one_space_not_its_hatch_cells():
    """A patio drawn as a crosshatched floor is one space (its hatch lines are fenced in with it), and
    the hatch alone, without a railing round it, fences nothing in."""
    mask = l_building()
    x0, y0, x1, y1 = NOTCH
    image = drawing(mask)
    crosshatch(image, (x0 + T, y0 + T, x1 - 1, y1 - 1))
    rooms = rooms_of(mask, image)
    balcony = [r for r in rooms if in_notch(r)]
    assert len(rooms) == 3 and len(balcony) == 1
    assert balcony[0].area_px == pytest.approx(100 * 80, rel=0.2)
    hatched_page = drawing(mask, railing=False)  # the same hatch without its railing: no space fenced
    crosshatch(hatched_page, (x0 + T, y0 + T, x1 - 1, y1 - 1))
    assert len(rooms_of(mask, hatched_page)) == 2


def test_no_railing_no_balcony_and_grey_images_work():
    mask = l_building()
    assert len(rooms_of(mask, drawing(mask, railing=False))) == 2
    grey = cv2.cvtColor(drawing(mask), cv2.COLOR_RGB2GRAY)
    assert len(rooms_of(mask, grey)) == 3


def test_a_frame_round_the_drawing_is_not_a_room():
    mask = l_building()
    image = drawing(mask, railing=False)
    cv2.rectangle(image, (38, 38), (362, 262), (0, 0, 0), 1)  # close round the flat: mostly against its walls
    assert len(rooms_of(mask, image)) == 2


def test_a_label_box_beside_the_building_is_not_a_room():
    mask = l_building()
    image = drawing(mask, railing=False)
    cv2.rectangle(image, (352, 80), (380, 100), (0, 0, 0), 1)  # a small boxed label against the wall
    assert len(rooms_of(mask, image)) == 2


def test_a_box_drawn_against_one_wall_touches_too_little_of_the_building():
    mask = l_building()
    image = drawing(mask, railing=False)
    cv2.rectangle(image, (352, 60), (420, 160), (0, 0, 0), 1)  # a legend or an outside stair, not a balcony
    assert len(rooms_of(mask, image)) == 2


def test_a_symbol_boxed_against_a_wall_is_too_small_beside_the_plans_rooms():
    mask = l_building()
    image = drawing(mask, railing=False)
    cv2.rectangle(image, (252, 172), (304, 224), (0, 0, 0), 1)  # a boxed symbol in the notch's corner
    assert len(rooms_of(mask, image)) == 2


def test_a_space_between_two_dense_drawings_is_not_a_balcony():
    mask = l_building()
    image = drawing(mask)
    for y in range(256, 296, 4):  # a hatch beyond the railing: the railing is not the drawing's last line
        cv2.line(image, (262, y), (372, y), (0, 0, 0), 1)
    assert not any(in_notch(r) for r in rooms_of(mask, image))


def test_outdoor_spaces_checks_its_inputs():
    mask = l_building()
    empty = np.zeros_like(mask)
    with pytest.raises(ValueError, match="image is"):
        outdoor_spaces(np.zeros((10, 10), np.uint8), mask, empty, mask, mask, T, 10)
    with pytest.raises(ValueError, match="uint8"):
        drawn_lines(np.zeros((10, 10), np.float32))
    assert outdoor_spaces(drawing(mask), empty, empty, mask, mask, T, 10) == []  # no outside at all
    with pytest.raises(ValueError, match="image has shape"):
        detect_rooms(vectorize(mask), mask, image=np.zeros((10, 10, 3), np.uint8))


def test_the_pipeline_finds_the_balcony_end_to_end():
    """The classical backend on the drawn plan: walls from the image, the balcony from its railing."""
    mask = l_building()
    image = drawing(mask)
    result = Pipeline(None).analyze(image, PipelineOptions(backend="opencv"))
    rooms = result.document.rooms
    assert any(in_notch(r) for r in rooms)
    plain = Pipeline(None).analyze(drawing(mask, railing=False), PipelineOptions(backend="opencv"))
    assert not any(in_notch(r) for r in plain.document.rooms)
    assert len(rooms) == len(plain.document.rooms) + 1
