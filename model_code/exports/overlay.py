"""The overlay picture: a plan with its rooms, walls and openings drawn on top.

Rooms are translucent fills labelled with their id and type: a fixed colour per room type
(:data:`TYPE_COLOURS`), or one colour per room cycling through a qualitative palette when the
rooms have no type; walls are drawn as bands of their own thickness in dark red with a
thin centreline; openings are drawn across their gap in blue (doors) or cyan (windows and
plain openings).  Used by the server (``render=overlay``), the evaluation reports and the
annotation tool.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from model_code.geometry.raster import segment_polygon
from model_code.schema import UNKNOWN_TYPE, Opening, Room, Wall

# Tableau-like qualitative palette (RGB), readable on white paper
ROOM_COLOURS = (
    (78, 121, 167),
    (242, 142, 43),
    (89, 161, 79),
    (237, 201, 72),
    (176, 122, 161),
    (118, 183, 178),
    (255, 157, 167),
    (156, 117, 95),
    (225, 87, 89),
    (186, 176, 172),
)
# One colour per room type (RGB), distinct on a lightened plan; unknown is grey.
TYPE_COLOURS: dict[str, tuple[int, int, int]] = {
    "closet": (148, 103, 189),
    "bathroom": (23, 170, 207),
    "living": (44, 160, 44),
    "bedroom": (255, 127, 14),
    "hall": (214, 39, 40),
    "balcony": (227, 119, 194),
    "unknown": (150, 150, 150),
}
WALL_COLOUR = (170, 20, 30)
CENTRELINE_COLOUR = (255, 235, 80)
DOOR_COLOUR = (20, 90, 230)
WINDOW_COLOUR = (0, 190, 220)
ROOM_ALPHA = 0.35
_SHIFT = 4  # OpenCV sub-pixel drawing: coordinates in 1/16 px


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """A copy of ``image`` as ``(H, W, 3)`` uint8 RGB (grey and bool masks are expanded)."""
    array = np.asarray(image)
    if array.dtype == bool:
        array = np.where(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array[:, :, :3]).copy()


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(points, np.float64) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)


def _room_outline(room: Room) -> np.ndarray | None:
    if room.polygon and len(room.polygon) >= 3:
        return np.asarray(room.polygon, np.float64)
    if room.bounding_box:
        x0, y0, x1, y1 = room.bounding_box
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    return None


def room_colour(room: Room, index: int) -> tuple[int, int, int]:
    """The fill of room number ``index``: its type's colour when it has a known type, else the palette's."""
    if room.type in TYPE_COLOURS and room.type != UNKNOWN_TYPE:
        return TYPE_COLOURS[room.type]
    return ROOM_COLOURS[index % len(ROOM_COLOURS)]


def room_caption(room: Room) -> str:
    """The overlay label of a room: its id, and its type when known (``"r3 bedroom"``)."""
    if room.type and room.type != UNKNOWN_TYPE:
        return f"{room.id} {room.type}"
    return room.id


def _draw_rooms(canvas: np.ndarray, rooms: Sequence[Room], scale: float) -> None:
    fill = canvas.copy()
    outlines = []
    for index, room in enumerate(rooms):
        outline = _room_outline(room)
        if outline is None:
            continue
        colour = room_colour(room, index)
        cv2.fillPoly(fill, [_fixed(outline)], colour, lineType=cv2.LINE_AA, shift=_SHIFT)
        outlines.append((outline, colour))
    cv2.addWeighted(fill, ROOM_ALPHA, canvas, 1 - ROOM_ALPHA, 0, dst=canvas)
    for outline, colour in outlines:
        cv2.polylines(canvas, [_fixed(outline)], True, colour, max(1, round(scale)), cv2.LINE_AA, _SHIFT)


def _draw_labels(canvas: np.ndarray, rooms: Sequence[Room], scale: float) -> None:
    font_scale = 0.55 * scale
    thickness = max(1, round(scale))
    for room in rooms:
        outline = _room_outline(room)
        if outline is None or not room.id:
            continue
        x, y = outline.mean(axis=0) if room.polygon is None else _label_point(outline)
        text = room_caption(room)
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        org = (round(x - w / 2), round(y + h / 2))
        cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), thickness + 2)
        cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (30, 30, 30), thickness)


def _label_point(outline: np.ndarray) -> tuple[float, float]:
    """A point well inside a polygon (the pole of inaccessibility), for the room label."""
    from shapely.geometry import Polygon
    from shapely.ops import polylabel

    polygon = Polygon(outline)
    if not polygon.is_valid or polygon.area <= 0:
        centre = outline.mean(axis=0)
        return float(centre[0]), float(centre[1])
    point = polylabel(polygon, tolerance=max(1.0, polygon.length / 200))
    return float(point.x), float(point.y)


def _draw_walls(canvas: np.ndarray, walls: Sequence[Wall], scale: float) -> None:
    for wall in walls:
        band = segment_polygon(wall.start, wall.end, wall.thickness or 2.0 * scale)
        cv2.fillPoly(canvas, [_fixed(band)], WALL_COLOUR, lineType=cv2.LINE_AA, shift=_SHIFT)
    for wall in walls:
        line = np.array([wall.start, wall.end])
        cv2.polylines(canvas, [_fixed(line)], False, CENTRELINE_COLOUR, 1, cv2.LINE_AA, _SHIFT)


def _draw_openings(canvas: np.ndarray, openings: Sequence[Opening], scale: float) -> None:
    for opening in openings:
        colour = DOOR_COLOUR if opening.type == "door" else WINDOW_COLOUR
        width = max(2, round(opening.thickness or 3.0 * scale))
        start = tuple(int(v) for v in np.rint(np.asarray(opening.start) * (1 << _SHIFT)))
        end = tuple(int(v) for v in np.rint(np.asarray(opening.end) * (1 << _SHIFT)))
        cv2.line(canvas, start, end, colour, width, cv2.LINE_AA, _SHIFT)


def draw_overlay(
    image: np.ndarray,
    walls: Sequence[Wall],
    openings: Sequence[Opening] = (),
    rooms: Sequence[Room] = (),
) -> np.ndarray:
    """Return an RGB ``uint8`` picture of ``image`` with rooms, walls and openings drawn on it.

    ``image`` may be RGB, RGBA, grey or a ``bool`` mask (drawn black on white); it is not
    modified.  Line widths and label sizes scale with the image size.
    """
    canvas = _as_rgb(image)
    scale = max(canvas.shape[0], canvas.shape[1]) / 800.0
    scale = max(scale, 0.5)
    _draw_rooms(canvas, rooms, scale)
    _draw_walls(canvas, walls, scale)
    _draw_openings(canvas, openings, scale)
    _draw_labels(canvas, rooms, scale)
    return canvas
