"""Plans drawn on a drawing sheet: the frame, title block, legend and annotations around the plan.

Customers' plans often come as whole sheets: a double-line frame (the inner line as heavy as a
wall), a title block along the right or bottom edge or in a corner (boxes, text lines, a logo, a
notes box), a legend with solid and hatched swatches, dimension chains with ticks and numbers
along the plan, grid bubbles, a north arrow, a scale bar and an underlined drawing title.  None of
it is wall or opening.

:func:`choose_sheet` decides (with probability ``fraction``) whether a plan goes on a sheet and
where the plan's canvas lies on it; the generator then lays out and renders the plan on that
smaller canvas and :func:`draw_sheet` pastes it at an integer offset and draws the sheet around
it.  Every random choice comes from the sheet's own generator (``default_rng([seed,
SHEET_STREAM])``), so the plan's main stream is untouched.  Pixels within
:data:`PROTECT_PX` of a wall or opening are restored from the plan after the sheet is drawn, so
the sheet never changes what the plan drew on or beside its walls.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from model_code.synth.canvas import SCALE, SHIFT, blank, fixed_point, paste
from model_code.synth.decor import dimension_chain
from model_code.synth.layout import Layout
from model_code.synth.styles import Look
from model_code.synth.text import TextSpec, draw_text, fit_scale

SHEET_STREAM = 2  # second word of the sheet generator's seed: default_rng([seed, SHEET_STREAM])
MIN_CANVAS = 128  # px: a plan canvas smaller than this on its sheet is not worth drawing
PROTECT_PX = 3  # sheet drawing is undone within this distance of a wall or opening
BLOCK_PLACES = ("right", "bottom", "corner")

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive ends)

WORDS = (
    "PROJECT",
    "CLIENT",
    "DRAWING",
    "DRAWN",
    "CHECKED",
    "APPROVED",
    "DATE",
    "SCALE",
    "REV",
    "SHEET",
    "JOB No.",
    "DWG No.",
    "TITLE",
    "ARCHITECT",
    "STATUS",
    "FOR CONSTRUCTION",
    "PRELIMINARY",
    "DESIGN",
    "INTERIOR",
    "LAYOUT",
    "NOTES",
    "LEGEND",
)
TITLES = (
    "FLOOR PLAN",
    "FURNITURE LAYOUT",
    "FIXTURE FURNISHING PLAN",
    "GROUND FLOOR PLAN",
    "WALL SETTING-OUT PLAN",
    "CEILING PLAN",
    "GENERAL ARRANGEMENT",
)


@dataclass(frozen=True)
class SheetFrame:
    """Where things go on one sheet (pixels)."""

    width: int
    height: int
    x: int  # the plan canvas's top-left corner on the sheet
    y: int
    plan_width: int
    plan_height: int
    outer: Box  # outer (thin) frame line
    inner: Box  # inner (heavy) frame line
    block: Box  # title block
    block_place: str  # right, bottom or corner
    double: bool  # two frame lines (else only the inner one)


def choose_sheet(rng: np.random.Generator, width: int, height: int, fraction: float) -> SheetFrame | None:
    """The sheet of a ``width`` x ``height`` image, or None (probability ``1 - fraction``, or too small)."""
    if fraction <= 0.0 or rng.random() >= fraction:
        return None
    short = min(width, height)
    m = 1 + round(short * float(rng.uniform(0.008, 0.03)))
    outer = (m, m, width - 1 - m, height - 1 - m)
    gap = round(short * float(rng.uniform(0.006, 0.025)))
    double = bool(rng.random() < 0.8)
    inner = (outer[0] + gap, outer[1] + gap, outer[2] - gap, outer[3] - gap) if double else outer
    fx0, fy0, fx1, fy1 = inner
    place = str(BLOCK_PLACES[int(rng.choice(3, p=[0.45, 0.3, 0.25]))])
    if place == "right":
        bw = round((fx1 - fx0) * float(rng.uniform(0.11, 0.2)))
        block = (fx1 - bw, fy0, fx1, fy1)
        region = (fx0, fy0, fx1 - bw, fy1)
    elif place == "bottom":
        bh = round((fy1 - fy0) * float(rng.uniform(0.09, 0.16)))
        block = (fx0, fy1 - bh, fx1, fy1)
        region = (fx0, fy0, fx1, fy1 - bh)
    else:
        bw = round((fx1 - fx0) * float(rng.uniform(0.28, 0.42)))
        bh = round((fy1 - fy0) * float(rng.uniform(0.16, 0.28)))
        block = (fx1 - bw, fy1 - bh, fx1, fy1)
        region = (fx0, fy0, fx1, fy1 - bh)
    pad = max(4, round(short * 0.012))
    rw, rh = region[2] - region[0] - 2 * pad, region[3] - region[1] - 2 * pad
    pw = round(rw * float(rng.uniform(0.72, 0.96)))
    ph = round(rh * float(rng.uniform(0.72, 0.96)))
    if min(pw, ph) < MIN_CANVAS:
        return None
    x = region[0] + pad + int(rng.integers(0, rw - pw + 1))
    y = region[1] + pad + int(rng.integers(0, rh - ph + 1))
    return SheetFrame(width, height, x, y, pw, ph, outer, inner, block, place, double)


def _rect(image: np.ndarray, box: Box, colour: tuple[int, int, int], weight: int) -> None:
    """A rectangle whose line of ``weight`` px lies inside ``box``."""
    x0, y0, x1, y1 = box
    h = weight // 2
    cv2.rectangle(image, (x0 + h, y0 + h), (x1 - (weight - 1 - h), y1 - (weight - 1 - h)), colour, weight)


def _spec(look: Look, height: float, thickness: int = 1) -> TextSpec:
    return TextSpec(look.font, fit_scale(look.font, "H", max(height, 3.0), thickness), thickness)


def _fit_text(image: np.ndarray, text: str, box: Box, spec: TextSpec, colour, align: str = "left") -> None:
    """``text`` in ``box`` (shrunk to fit its width), left-aligned or centred, vertically centred."""
    x0, y0, x1, y1 = box
    w, h, _ = spec.size(text)
    room = x1 - x0 - 4
    if room < 8 or y1 - y0 < 5:
        return
    if w > room:
        spec = TextSpec(spec.font, spec.scale * room / w, spec.thickness)
        w, h, _ = spec.size(text)
    if h > y1 - y0 - 2:
        return
    cx = x0 + 2 + w / 2 if align == "left" else (x0 + x1) / 2
    draw_text(image, text, (cx, (y0 + y1) / 2), spec, colour)


def pseudo_glyphs(
    rng: np.random.Generator, image: np.ndarray, x: float, y: float, size: float, count: int, colour
) -> float:
    """``count`` ideogram-like glyphs of a few strokes from ``(x, y)`` (top-left); returns the end x."""
    weight = 1 if size < 22 else 2
    for _ in range(count):
        s = size
        for _k in range(int(rng.integers(3, 7))):
            kind = int(rng.integers(4))
            a, b = sorted(rng.uniform(0.1, 0.9, 2))
            c = float(rng.uniform(0.1, 0.9))
            if kind == 0:
                p, q = (x + a * s, y + c * s), (x + b * s, y + c * s)
            elif kind == 1:
                p, q = (x + c * s, y + a * s), (x + c * s, y + b * s)
            elif kind == 2:
                p, q = (x + a * s, y + a * s), (x + b * s, y + b * s)
            else:
                p, q = (x + b * s, y + a * s), (x + a * s, y + b * s)
            cv2.line(image, fixed_point(*p), fixed_point(*q), colour, weight, cv2.LINE_AA, SHIFT)
        x += size * 1.15
    return x


def _words(rng: np.random.Generator, n: int) -> str:
    return " ".join(str(WORDS[int(k)]) for k in rng.integers(len(WORDS), size=n))


def _text_line(rng: np.random.Generator, image: np.ndarray, box: Box, look: Look, height: float) -> None:
    """One line of Latin text, digits or ideogram-like glyphs filling part of ``box``."""
    x0, y0, x1, y1 = box
    choice = rng.random()
    if choice < 0.35:
        size = min(height, y1 - y0 - 2)
        count = int((x1 - x0 - 4) / (size * 1.15) * rng.uniform(0.3, 1.0))
        if size >= 5 and count > 0:
            pseudo_glyphs(rng, image, x0 + 2, (y0 + y1 - size) / 2, size, count, look.ink)
        return
    text = _words(rng, int(rng.integers(1, 4))) if choice < 0.75 else f"{int(rng.integers(10, 99999)):d}"
    if rng.random() < 0.3:
        text += (
            f"  {int(rng.integers(2000, 2026))}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"
        )
    _fit_text(image, text, box, _spec(look, height), look.ink, "left" if rng.random() < 0.7 else "centre")


def _hatch(image: np.ndarray, box: Box, colour, step: int, kind: int) -> None:
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    region = image[y0:y1, x0:x1]
    yy, xx = np.mgrid[0 : y1 - y0, 0 : x1 - x0]
    lines = ((xx + yy) % step == 0) if kind == 0 else ((xx - yy) % step == 0)
    if kind == 2:
        lines |= (xx + yy) % step == 0
    region[lines] = colour


def _cell(
    rng: np.random.Generator, image: np.ndarray, box: Box, look: Look, text_h: float, heavy: int
) -> None:
    """Fill one title-block cell: a logo, text lines, a ruled table, a notes box or a big number."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 12 or h < 8:
        return
    kind = int(rng.choice(5, p=[0.15, 0.3, 0.3, 0.15, 0.1]))
    pad = max(2, round(text_h * 0.4))
    if kind == 0:  # logo: a solid block with paper letters, or nested squares and a circle
        side = min(w, h) - 2 * pad
        if side < 8:
            return
        lx, ly = x0 + pad, y0 + (h - side) // 2
        if rng.random() < 0.5:
            cv2.rectangle(image, (lx, ly), (lx + side, ly + side), look.ink, -1)
            spec = _spec(look, side * 0.45, max(1, round(side / 30)))
            draw_text(
                image,
                str(rng.choice(["A", "D", "ID", "S+", "AR"])),
                (lx + side / 2, ly + side / 2),
                spec,
                look.paper,
            )
        else:
            for k in range(int(rng.integers(2, 4))):
                inset = round(k * side * 0.15)
                cv2.rectangle(
                    image,
                    (lx + inset, ly + inset),
                    (lx + side - inset, ly + side - inset),
                    look.ink,
                    max(1, heavy // 2),
                )
            cv2.circle(image, (lx + side // 2, ly + side // 2), max(2, side // 6), look.ink, -1)
        rest = (lx + side + pad, y0, x1, y1)
        if rest[2] - rest[0] > 4 * text_h:
            _fit_text(image, _words(rng, 2), rest, _spec(look, text_h * 1.3), look.ink)
    elif kind in (1, 3):  # text lines (notes: smaller, more of them, with a heading)
        line_h = text_h * (0.8 if kind == 3 else 1.0)
        step = line_h * 1.8
        y = y0 + pad
        if kind == 3:
            _fit_text(
                image,
                str(rng.choice(["NOTES:", "GENERAL NOTES", "LEGEND", "REMARKS"])),
                (x0 + pad, round(y), x1 - pad, round(y + step)),
                _spec(look, line_h),
                look.ink,
            )
            y += step
        while y + step <= y1 - pad:
            right = x1 - pad if rng.random() < 0.7 else round(x0 + w * rng.uniform(0.4, 0.95))
            _text_line(rng, image, (x0 + pad, round(y), right, round(y + step)), look, line_h)
            y += step
    elif kind == 2:  # a ruled table with a label column
        rows = max(1, int(h / (text_h * 2.2)))
        split = x0 + round(w * rng.uniform(0.3, 0.45))
        cv2.line(image, (split, y0), (split, y1), look.ink, 1)
        for r in range(1, rows):
            yy = y0 + round(r * h / rows)
            cv2.line(image, (x0, yy), (x1, yy), look.ink, 1)
        for r in range(rows):
            top, bottom = y0 + round(r * h / rows), y0 + round((r + 1) * h / rows)
            if rng.random() < 0.85:
                _text_line(rng, image, (x0 + 1, top, split - 1, bottom), look, text_h * 0.9)
            if rng.random() < 0.6:
                _text_line(rng, image, (split + 1, top, x1 - 1, bottom), look, text_h * 0.9)
    else:  # the drawing number, large
        text = f"{rng.choice(['A', 'PL', 'FF', 'D', 'S'])}-{int(rng.integers(1, 99)):02d}"
        _fit_text(
            image,
            text,
            (x0 + pad, y0 + pad, x1 - pad, y1 - pad),
            _spec(look, min(h * 0.5, text_h * 3), max(1, heavy // 3)),
            look.ink,
            "centre",
        )


def draw_title_block(
    rng: np.random.Generator, image: np.ndarray, frame: SheetFrame, look: Look, text_h: float, heavy: int
) -> None:
    """The title block: a bordered box split along its long side into cells of varied contents."""
    x0, y0, x1, y1 = frame.block
    border = heavy if rng.random() < 0.6 else max(1, heavy // 2)
    _rect(image, frame.block, look.ink, border)
    vertical = (y1 - y0) >= (x1 - x0)
    length = (y1 - y0) if vertical else (x1 - x0)
    count = int(rng.integers(4, 9))
    cuts = np.sort(rng.uniform(0.0, 1.0, count - 1))
    edges = [0, *[round(c * length) for c in cuts], length]
    divider = 1 if rng.random() < 0.6 else max(1, heavy // 2)
    for a, b in itertools.pairwise(edges):
        if b - a < 6:
            continue
        if a > 0:
            if vertical:
                cv2.line(image, (x0, y0 + a), (x1 - 1, y0 + a), look.ink, divider)
            else:
                cv2.line(image, (x0 + a, y0), (x0 + a, y1 - 1), look.ink, divider)
        inset = border + 1
        cell = (
            (x0 + inset, y0 + a + 2, x1 - inset, y0 + b - 1)
            if vertical
            else (x0 + a + 2, y0 + inset, x0 + b - 1, y1 - inset)
        )
        _cell(rng, image, cell, look, text_h, heavy)


def _free_spots(frame: SheetFrame, heavy: int) -> list[Box]:
    """Sheet areas outside the plan canvas and the title block, inside the frame's ``heavy`` line."""
    fx0, fy0, fx1, fy1 = (
        frame.inner[0] + heavy,
        frame.inner[1] + heavy,
        frame.inner[2] - heavy,
        frame.inner[3] - heavy,
    )
    bx0, by0, _bx1, _by1 = frame.block
    right = bx0 if frame.block_place == "right" else fx1
    bottom = by0 if frame.block_place in ("bottom", "corner") else fy1
    px0, py0 = frame.x, frame.y
    px1, py1 = frame.x + frame.plan_width, frame.y + frame.plan_height
    spots = [
        (fx0 + 2, fy0 + 2, right - 2, py0 - 1),
        (fx0 + 2, py1 + 1, right - 2, bottom - 2),
        (fx0 + 2, fy0 + 2, px0 - 1, bottom - 2),
        (px1 + 1, fy0 + 2, right - 2, bottom - 2),
    ]
    if frame.block_place == "corner":
        spots.append((fx0 + 2, by0 + 2, bx0 - 2, fy1 - 2))
    return [s for s in spots if s[2] - s[0] > 10 and s[3] - s[1] > 10]


def _place(rng: np.random.Generator, spots: list[Box], taken: list[Box], w: float, h: float) -> Box | None:
    """A random free ``w`` x ``h`` box inside one of ``spots`` that overlaps nothing ``taken``."""
    w, h = math.ceil(w), math.ceil(h)
    fitting = [s for s in spots if s[2] - s[0] >= w and s[3] - s[1] >= h]
    for _ in range(12):
        if not fitting:
            return None
        s = fitting[int(rng.integers(len(fitting)))]
        x = s[0] + int(rng.integers(0, s[2] - s[0] - w + 1))
        y = s[1] + int(rng.integers(0, s[3] - s[1] - h + 1))
        box = (x, y, x + w, y + h)
        if not any(b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in taken):
            taken.append(box)
            return box
    return None


def draw_north_arrow(image: np.ndarray, box: Box, look: Look, angle_deg: float) -> None:
    """A circle, a half-filled arrow and an N in ``box``."""
    x0, y0, x1, y1 = box
    radius = min(x1 - x0, y1 - y0) * 0.3
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + radius * 0.3
    a = math.radians(angle_deg)
    tip = (cx + math.sin(a) * radius * 1.25, cy - math.cos(a) * radius * 1.25)
    tail = (cx - math.sin(a) * radius, cy + math.cos(a) * radius)
    side = (math.cos(a) * radius * 0.4, math.sin(a) * radius * 0.4)
    cv2.circle(image, fixed_point(cx, cy), round(radius * SCALE), look.ink, 1, cv2.LINE_AA, SHIFT)
    left = np.array(
        [fixed_point(*tip), fixed_point(cx - side[0], cy - side[1]), fixed_point(*tail)], np.int32
    )
    right = np.array(
        [fixed_point(*tip), fixed_point(cx + side[0], cy + side[1]), fixed_point(*tail)], np.int32
    )
    cv2.fillPoly(image, [left], look.ink, cv2.LINE_AA, SHIFT)
    cv2.polylines(image, [right], True, look.ink, 1, cv2.LINE_AA, SHIFT)
    draw_text(image, "N", (tip[0], tip[1] - radius * 0.35), _spec(look, radius * 0.4), look.ink)


def draw_scale_bar(image: np.ndarray, box: Box, look: Look, heavy: int, units: int) -> None:
    """Alternating filled and open blocks as thick as a wall, numbered below."""
    x0, y0, x1, y1 = box
    bar_h = max(3, min(heavy, (y1 - y0) // 3))
    seg = (x1 - x0 - 4) / units
    top = y0 + 1
    text_h = max(4.0, (y1 - y0 - bar_h) * 0.5)
    for k in range(units):
        a, b = round(x0 + 2 + k * seg), round(x0 + 2 + (k + 1) * seg)
        cv2.rectangle(image, (a, top), (b, top + bar_h), look.ink, -1 if k % 2 == 0 else 1)
    spec = _spec(look, text_h)
    for k in (0, units // 2, units):
        text = f"{k}m" if k == units else str(k)
        draw_text(image, text, (x0 + 2 + k * seg, top + bar_h + text_h * 1.1), spec, look.ink)


def draw_drawing_title(
    rng: np.random.Generator, image: np.ndarray, box: Box, look: Look, heavy: int, text_h: float
) -> None:
    """A numbered bubble, the drawing's title over a heavy and a thin underline, the scale beside."""
    x0, y0, x1, y1 = box
    r = (y1 - y0) * 0.4
    cx, cy = x0 + r + 1, (y0 + y1) / 2
    cv2.circle(image, fixed_point(cx, cy), round(r * SCALE), look.ink, 1, cv2.LINE_AA, SHIFT)
    cv2.line(image, fixed_point(cx - r, cy), fixed_point(cx + r, cy), look.ink, 1, cv2.LINE_AA, SHIFT)
    small = _spec(look, r * 0.45)
    draw_text(image, f"{int(rng.integers(1, 20)):02d}", (cx, cy - r * 0.45), small, look.ink)
    draw_text(image, str(rng.choice(["A1", "PL", "FF", "A3"])), (cx, cy + r * 0.5), small, look.ink)
    title = str(rng.choice(TITLES))
    line_y = round(cy + text_h * 0.2)
    _fit_text(
        image,
        title,
        (round(cx + r + 4), round(line_y - text_h * 1.9), x1, line_y - max(2, heavy // 2) - 1),
        _spec(look, text_h, max(1, round(text_h / 12))),
        look.ink,
    )
    cv2.line(image, (round(cx + r), line_y), (x1, line_y), look.ink, heavy)
    thin_y = line_y + heavy // 2 + max(2, heavy // 2) + 1
    cv2.line(image, (round(cx + r), thin_y), (x1, thin_y), look.ink, 1)
    _fit_text(
        image,
        f"SCALE 1:{int(rng.choice([50, 60, 75, 100]))}",
        (round(cx + r + 4), thin_y + 2, x1, round(y1)),
        _spec(look, text_h * 0.6),
        look.ink,
    )


def draw_legend(rng: np.random.Generator, image: np.ndarray, box: Box, look: Look, text_h: float) -> None:
    """A boxed legend: swatches (solid, hatched, outlined) with their descriptions."""
    x0, y0, x1, y1 = box
    cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), look.ink, 1)
    row = (y1 - y0) / 5
    _fit_text(
        image,
        str(rng.choice(["LEGEND", "SYMBOLS", "KEY"])),
        (x0 + 3, y0, x1 - 3, round(y0 + row)),
        _spec(look, text_h),
        look.ink,
    )
    for k in range(1, 5):
        top, bottom = round(y0 + k * row + row * 0.2), round(y0 + (k + 1) * row - row * 0.2)
        sw = (x0 + 4, top, x0 + 4 + round((bottom - top) * 2.2), bottom)
        kind = int(rng.integers(3))
        if kind == 0:
            cv2.rectangle(image, sw[:2], (sw[2], sw[3]), look.ink, -1)
        else:
            cv2.rectangle(image, sw[:2], (sw[2], sw[3]), look.ink, 1)
            if kind == 1:
                _hatch(
                    image,
                    (sw[0] + 1, sw[1] + 1, sw[2], sw[3]),
                    look.ink,
                    int(rng.integers(3, 7)),
                    int(rng.integers(3)),
                )
        _text_line(
            rng,
            image,
            (sw[2] + 4, round(y0 + k * row), x1 - 3, round(y0 + (k + 1) * row)),
            look,
            text_h * 0.8,
        )


def draw_sheet_dimensions(
    rng: np.random.Generator,
    image: np.ndarray,
    frame: SheetFrame,
    layout: Layout,
    look: Look,
    text_h: float,
    taken: list[Box],
) -> None:
    """Dimension chains (segments and overall) and grid bubbles beside the plan's footprint."""
    minx, miny, maxx, maxy = layout.footprint.bounds
    ox, oy = frame.x, frame.y
    spec = TextSpec(look.font, fit_scale(look.font, "0", text_h, 1), 1)
    metres = bool(rng.random() < 0.3)
    xs = sorted({float(w.start[0]) for w in layout.walls if w.start[0] == w.end[0]} | {minx, maxx})
    ys = sorted({float(w.start[1]) for w in layout.walls if w.start[1] == w.end[1]} | {miny, maxy})
    step = text_h * 2.6
    base = layout.exterior_thickness / 2.0 + max(6.0, 0.5 * layout.ppm)
    # the plan's own chains take the top and left, its title the space below the building
    sides = ["right"] + ([] if look.title else ["bottom"]) + ([] if look.dimensions else ["top", "left"])
    if look.dense_dimensions:  # the plan already has chains on every side
        sides = []
    bubble_r = text_h * 0.9
    bubble_spec = TextSpec(look.font, fit_scale(look.font, "A", bubble_r * 0.9, 1), 1)
    for side in sides:
        horizontal = side in ("top", "bottom")
        stops = [s + (ox if horizontal else oy) for s in (xs if horizontal else ys)]
        sign = 1.0 if side in ("bottom", "right") else -1.0
        edge = {"bottom": maxy + oy, "top": miny + oy, "right": maxx + ox, "left": minx + ox}[side]
        at = edge + sign * base
        limit = frame.height if horizontal else frame.width
        tiers = int(rng.integers(1, 3))
        for tier in range(tiers):
            pos = at + sign * tier * step
            if not (step < pos < limit - step):
                break
            dimension_chain(
                image,
                stops if tier == 0 else [stops[0], stops[-1]],
                pos,
                "h" if horizontal else "v",
                layout.ppm,
                spec,
                look,
                metres,
            )
            taken.append(_chain_box(stops, pos, horizontal, step))
        if rng.random() < 0.6:  # grid bubbles beyond the chains
            far = at + sign * (tiers * step + bubble_r * 1.2)
            if not (bubble_r * 2 < far < limit - bubble_r * 2):
                continue
            taken.append(_chain_box(stops, far, horizontal, 2.5 * bubble_r))
            for k, s in enumerate(stops[:12]):
                centre = (s, far) if horizontal else (far, s)
                near = (s, at) if horizontal else (at, s)
                cv2.line(image, fixed_point(*near), fixed_point(*centre), look.ink, 1, cv2.LINE_AA, SHIFT)
                cv2.circle(
                    image, fixed_point(*centre), round(bubble_r * SCALE), look.paper, -1, cv2.LINE_AA, SHIFT
                )
                cv2.circle(
                    image, fixed_point(*centre), round(bubble_r * SCALE), look.ink, 1, cv2.LINE_AA, SHIFT
                )
                label = str(k + 1) if horizontal else chr(ord("A") + k)
                draw_text(image, label, centre, bubble_spec, look.ink)


def _chain_box(stops: list[float], pos: float, horizontal: bool, step: float) -> Box:
    a, b = round(stops[0] - step), round(stops[-1] + step)
    c, d = round(pos - step), round(pos + step / 2)
    return (a, c, b, d) if horizontal else (c, a, d, b)


def draw_sheet(
    rng: np.random.Generator,
    frame: SheetFrame,
    plan_image: np.ndarray,
    layout: Layout,
    look: Look,
    protect: np.ndarray,
) -> np.ndarray:
    """The sheet image with ``plan_image`` pasted at ``(frame.x, frame.y)`` and the sheet drawn around it.

    ``protect`` is the plan's wall | opening mask (plan canvas size); pixels within
    :data:`PROTECT_PX` of it keep the plan's pixels.  The sheet is drawn in the look's ``sheet``
    layer colour (the ink unless the look colours its layers).
    """
    look = replace(look, ink=look.layer("sheet"))
    sheet = blank(frame.height, frame.width, look.paper)
    ys, xs = slice(frame.y, frame.y + frame.plan_height), slice(frame.x, frame.x + frame.plan_width)
    sheet[ys, xs] = plan_image
    short = min(frame.width, frame.height)
    heavy = max(2, round(layout.exterior_thickness * float(rng.uniform(0.45, 1.15))))
    text_h = float(np.clip(short * rng.uniform(0.007, 0.014), 4.0, 40.0))
    if frame.double:
        _rect(sheet, frame.outer, look.ink, max(1, look.line_width))
    _rect(sheet, frame.inner, look.ink, heavy)
    draw_title_block(rng, sheet, frame, look, text_h, heavy)
    taken: list[Box] = [(frame.x, frame.y, frame.x + frame.plan_width, frame.y + frame.plan_height)]
    draw_sheet_dimensions(rng, sheet, frame, layout, look, text_h, taken)
    spots = _free_spots(frame, heavy)
    if rng.random() < 0.8:
        w = short * rng.uniform(0.25, 0.45)
        box = _place(rng, spots, taken, w, text_h * 4.5)
        if box is not None:
            draw_drawing_title(rng, sheet, box, look, heavy, text_h * 1.4)
    if rng.random() < 0.7:
        size = short * rng.uniform(0.05, 0.09)
        box = _place(rng, spots, taken, size, size)
        if box is not None:
            draw_north_arrow(sheet, box, look, float(rng.uniform(-45, 45)))
    if rng.random() < 0.6:
        box = _place(rng, spots, taken, short * rng.uniform(0.12, 0.22), max(heavy, 3) + text_h * 2.5)
        if box is not None:
            draw_scale_bar(sheet, box, look, heavy, int(rng.choice([4, 5, 10])))
    if rng.random() < 0.5:
        box = _place(rng, spots, taken, short * rng.uniform(0.15, 0.25), text_h * 9)
        if box is not None:
            draw_legend(rng, sheet, box, look, text_h)
    for _ in range(int(rng.integers(0, 4))):  # loose notes
        box = _place(rng, spots, taken, short * rng.uniform(0.1, 0.3), text_h * 1.8)
        if box is not None:
            _text_line(rng, sheet, box, look, text_h)
    keep = cv2.dilate(protect.astype(np.uint8), np.ones((2 * PROTECT_PX + 1,) * 2, np.uint8)) > 0
    paste(sheet[ys, xs], plan_image, keep)
    return sheet
