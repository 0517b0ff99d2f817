"""Drawing furniture outside the rooms: grids, dimension lines, north arrow, title block and terraces.

Everything here lies outside the building or underneath the walls.  None of it is wall or opening;
a terrace is a room of the ground truth (type ``balcony``, as R3D and the room stage see it), and
:func:`draw_decorations` returns where it was drawn.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from shapely.geometry import box as shapely_box

from model_code.synth.canvas import SCALE, SHIFT, fixed_point
from model_code.synth.layout import Layout, Slot
from model_code.synth.styles import Look
from model_code.synth.text import TextSpec, draw_text, fit_scale

TITLES = (
    "GROUND FLOOR",
    "FIRST FLOOR",
    "SECOND FLOOR",
    "Ground Floor",
    "First Floor",
    "Third Floor",
    "FLOOR PLAN",
)


@dataclass(frozen=True)
class Terrace:
    """A terrace drawn outside the building: its outline's box ``(x0, y0, x1, y1)`` in image px and the
    name printed in it (None when the name did not fit)."""

    box: tuple[float, float, float, float]
    name: str | None


def draw_grid(rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look) -> None:
    """Graph-paper lines or a structural axis grid with lettered bubbles, under everything else."""
    height, width = image.shape[:2]
    if look.grid == "paper":
        step = max(6, round(layout.ppm * float(rng.choice([0.5, 1.0]))))
        colour = (205, 220, 235) if rng.random() < 0.5 else (215, 215, 215)
        image[::step, :] = colour
        image[:, ::step] = colour
    elif look.grid == "axes":
        _axis_grid(rng, image, layout, look, width, height)


def _axis_grid(
    rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look, width: int, height: int
) -> None:
    xs = sorted({round(float(w.start[0]), 1) for w in layout.walls if w.start[0] == w.end[0]})
    ys = sorted({round(float(w.start[1]), 1) for w in layout.walls if w.start[1] == w.end[1]})
    colour = look.layer("axes", (150, 150, 150))
    radius = max(5.0, layout.ppm * 0.25)
    spec = TextSpec(cv2.FONT_HERSHEY_SIMPLEX, fit_scale(cv2.FONT_HERSHEY_SIMPLEX, "A", radius * 0.9, 1), 1)
    minx, miny, maxx, maxy = layout.footprint.bounds
    for k, x in enumerate(xs[:10]):
        _dash_dot(image, (x, miny - 2 * radius), (x, maxy + radius), colour)
        centre = (x, miny - 3 * radius)
        if centre[1] - radius > 0:
            cv2.circle(image, fixed_point(*centre), round(radius * SCALE), colour, 1, cv2.LINE_AA, SHIFT)
            draw_text(image, str(k + 1), centre, spec, colour)
    for k, y in enumerate(ys[:10]):
        _dash_dot(image, (minx - 2 * radius, y), (maxx + radius, y), colour)
        centre = (minx - 3 * radius, y)
        if centre[0] - radius > 0:
            cv2.circle(image, fixed_point(*centre), round(radius * SCALE), colour, 1, cv2.LINE_AA, SHIFT)
            draw_text(image, chr(ord("A") + k), centre, spec, colour)


def _dash_dot(
    image: np.ndarray, a: tuple[float, float], b: tuple[float, float], colour: tuple[int, int, int]
) -> None:
    length = math.dist(a, b)
    if length == 0:
        return
    u = ((b[0] - a[0]) / length, (b[1] - a[1]) / length)
    pattern = (12.0, 3.0, 2.0, 3.0)  # dash, gap, dot, gap
    s, k = 0.0, 0
    while s < length:
        run = min(pattern[k % 4], length - s)
        if k % 2 == 0:
            p = (a[0] + u[0] * s, a[1] + u[1] * s)
            q = (a[0] + u[0] * (s + run), a[1] + u[1] * (s + run))
            cv2.line(image, fixed_point(*p), fixed_point(*q), colour, 1, cv2.LINE_8, SHIFT)
        s += run
        k += 1


def draw_decorations(
    rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look
) -> list[Terrace]:
    """Dimension lines, north arrow, title block, entrance arrows and terraces outside the building.

    Returns the terraces drawn (at most one)."""
    if look.dimensions:
        draw_dimensions(rng, image, layout, look)
    if look.north_arrow:
        draw_north_arrow(rng, image, layout, look)
    if look.title:
        draw_title(rng, image, layout, look)
    if rng.random() < 0.35:
        draw_entrance_arrows(image, layout, look)
    if rng.random() < 0.2:
        terrace = draw_terrace(rng, image, layout, look)
        if terrace is not None:
            return [terrace]
    return []


def _free_sides(look: Look) -> set[str]:
    """Sides of the building whose margin holds no dimension chain or title block."""
    taken = ({"top", "left"} if look.dimensions else set()) | ({"bottom"} if look.title else set())
    return {"top", "bottom", "left", "right"} - taken


def _side_of(outward: np.ndarray) -> str:
    """The side of the building a unit outward normal points to (``diagonal`` when slanted)."""
    names = {(1.0, 0.0): "right", (-1.0, 0.0): "left", (0.0, 1.0): "bottom", (0.0, -1.0): "top"}
    return names.get((float(outward[0]), float(outward[1])), "diagonal")


def draw_entrance_arrows(image: np.ndarray, layout: Layout, look: Look) -> None:
    """An arrow pointing into each entrance door from a free margin, with "IN" beside its tail."""
    free = _free_sides(look)
    for opening in layout.openings:
        if opening.type != "door" or None not in opening.rooms or opening.swing_normal is None:
            continue
        if _side_of(-opening.swing_normal) not in free:
            continue
        width = float(np.hypot(*(opening.end - opening.start)))
        mid = (opening.start + opening.end) / 2
        inward = opening.swing_normal
        head = mid - inward * (opening.thickness / 2 + 0.25 * width)
        tail = head - inward * width
        if not (0 <= tail[0] < layout.width and 0 <= tail[1] < layout.height):
            continue
        cv2.arrowedLine(
            image, fixed_point(*tail), fixed_point(*head), look.layer("text"), 1, cv2.LINE_AA, SHIFT, 0.35
        )
        side = np.array([-inward[1], inward[0]]) * (0.45 * width)
        spec = TextSpec(look.font, fit_scale(look.font, "IN", 0.3 * width, 1), 1)
        draw_text(image, "IN", (float(tail[0] + side[0]), float(tail[1] + side[1])), spec, look.layer("text"))


def draw_terrace(rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look) -> Terrace | None:
    """A cross-hatched terrace or balcony along one exterior wall, outside the building (not wall).

    Returns the terrace drawn, None when no exterior stretch had room for one."""
    free_sides = _free_sides(look)
    slots = [
        s for s in layout.slots if s.exterior and _outward_side(s) in free_sides and s.length > 2 * layout.ppm
    ]
    if not slots:
        return None
    slot = slots[int(rng.integers(len(slots)))]
    outward = -slot.normal if slot.rooms[0] is None else slot.normal
    face = outward * (slot.thickness / 2 + 1)
    minx, miny, maxx, maxy = layout.footprint.bounds
    room = {"right": layout.width - maxx, "left": minx, "bottom": layout.height - maxy, "top": miny}
    depth = min(layout.ppm * float(rng.uniform(1.2, 2.5)), 0.75 * room[_outward_side(slot)] - slot.thickness)
    if depth < max(8.0, 0.6 * layout.ppm):
        return None
    corners = np.array(
        [slot.a + face, slot.b + face, slot.b + face + outward * depth, slot.a + face + outward * depth]
    )
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    if x0 < 2 or y0 < 2 or x1 > layout.width - 3 or y1 > layout.height - 3:
        return None
    if layout.footprint.buffer(layout.exterior_thickness / 2).intersects(shapely_box(x0, y0, x1, y1)):
        return None
    region = image[round(y0) : round(y1) + 1, round(x0) : round(x1) + 1]
    yy, xx = np.mgrid[0 : region.shape[0], 0 : region.shape[1]]
    step = max(4, round(layout.ppm * 0.3))
    region[((xx + yy) % step == 0) | ((xx - yy) % step == 0)] = (170, 170, 170)
    cv2.rectangle(image, fixed_point(x0, y0), fixed_point(x1, y1), look.ink, 1, cv2.LINE_AA, SHIFT)
    name = str(rng.choice(["TERRACE", "BALCONY", "Roof Terrace", "Patio"]))
    spec = TextSpec(look.font, fit_scale(look.font, name, min(0.25 * layout.ppm, (y1 - y0) * 0.25), 1), 1)
    printed = spec.size(name)[0] < (x1 - x0) * 0.9
    if printed:
        draw_text(image, name, ((x0 + x1) / 2, (y0 + y1) / 2), spec, look.ink)
    return Terrace((float(x0), float(y0), float(x1), float(y1)), name if printed else None)


def _outward_side(slot: Slot) -> str:
    """Which side of the building an exterior stretch faces: top, bottom, left, right (or diagonal)."""
    return _side_of(-slot.normal if slot.rooms[0] is None else slot.normal)


def draw_dimensions(rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look) -> None:
    """Chains of dimension lines with ticks above and beside the building, lengths in mm or metres."""
    minx, miny, maxx, maxy = layout.footprint.bounds
    gap = layout.exterior_thickness / 2.0 + max(6.0, 0.6 * layout.ppm)
    text_h = float(np.clip(layout.ppm * 0.2, 5.0, 28.0))
    spec = TextSpec(look.font, fit_scale(look.font, "0", text_h, 1), 1)
    metres = bool(rng.random() < 0.4)
    verticals = sorted({float(w.start[0]) for w in layout.walls if w.start[0] == w.end[0]} | {minx, maxx})
    horizontals = sorted({float(w.start[1]) for w in layout.walls if w.start[1] == w.end[1]} | {miny, maxy})
    top = miny - gap - layout.exterior_thickness / 2.0
    left = minx - gap - layout.exterior_thickness / 2.0
    if top - text_h * 2 > 0:
        dimension_chain(image, verticals, top, "h", layout.ppm, spec, look, metres)
    if left - text_h * 2 > 0:
        dimension_chain(image, horizontals, left, "v", layout.ppm, spec, look, metres)


def dimension_chain(
    image: np.ndarray,
    stops: list[float],
    at: float,
    orient: str,
    ppm: float,
    spec: TextSpec,
    look: Look,
    metres: bool,
) -> None:
    stops = [s for k, s in enumerate(stops) if k == 0 or s - stops[k - 1] > 2]
    if len(stops) < 2:
        return
    tick = max(3.0, spec.size("0")[1] * 0.6)
    colour = look.layer("dimensions")

    def point(along: float, across: float) -> tuple[int, int]:
        return fixed_point(along, at + across) if orient == "h" else fixed_point(at + across, along)

    cv2.line(image, point(stops[0] - tick, 0), point(stops[-1] + tick, 0), colour, 1, cv2.LINE_AA, SHIFT)
    for s in stops:
        cv2.line(image, point(s - tick, tick), point(s + tick, -tick), colour, 1, cv2.LINE_AA, SHIFT)
        cv2.line(image, point(s, -tick * 1.4), point(s, tick * 1.4), colour, 1, cv2.LINE_AA, SHIFT)
    for a, b in itertools.pairwise(stops):
        value = (b - a) / ppm
        text = f"{value:.2f}" if metres else f"{round(value * 1000 / 10) * 10:d}"
        w, h, _ = spec.size(text)
        if w + 4 > b - a:
            continue
        mid = (a + b) / 2
        offset = -(h / 2 + tick + 1)
        centre = (mid, at + offset) if orient == "h" else (at + offset, mid)
        draw_text(image, text, centre, spec, colour, 0.0 if orient == "h" else 90.0)


def draw_north_arrow(rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look) -> None:
    """A circle with an arrow and an N in a free top corner of the margin."""
    _minx, miny, maxx, _maxy = layout.footprint.bounds
    radius = float(np.clip(min(miny, layout.width - maxx) * 0.35, 0, layout.ppm * 0.8))
    if radius < 6:
        return
    colour = look.layer("text")
    cx = layout.width - radius * 1.6 if rng.random() < 0.7 else radius * 1.6
    cy = radius * 1.6
    angle = math.radians(float(rng.uniform(-40, 40)))
    tip = (cx + math.sin(angle) * radius, cy - math.cos(angle) * radius)
    tail = (cx - math.sin(angle) * radius, cy + math.cos(angle) * radius)
    side = (math.cos(angle) * radius * 0.35, math.sin(angle) * radius * 0.35)
    cv2.circle(image, fixed_point(cx, cy), round(radius * SCALE), colour, 1, cv2.LINE_AA, SHIFT)
    poly = np.array(
        [
            fixed_point(*tip),
            fixed_point(cx + side[0], cy + side[1]),
            fixed_point(*tail),
            fixed_point(cx - side[0], cy - side[1]),
        ],
        np.int32,
    )
    cv2.fillPoly(image, [poly[:3]], colour, cv2.LINE_AA, SHIFT)
    cv2.polylines(image, [poly], True, colour, 1, cv2.LINE_AA, SHIFT)
    spec = TextSpec(look.font, fit_scale(look.font, "N", radius * 0.5, 1), 1)
    draw_text(image, "N", (tip[0], tip[1] - radius * 0.45), spec, colour)


def draw_title(rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look) -> None:
    """A floor name and an area line under the building, boxed in CAD-like looks."""
    minx, _miny, maxx, maxy = layout.footprint.bounds
    room_below = layout.height - maxy - layout.exterior_thickness
    text_h = min(room_below * 0.22, layout.ppm * 0.45)
    if text_h < 5:
        return
    spec = TextSpec(look.font, fit_scale(look.font, "G", text_h, 1), max(1, round(text_h / 14)))
    small = TextSpec(look.font, spec.scale * 0.65, 1)
    area_m2 = layout.footprint.area / layout.ppm**2
    lines = [
        (str(rng.choice(TITLES)), spec),
        (f"GROSS INTERNAL AREA {area_m2:.0f} SQ M / {area_m2 * 10.764:.0f} SQ FT", small),
    ]
    if rng.random() < 0.4:
        lines.append((f"SCALE 1:{int(rng.choice([50, 100, 200]))}", small))
    widths = [s.size(t)[0] for t, s in lines]
    if max(widths) + 8 > layout.width:
        lines = lines[:1]
        widths = widths[:1]
    cx = (minx + maxx) / 2 if rng.random() < 0.7 else layout.width - max(widths) / 2 - 8
    cx = float(np.clip(cx, max(widths) / 2 + 4, layout.width - max(widths) / 2 - 4))
    y = maxy + layout.exterior_thickness + room_below * 0.3
    top = y - text_h
    for text, s in lines:
        _w, h, base = s.size(text)
        if y + h > layout.height - 2:
            break
        draw_text(image, text, (cx, y), s, look.layer("text"))
        y += h + base + text_h * 0.4
    if look.style == "cad":
        half = max(widths) / 2 + 6
        cv2.rectangle(
            image,
            fixed_point(cx - half, top - 4),
            fixed_point(cx + half, min(y, layout.height - 2)),
            look.layer("text"),
            1,
            cv2.LINE_8,
            SHIFT,
        )
