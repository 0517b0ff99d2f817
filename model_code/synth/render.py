"""Drawing a layout as a raster plan in a :class:`~model_code.synth.styles.Look`.

Walls are painted from the exact wall mask (solid, grey, hollow outline, hatched or thin), so the
drawn wall pixels are the ground-truth pixels.  Doors are gaps with a leaf and a swing arc in the
room they open into, windows thin multi-line inserts across the wall band, plain openings bare gaps.
Doors and windows named ``bare`` are left as plain gaps too (their swing area stays reserved).
Room labels, furniture and decorations never touch the wall band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from shapely import Polygon
from shapely.geometry import box as shapely_box

from model_code.synth.canvas import SCALE, SHIFT, blank, fixed_point, fixed_points, paint
from model_code.synth.decor import Terrace, draw_decorations, draw_grid
from model_code.synth.extras import (
    draw_ceiling_frames,
    draw_dense_dimensions,
    draw_floor_textures,
    draw_rugs,
    draw_trees,
    draw_wall_shadow,
    paint_split_walls,
)
from model_code.synth.layout import Box, Layout, LayoutOpening, LayoutRoom, swing_box
from model_code.synth.sheet import pseudo_glyphs
from model_code.synth.styles import ROOM_COLOURS, Look
from model_code.synth.symbols import furnish
from model_code.synth.text import TextSpec, draw_text, fit_scale, rotated_extent
from model_code.synth.words import PrintedText, Words

ROOM_NAMES: dict[str, tuple[str, ...]] = {
    "living": (
        "Living Room",
        "Lounge",
        "Reception",
        "Living",
        "Reception Room",
        "Family Room",
        "Sitting Room",
    ),
    "kitchen": ("Kitchen", "Kit.", "Kitchen/Diner", "Kitchen Area", "Kitchen/Breakfast"),
    "dining": ("Dining Room", "Dining", "Dining Area", "Dining Hall"),
    "bedroom": ("Bedroom", "Bedroom {n}", "Bed {n}", "Bedroom {n}", "Sleeping Room"),
    "bath": ("Bathroom", "Bath", "Shower Room", "En-suite", "Shower", "Washroom"),
    "wc": ("WC", "W.C.", "Cloakroom", "Toilet"),
    "closet": ("Closet", "Store", "Storage", "Cupboard", "Wardrobe", "Cl.", "Pantry"),
    "study": ("Study", "Office", "Den", "Library"),
    "utility": ("Utility", "Laundry", "Utility Room", "Boiler Room"),
    "hall": ("Hall", "Hallway", "Entrance Hall", "Corridor", "Landing", "Entry"),
}


@dataclass
class Rendering:
    """The drawn image (before geometric and photometric artefacts), each room's drawn label and the
    terraces drawn outside the building (rooms of the ground truth too)."""

    image: np.ndarray
    labels: list[str | None]
    terraces: list[Terrace] = field(default_factory=list)


def paint_walls(image: np.ndarray, wall_mask: np.ndarray, look: Look) -> None:
    """Paint the wall pixels in the look's wall fill; only pixels of ``wall_mask`` change."""
    ink = np.asarray(look.ink, dtype=np.uint8)
    if look.wall_fill in ("solid", "line"):
        paint(image, wall_mask, ink)
        return
    mask_u8 = wall_mask.astype(np.uint8)
    inner = cv2.erode(mask_u8, np.ones((3, 3), np.uint8), iterations=look.line_width).astype(bool)
    outline = wall_mask & ~inner
    if look.wall_fill == "grey":
        paint(image, inner, look.wall_grey)
    elif look.wall_fill == "hatch":
        yy, xx = np.nonzero(inner)
        rising = ((xx + yy) % look.hatch_spacing) < look.line_width
        falling = ((xx - yy) % look.hatch_spacing) < look.line_width
        stripes = {"/": rising, "\\": falling}.get(look.hatch_kind, rising | falling)
        image[yy[stripes], xx[stripes]] = ink
    paint(image, outline, ink)


def draw_window(image: np.ndarray, opening: LayoutOpening, look: Look) -> None:
    """Thin lines along the window inside the wall band, closed by the two jambs."""
    direction = opening.end - opening.start
    length = float(np.hypot(*direction))
    if length == 0:
        return
    u = direction / length
    n = np.array([-u[1], u[0]])
    half = max(opening.thickness / 2.0 - 0.5, 0.5)
    lw = 1
    colour = look.layer("windows")
    offsets = (-half, 0.0, half) if opening.thickness >= 6 else (-half, half)
    for off in offsets:
        cv2.line(
            image,
            fixed_point(*(opening.start + n * off)),
            fixed_point(*(opening.end + n * off)),
            colour,
            lw,
            cv2.LINE_AA,
            SHIFT,
        )
    for end in (opening.start, opening.end):
        cv2.line(
            image,
            fixed_point(*(end - n * half)),
            fixed_point(*(end + n * half)),
            colour,
            lw,
            cv2.LINE_AA,
            SHIFT,
        )


def draw_door(image: np.ndarray, opening: LayoutOpening, look: Look) -> None:
    """A door: one or two leaves standing open with their swing arcs, or sliding panels in the wall band."""
    if opening.swing_normal is None:
        return
    if opening.leaf == "sliding":
        _sliding_panels(image, opening, look)
    elif opening.leaf == "double":
        middle = (opening.start + opening.end) / 2
        _leaf(image, opening.start, middle, opening, look)
        _leaf(image, opening.end, middle, opening, look)
    elif opening.hinge_at_start:
        _leaf(image, opening.start, opening.end, opening, look)
    else:
        _leaf(image, opening.end, opening.start, opening, look)


def _leaf(image: np.ndarray, hinge: np.ndarray, free: np.ndarray, opening: LayoutOpening, look: Look) -> None:
    """One leaf hinged at ``hinge``, open at 90 degrees, and its quarter-circle swing to ``free``."""
    colour = look.layer("doors")
    width = float(np.hypot(*(free - hinge)))
    face = opening.swing_normal * (opening.thickness / 2.0)
    pivot = hinge + face
    tip = pivot + opening.swing_normal * width
    cv2.line(
        image, fixed_point(*pivot), fixed_point(*tip), colour, max(1, look.line_width), cv2.LINE_AA, SHIFT
    )
    a1 = math.degrees(math.atan2(*(tip - pivot)[::-1]))
    a2 = math.degrees(math.atan2(*(free - hinge)[::-1]))
    if (a2 - a1) % 360 > 180:
        a1, a2 = a2, a1
    a2 = a1 + (a2 - a1) % 360
    radius = round(width * SCALE)
    cv2.ellipse(image, fixed_point(*pivot), (radius, radius), 0, a1, a2, colour, 1, cv2.LINE_AA, SHIFT)


def _sliding_panels(image: np.ndarray, opening: LayoutOpening, look: Look) -> None:
    """Two overlapping thin panels inside the wall band, as sliding patio doors are drawn."""
    colour = look.layer("doors")
    u = (opening.end - opening.start) / max(float(np.hypot(*(opening.end - opening.start))), 1e-9)
    n = np.array([-u[1], u[0]])
    quarter = max(opening.thickness / 4.0, 0.5)
    length = float(np.hypot(*(opening.end - opening.start)))
    for first, last, side in ((0.0, 0.55, -1.0), (0.45, 1.0, 1.0)):
        a = opening.start + u * (first * length) + n * (side * quarter)
        b = opening.start + u * (last * length) + n * (side * quarter)
        cv2.line(image, fixed_point(*a), fixed_point(*b), colour, max(1, look.line_width), cv2.LINE_AA, SHIFT)
    half = max(opening.thickness / 2.0 - 0.5, 0.5)
    for end in (opening.start, opening.end):
        cv2.line(
            image,
            fixed_point(*(end - n * half)),
            fixed_point(*(end + n * half)),
            colour,
            1,
            cv2.LINE_AA,
            SHIFT,
        )


def room_name(rng: np.random.Generator, kind: str, number: int, uppercase: bool) -> str:
    """A realistic label for a room of ``kind``; ``number`` fills bedroom numbering."""
    options = ROOM_NAMES.get(kind, ("Room",))
    name = str(options[int(rng.integers(len(options)))]).format(n=number)
    return name.upper() if uppercase else name


def area_text(rng: np.random.Generator, room: LayoutRoom, ppm: float) -> str:
    """A dimension or area line such as ``3.20 x 4.10 m``, ``10'6" x 13'5"`` or ``12.5 sq m``."""
    x0, y0, x1, y1 = room.interior.bounds
    w_m, h_m = (x1 - x0) / ppm, (y1 - y0) / ppm
    choice = int(rng.integers(3))
    if choice == 0:
        return f"{w_m:.2f} x {h_m:.2f} m"
    if choice == 1:
        return f"{_feet(w_m)} x {_feet(h_m)}"
    return f"{room.interior.area / ppm**2:.1f} sq m"


def _feet(metres: float) -> str:
    inches = round(metres / 0.0254)
    return f"{inches // 12}'{inches % 12}\""


def place_label(
    rng: np.random.Generator,
    image: np.ndarray,
    room: LayoutRoom,
    lines: list[str],
    look: Look,
    ppm: float,
    avoid: list[Box],
) -> Box | None:
    """Draw a room's label lines near the room's centre, clear of door swings; returns the box or None."""
    interior = room.interior
    target = float(np.clip(ppm * rng.uniform(0.22, 0.38), 6.0, max(6.0, 0.022 * max(image.shape[:2]))))
    thickness = max(1, round(target / 14)) if look.font != 4 else 1
    spec = TextSpec(
        look.font | (16 if look.italic else 0), fit_scale(look.font, lines[0], target, thickness), thickness
    )
    sizes = [spec.size(t) for t in lines]
    gap = max(2, round(target * 0.5))
    width = max(s[0] for s in sizes)
    height = sum(s[1] + s[2] for s in sizes) + gap * (len(lines) - 1)
    x0, y0, x1, y1 = interior.bounds
    angle = 0.0
    if rng.random() < 0.08:
        angle = float(rng.uniform(-30, 30))
    elif width > (x1 - x0) * 0.85 and (y1 - y0) > (x1 - x0):
        angle = 90.0
    ew, eh = rotated_extent(width, height, angle)
    centre = (
        interior.representative_point() if interior.area < 0.8 * (x1 - x0) * (y1 - y0) else interior.centroid
    )
    spot = _free_spot(interior, (float(centre.x), float(centre.y)), ew + 4, eh + 4, avoid)
    if spot is None:
        return None
    cx, cy = spot
    box = (cx - ew / 2 - 2, cy - eh / 2 - 2, cx + ew / 2 + 2, cy + eh / 2 + 2)
    a = math.radians(angle)
    step = np.array([math.sin(a), math.cos(a)])  # "down" for the rotated text block
    offset = -height / 2
    for text, (_, h, base) in zip(lines, sizes, strict=True):
        centre_line = np.array([cx, cy]) + step * (offset + h / 2)
        draw_text(
            image, text, (float(centre_line[0]), float(centre_line[1])), spec, look.layer("text"), angle
        )
        offset += h + base + gap
    return box


def _free_spot(
    interior: Polygon, centre: tuple[float, float], width: float, height: float, avoid: list[Box]
) -> tuple[float, float] | None:
    """The point nearest ``centre`` where a ``width`` x ``height`` box fits inside and clear of ``avoid``."""
    x0, y0, x1, y1 = interior.bounds
    xs = np.linspace(x0 + width / 2, x1 - width / 2, 7) if x1 - x0 > width else np.array([])
    ys = np.linspace(y0 + height / 2, y1 - height / 2, 7) if y1 - y0 > height else np.array([])
    grid = [(float(x), float(y)) for x in xs for y in ys]
    candidates = [centre, *sorted(grid, key=lambda p: math.dist(p, centre))]
    inner = interior.buffer(-2)
    for cx, cy in candidates:
        box = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
        if any(b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in avoid):
            continue
        if inner.contains(shapely_box(*box)):
            return cx, cy
    return None


def fill_rooms(image: np.ndarray, layout: Layout) -> None:
    """Pastel floor colours by room kind, inside each room's interior."""
    for room in layout.rooms:
        colour = ROOM_COLOURS.get(room.kind, (235, 235, 235))
        cv2.fillPoly(image, [fixed_points(room.interior.exterior.coords)], colour, cv2.LINE_8, SHIFT)


def swing_boxes(layout: Layout) -> list[list[Box]]:
    """Per room, the boxes its doors sweep (kept free of labels and furniture)."""
    boxes: list[list[Box]] = [[] for _ in layout.rooms]
    for opening in layout.openings:
        if opening.type == "door" and opening.swing_normal is not None:
            for index in opening.rooms:
                if index is not None:
                    boxes[index].append(swing_box(opening))
    return boxes


def draw_labels(
    rng: np.random.Generator,
    image: np.ndarray,
    layout: Layout,
    look: Look,
    avoid: list[list[Box]],
    words: Words | None = None,
) -> list[str | None]:
    """Draw each room's name (and sometimes its size) where it fits; returns the names drawn.

    With ``words`` the name and size come in its language and notations (the main ``rng`` draws
    exactly as without it), and ``words.printed`` records every line drawn with its ground truth.
    """
    labels: list[str | None] = [None] * len(layout.rooms)
    bedrooms = 0
    for index, room in enumerate(layout.rooms):
        bedrooms += room.kind == "bedroom"
        if not look.labels:
            continue
        name = room_name(rng, room.kind, bedrooms, look.uppercase)
        measure: PrintedText | None = None
        if words is not None:
            name = words.name(room.kind, bedrooms, look.uppercase)
        lines = [name]
        if look.area_text and room.kind not in ("closet", "wc", "hall"):
            lines.append(area_text(rng, room, layout.ppm))
            if words is not None:
                measure = words.measure(room, layout.ppm)
                lines[-1] = measure.text
        box = place_label(rng, image, room, lines, look, layout.ppm, avoid[index])
        if box is None and len(lines) > 1:
            box = place_label(rng, image, room, lines[:1], look, layout.ppm, avoid[index])
            measure = None
        if box is not None:
            labels[index] = name
            avoid[index].append(box)
            if words is not None:
                words.printed.append(PrintedText(index, "name", name))
                if measure is not None:
                    words.printed.append(
                        PrintedText(index, measure.kind, measure.text, measure.sides_m, measure.area_m2)
                    )
    return labels


def draw_glyph_labels(
    rng: np.random.Generator, image: np.ndarray, layout: Layout, look: Look, avoid: list[list[Box]]
) -> list[str | None]:
    """Room names as two to four ideogram-like glyphs (the Hangul/CJK look of architectural scans).

    The glyphs spell nothing, so every room's ``name_hint`` stays None; their boxes join ``avoid``.
    """
    for index, room in enumerate(layout.rooms):
        if room.interior is None or rng.random() >= 0.85:
            continue
        size = float(np.clip(layout.ppm * rng.uniform(0.3, 0.45), 7.0, 48.0))
        count = int(rng.integers(2, 5))
        width, height = count * size * 1.15, size
        centre = room.interior.representative_point()
        spot = _free_spot(
            room.interior, (float(centre.x), float(centre.y)), width + 4, height + 4, avoid[index]
        )
        if spot is None:
            continue
        x, y = spot[0] - width / 2, spot[1] - height / 2
        pseudo_glyphs(rng, image, x, y, size, count, look.layer("text"))
        avoid[index].append((x - 2, y - 2, x + width + 2, y + height + 2))
    return [None] * len(layout.rooms)


def render_layout(
    rng: np.random.Generator,
    layout: Layout,
    look: Look,
    wall_mask: np.ndarray,
    opening_mask: np.ndarray,
    bare: frozenset[int] = frozenset(),
    words: Words | None = None,
) -> Rendering:
    """Draw the whole plan: paper, grid, floors, labels, furniture, walls, openings, decorations.

    Openings whose index is in ``bare`` get no symbol: the gap stays paper.  Nothing else changes
    (no random draw depends on the symbols), so the image differs only where the symbols were.
    """
    image = blank(layout.height, layout.width, look.paper)
    draw_grid(rng, image, layout, look)
    if look.room_fill:
        fill_rooms(image, layout)
    if look.floor_texture or look.wet_tiles:
        draw_floor_textures(rng, image, layout, look)
    if look.ceiling_frames:
        draw_ceiling_frames(rng, image, layout, look)
    if look.rugs:
        draw_rugs(rng, image, layout, look)
    avoid = swing_boxes(layout)
    if look.glyph_labels and words is None:
        labels = draw_glyph_labels(rng, image, layout, look, avoid)
    else:
        labels = draw_labels(rng, image, layout, look, avoid, words)
    if look.furniture:
        for index, room in enumerate(layout.rooms):
            furnish(rng, image, room, layout, look, avoid[index])
    paint(image, wall_mask | opening_mask, look.paper)
    if look.structural_fill is not None:
        paint_split_walls(image, layout, wall_mask, look)
    else:
        paint_walls(image, wall_mask, look)
    if look.shadow:
        draw_wall_shadow(rng, image, wall_mask, opening_mask, layout.ppm)
    for index, opening in enumerate(layout.openings):
        if index in bare:
            continue
        if opening.type == "window":
            draw_window(image, opening, look)
        elif opening.type == "door":
            draw_door(image, opening, look)
    terraces = draw_decorations(rng, image, layout, look)
    if look.dense_dimensions:
        draw_dense_dimensions(rng, image, layout, look, wall_mask | opening_mask)
    if look.trees:
        draw_trees(rng, image, layout, look, wall_mask | opening_mask)
    return Rendering(image, labels, terraces)
