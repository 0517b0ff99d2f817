"""Drawing of the opt-in styles (``architectural``, ``brochure``, ``cad_colour``): none of it changes
the ground truth.

- :func:`paint_split_walls`: load-bearing walls (exterior, spines, columns) in a heavy fill (solid,
  poché hatching, grey or dark-grey poché, or a hollow outline in the ``walls`` layer colour),
  partitions as plain ink or hollow outlines in the ``partitions`` layer colour, columns solid: only
  wall pixels change, so the drawn walls stay the ground-truth pixels.
- :func:`draw_floor_textures`: wood planks, tiles or carpet inside rooms (not walls: the wall band is
  painted over them afterwards).
- :func:`draw_ceiling_frames`: nested frames (two or three parallel outlines) inside the main rooms and
  sometimes a round medallion, as interior-design sheets draw ceilings and floor inlays: long straight
  double lines that are not walls.
- :func:`draw_rugs`: rugs and floor inlays with a dense pattern (herringbone, lattice, stripes,
  checks) in the main rooms: large dark-grey areas that are not walls, as interior-design sheets draw
  carpets (the bundled model took the herringbone rug of `cad_walls/tianruishangcheng` for a wall).
- :func:`draw_wall_shadow`: a soft grey drop shadow of the walls on the paper and floors; wall and
  opening pixels are left alone.
- :func:`draw_dense_dimensions`: two or three dimension chains on every side with extension lines.
- :func:`draw_trees`: trees and shrubs outside the building.

Decorations drawn after the walls are composited only outside a 3-pixel guard band around the wall
and opening pixels, as the drawing sheet does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np
from shapely.geometry import box as shapely_box

from model_code.geometry.raster import rasterize_walls
from model_code.synth.canvas import SCALE, SHIFT, fixed_point, fixed_points, paint, paste, polygon_mask
from model_code.synth.decor import dimension_chain
from model_code.synth.layout import Layout, LayoutRoom
from model_code.synth.styles import ROOM_COLOURS, Look
from model_code.synth.text import TextSpec, fit_scale

GUARD_PX = 3  # decorations drawn after the walls stay this far from wall and opening pixels
WET_KINDS = ("bath", "wc", "utility")
Colour = tuple[int, int, int]


def _shade(colour: Colour, factor: float) -> Colour:
    return tuple(int(np.clip(round(c * factor), 0, 255)) for c in colour)  # type: ignore[return-value]


def structural_masks(layout: Layout, wall_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(structural, columns)``: wall pixels of the load-bearing walls and of the columns.

    Columns are the short load-bearing records :func:`~model_code.synth.layout.add_columns` adds
    (thicker than the exterior walls).  Both masks are subsets of ``wall_mask`` (openings excluded).
    """
    shape = wall_mask.shape
    bearing = [w for w in layout.walls if w.load_bearing]
    columns = [w for w in bearing if w.thickness > layout.exterior_thickness]
    structural = rasterize_walls(bearing, shape) & wall_mask
    column_mask = rasterize_walls(columns, shape) & wall_mask
    return structural, column_mask


def paint_split_walls(image: np.ndarray, layout: Layout, wall_mask: np.ndarray, look: Look) -> None:
    """Structural walls in ``look.structural_fill``, partitions in ``look.partition_fill``, columns solid ink.

    Partitions are solid ink (``line``) or, ``hollow``, a 1-px outline in the ``partitions`` layer colour
    with paper inside: still wall across their full thickness.  A ``hollow`` structural fill is the
    same with an outline ``look.line_width`` px wide in the ``walls`` layer colour (the ink for looks
    without one).  Only wall pixels change.
    """
    ink = np.asarray(look.ink, dtype=np.uint8)
    structural, columns = structural_masks(layout, wall_mask)
    partitions = wall_mask & ~structural
    if look.partition_fill == "hollow":
        inside = cv2.erode(partitions.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        paint(image, partitions & ~inside, look.layer("partitions"))
        paint(image, inside, look.paper)
    else:
        paint(image, partitions, ink)
    fill = look.structural_fill or "solid"
    if fill == "solid":
        paint(image, structural, ink)
    else:
        inner = cv2.erode(
            structural.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=look.line_width
        ).astype(bool)
        if fill == "poche":
            paint(image, inner, _shade(look.wall_grey, 0.55))
        elif fill == "grey":
            paint(image, inner, look.wall_grey)
        elif fill == "hollow":
            paint(image, inner, look.paper)
        elif fill == "hatch":
            yy, xx = np.nonzero(inner)
            spacing = max(3, look.hatch_spacing - 2)  # poché hatching is denser than the plain style's
            stripes = ((xx + yy) % spacing) < 1
            if look.hatch_kind == "x":
                stripes |= ((xx - yy) % spacing) < 1
            image[yy[stripes], xx[stripes]] = ink
        outline = look.layer("walls") if fill == "hollow" else look.ink
        paint(image, structural & ~inner, np.asarray(outline, dtype=np.uint8))
    paint(image, columns, ink)


def _pattern(rng: np.random.Generator, kind: str, shape: tuple[int, int], ppm: float) -> np.ndarray:
    """A boolean texture of ``shape``: ``planks``, ``tiles`` or ``carpet``."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    if kind == "tiles":
        step = max(4, round(ppm * float(rng.uniform(0.25, 0.6))))
        ox, oy = int(rng.integers(step)), int(rng.integers(step))
        return ((xx + ox) % step == 0) | ((yy + oy) % step == 0)
    if kind == "carpet":
        step = max(3, round(ppm * float(rng.uniform(0.06, 0.12))))
        return ((xx + yy) % step == 0) & ((xx - yy) % (2 * step) < step)
    width = max(3, round(ppm * float(rng.uniform(0.12, 0.22))))  # planks
    length = max(4 * width, round(ppm * float(rng.uniform(0.9, 1.6))))
    across, along = (yy, xx) if rng.random() < 0.5 else (xx, yy)
    row = across // width
    stagger = (row * int(rng.integers(2, 5))) % 7 * (length // 7)
    return (across % width == 0) | ((along + stagger) % length == 0)


def draw_floor_textures(rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look) -> None:
    """Floor finishes inside the rooms, in a shade of each room's floor.

    ``look.floor_texture``: planks in living rooms, bedrooms, studies and halls (carpet in some
    bedrooms), tiles in kitchens and wet rooms, nothing in closets.  ``look.wet_tiles``: ink tile
    grids (in the ``hatch`` layer colour) in bathrooms, WCs and utility rooms only (as architectural
    scans draw them).
    """
    shape = image.shape[:2]
    paper = tuple(int(v) for v in look.paper)
    for room in layout.rooms:
        if room.interior is None or room.kind == "closet":
            continue
        if look.floor_texture:
            if room.kind in (*WET_KINDS, "kitchen"):
                kind = "tiles"
            elif room.kind == "bedroom" and rng.random() < 0.35:
                kind = "carpet"
            else:
                kind = "planks"
            base = ROOM_COLOURS.get(room.kind, paper) if look.room_fill else paper
            colour = _shade(base, float(rng.uniform(0.78, 0.9)))
        elif room.kind in WET_KINDS:
            kind, colour = "tiles", look.layer("hatch")
        else:
            continue
        x0, y0, x1, y1 = (math.floor(v) for v in room.interior.bounds)
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1 + 1, shape[1] - 1), min(y1 + 1, shape[0] - 1)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        mask = polygon_mask(np.asarray(room.interior.exterior.coords), (x0, y0, x1 + 1, y1 + 1))
        pattern = _pattern(rng, kind, mask.shape, layout.ppm) & mask
        paint(image[y0 : y1 + 1, x0 : x1 + 1], pattern, colour)


FRAME_KINDS = ("living", "dining", "bedroom", "study", "hall")


def _main_rooms(rng: np.random.Generator, layout: Layout, probability: float) -> Iterator[LayoutRoom]:
    """The living rooms, dining rooms, bedrooms, studies and halls over about 6 m², each with
    ``probability`` (one draw of ``rng`` per such room, in the layout's order)."""
    for room in layout.rooms:
        if room.interior is None or room.kind not in FRAME_KINDS or room.interior.area < 6.0 * layout.ppm**2:
            continue
        if rng.random() < probability:
            yield room


def draw_ceiling_frames(rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look) -> None:
    """Nested ceiling frames in the main rooms (``look.ceiling_frames``), in the ``hatch`` layer colour.

    In each living room, dining room, bedroom, study or hall larger than about 6 m² (each with
    probability 0.8): two or three outlines of the room's interior shrunk by 0.25-0.7 m, 0.04-0.15 m
    apart (a recessed ceiling, a floor inlay), and in one room in three a medallion of two or three
    circles at the centre.  Drawn before the walls are painted, so the ground truth stays exact.
    """
    colour = look.layer("hatch")
    ppm = layout.ppm
    for room in _main_rooms(rng, layout, 0.8):
        inset = float(rng.uniform(0.25, 0.7)) * ppm
        gap = max(2.0, float(rng.uniform(0.04, 0.15)) * ppm)
        rings = int(rng.integers(2, 4))
        for ring in range(rings):
            shrunk = room.interior.buffer(-(inset + ring * gap), join_style=2)
            if shrunk.is_empty or shrunk.geom_type != "Polygon" or shrunk.area < (0.5 * ppm) ** 2:
                break
            cv2.polylines(image, [fixed_points(shrunk.exterior.coords)], True, colour, 1, cv2.LINE_AA, SHIFT)
        if rng.random() < 1 / 3:
            centre = room.interior.representative_point()
            radius = float(rng.uniform(0.3, 0.7)) * ppm
            for k in range(int(rng.integers(2, 4))):
                r = radius - k * gap
                if r < 2:
                    break
                cv2.circle(
                    image, fixed_point(centre.x, centre.y), round(r * SCALE), colour, 1, cv2.LINE_AA, SHIFT
                )


RUG_PATTERNS = ("herringbone", "lattice", "stripes", "checks")


def _rug_pattern(rng: np.random.Generator, kind: str, shape: tuple[int, int], ppm: float) -> np.ndarray:
    """A dense boolean pattern of ``shape``: one of :data:`RUG_PATTERNS`, 3-px pitch at the least."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    step = max(3, round(ppm * float(rng.uniform(0.04, 0.1))))
    if kind == "herringbone":  # columns of diagonal strokes, the direction alternating per column
        width = max(2 * step, round(ppm * float(rng.uniform(0.15, 0.35))))
        even = (xx // width) % 2 == 0
        return np.where(even, (xx + yy) % step == 0, (xx - yy) % step == 0)
    if kind == "lattice":  # a diamond lattice
        return ((xx + yy) % (2 * step) == 0) | ((xx - yy) % (2 * step) == 0)
    if kind == "stripes":
        return ((xx + yy) % step == 0) if rng.random() < 0.5 else ((xx - yy) % step == 0)
    size = max(2 * step, round(ppm * float(rng.uniform(0.2, 0.5))))  # checks: half the squares hatched
    hatched = ((xx // size + yy // size) % 2 == 0) & ((xx + yy) % step == 0)
    return hatched | (xx % size == 0) | (yy % size == 0)


def draw_rugs(rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look) -> None:
    """Rugs and floor inlays (``look.rugs``): dense patterns in rectangles inside the main rooms.

    In each living room, dining room, bedroom, study or hall larger than about 6 m² (each with
    probability 0.6): a rectangle of 35-75 % of the room interior's bounding box (a third of them a
    circle), placed inside the interior, outlined once or twice and filled with one of
    :data:`RUG_PATTERNS` in the ink, a dark grey or the ``furniture`` layer colour.  Drawn before the
    furniture and the walls, at least 0.1 m (2 px) inside the rooms' interiors, so the ground truth
    stays exact.
    """
    ppm = layout.ppm
    for room in _main_rooms(rng, layout, 0.6):
        x0, y0, x1, y1 = room.interior.bounds
        w = (x1 - x0) * float(rng.uniform(0.35, 0.75))
        h = (y1 - y0) * float(rng.uniform(0.35, 0.75))
        cx = float(rng.uniform(x0 + w / 2, x1 - w / 2))
        cy = float(rng.uniform(y0 + h / 2, y1 - h / 2))
        kind = RUG_PATTERNS[int(rng.integers(len(RUG_PATTERNS)))]
        colour = (look.ink, (70, 70, 70), look.layer("furniture"))[int(rng.integers(3))]
        round_rug = rng.random() < 1 / 3
        outlines = int(rng.integers(1, 3))
        left, top = max(0, math.floor(cx - w / 2)), max(0, math.floor(cy - h / 2))
        right = min(image.shape[1], math.ceil(cx + w / 2) + 1)
        bottom = min(image.shape[0], math.ceil(cy + h / 2) + 1)
        if right - left < 8 or bottom - top < 8:
            continue
        shape = (bottom - top, right - left)
        area = np.zeros(shape, np.uint8)
        if round_rug:
            axes = (round(w / 2 * SCALE), round(h / 2 * SCALE))
            cv2.ellipse(area, fixed_point(cx - left, cy - top), axes, 0, 0, 360, 1, -1, cv2.LINE_8, SHIFT)
        else:
            cv2.rectangle(area, (0, 0), (shape[1] - 1, shape[0] - 1), 1, -1)
        clear = room.interior.buffer(-max(2.0, 0.1 * ppm), join_style=2)  # clear of the walls
        if clear.is_empty or clear.geom_type != "Polygon":
            continue
        area = area.astype(bool) & polygon_mask(np.asarray(clear.exterior.coords), (left, top, right, bottom))
        border = area & ~cv2.erode(area.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        for _ in range(outlines - 1):
            ring = cv2.erode(area.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            border |= ring & ~cv2.erode(ring.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        pattern = _rug_pattern(rng, kind, shape, ppm) & area
        paint(image[top:bottom, left:right], pattern | border, colour)


def draw_wall_shadow(
    rng: np.random.Generator, image: np.ndarray, wall_mask: np.ndarray, opening_mask: np.ndarray, ppm: float
) -> None:
    """A soft grey drop shadow of the walls, down and to one side; wall and opening pixels stay as drawn."""
    offset = max(1.5, 0.07 * ppm)
    dx = offset * float(rng.choice([-1.0, 1.0]))
    dy = offset
    shifted = cv2.warpAffine(
        wall_mask.astype(np.float32), np.float32([[1, 0, dx], [0, 1, dy]]), wall_mask.shape[::-1]
    )
    sigma = max(1.0, offset * 0.8)
    shadow = cv2.GaussianBlur(shifted, (0, 0), sigma)
    strength = float(rng.uniform(0.25, 0.45))
    keep = ~(wall_mask | opening_mask)
    factor = 1.0 - strength * np.clip(shadow, 0.0, 1.0)
    shaded = np.round(image.astype(np.float32) * factor[..., None]).astype(np.uint8)
    paste(image, shaded, keep)


def _guarded(image: np.ndarray, drawn: np.ndarray, protect: np.ndarray) -> None:
    """Copy ``drawn`` into ``image`` except within ``GUARD_PX`` of the ``protect`` pixels."""
    guard = cv2.dilate(protect.astype(np.uint8), np.ones((2 * GUARD_PX + 1,) * 2, np.uint8))
    paste(image, drawn, guard == 0)


def draw_dense_dimensions(
    rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look, protect: np.ndarray
) -> None:
    """Two or three dimension chains on every side (all walls, structural walls, overall), extension lines."""
    drawn = image.copy()
    minx, miny, maxx, maxy = layout.footprint.bounds
    half = layout.exterior_thickness / 2.0
    text_h = float(np.clip(layout.ppm * 0.17, 5.0, 24.0))
    spec = TextSpec(look.font, fit_scale(look.font, "0", text_h, 1), 1)
    step = text_h * 2.6
    gap = half + max(8.0, 0.7 * layout.ppm)
    tiers = int(rng.integers(2, 4))
    metres = bool(rng.random() < 0.15)
    straight = [w for w in layout.walls if w.thickness <= layout.exterior_thickness]
    xs_all = sorted({float(w.start[0]) for w in straight if w.start[0] == w.end[0]} | {minx, maxx})
    ys_all = sorted({float(w.start[1]) for w in straight if w.start[1] == w.end[1]} | {miny, maxy})
    xs_bear = sorted(
        {float(w.start[0]) for w in straight if w.load_bearing and w.start[0] == w.end[0]} | {minx, maxx}
    )
    ys_bear = sorted(
        {float(w.start[1]) for w in straight if w.load_bearing and w.start[1] == w.end[1]} | {miny, maxy}
    )
    chains = {"h": [xs_all, xs_bear, [minx, maxx]], "v": [ys_all, ys_bear, [miny, maxy]]}
    sides = (
        ("top", "h", miny, -1.0),
        ("bottom", "h", maxy, 1.0),
        ("left", "v", minx, -1.0),
        ("right", "v", maxx, 1.0),
    )
    height, width = image.shape[:2]
    for _, orient, edge, sign in sides:
        limit = height if orient == "h" else width
        first = edge + sign * gap
        for tier in range(tiers):
            at = first + sign * tier * step
            if not (text_h * 2 < at < limit - text_h * 2):
                break
            stops = chains[orient][tier]
            dimension_chain(drawn, stops, at, orient, layout.ppm, spec, look, metres)
            near = edge + sign * (half + 3.0)
            for s in stops:  # extension lines from the chain towards the building
                p = (s, at) if orient == "h" else (at, s)
                q = (s, near) if orient == "h" else (near, s)
                cv2.line(
                    drawn, fixed_point(*p), fixed_point(*q), look.layer("dimensions"), 1, cv2.LINE_AA, SHIFT
                )
    _guarded(image, drawn, protect)


def draw_trees(
    rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look, protect: np.ndarray
) -> None:
    """A few trees (scalloped circles with a trunk dot) and shrubs in the margin around the building."""
    drawn = image.copy()
    keep_out = layout.footprint.buffer(layout.exterior_thickness + 0.3 * layout.ppm)
    height, width = image.shape[:2]
    green = bool(rng.random() < 0.6)
    colour = (120, 160, 110) if green else _shade(tuple(int(v) for v in look.ink), 1.0)
    placed: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(3, 10)) * 4):
        if len(placed) >= 8:
            break
        radius = layout.ppm * float(rng.uniform(0.35, 1.1))
        cx, cy = float(rng.uniform(radius, width - radius)), float(rng.uniform(radius, height - radius))
        if keep_out.intersects(shapely_box(cx - radius, cy - radius, cx + radius, cy + radius)):
            continue
        if any(math.hypot(cx - x, cy - y) < radius + r for x, y, r in placed):
            continue
        placed.append((cx, cy, radius))
        lobes = int(rng.integers(7, 13))
        for k in range(lobes):
            a = 2 * math.pi * k / lobes
            lx, ly = cx + 0.8 * radius * math.cos(a), cy + 0.8 * radius * math.sin(a)
            cv2.circle(
                drawn, fixed_point(lx, ly), round(0.28 * radius * SCALE), colour, 1, cv2.LINE_AA, SHIFT
            )
        if green:
            cv2.circle(
                drawn,
                fixed_point(cx, cy),
                round(0.7 * radius * SCALE),
                (200, 222, 190),
                -1,
                cv2.LINE_AA,
                SHIFT,
            )
        cv2.circle(
            drawn,
            fixed_point(cx, cy),
            max(SCALE, round(0.08 * radius * SCALE)),
            colour,
            -1,
            cv2.LINE_AA,
            SHIFT,
        )
    _guarded(image, drawn, protect)
