"""Real annotated plans redrawn in the generator's styles: :func:`redraw_plan`.

A real plan (an R3D drawing, a customer's annotated plan) has a layout no generator draws (irregular
outlines, closets, bays, round walls) in one look; a generated plan has every look on simple layouts.
Redrawing keeps the real plan's geometry and ground truth and changes the look: a pseudo vector
layout is read off the masks (:func:`plan_layout`: rooms from the free space the walls enclose,
doors and windows from the opening mask's pieces, axis-aligned wall runs), and the generator's
renderer draws it in a style's fills, symbols, labels, furniture, floor textures and dimension chains,
optionally on a drawing sheet.  The walls and openings are painted from the masks themselves, so the
truth is the plan's own masks, pixel for pixel (moved onto the sheet when one is drawn).

Every choice comes from ``default_rng([seed, REDRAW_STREAM])`` (and the sheet's from
``default_rng([seed, SHEET_STREAM])``): the same plan and seed give the same image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
from shapely import Polygon, box
from skimage.morphology import skeletonize

from model_code.geometry.components import Components, label_components
from model_code.synth.artefacts import light_effects, scan_effects
from model_code.synth.layout import Layout, LayoutOpening, LayoutRoom, LayoutWall
from model_code.synth.render import render_layout
from model_code.synth.sheet import SHEET_STREAM, SheetFrame, choose_sheet, draw_sheet
from model_code.synth.styles import ALL_STYLES, STYLE_TABLE, STYLES, realise

REDRAW_STREAM = 3  # second word of the redraw generator's seed: default_rng([seed, REDRAW_STREAM])
INTERIOR_WALL_M = 0.12  # the median wall is taken for an interior wall this thick: sets pixels per metre
PPM_RANGE = (8.0, 200.0)  # pixels per metre are clipped to this range
MIN_ROOM_M2 = 0.4  # free regions smaller than this are not rooms (slivers between walls)
DOUBLE_DOOR_M = 1.3  # interior openings wider than this are double or sliding doors
WALL_RUN_M = 0.6  # an axis-aligned wall run is at least this long (and three wall thicknesses)
SHEET_PLAN_SHARE = 0.75  # a sheet is first tried at the plan's size over this share
SHEET_TRIES = 6
# room types of the truth's map (``datasets.room_maps``) -> the generator's room kinds
KINDS_OF_TYPE: dict[int, tuple[str, ...]] = {
    1: ("closet",),
    2: ("bath", "bath", "wc"),
    3: ("living", "living", "kitchen", "dining"),
    4: ("bedroom",),
    5: ("hall",),
    6: ("hall",),  # a balcony: no furniture of its own
}
UNKNOWN_KINDS = ("living", "bedroom", "bedroom", "study", "hall")


@dataclass
class RedrawnPlan:
    """A redrawn plan: its image and the real plan's truth, moved with it onto a sheet if one was drawn."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    wall: np.ndarray  # (H, W) bool
    opening: np.ndarray  # (H, W) bool
    room_type: np.ndarray | None  # (H, W) uint8 room-type map, or None when the plan had none
    style: str
    sheet_box: tuple[int, int, int, int] | None = None  # the plan on its sheet (x0, y0, x1, y1)


def thickness_percentiles(wall: np.ndarray) -> tuple[float, float]:
    """``(median, 90th percentile)`` wall thickness in pixels, measured along the walls' skeleton."""
    if not wall.any():
        return 2.0, 3.0
    distance = cv2.distanceTransform(wall.astype(np.uint8), cv2.DIST_L2, 3)
    widths = 2.0 * distance[skeletonize(wall)]
    if widths.size == 0:
        return 2.0, 3.0
    return max(1.0, float(np.median(widths))), max(1.0, float(np.percentile(widths, 90)))


def _outside(free: np.ndarray) -> tuple[Components, np.ndarray]:
    """``(regions, outside)``: the 4-connected free regions and the mask of those touching the border."""
    regions = label_components(free, connectivity=4)
    labels = regions.labels
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    border = border[border > 0]
    outside = np.isin(labels, border) & free
    return regions, outside


def _polygon(mask: np.ndarray, offset: tuple[int, int] = (0, 0)) -> Polygon | None:
    """The largest outer contour of ``mask`` as a valid polygon (pixel centres, moved by ``offset``
    (x, y): ``mask`` may be a crop), or None."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=offset
    )
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    if len(contour) < 3:
        return None
    polygon = Polygon(contour[:, 0, :].astype(float)).buffer(0)
    if polygon.is_empty:
        return None
    if polygon.geom_type != "Polygon":
        polygon = max(polygon.geoms, key=lambda p: p.area)
    return polygon


def _rooms(
    regions: Components,
    outside: np.ndarray,
    room_type: np.ndarray | None,
    ppm: float,
    rng: np.random.Generator,
) -> tuple[list[LayoutRoom], np.ndarray]:
    """Rooms from the enclosed free regions, and the label image mapping pixels to room index + 1."""
    rooms: list[LayoutRoom] = []
    room_labels = np.zeros(regions.labels.shape, np.int32)
    min_area = MIN_ROOM_M2 * ppm * ppm
    stats = np.bincount(regions.labels.ravel())
    for label in np.nonzero(stats >= max(min_area, 16))[0]:
        if label == 0:
            continue
        region, x0, y0 = regions.crop(int(label))
        region_box = regions.boxes[label]
        if (region & outside[region_box]).any():
            continue
        # padded by one pixel, so a region at its box's edge traces as it would on the whole image
        polygon = _polygon(np.pad(region, 1), offset=(x0 - 1, y0 - 1))
        if polygon is None:
            continue
        kinds = UNKNOWN_KINDS
        if room_type is not None:
            values = np.bincount(room_type[region_box][region], minlength=256)
            values[0] = 0
            values[255] = 0
            if values.any():
                kinds = KINDS_OF_TYPE.get(int(values.argmax()), UNKNOWN_KINDS)
        kind = kinds[int(rng.integers(len(kinds)))]
        x0, y0, x1, y1 = polygon.bounds
        rect = (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
        rooms.append(LayoutRoom(kind, rect, polygon, polygon))
        room_labels[region_box][region] = len(rooms)
    return rooms, room_labels


def _openings(
    opening: np.ndarray,
    room_labels: np.ndarray,
    outside: np.ndarray,
    thickness: float,
    ppm: float,
    rng: np.random.Generator,
) -> list[LayoutOpening]:
    """Doors and windows on the opening mask's pieces: a piece with the outside on one side is a window
    (mostly), one between rooms a door that swings into a room."""
    openings: list[LayoutOpening] = []
    pieces = label_components(opening, connectivity=8)
    height, width = opening.shape
    for label in range(1, pieces.count):
        piece, x0, y0 = pieces.crop(label)
        ys, xs = np.nonzero(piece)
        ys, xs = ys + y0, xs + x0
        if len(xs) < 3:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(np.column_stack([xs, ys]).astype(np.float32))
        length, depth = (rw, rh) if rw >= rh else (rh, rw)
        theta = np.deg2rad(angle if rw >= rh else angle + 90.0)
        u = np.array([np.cos(theta), np.sin(theta)])
        n = np.array([-u[1], u[0]])
        centre = np.array([cx, cy])
        depth = max(depth, thickness)
        sides: list[int | None] = []
        for sign in (-1.0, 1.0):
            x, y = np.round(centre + sign * n * (depth / 2.0 + 2.0)).astype(int)
            if not (0 <= x < width and 0 <= y < height) or outside[y, x]:
                sides.append(None)
            else:
                index = int(room_labels[y, x])
                sides.append(index - 1 if index > 0 else None)
        start, end = centre - u * length / 2.0, centre + u * length / 2.0
        exterior = sides[0] is None or sides[1] is None
        kind = "window" if exterior and rng.random() < 0.85 else "door"
        swing = None
        leaf = "single"
        if kind == "door":
            into = [k for k, side in enumerate(sides) if side is not None]
            if not into:
                continue
            sign = (-1.0, 1.0)[into[int(rng.integers(len(into)))]]
            swing = n * sign
            if length > DOUBLE_DOOR_M * ppm:
                leaf = "double" if rng.random() < 0.6 else "sliding"
        openings.append(
            LayoutOpening(
                kind,
                start,
                end,
                wall_id="",
                thickness=float(depth),
                rooms=(sides[0], sides[1]),
                swing_normal=swing,
                hinge_at_start=bool(rng.random() < 0.5),
                leaf=leaf,
            )
        )
    return openings


def _wall_runs(
    wall: np.ndarray, outside: np.ndarray, interior: float, exterior: float, ppm: float
) -> list[LayoutWall]:
    """Axis-aligned wall runs (centreline, thickness) read off the mask; those with the outside along
    most of their length are exterior, and they and those as thick as the exterior walls load-bearing."""
    runs: list[LayoutWall] = []
    reach = max(3, round(max(WALL_RUN_M * ppm, 3.0 * interior)))
    near_outside = cv2.dilate(outside.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) > 0
    mask = wall.astype(np.uint8)
    for horizontal in (True, False):
        kernel = np.ones((1, reach) if horizontal else (reach, 1), np.uint8)
        opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=4)
        for label in range(1, count):
            x, y, w, h = (int(v) for v in stats[label, :4])
            along, across = (w, h) if horizontal else (h, w)
            if along < reach or across > 3.0 * exterior + 2:
                continue
            if horizontal:
                start, end = np.array([x, y + (h - 1) / 2.0]), np.array([x + w - 1, y + (h - 1) / 2.0])
            else:
                start, end = np.array([x + (w - 1) / 2.0, y]), np.array([x + (w - 1) / 2.0, y + h - 1])
            box_ys, box_xs = slice(y, y + h), slice(x, x + w)
            run = labels[box_ys, box_xs] == label
            touching = (near_outside[box_ys, box_xs] & run).any(axis=0 if horizontal else 1)
            is_exterior = bool(touching.mean() > 0.5)  # the outside along most of its length
            runs.append(
                LayoutWall(
                    f"w{len(runs)}",
                    start,
                    end,
                    float(across),
                    exterior=is_exterior,
                    load_bearing=is_exterior or across >= 0.85 * exterior,
                )
            )
    return runs


def plan_layout(
    wall: np.ndarray, opening: np.ndarray, room_type: np.ndarray | None, rng: np.random.Generator
) -> Layout:
    """A pseudo vector layout of a real plan's masks, enough for the generator's renderer to draw on.

    Rooms are the free regions enclosed by walls and openings (their kind from the room-type map's
    majority, a plausible one where it says nothing); openings are the opening mask's pieces; walls
    are its axis-aligned runs.  Pixels per metre come from the median wall thickness.
    """
    height, width = wall.shape
    interior, exterior = thickness_percentiles(wall)
    ppm = float(np.clip(interior / INTERIOR_WALL_M, *PPM_RANGE))
    regions, outside = _outside(~(wall | opening))
    rooms, room_labels = _rooms(regions, outside, room_type, ppm, rng)
    openings = _openings(opening, room_labels, outside, interior, ppm, rng)
    walls = _wall_runs(wall, outside, interior, exterior, ppm)
    footprint = _polygon(~outside) or box(0, 0, width - 1, height - 1)
    return Layout(
        width=width,
        height=height,
        ppm=ppm,
        interior_thickness=max(1, round(interior)),
        exterior_thickness=max(1, round(exterior)),
        walls=walls,
        openings=openings,
        rooms=rooms,
        footprint=footprint,
        slots=[],
    )


def _sheet_frame(rng: np.random.Generator, width: int, height: int) -> SheetFrame | None:
    """A sheet whose plan area holds a ``width`` x ``height`` plan, the plan centred in that area."""
    sheet_w, sheet_h = round(width / SHEET_PLAN_SHARE), round(height / SHEET_PLAN_SHARE)
    for _ in range(SHEET_TRIES):
        frame = choose_sheet(rng, sheet_w, sheet_h, 1.0)
        if frame is not None and frame.plan_width >= width and frame.plan_height >= height:
            x = frame.x + (frame.plan_width - width) // 2
            y = frame.y + (frame.plan_height - height) // 2
            return replace(frame, x=x, y=y, plan_width=width, plan_height=height)
        sheet_w, sheet_h = round(sheet_w * 1.12), round(sheet_h * 1.12)
    return None


def redraw_plan(
    wall: np.ndarray,
    opening: np.ndarray,
    room_type: np.ndarray | None,
    seed: int,
    styles: Sequence[str] | None = None,
    sheet: float = 0.0,
) -> RedrawnPlan:
    """Redraw the plan of these masks in one of ``styles`` (None: the generator's default styles).

    Args:
        wall, opening: the plan's ``(H, W)`` bool masks (openings excluded from the walls).
        room_type: its room-type map (``datasets.room_maps``) or None.
        seed: every random choice follows from it.
        styles: generator style names (``model_code.synth.ALL_STYLES``).
        sheet: probability (0..1) that the plan is drawn on a drawing sheet (frame, title block,
            legend, dimension chains); the returned masks are then the sheet's size, none of the
            sheet being wall or opening.

    Scanned styles get the scan's photometric effects (noise, blur, JPEG) but no rotation, so the
    masks stay exact.
    """
    names = tuple(styles) if styles else STYLES
    unknown = [name for name in names if name not in ALL_STYLES]
    if unknown:
        raise ValueError(f"unknown styles {unknown}; known: {', '.join(ALL_STYLES)}")
    if not 0.0 <= sheet <= 1.0:
        raise ValueError(f"sheet must be a probability in [0, 1], got {sheet}")
    wall = np.asarray(wall, bool)
    opening = np.asarray(opening, bool)  # returned as given; drawn only where it is not wall
    height, width = wall.shape
    rng = np.random.default_rng([int(seed), REDRAW_STREAM])
    style = STYLE_TABLE[names[int(rng.integers(len(names)))]]
    look = realise(rng, style, max(height, width))
    layout = plan_layout(wall, opening & ~wall, room_type, rng)
    image = render_layout(rng, layout, look, wall, opening & ~wall).image
    sheet_box = None
    sheet_rng = np.random.default_rng([int(seed), SHEET_STREAM])
    frame = _sheet_frame(sheet_rng, width, height) if sheet > 0 and sheet_rng.random() < sheet else None
    if frame is not None:
        image = draw_sheet(sheet_rng, frame, image, layout, look, wall | opening)
        sheet_box = (frame.x, frame.y, frame.x + width, frame.y + height)

        def _place(mask: np.ndarray, fill: int) -> np.ndarray:
            out = np.full((frame.height, frame.width), fill, mask.dtype)
            out[frame.y : frame.y + height, frame.x : frame.x + width] = mask
            return out

        wall, opening = _place(wall, False), _place(opening, False)
        room_type = None if room_type is None else _place(room_type, 0)
    image = scan_effects(rng, image) if look.scan else light_effects(rng, image, look.jpeg)
    return RedrawnPlan(np.ascontiguousarray(image), wall, opening, room_type, style.name, sheet_box)
