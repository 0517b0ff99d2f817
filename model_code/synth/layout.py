"""Procedural floor-plan layouts as exact vector geometry in image pixels.

A layout is built in steps, each a small function: a building footprint (rectangle, L, T or U)
made of rectangular blocks; recursive subdivision of each block into rooms, some blocks with a
corridor that every side room touches; walls extracted from the room edges (exterior walls
thicker than interior ones); occasional diagonal corners and curved or box bays; doors on a
random spanning tree of the room adjacency graph plus entrances, so that every room is reachable
from outside; windows on exterior walls.

Geometry conventions: integer pixel centres (see :mod:`model_code.synth.raster`).  Wall thicknesses
share one parity and axis-aligned centrelines sit on half-integers for even thicknesses (integers for
odd ones), so every wall face falls between pixel centres and the masks have exactly the drawn width.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from shapely import Polygon, unary_union
from shapely.geometry import box as shapely_box
from shapely.geometry.base import BaseGeometry

from model_code.geometry.raster import segment_polygon

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (integers, centrelines before the parity offset)
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
FOOTPRINTS = ("rect", "L", "T", "U")
MIN_ROOMS, MAX_ROOMS = 3, 15
MAX_ASPECT = 2.5  # rooms longer than this times their width are split where possible


class LayoutError(RuntimeError):
    """A random layout could not satisfy its constraints (the caller retries with the same RNG)."""


@dataclass
class LayoutParams:
    """Physical proportions of a layout; the style decides the wall thicknesses in metres."""

    interior_wall_m: float = 0.12
    exterior_wall_m: float = 0.30
    min_interior_px: int = 2
    min_exterior_gap_px: int = 2
    door_m: tuple[float, float] = (0.75, 0.95)
    thick_spines: bool = False  # interior load-bearing (spine) walls get the exterior thickness
    column_probability: float = 0.0  # a column (a short, square-ish wall record) at structural wall ends


@dataclass
class LayoutWall:
    """A straight wall along its centreline (pixels)."""

    id: str
    start: np.ndarray
    end: np.ndarray
    thickness: float
    exterior: bool
    load_bearing: bool


@dataclass
class Slot:
    """A junction-free stretch of one wall between the same two rooms, where an opening may go.

    ``rooms[1]`` lies on the side ``normal`` points to, ``rooms[0]`` on the other; ``None`` is outside.
    """

    wall_id: str
    a: np.ndarray
    b: np.ndarray
    rooms: tuple[int | None, int | None]
    normal: np.ndarray
    thickness: float
    occupied: list[tuple[float, float]] = field(default_factory=list)

    @property
    def length(self) -> float:
        """Length of the stretch in pixels."""
        return float(np.hypot(*(self.b - self.a)))

    @property
    def direction(self) -> np.ndarray:
        """Unit vector from ``a`` to ``b``."""
        return (self.b - self.a) / max(self.length, 1e-9)

    @property
    def exterior(self) -> bool:
        """True when one side is outside the building."""
        return None in self.rooms


@dataclass
class LayoutOpening:
    """A door, window or open passage on a wall, with how a door leaf swings."""

    type: str
    start: np.ndarray
    end: np.ndarray
    wall_id: str
    thickness: float
    rooms: tuple[int | None, int | None]
    swing_normal: np.ndarray | None = None  # unit normal towards the side the leaf opens into
    hinge_at_start: bool = True
    leaf: str = "single"  # doors: "single", "double" (two leaves) or "sliding" (panels in the wall band)


@dataclass
class LayoutRoom:
    """A room: its kind, its centreline outline and its interior (outline minus walls)."""

    kind: str
    rect: Rect
    outline: Polygon
    interior: Polygon | None = None
    corridor: bool = False


@dataclass
class Layout:
    """A complete vector plan on a ``width`` x ``height`` canvas."""

    width: int
    height: int
    ppm: float
    interior_thickness: int
    exterior_thickness: int
    walls: list[LayoutWall]
    openings: list[LayoutOpening]
    rooms: list[LayoutRoom]
    footprint: Polygon
    slots: list[Slot]


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


# ---------------------------------------------------------------------------------------------
# footprint and subdivision
# ---------------------------------------------------------------------------------------------


def footprint_blocks(rng: np.random.Generator, width: int, height: int, min_side: int) -> list[Rect]:
    """Split the building box into 1-3 rectangular blocks forming a rectangle, L, T or U."""
    shape = FOOTPRINTS[int(rng.choice(4, p=[0.35, 0.3, 0.15, 0.2]))]
    transpose = bool(rng.random() < 0.5)
    bw, bh = (height, width) if transpose else (width, height)
    ch = round(bh * _uniform(rng, 0.3, 0.5))
    blocks: list[Rect]
    if shape == "L":
        cw = round(bw * _uniform(rng, 0.3, 0.5))
        blocks = [(0, ch, bw, bh), (0, 0, bw - cw, ch)]
    elif shape == "T":
        a, b = round(bw * _uniform(rng, 0.18, 0.33)), round(bw * _uniform(rng, 0.18, 0.33))
        blocks = [(0, ch, bw, bh), (a, 0, bw - b, ch)]
    elif shape == "U":
        a, b = round(bw * _uniform(rng, 0.25, 0.38)), round(bw * _uniform(rng, 0.25, 0.38))
        blocks = [(0, ch, bw, bh), (0, 0, a, ch), (bw - b, 0, bw, ch)]
    else:
        blocks = [(0, 0, bw, bh)]
    if any(min(x1 - x0, y1 - y0) < min_side for x0, y0, x1, y1 in blocks):
        blocks = [(0, 0, bw, bh)]
    flip_x, flip_y = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    out = []
    for x0, y0, x1, y1 in blocks:
        if flip_x:
            x0, x1 = bw - x1, bw - x0
        if flip_y:
            y0, y1 = bh - y1, bh - y0
        out.append((y0, x0, y1, x1) if transpose else (x0, y0, x1, y1))
    return out


def _split_position(rng: np.random.Generator, lo: int, hi: int, fraction: float, min_side: int) -> int | None:
    """A cut coordinate near ``lo + fraction * (hi - lo)`` leaving at least ``min_side`` on both sides."""
    if hi - lo < 2 * min_side:
        return None
    target = lo + (fraction + _uniform(rng, -0.08, 0.08)) * (hi - lo)
    return int(min(max(round(target), lo + min_side), hi - min_side))


def subdivide(
    rng: np.random.Generator,
    rect: Rect,
    count: int,
    min_side: int,
    corridor_width: int,
    axis: str | None = None,
) -> list[tuple[Rect, bool]]:
    """Recursively split ``rect`` into about ``count`` rooms; returns ``(rect, is_corridor)`` pairs.

    ``axis`` forces cuts across that axis ("x": vertical cut lines), so that every room of a
    corridor side keeps its edge on the corridor.
    """
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    if axis is not None:  # rooms side by side along a corridor: none narrower than depth / 2.5
        along, depth = (w, h) if axis == "x" else (h, w)
        count = min(count, max(1, int(along * MAX_ASPECT / max(depth, 1))))
    elif count == 1 and max(w, h) > MAX_ASPECT * min(w, h) and max(w, h) >= 2 * min_side:
        count = 2  # split an elongated leftover in two rather than keep a 1:4 room
    if count <= 1:
        return [(rect, False)]
    if axis is None and count >= 4 and rng.random() < 0.6:
        rooms = _with_corridor(rng, rect, count, min_side, corridor_width)
        if rooms is not None:
            return rooms
    if axis is None:
        preferred, other = ("x", "y") if w >= h else ("y", "x")
        order = [other, preferred] if rng.random() < 0.15 else [preferred, other]
    else:
        order = [axis]
    first = int(min(max(round(count * _uniform(rng, 0.35, 0.65)), 1), count - 1))
    for cut_axis in order:
        parts = _cut(rng, rect, cut_axis, first / count, min_side)
        if parts is not None:
            return subdivide(rng, parts[0], first, min_side, corridor_width, axis) + subdivide(
                rng, parts[1], count - first, min_side, corridor_width, axis
            )
    return [(rect, False)]


def _cut(
    rng: np.random.Generator, rect: Rect, axis: str, fraction: float, min_side: int
) -> tuple[Rect, Rect] | None:
    """Two rectangles from one cut across ``axis`` ("x": a vertical cut line), or None if too small."""
    x0, y0, x1, y1 = rect
    if axis == "x":
        cut = _split_position(rng, x0, x1, fraction, min_side)
        return None if cut is None else ((x0, y0, cut, y1), (cut, y0, x1, y1))
    cut = _split_position(rng, y0, y1, fraction, min_side)
    return None if cut is None else ((x0, y0, x1, cut), (x0, cut, x1, y1))


def _with_corridor(
    rng: np.random.Generator, rect: Rect, count: int, min_side: int, corridor_width: int
) -> list[tuple[Rect, bool]] | None:
    """Carve a corridor along the long axis of ``rect`` with rooms on both sides (None if it cannot fit)."""
    x0, y0, x1, y1 = rect
    transposed = (y1 - y0) > (x1 - x0)
    if transposed:  # work as if the long axis were x
        x0, y0, x1, y1 = y0, x0, y1, x1
    length, depth = x1 - x0, y1 - y0
    if depth < 2 * min_side + corridor_width or length < 2 * min_side:
        return None
    c0 = y0 + min_side + round(_uniform(rng, 0.25, 0.75) * (depth - 2 * min_side - corridor_width))
    c1 = c0 + corridor_width
    end = x1
    pieces: list[tuple[Rect, int | None, bool]] = []
    if length >= 3 * min_side and rng.random() < 0.5:
        end = x0 + round(length * _uniform(rng, 0.6, 0.85))
        end = min(end, x1 - min_side)
        pieces.append(((end, y0, x1, y1), None, False))
    sides = [(x0, y0, end, c0), (x0, c1, end, y1)]
    remaining = count - 1 - (1 if len(pieces) else 0)
    if remaining < 2:
        return None
    top = max(1, round(remaining * (c0 - y0) / max(depth - corridor_width, 1)))
    top = min(top, remaining - 1)
    pieces += [((x0, c0, end, c1), None, True), (sides[0], top, False), (sides[1], remaining - top, False)]
    out: list[tuple[Rect, bool]] = []
    for piece, n, is_corridor in pieces:
        px0, py0, px1, py1 = piece
        real = (py0, px0, py1, px1) if transposed else piece
        if is_corridor:
            out.append((real, True))
        elif n is None:
            out.append((real, False))
        else:
            out += subdivide(rng, real, n, min_side, corridor_width, "y" if transposed else "x")
    return out


# ---------------------------------------------------------------------------------------------
# walls and slots from room rectangles
# ---------------------------------------------------------------------------------------------


def _line_intervals(
    edges: list[tuple[int, int, int, int]],
) -> list[tuple[int, int, int | None, int | None]]:
    """Elementary intervals of one grid line with the room on each side: ``(u, v, neg_room, pos_room)``."""
    points = sorted({e[0] for e in edges} | {e[1] for e in edges})
    out = []
    for u, v in itertools.pairwise(points):
        neg = pos = None
        for a, b, room, side in edges:
            if a <= u and v <= b:
                if side > 0:
                    pos = room
                else:
                    neg = room
        if neg is not None or pos is not None:
            out.append((u, v, neg, pos))
    return out


def build_walls(
    rects: list[Rect],
    t_int: int,
    t_ext: int,
    offset: float,
    extent: tuple[int, int],
    thick_spines: bool = False,
) -> tuple[list[LayoutWall], list[Slot]]:
    """Merge the room edges into maximal walls (split where exterior/interior changes) and slots.

    With ``thick_spines`` interior walls spanning at least 60 % of the building (the load-bearing
    spines) are as thick as the exterior walls (same parity, so their faces stay between pixels).
    """
    lines: dict[tuple[str, int], list[tuple[int, int, int, int]]] = defaultdict(list)
    for index, (x0, y0, x1, y1) in enumerate(rects):
        lines[("h", y0)].append((x0, x1, index, +1))
        lines[("h", y1)].append((x0, x1, index, -1))
        lines[("v", x0)].append((y0, y1, index, +1))
        lines[("v", x1)].append((y0, y1, index, -1))
    walls: list[LayoutWall] = []
    slots: list[Slot] = []
    for (orient, coord), edges in sorted(lines.items()):
        intervals = _line_intervals(edges)
        groups: list[list[tuple[int, int, int | None, int | None]]] = []
        for item in intervals:
            last = groups[-1][-1] if groups else None
            same_kind = last is not None and (None in last[2:]) == (None in item[2:])
            if last is not None and last[1] == item[0] and same_kind:
                groups[-1].append(item)
            else:
                groups.append([item])
        for group in groups:
            exterior = None in group[0][2:]
            wall_id = f"w{len(walls) + 1}"
            start = _point(orient, coord, group[0][0], offset)
            end = _point(orient, coord, group[-1][1], offset)
            span = group[-1][1] - group[0][0]
            spine = span >= 0.6 * (extent[0] if orient == "h" else extent[1])
            thickness = t_ext if exterior or (thick_spines and spine) else t_int
            walls.append(LayoutWall(wall_id, start, end, thickness, exterior, exterior or spine))
            normal = np.array([0.0, 1.0]) if orient == "h" else np.array([1.0, 0.0])
            run: list[tuple[int, int, int | None, int | None]] = []
            for item in [*group, None]:
                if run and (item is None or item[2:] != run[-1][2:]):
                    slots.append(
                        Slot(
                            wall_id,
                            _point(orient, coord, run[0][0], offset),
                            _point(orient, coord, run[-1][1], offset),
                            (run[0][2], run[0][3]),
                            normal,
                            float(thickness),
                        )
                    )
                    run = []
                if item is not None:
                    run.append(item)
    return walls, slots


def _point(orient: str, coord: int, along: int, offset: float) -> np.ndarray:
    if orient == "h":
        return np.array([along + offset, coord + offset])
    return np.array([coord + offset, along + offset])


# ---------------------------------------------------------------------------------------------
# diagonal corners and bays
# ---------------------------------------------------------------------------------------------


def _wall_by_id(walls: list[LayoutWall], wall_id: str) -> LayoutWall:
    return next(w for w in walls if w.id == wall_id)


def add_chamfer(rng: np.random.Generator, layout: Layout, margin: float) -> bool:
    """Cut one convex building corner with a 45-degree or rounded exterior wall; False if none fits."""
    candidates = []
    for slot_a in layout.slots:
        if not slot_a.exterior or slot_a.normal[1] != 1.0:
            continue
        for slot_b in layout.slots:
            if not slot_b.exterior or slot_b.normal[0] != 1.0 or slot_b.rooms != slot_a.rooms:
                continue
            for pa in (slot_a.a, slot_a.b):
                for pb in (slot_b.a, slot_b.b):
                    if np.allclose(pa, pb):
                        candidates.append((slot_a, slot_b, pa.copy()))
    if not candidates:
        return False
    slot_h, slot_v, corner = candidates[int(rng.integers(len(candidates)))]
    room_index = next(r for r in slot_h.rooms if r is not None)
    room = layout.rooms[room_index]
    x0, y0, x1, y1 = room.rect
    cut = float(round(min(x1 - x0, y1 - y0) * _uniform(rng, 0.25, 0.4)))
    if cut < 2 * margin or slot_h.length < cut + 3 * margin or slot_v.length < cut + 3 * margin:
        return False
    points = {}
    for slot in (slot_h, slot_v):
        wall = _wall_by_id(layout.walls, slot.wall_id)
        inward = slot.direction if np.allclose(slot.a, corner) else -slot.direction
        moved = corner + inward * cut
        if np.allclose(wall.start, corner):
            wall.start = moved
        else:
            wall.end = moved
        if np.allclose(slot.a, corner):
            slot.a = moved
        else:
            slot.b = moved
        points[id(slot)] = moved
    p, q = points[id(slot_h)], points[id(slot_v)]
    t_ext = float(layout.exterior_thickness)
    if rng.random() < 0.5:  # a diagonal wall with room for a window
        wall_id = f"w{len(layout.walls) + 1}"
        layout.walls.append(LayoutWall(wall_id, p, q, t_ext, True, True))
        centre = np.array(room.outline.centroid.coords[0])
        normal = np.array([-(q - p)[1], (q - p)[0]]) / max(math.dist(p, q), 1e-9)
        if np.dot(centre - p, normal) < 0:
            normal = -normal
        layout.slots.append(Slot(wall_id, p, q, (None, room_index), normal, t_ext))
        cut_off = Polygon([corner, p, q])
    else:  # a quarter-circle corner drawn as a chain of short walls
        arc = _arc_points(p, q, corner, layout.exterior_thickness)
        for a, b in itertools.pairwise(arc):
            layout.walls.append(LayoutWall(f"w{len(layout.walls) + 1}", a, b, t_ext, True, True))
        cut_off = Polygon([corner, *arc])
    room.outline = _clean(room.outline.difference(cut_off))
    return True


def _arc_points(p: np.ndarray, q: np.ndarray, corner: np.ndarray, thickness: float) -> list[np.ndarray]:
    """Points of the quarter circle from ``p`` to ``q`` that rounds off ``corner``."""
    centre = p + q - corner
    radius = math.dist(p, centre)
    a1 = math.atan2(*(p - centre)[::-1])
    a2 = math.atan2(*(q - centre)[::-1])
    sweep = (a2 - a1 + math.pi) % (2 * math.pi) - math.pi
    n = int(np.clip(abs(sweep) * radius / (3.0 * thickness), 3, 16))
    points = [
        centre + radius * np.array([math.cos(t), math.sin(t)]) for t in a1 + sweep * np.linspace(0, 1, n + 1)
    ]
    points[0], points[-1] = p, q
    return points


def add_bay(rng: np.random.Generator, layout: Layout, margin: float, max_depth: float) -> bool:
    """Push a curved or box bay out of one exterior wall stretch; False if none is long enough."""
    min_len = 2.6 * layout.ppm
    candidates = [
        s
        for s in layout.slots
        if s.exterior and s.length >= max(min_len, 8 * margin) and abs(s.normal[0]) in (0.0, 1.0)
    ]
    if not candidates:
        return False
    slot = candidates[int(rng.integers(len(candidates)))]
    room_index = next(r for r in slot.rooms if r is not None)
    outward = -slot.normal if slot.rooms[0] is None else slot.normal
    chord = float(round(slot.length * _uniform(rng, 0.4, 0.65)))
    start = float(round((slot.length - chord) / 2 + _uniform(rng, -0.1, 0.1) * (slot.length - chord)))
    start = min(max(start, 2 * margin), slot.length - chord - 2 * margin)
    if start < 2 * margin:
        return False
    m1 = slot.a + slot.direction * start
    m2 = m1 + slot.direction * chord
    kind = "arc" if rng.random() < 0.5 else "box"
    if kind == "arc":
        depth = min(chord * _uniform(rng, 0.2, 0.45), max_depth)
        radius = (chord**2 / 4 + depth**2) / (2 * depth)
        centre = (m1 + m2) / 2 - outward * (radius - depth)
        a1 = math.atan2(*(m1 - centre)[::-1])
        a2 = math.atan2(*(m2 - centre)[::-1])
        sweep = (a2 - a1 + math.pi) % (2 * math.pi) - math.pi
        apex = math.atan2(*outward[::-1])
        mid = a1 + sweep / 2
        if abs((mid - apex + math.pi) % (2 * math.pi) - math.pi) > math.pi / 2:
            sweep = sweep - math.copysign(2 * math.pi, sweep)
        n = int(np.clip(abs(sweep) * radius / (3.0 * layout.exterior_thickness), 6, 24))
        angles = a1 + sweep * np.linspace(0.0, 1.0, n + 1)
        points = [centre + radius * np.array([math.cos(t), math.sin(t)]) for t in angles]
        points[0], points[-1] = m1, m2
    else:
        depth = min(chord * _uniform(rng, 0.2, 0.3), max_depth)
        points = [
            m1,
            m1 + outward * depth + slot.direction * depth,
            m2 + outward * depth - slot.direction * depth,
            m2,
        ]
    _split_wall(layout, slot, m1, m2)
    t_ext = float(layout.exterior_thickness)
    bay_poly = Polygon([(float(p[0]), float(p[1])) for p in points])
    for p, q in itertools.pairwise(points):
        wall_id = f"w{len(layout.walls) + 1}"
        layout.walls.append(LayoutWall(wall_id, p, q, t_ext, True, True))
        if kind == "box" and math.dist(p, q) >= 4 * margin:
            normal = np.array([-(q - p)[1], (q - p)[0]]) / math.dist(p, q)
            if np.dot(outward, normal) > 0:
                normal = -normal
            layout.slots.append(Slot(wall_id, p, q, (None, room_index), normal, t_ext))
    room = layout.rooms[room_index]
    room.outline = _clean(room.outline.union(bay_poly))
    return True


def _split_wall(layout: Layout, slot: Slot, m1: np.ndarray, m2: np.ndarray) -> None:
    """Remove the stretch ``m1``-``m2`` (inside ``slot``) from its wall, leaving two walls and slots."""
    wall = _wall_by_id(layout.walls, slot.wall_id)
    origin, axis = wall.start.copy(), wall.end - wall.start
    near, far = (m1, m2) if np.dot(axis, slot.direction) > 0 else (m2, m1)
    new_id = f"w{len(layout.walls) + 1}"
    layout.walls.append(LayoutWall(new_id, far.copy(), wall.end.copy(), wall.thickness, True, True))
    wall.end = near.copy()
    tail = Slot(new_id, m2.copy(), slot.b.copy(), slot.rooms, slot.normal, slot.thickness)
    slot.b = m1.copy()
    cut_at = float(np.dot(far - origin, axis))
    for other in layout.slots:  # stretches of the old wall beyond the cut now belong to the new wall
        if other is not slot and other.wall_id == wall.id and np.dot(other.a - origin, axis) >= cut_at - 1e-6:
            other.wall_id = new_id
    layout.slots.append(tail)
    if np.dot(tail.a - origin, axis) < cut_at - 1e-6:  # slot ran against the wall direction
        tail.wall_id, slot.wall_id = wall.id, new_id


def _clean(geometry: BaseGeometry) -> Polygon:
    """The largest polygon of a shapely result, with collinear vertices removed."""
    if geometry.geom_type == "MultiPolygon":
        geometry = max(geometry.geoms, key=lambda g: g.area)
    if geometry.geom_type != "Polygon" or geometry.is_empty:
        raise LayoutError("room geometry degenerated")
    return geometry.simplify(0.01)


# ---------------------------------------------------------------------------------------------
# openings
# ---------------------------------------------------------------------------------------------


def place_on_slot(
    rng: np.random.Generator, slot: Slot, width: float, margin: float, where: str = "random"
) -> tuple[float, float] | None:
    """Reserve ``width`` pixels on ``slot`` at least ``margin`` from its ends and other openings.

    On axis-aligned walls the opening's ends land on half-integer coordinates, between pixel
    centres, so its gap has exactly ``width`` pixels along the wall.
    """
    width = float(round(width))
    lo, hi = margin, slot.length - margin - width
    along = float(slot.a @ np.abs(slot.direction)) if np.any(np.abs(slot.direction) == 1.0) else 0.5
    phase = (0.5 - along) % 1.0
    if hi < lo:
        return None
    if where == "centre":
        first = (lo + hi) / 2 + _uniform(rng, -0.15, 0.15) * (hi - lo)
    elif where == "end":
        first = lo if rng.random() < 0.5 else hi
    else:
        first = _uniform(rng, lo, hi)
    candidates = [first, lo, hi, *np.linspace(lo, hi, 9).tolist()]
    for s in candidates:
        s = float(round(s - phase)) + phase
        s = s + 1.0 if s < lo else (s - 1.0 if s > hi else s)
        if s < lo - 1e-9 or s > hi + 1e-9:
            continue
        if all(s + width + margin <= a or s >= b + margin for a, b in slot.occupied):
            slot.occupied.append((s, s + width))
            return s, s + width
    return None


def _opening(slot: Slot, interval: tuple[float, float], kind: str) -> LayoutOpening:
    start = slot.a + slot.direction * interval[0]
    end = slot.a + slot.direction * interval[1]
    return LayoutOpening(kind, start, end, slot.wall_id, slot.thickness, slot.rooms)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def add_doors(rng: np.random.Generator, layout: Layout, door: float, margin: float) -> None:
    """Doors on a random spanning tree of the room graph, entrances, and a few extra doors."""
    rooms = layout.rooms
    need = door + 2 * margin
    interior = [s for s in layout.slots if not s.exterior and s.length >= need]
    weights = [
        rng.random() - (0.6 if any(rooms[r].corridor for r in s.rooms if r is not None) else 0.0)
        for s in interior
    ]
    parent = list(range(len(rooms)))
    spare = []
    for index in np.argsort(weights, kind="stable"):
        slot = interior[int(index)]
        a, b = _find(parent, slot.rooms[0]), _find(parent, slot.rooms[1])
        if a == b:
            spare.append(slot)
        elif _add_connection(rng, layout, slot, door, margin):
            parent[a] = b
    for slot in spare:
        if rng.random() < 0.15:
            _add_connection(rng, layout, slot, door, margin)
    _add_entrances(rng, layout, door, margin, parent)


def _add_connection(rng: np.random.Generator, layout: Layout, slot: Slot, door: float, margin: float) -> bool:
    """A door (sometimes a wider open passage) between the two rooms of ``slot``; False if it cannot fit."""
    rooms = layout.rooms
    passage = rng.random() < 0.12 and not any(rooms[r].kind in ("bath", "wc") for r in slot.rooms)
    if passage:
        width = min(door * _uniform(rng, 1.2, 1.8), slot.length - 2 * margin)
        interval = place_on_slot(rng, slot, width, margin, "end" if rng.random() < 0.6 else "random")
        if interval is None:
            return False
        layout.openings.append(_opening(slot, interval, "opening"))
        return True
    leaf = "double" if rng.random() < 0.06 else "single"
    return _place_door(rng, layout, slot, door, margin, leaf, "end" if rng.random() < 0.6 else "random")


DOOR_WIDTH_FACTOR = {"single": 1.0, "double": 1.6, "sliding": 1.8}


def _place_door(
    rng: np.random.Generator, layout: Layout, slot: Slot, door: float, margin: float, leaf: str, where: str
) -> bool:
    """A door with ``leaf`` on ``slot`` (a single leaf if the wider kind does not fit); False if none fits."""
    for kind in dict.fromkeys([leaf, "single"]):
        interval = place_on_slot(rng, slot, door * DOOR_WIDTH_FACTOR[kind], margin, where)
        if interval is not None:
            opening = _opening(slot, interval, "door")
            opening.leaf = kind
            _set_swing(rng, opening, slot, layout.rooms)
            _avoid_other_swings(opening, layout.openings)
            layout.openings.append(opening)
            return True
    return False


def swing_box(opening: LayoutOpening) -> Box:
    """The square a door leaf sweeps, on the side it opens into."""
    normal = opening.swing_normal if opening.swing_normal is not None else np.zeros(2)
    width = float(np.hypot(*(opening.end - opening.start)))
    face = normal * (opening.thickness / 2.0)
    near = np.array([opening.start + face, opening.end + face])
    corners = np.vstack([near, near + normal * width])
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _avoid_other_swings(opening: LayoutOpening, others: list[LayoutOpening]) -> None:
    """Between two rooms, swing the door into the other room when its side clashes with another door."""
    taken = [swing_box(o) for o in others if o.type == "door" and o.swing_normal is not None]
    if not taken or opening.swing_normal is None or None in opening.rooms:
        return
    first = opening.swing_normal
    for normal in (first, -first):
        opening.swing_normal = normal
        if not any(_boxes_overlap(swing_box(opening), box) for box in taken):
            return
    opening.swing_normal = first


def _set_swing(rng: np.random.Generator, opening: LayoutOpening, slot: Slot, rooms: list[LayoutRoom]) -> None:
    side_rooms = slot.rooms
    if side_rooms[0] is None:
        into = 1
    elif side_rooms[1] is None:
        into = 0
    else:
        areas = [rooms[r].outline.area for r in side_rooms]
        into = int(np.argmax(areas)) if rng.random() < 0.7 else int(rng.integers(2))
    opening.swing_normal = slot.normal if into == 1 else -slot.normal
    opening.hinge_at_start = bool(rng.random() < 0.5)


def _add_entrances(
    rng: np.random.Generator, layout: Layout, door: float, margin: float, parent: list[int]
) -> None:
    """At least one entrance per connected group of rooms (usually one group), preferring halls."""
    rooms = layout.rooms
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(rooms)):
        groups[_find(parent, index)].append(index)
    priority = {"hall": 0, "living": 1, "kitchen": 2}
    for members in groups.values():
        slots = [
            s
            for s in layout.slots
            if s.exterior
            and s.length >= door + 2 * margin
            and next(r for r in s.rooms if r is not None) in members
        ]
        slots.sort(
            key=lambda s: (
                priority.get(rooms[next(r for r in s.rooms if r is not None)].kind, 9),
                rng.random(),
            )
        )
        wanted = 2 if len(members) > 6 and rng.random() < 0.3 else 1
        placed = 0
        for slot in slots:
            kind = rooms[next(r for r in slot.rooms if r is not None)].kind
            roll = rng.random()
            leaf = (
                "double"
                if roll < 0.2
                else ("sliding" if roll < 0.4 and kind in ("living", "dining") else "single")
            )
            if not _place_door(rng, layout, slot, door, margin, leaf, "random"):
                continue
            placed += 1
            if placed == wanted:
                break
        if placed == 0:
            raise LayoutError("a group of rooms has no wall long enough for an entrance")


def add_windows(rng: np.random.Generator, layout: Layout, margin: float) -> None:
    """Windows on exterior stretches: most rooms get one or two, corridors and closets rarely."""
    ppm = layout.ppm
    for slot in layout.slots:
        if not slot.exterior:
            continue
        room = layout.rooms[next(r for r in slot.rooms if r is not None)]
        chance = {"hall": 0.3, "closet": 0.15, "wc": 0.5}.get(room.kind, 0.75)
        if rng.random() > chance:
            continue
        count = 2 if slot.length > 5.0 * ppm and rng.random() < 0.5 else 1
        for _ in range(count):
            usable = slot.length - 2 * margin
            width = float(round(np.clip(usable * _uniform(rng, 0.22, 0.5) / count, 0.6 * ppm, 1.8 * ppm)))
            width = min(width, usable)
            if width < max(6.0, 0.4 * ppm):
                continue
            interval = place_on_slot(rng, slot, width, margin, "centre" if count == 1 else "random")
            if interval is not None:
                layout.openings.append(_opening(slot, interval, "window"))


# ---------------------------------------------------------------------------------------------
# rooms
# ---------------------------------------------------------------------------------------------

ROOM_KINDS = ("living", "kitchen", "dining", "bedroom", "bath", "wc", "closet", "study", "utility", "hall")


def assign_kinds(rng: np.random.Generator, rooms: list[LayoutRoom], ppm: float) -> None:
    """Give each room a kind from its size: the largest is the living room, small ones bath/wc/closet."""
    order = sorted(range(len(rooms)), key=lambda i: -rooms[i].outline.area)
    plain = [i for i in order if not rooms[i].corridor]
    for i in range(len(rooms)):
        if rooms[i].corridor:
            rooms[i].kind = "hall"
    sqm = {i: rooms[i].outline.area / ppm**2 for i in plain}
    small = [i for i in plain if sqm[i] < 4.5]
    regular = [i for i in plain if i not in small]
    if not regular:
        regular, small = plain, []
    sequence = [
        "living",
        "kitchen",
        "bedroom",
        "bath",
        "bedroom",
        "dining",
        "bedroom",
        "study",
        "bath",
        "utility",
    ]
    for n, i in enumerate(regular):
        rooms[i].kind = sequence[n] if n < len(sequence) else str(rng.choice(["bedroom", "study", "utility"]))
    if len(regular) > 2 and "bath" not in [rooms[i].kind for i in regular] and not small:
        rooms[regular[-1]].kind = "bath"
    small_kinds = ["bath", "wc", "closet", "closet", "utility"]
    for n, i in enumerate(small):
        rooms[i].kind = small_kinds[n] if n < len(small_kinds) else "closet"


def add_columns(rng: np.random.Generator, layout: Layout, probability: float) -> None:
    """Columns at the ends of axis-aligned load-bearing walls, each with ``probability``.

    A column is a wall record (load-bearing, not exterior): thickness ``t_ext + 2`` and length 2
    along the host, so with square caps it covers ``(t_ext + 4) x (t_ext + 2)`` pixels centred on the
    wall end, one pixel proud of a wall face on each side, its faces between pixel centres (same
    parity as the host).  Columns that would touch an opening are left out.
    """
    size = layout.exterior_thickness + 2
    ends: dict[tuple[float, float], np.ndarray] = {}
    for wall in layout.walls:
        if not wall.load_bearing or not (wall.start[0] == wall.end[0] or wall.start[1] == wall.end[1]):
            continue
        for point in (wall.start, wall.end):
            ends.setdefault((float(point[0]), float(point[1])), point)
    gaps = [Polygon(segment_polygon(o.start, o.end, o.thickness)) for o in layout.openings]
    clear = unary_union(gaps).buffer(2.0) if gaps else None
    for key in sorted(ends):
        if rng.random() >= probability:
            continue
        centre = ends[key]
        start, end = centre - np.array([1.0, 0.0]), centre + np.array([1.0, 0.0])
        footprint = Polygon(segment_polygon(start, end, size))
        if clear is not None and footprint.intersects(clear):
            continue
        layout.walls.append(LayoutWall(f"w{len(layout.walls) + 1}", start, end, float(size), False, True))


def compute_interiors(layout: Layout) -> None:
    """Each room's interior: its centreline outline minus every wall's footprint."""
    walls = unary_union([Polygon(segment_polygon(w.start, w.end, w.thickness)) for w in layout.walls])
    for room in layout.rooms:
        room.interior = _clean(room.outline.difference(walls))


# ---------------------------------------------------------------------------------------------
# the whole layout
# ---------------------------------------------------------------------------------------------


def generate_layout(
    rng: np.random.Generator,
    width: int,
    height: int,
    params: LayoutParams,
    margin_px: int,
    max_bay_depth: float,
    attempts: int = 8,
) -> Layout:
    """A complete plan on a ``width`` x ``height`` canvas, the building inside ``margin_px`` borders."""
    last_error: Exception | None = None
    for _ in range(attempts):
        try:
            return _attempt(rng, width, height, params, margin_px, max_bay_depth)
        except LayoutError as exc:
            last_error = exc
    raise LayoutError(f"no valid layout after {attempts} attempts: {last_error}")


def room_shares(blocks: list[Rect], count: int) -> list[int]:
    """Split ``count`` rooms over the blocks by area (largest remainders), at least one each."""
    areas = np.array([(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in blocks], dtype=np.float64)
    exact = np.maximum(count, len(blocks)) * areas / areas.sum()
    shares = np.maximum(np.floor(exact).astype(int), 1)
    for index in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if shares.sum() >= max(count, len(blocks)):
            break
        shares[index] += 1
    return [int(v) for v in shares]


def _thicknesses(params: LayoutParams, ppm: float) -> tuple[int, int]:
    t_int = max(params.min_interior_px, round(params.interior_wall_m * ppm))
    gap = max(params.min_exterior_gap_px, round((params.exterior_wall_m * ppm - t_int) / 2) * 2)
    gap += gap % 2
    return t_int, t_int + gap


@dataclass(frozen=True)
class Scale:
    """Pixel sizes of one layout, all derived from its pixels-per-metre ``ppm``."""

    ppm: float
    building: tuple[int, int]  # width, height of the building box in pixels
    interior: int  # interior wall thickness
    exterior: int  # exterior wall thickness (same parity, thicker)
    offset: float  # 0.5 for even thicknesses: centrelines on half-integers, faces between pixel centres
    door: float
    margin: float  # clearance of openings from wall junctions and from each other
    min_side: int  # smallest room side
    corridor: int


def choose_scale(rng: np.random.Generator, params: LayoutParams, avail: tuple[int, int], rooms: int) -> Scale:
    """Building size for ``rooms`` rooms fitted into ``avail`` pixels, and the pixel sizes that follow."""
    area_m2 = rooms * _uniform(rng, 10.0, 17.0)
    aspect = (avail[0] / avail[1]) * _uniform(rng, 0.8, 1.2)
    width_m = math.sqrt(area_m2 * 1.15 * aspect)
    height_m = width_m / aspect
    ppm = min(avail[0] / width_m, avail[1] / height_m)
    building = (min(int(width_m * ppm), avail[0]), min(int(height_m * ppm), avail[1]))
    t_int, t_ext = _thicknesses(params, ppm)
    door = float(max(8, round(_uniform(rng, *params.door_m) * ppm)))
    margin = float(math.ceil(t_ext / 2) + max(2, round(0.1 * ppm)))
    return Scale(
        ppm=ppm,
        building=building,
        interior=t_int,
        exterior=t_ext,
        offset=0.5 if t_int % 2 == 0 else 0.0,
        door=door,
        margin=margin,
        min_side=int(max(1.7 * ppm, door + 2 * margin + t_ext)),
        corridor=int(max(1.1 * ppm, door + 2 * margin) * _uniform(rng, 1.0, 1.25)),
    )


def _attempt(
    rng: np.random.Generator,
    width: int,
    height: int,
    params: LayoutParams,
    margin_px: int,
    max_bay_depth: float,
) -> Layout:
    n_rooms = int(np.clip(round(rng.triangular(MIN_ROOMS, 8, MAX_ROOMS + 0.99) - 0.5), MIN_ROOMS, MAX_ROOMS))
    avail = (width - 2 * margin_px, height - 2 * margin_px)
    if min(avail) < 40:
        raise LayoutError(f"canvas {width}x{height} is too small for a plan")
    scale = choose_scale(rng, params, avail, n_rooms)
    bw, bh = scale.building
    blocks = footprint_blocks(rng, bw, bh, scale.min_side)
    rects: list[tuple[Rect, bool]] = []
    for block, share in zip(blocks, room_shares(blocks, n_rooms), strict=True):
        rects += subdivide(rng, block, share, scale.min_side, scale.corridor)
    if not MIN_ROOMS <= len(rects) <= MAX_ROOMS:
        raise LayoutError(f"{len(rects)} rooms, outside {MIN_ROOMS}..{MAX_ROOMS}")
    ox, oy = margin_px + (avail[0] - bw) // 2, margin_px + (avail[1] - bh) // 2
    rects = [((x0 + ox, y0 + oy, x1 + ox, y1 + oy), c) for (x0, y0, x1, y1), c in rects]
    walls, slots = build_walls(
        [r for r, _ in rects], scale.interior, scale.exterior, scale.offset, (bw, bh), params.thick_spines
    )
    off = scale.offset
    rooms = [
        LayoutRoom("room", r, shapely_box(r[0] + off, r[1] + off, r[2] + off, r[3] + off), corridor=c)
        for r, c in rects
    ]
    footprint = unary_union([room.outline for room in rooms])
    layout = Layout(
        width, height, scale.ppm, scale.interior, scale.exterior, walls, [], rooms, footprint, slots
    )
    if rng.random() < 0.2:
        add_chamfer(rng, layout, scale.margin)
    if rng.random() < 0.2:
        add_bay(rng, layout, scale.margin, max_bay_depth)
    assign_kinds(rng, rooms, scale.ppm)
    add_doors(rng, layout, scale.door, scale.margin)
    add_windows(rng, layout, scale.margin)
    if params.column_probability > 0:  # opt-in styles only: no draw otherwise
        add_columns(rng, layout, params.column_probability)
    compute_interiors(layout)
    layout.footprint = unary_union([room.outline for room in rooms])
    return layout
