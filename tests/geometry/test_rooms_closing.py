"""Rooms that close anyway: the envelope, type boundaries, door-wide necks and room types."""

from __future__ import annotations

import numpy as np
import pytest

from model_code.geometry.rooms import building_footprint, detect_rooms, scale_rooms
from model_code.geometry.vectorize import vectorize
from model_code.schema import ROOM_TYPES, TYPE_NAMES, UNKNOWN_TYPE

T = 5  # wall thickness of every plan here
HEIGHT, WIDTH = 300, 400  # door gap (the neck and bridge reach) min(8 t, 0.1 * 400) = 40 px


def walls(*rects: tuple[int, int, int, int]) -> np.ndarray:
    """A wall mask with each ``(x0, y0, x1, y1)`` rectangle filled (end-exclusive)."""
    mask = np.zeros((HEIGHT, WIDTH), bool)
    for x0, y0, x1, y1 in rects:
        mask[y0:y1, x0:x1] = True
    return mask


def outline(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int, int, int]]:
    """The four walls of a box whose walls' outer edges are at x0..x1, y0..y1."""
    return [(x0, y0, x1, y0 + T), (x0, y1 - T, x1, y1), (x0, y0, x0 + T, y1), (x1 - T, y0, x1, y1)]


def type_map(*fills: tuple[str, tuple[int, int, int, int]], mask: np.ndarray | None = None) -> np.ndarray:
    """One-hot ``(K, H, W)`` room-type probabilities of a confident network (0.95), each
    ``(type, (x0, y0, x1, y1))`` filled in order."""
    probs = np.zeros((len(ROOM_TYPES), HEIGHT, WIDTH), np.float32)
    for kind, (x0, y0, x1, y1) in fills:
        probs[:, y0:y1, x0:x1] = 0.0
        probs[ROOM_TYPES.index(kind), y0:y1, x0:x1] = 0.95
    if mask is not None:
        probs[:, mask] = 0.0
    return probs


def rooms_of(mask: np.ndarray, room_types: np.ndarray | None = None):
    """Vectorize a wall mask as the pipeline does and detect its rooms."""
    plan = vectorize(mask)
    if room_types is None:
        return detect_rooms(plan, mask)
    return detect_rooms(plan, mask, room_types=room_types)


def room_at(rooms, x: float, y: float):
    """The room whose bounding box holds the point (or None)."""
    inside = [
        r
        for r in rooms
        if r.bounding_box[0] <= x <= r.bounding_box[2] and r.bounding_box[1] <= y <= r.bounding_box[3]
    ]
    return inside[0] if len(inside) == 1 else None


def two_rooms_staggered_door() -> np.ndarray:
    """Two rooms; the wall between them is two offset pieces with a 30 px door between (no symbol).

    The wall ends do not face each other, so no bridge closes the door.
    """
    return walls(*outline(50, 50, 350, 250), (196, 50, 201, 130), (206, 160, 211, 250))


def test_a_door_without_a_symbol_still_separates_two_rooms():
    rooms = rooms_of(two_rooms_staggered_door())
    assert len(rooms) == 2
    left, right = room_at(rooms, 120, 150), room_at(rooms, 280, 150)
    assert left is not None and right is not None and left is not right
    assert left.area_px == pytest.approx(right.area_px, rel=0.25)
    assert all(r.type == UNKNOWN_TYPE and r.name_hint is None and r.type_confidence is None for r in rooms)


def exterior_window_plan() -> np.ndarray:
    """Two rooms; the left room's outer wall has a 50 px gap (an unmarked window, wider than a door)."""
    mask = walls(*outline(50, 50, 350, 250), (198, 50, 203, 250))
    mask[125:175, 50:55] = False
    return mask


def test_b_a_room_behind_an_unmarked_exterior_window_is_kept_without_type_maps():
    rooms = rooms_of(exterior_window_plan())
    assert len(rooms) == 2
    left = room_at(rooms, 120, 150)
    assert left is not None
    x0, y0, x1, y1 = left.bounding_box
    assert x0 >= 50 and x1 <= 200 and y0 >= 54 and y1 <= 246  # cut at the envelope, not the outside
    assert left.area_px == pytest.approx(143 * 190, rel=0.06)


def test_b_a_room_behind_an_unmarked_exterior_window_is_kept_with_type_maps():
    mask = exterior_window_plan()
    probs = type_map(("bedroom", (55, 55, 198, 245)), ("living", (203, 55, 345, 245)), mask=mask)
    rooms = rooms_of(mask, probs)
    assert [r.type for r in rooms] == ["bedroom", "living"]
    left = rooms[0]
    assert left.bounding_box[0] >= 50 and left.area_px == pytest.approx(143 * 190, rel=0.06)


def test_the_footprint_closes_exterior_gaps_up_to_its_width():
    mask = exterior_window_plan()
    assert building_footprint(mask, 60)[150, 52]  # the window gap is inside
    assert not building_footprint(mask, 60)[150, 30]
    assert not building_footprint(mask, 40)[150, 52]  # too narrow a closing leaves it open


def test_the_gap_between_two_drawings_is_no_room():
    """Two floors drawn side by side, 30 px apart: the footprint closes the gap at both ends.

    The gap is open to the outside at its top and at its bottom (mouths on opposite sides:
    ``ENVELOPE_THROUGH_COS``); before the fourteenth session it came back as a third room.
    """
    mask = walls(*outline(30, 50, 180, 250), *outline(210, 50, 360, 250))
    assert building_footprint(mask, 60)[150, 195]  # the closing does take the gap in
    rooms = rooms_of(mask)
    assert len(rooms) == 2
    assert room_at(rooms, 195, 150) is None
    assert room_at(rooms, 100, 150) is not None and room_at(rooms, 290, 150) is not None


def test_a_room_with_unmarked_windows_at_both_ends_is_kept():
    """A 115 px wide middle room whose front and back walls each lost a 45 px window.

    The cuts split the barrier into two drawings and the mouths face each other, as with the gap
    between two drawings; but they are far narrower than the room (``ENVELOPE_MOUTH_SPAN``).
    """
    mask = walls(*outline(50, 50, 350, 250), (140, 50, 145, 250), (260, 50, 265, 250))
    mask[50:55, 180:225] = False
    mask[245:250, 180:225] = False
    rooms = rooms_of(mask)
    assert len(rooms) == 3
    middle = room_at(rooms, 200, 150)
    assert middle is not None and middle.area_px == pytest.approx(115 * 190, rel=0.1)


def test_a_corner_room_behind_two_unmarked_windows_is_kept():
    """Missed windows in two adjoining outer walls: two mouths, but not facing each other."""
    mask = exterior_window_plan()
    mask[50:55, 100:140] = False  # a second window, in the top wall of the same room
    rooms = rooms_of(mask)
    assert len(rooms) == 2
    left = room_at(rooms, 120, 150)
    assert left is not None and left.area_px == pytest.approx(143 * 190, rel=0.06)


def closet_in_bedroom() -> tuple[np.ndarray, np.ndarray]:
    """A bedroom with a 40 x 45 px closet in its top-right corner, its doorway (no symbol) at its corner.

    The closet's two walls stop short of their corner; neither wall end faces a wall within a
    door's width, so no bridge closes the doorway.
    """
    mask = walls(*outline(50, 50, 350, 250), (300, 50, 305, 75), (330, 100, 350, 105))
    probs = type_map(("bedroom", (55, 55, 345, 245)), ("closet", (305, 55, 345, 100)), mask=mask)
    return mask, probs


def test_c_a_closet_inside_a_bedroom_is_its_own_room():
    mask, probs = closet_in_bedroom()
    assert len(rooms_of(mask)) == 1  # the geometry alone cannot tell: the neck is as wide as the closet
    rooms = rooms_of(mask, probs)
    assert sorted(r.type for r in rooms) == ["bedroom", "closet"]
    closet = next(r for r in rooms if r.type == "closet")
    assert closet.area_px == pytest.approx(40 * 45, rel=0.3)
    assert closet.name_hint == "Closet" and closet.type_confidence == pytest.approx(0.95, abs=0.05)


def test_a_small_closet_behind_a_narrow_doorway_is_its_own_room_without_type_maps():
    """A 20 x 30 px closet (4 x 6 wall thicknesses) in the bedroom's corner, a 6 px doorway at its corner.

    R3D's wardrobes are this size at the working scale; the neck cut must take lobes this small
    (``PART_MIN_RADIUS``, ``LOBE_RATIO``: before the thirteenth session's retuning they stayed merged).
    """
    mask = walls(*outline(50, 50, 350, 250), (320, 50, 325, 79), (331, 85, 350, 90))
    rooms = rooms_of(mask)
    assert len(rooms) == 2
    closet, bedroom = sorted(rooms, key=lambda r: r.area_px)
    assert closet.area_px == pytest.approx(20 * 30, rel=0.1)
    x0, _, _, y1 = closet.bounding_box
    assert x0 >= 320 and y1 <= 90  # the corner, not a slice of the bedroom
    assert bedroom.area_px == pytest.approx(290 * 190 - 25 * 35, rel=0.02)


def test_d_a_type_boundary_splits_a_region_and_slivers_are_absorbed():
    mask = walls(*outline(50, 50, 350, 250))
    probs = type_map(("living", (55, 55, 200, 245)), ("hall", (200, 55, 345, 245)))
    probs[:, :, 198:201] = 0.0
    probs[ROOM_TYPES.index("bathroom"), 55:245, 198:201] = 0.9  # a 3 px sliver of another type
    probs[ROOM_TYPES.index("balcony"), 100:104, 100:104] = 0.9  # and a speck
    rooms = rooms_of(mask, probs)
    assert [r.type for r in rooms] == ["living", "hall"]
    living, hall = rooms
    assert living.bounding_box[2] == pytest.approx(200, abs=3) and hall.bounding_box[0] == pytest.approx(
        200, abs=3
    )
    assert living.area_px + hall.area_px == pytest.approx(290 * 190, rel=0.02)
    assert len(rooms_of(mask)) == 1  # without type maps nothing splits the open room


def test_e_l_shaped_rooms_and_corridors_are_not_split():
    # An L-shaped room (arms 60 px wide) and a 35 px wide, 290 px long corridor below it.
    mask = walls(
        *outline(50, 50, 350, 250),
        (115, 115, 120, 200),  # the L's inner vertical wall
        (115, 115, 345, 120),  # the L's inner horizontal wall
        (55, 200, 345, 205),  # the corridor's top wall
    )
    for probs in (None, type_map(("living", (55, 55, 345, 245)), mask=mask)):
        rooms = rooms_of(mask, probs)
        areas = sorted(r.area_px for r in rooms)
        assert len(rooms) == 3, areas  # the L, the corridor and the room in the L's crook
        assert areas[-1] == pytest.approx(60 * 145 + 225 * 60, rel=0.05)  # the L whole
        assert room_at(rooms, 200, 222) is not None  # the corridor whole


def test_an_unsure_type_map_does_not_cut_a_room():
    """Below ``TYPE_SPLIT_CONFIDENCE`` the network's word is not enough to cut (noisy maps over-split)."""
    mask, probs = closet_in_bedroom()
    assert len(rooms_of(mask, probs * 0.7)) == 1


def test_f_types_confidence_and_name_hints_and_scaling():
    mask, probs = closet_in_bedroom()
    probs[ROOM_TYPES.index("bedroom"), 230:245, 55:300] = 0.5  # less certain in part of the bedroom
    probs[ROOM_TYPES.index("living"), 230:245, 55:300] = 0.3
    rooms = rooms_of(mask, probs)
    bedroom = next(r for r in rooms if r.type == "bedroom")
    assert bedroom.name_hint == TYPE_NAMES["bedroom"] == "Bedroom"
    assert 0.88 < bedroom.type_confidence < 0.94
    assert [r.id for r in rooms] == ["r1", "r2"]
    scaled = scale_rooms(rooms, 2.0, 2.0)
    assert [(r.type, r.type_confidence, r.name_hint) for r in scaled] == [
        (r.type, r.type_confidence, r.name_hint) for r in rooms
    ]
    assert scaled[0].area_px == pytest.approx(4 * rooms[0].area_px)
    document = scaled[0].to_dict()
    assert document["type"] in ROOM_TYPES and document["name_hint"] in TYPE_NAMES.values()
    for room in rooms_of(mask):
        assert (room.type, room.type_confidence, room.name_hint) == (UNKNOWN_TYPE, None, None)


def test_no_room_where_the_type_maps_see_none():
    mask = walls(*outline(50, 50, 350, 250), (198, 50, 203, 250))
    probs = type_map(("bedroom", (55, 55, 198, 245)))  # the right-hand box is not a room
    rooms = rooms_of(mask, probs)
    assert [r.type for r in rooms] == ["bedroom"]


def test_room_types_must_fit_the_mask():
    mask = walls(*outline(50, 50, 350, 250))
    with pytest.raises(ValueError, match="room_types"):
        rooms_of(mask, np.zeros((3, HEIGHT, WIDTH), np.float32))
