"""Furniture and fixture symbols (beds, tables, sofas, sinks, toilets, baths, counters, stairs).

Each symbol is drawn in a local frame against one wall of its room: ``u`` runs along the wall
(0..1 of the symbol's width) and ``v`` away from it (0..1 of its depth), so one drawing routine
serves all four orientations.  Pieces avoid door swings, the room label and each other.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from shapely.geometry import box as shapely_box

from model_code.synth.canvas import SCALE, SHIFT
from model_code.synth.layout import Box, Layout, LayoutRoom
from model_code.synth.styles import Look


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class Frame:
    """Maps symbol-local ``(u, v)`` to image pixels for a piece standing against one wall side."""

    def __init__(self, box: Box, side: int):
        self.box = box
        self.side = side  # 0 top wall, 1 right, 2 bottom, 3 left
        x0, y0, x1, y1 = box
        self.width = (x1 - x0) if side in (0, 2) else (y1 - y0)
        self.depth = (y1 - y0) if side in (0, 2) else (x1 - x0)

    def point(self, u: float, v: float) -> tuple[int, int]:
        """Image point (fixed-point, ``SHIFT`` bits) of local ``(u, v)``."""
        x0, y0, x1, y1 = self.box
        if self.side == 0:
            x, y = x0 + u * (x1 - x0), y0 + v * (y1 - y0)
        elif self.side == 2:
            x, y = x1 - u * (x1 - x0), y1 - v * (y1 - y0)
        elif self.side == 3:
            x, y = x0 + v * (x1 - x0), y1 - u * (y1 - y0)
        else:
            x, y = x1 - v * (x1 - x0), y0 + u * (y1 - y0)
        return round(x * SCALE), round(y * SCALE)

    def axes(self, au: float, av: float) -> tuple[int, int]:
        """Ellipse half-axes (fixed point) for local half-extents ``au`` x ``av`` (fractions)."""
        a, b = au * self.width, av * self.depth
        return (
            (round(a * SCALE), round(b * SCALE))
            if self.side in (0, 2)
            else (round(b * SCALE), round(a * SCALE))
        )


class Pen:
    """Drawing primitives in a :class:`Frame` with one ink and line width."""

    def __init__(self, image: np.ndarray, frame: Frame, ink: tuple[int, int, int], width: int):
        self.image, self.frame, self.ink, self.width = image, frame, ink, width

    def rect(
        self, u0: float, v0: float, u1: float, v1: float, fill: tuple[int, int, int] | None = None
    ) -> None:
        """Rectangle between two local corners, optionally filled first."""
        p, q = self.frame.point(u0, v0), self.frame.point(u1, v1)
        if fill is not None:
            cv2.rectangle(self.image, p, q, fill, -1, cv2.LINE_8, SHIFT)
        cv2.rectangle(self.image, p, q, self.ink, self.width, cv2.LINE_AA, SHIFT)

    def line(self, u0: float, v0: float, u1: float, v1: float) -> None:
        """Straight line between two local points."""
        cv2.line(
            self.image,
            self.frame.point(u0, v0),
            self.frame.point(u1, v1),
            self.ink,
            self.width,
            cv2.LINE_AA,
            SHIFT,
        )

    def ellipse(self, u: float, v: float, au: float, av: float) -> None:
        """Ellipse outline centred at local ``(u, v)`` with local half-extents."""
        cv2.ellipse(
            self.image,
            self.frame.point(u, v),
            self.frame.axes(au, av),
            0,
            0,
            360,
            self.ink,
            self.width,
            cv2.LINE_AA,
            SHIFT,
        )

    def circle(self, u: float, v: float, radius_px: float) -> None:
        """Circle outline of ``radius_px`` pixels at local ``(u, v)``."""
        cv2.circle(
            self.image,
            self.frame.point(u, v),
            round(radius_px * SCALE),
            self.ink,
            self.width,
            cv2.LINE_AA,
            SHIFT,
        )


def bed(pen: Pen) -> None:
    """Mattress with pillows at the head (against the wall) and a folded sheet."""
    pen.rect(0, 0, 1, 1)
    pen.line(0, 0.3, 1, 0.3)
    pen.rect(0.1, 0.05, 0.45, 0.22)
    pen.rect(0.55, 0.05, 0.9, 0.22)


def sofa(pen: Pen) -> None:
    """Sofa: back, two arms and seat cushions."""
    pen.rect(0, 0, 1, 1)
    pen.line(0.12, 0.3, 0.88, 0.3)
    pen.line(0.12, 0, 0.12, 1)
    pen.line(0.88, 0, 0.88, 1)
    pen.line(0.5, 0.3, 0.5, 1)


def table(pen: Pen) -> None:
    """Dining table with chairs on both long sides."""
    pen.rect(0.15, 0.2, 0.85, 0.8)
    for u in (0.3, 0.7):
        pen.rect(u - 0.1, 0.0, u + 0.1, 0.17)
        pen.rect(u - 0.1, 0.83, u + 0.1, 1.0)


def round_table(pen: Pen) -> None:
    """Round table with four chairs."""
    pen.ellipse(0.5, 0.5, 0.3, 0.3)
    pen.rect(0.4, 0.0, 0.6, 0.15)
    pen.rect(0.4, 0.85, 0.6, 1.0)
    pen.rect(0.0, 0.4, 0.15, 0.6)
    pen.rect(0.85, 0.4, 1.0, 0.6)


def toilet(pen: Pen) -> None:
    """Cistern against the wall and the bowl."""
    pen.rect(0.1, 0.0, 0.9, 0.3)
    pen.ellipse(0.5, 0.62, 0.35, 0.36)


def sink(pen: Pen) -> None:
    """Basin: a counter with an oval bowl."""
    pen.rect(0, 0, 1, 1)
    pen.ellipse(0.5, 0.55, 0.32, 0.3)


def bathtub(pen: Pen) -> None:
    """Bath: outer rim and inner basin."""
    pen.rect(0, 0, 1, 1)
    pen.ellipse(0.5, 0.5, 0.42, 0.36)


def counter(pen: Pen) -> None:
    """Kitchen counter run with a four-ring hob and a sink."""
    pen.rect(0, 0, 1, 1)
    ring = 0.12 * min(pen.frame.width * 0.25, pen.frame.depth)
    for u, v in ((0.18, 0.3), (0.28, 0.3), (0.18, 0.7), (0.28, 0.7)):
        pen.circle(u, v, ring)
    pen.rect(0.6, 0.15, 0.8, 0.85)


def stairs(pen: Pen) -> None:
    """Straight flight: treads and the walking line with an arrow head."""
    pen.rect(0, 0, 1, 1)
    for k in range(1, 12):
        pen.line(0, k / 12, 1, k / 12)
    pen.line(0.5, 0.95, 0.5, 0.08)
    pen.line(0.5, 0.08, 0.4, 0.2)
    pen.line(0.5, 0.08, 0.6, 0.2)


def wardrobe(pen: Pen) -> None:
    """Wardrobe with a hanging rail and hangers."""
    pen.rect(0, 0, 1, 1)
    pen.line(0.05, 0.5, 0.95, 0.5)
    for u in np.linspace(0.15, 0.85, 5):
        pen.line(u - 0.05, 0.25, u + 0.05, 0.75)


def desk(pen: Pen) -> None:
    """Desk and a chair in front of it."""
    pen.rect(0, 0, 1, 0.55)
    pen.rect(0.35, 0.65, 0.65, 1.0)


def washer(pen: Pen) -> None:
    """Washing machine: square with the drum."""
    pen.rect(0, 0, 1, 1)
    pen.ellipse(0.5, 0.5, 0.33, 0.33)


def covered_bed(pen: Pen) -> None:
    """Double bed as interior-design sheets draw it: pillows, a cover with its folded corner."""
    bed(pen)
    pen.line(0.55, 1.0, 1.0, 0.62)
    pen.line(0.55, 1.0, 0.62, 0.72)
    pen.line(0.62, 0.72, 1.0, 0.62)


def nightstand(pen: Pen) -> None:
    """Bedside table with a lamp (a circle and its cross)."""
    pen.rect(0, 0, 1, 1)
    pen.ellipse(0.5, 0.5, 0.3, 0.3)
    pen.line(0.2, 0.5, 0.8, 0.5)
    pen.line(0.5, 0.2, 0.5, 0.8)


def cabinet(pen: Pen) -> None:
    """Wardrobe or cabinet drawn as a box with an X."""
    pen.rect(0, 0, 1, 1)
    pen.line(0, 0, 1, 1)
    pen.line(1, 0, 0, 1)


def armchair(pen: Pen) -> None:
    """Armchair: back, two arms and a seat cushion."""
    pen.rect(0, 0, 1, 1)
    pen.rect(0.18, 0.28, 0.82, 1.0)
    pen.line(0, 0.28, 0.18, 0.28)
    pen.line(0.82, 0.28, 1, 0.28)


def lounge(pen: Pen) -> None:
    """Sofa against the wall, a coffee table and a rug in front of it."""
    pen.rect(0, 0, 1, 0.38)
    pen.line(0.1, 0.12, 0.9, 0.12)
    pen.line(0.1, 0, 0.1, 0.38)
    pen.line(0.9, 0, 0.9, 0.38)
    for u in (0.37, 0.63):
        pen.line(u, 0.12, u, 0.38)
    pen.rect(0.05, 0.44, 0.95, 1.0)
    pen.rect(0.3, 0.55, 0.7, 0.85)


def plant(pen: Pen) -> None:
    """Potted plant: a pot and radiating leaves."""
    pen.ellipse(0.5, 0.5, 0.22, 0.22)
    for k in range(8):
        a = k * np.pi / 4
        pen.line(0.5 + 0.2 * np.cos(a), 0.5 + 0.2 * np.sin(a), 0.5 + 0.48 * np.cos(a), 0.5 + 0.48 * np.sin(a))


def tv_unit(pen: Pen) -> None:
    """Low cabinet with a screen on it."""
    pen.rect(0, 0, 1, 1)
    pen.rect(0.25, 0.35, 0.75, 0.6)


Symbol = tuple[Callable[[Pen], None], float, float]  # drawing, width m, depth m
PIECES: dict[str, list[Symbol]] = {
    "bedroom": [(bed, 1.5, 2.0), (wardrobe, 1.6, 0.6), (desk, 1.0, 0.9)],
    "living": [(sofa, 2.1, 0.9), (round_table, 1.0, 1.0), (sofa, 1.0, 0.9)],
    "kitchen": [(counter, 2.4, 0.6), (table, 1.6, 1.4)],
    "dining": [(table, 1.8, 1.5), (round_table, 1.2, 1.2)],
    "bath": [(bathtub, 1.7, 0.75), (sink, 0.55, 0.45), (toilet, 0.45, 0.65)],
    "wc": [(toilet, 0.45, 0.65), (sink, 0.45, 0.35)],
    "closet": [(wardrobe, 1.0, 0.55)],
    "study": [(desk, 1.4, 1.0), (wardrobe, 1.0, 0.5)],
    "utility": [(washer, 0.6, 0.6), (washer, 0.6, 0.6), (sink, 0.5, 0.45)],
    "hall": [(stairs, 1.0, 2.8)],
}
# the denser furnishing of interior-design sheets (``Look.dense_furniture``)
DENSE_PIECES: dict[str, list[Symbol]] = {
    "bedroom": [
        (covered_bed, 1.8, 2.1),
        (nightstand, 0.5, 0.45),
        (nightstand, 0.5, 0.45),
        (cabinet, 1.8, 0.6),
        (desk, 1.0, 0.9),
        (armchair, 0.8, 0.8),
    ],
    "living": [
        (lounge, 2.6, 2.0),
        (tv_unit, 2.0, 0.45),
        (armchair, 0.85, 0.85),
        (armchair, 0.85, 0.85),
        (plant, 0.6, 0.6),
        (cabinet, 1.2, 0.45),
    ],
    "kitchen": [(counter, 2.4, 0.6), (cabinet, 0.9, 0.6), (table, 1.4, 1.3)],
    "dining": [(table, 1.8, 1.5), (round_table, 1.3, 1.3), (cabinet, 1.4, 0.45), (plant, 0.5, 0.5)],
    "bath": [(bathtub, 1.7, 0.75), (sink, 0.6, 0.5), (toilet, 0.45, 0.65), (cabinet, 0.6, 0.4)],
    "wc": [(toilet, 0.45, 0.65), (sink, 0.45, 0.35)],
    "closet": [(cabinet, 1.2, 0.55), (cabinet, 1.0, 0.55)],
    "study": [(desk, 1.4, 0.9), (cabinet, 1.2, 0.5), (armchair, 0.8, 0.8)],
    "utility": [(washer, 0.6, 0.6), (washer, 0.6, 0.6), (sink, 0.5, 0.45), (cabinet, 0.8, 0.5)],
    "hall": [(cabinet, 1.2, 0.4), (plant, 0.5, 0.5)],
}


def furnish(
    rng: np.random.Generator,
    image: np.ndarray,
    room: LayoutRoom,
    layout: Layout,
    look: Look,
    avoid: list[Box],
) -> None:
    """Place the room kind's pieces against its walls where they fit, drawing each one.

    Pieces are drawn in the look's ``furniture`` layer colour, from :data:`DENSE_PIECES` when
    ``look.dense_furniture`` (else :data:`PIECES`).
    """
    pieces = (DENSE_PIECES if look.dense_furniture else PIECES).get(room.kind, [])
    if room.kind == "hall" and rng.random() < 0.6:
        return
    x0, y0, x1, y1 = room.rect
    pad = layout.exterior_thickness / 2.0 + 1.0 + float(rng.integers(0, 3))
    inner = (x0 + pad, y0 + pad, x1 - pad, y1 - pad)
    if inner[2] - inner[0] < 4 or inner[3] - inner[1] < 4:
        return
    for draw, width_m, depth_m in pieces:
        if rng.random() < 0.2:
            continue
        scale = layout.ppm * float(rng.uniform(0.85, 1.1))
        box = _fit(rng, inner, width_m * scale, depth_m * scale, avoid, room)
        if box is None:
            continue
        avoid.append(box[0])
        draw(Pen(image, Frame(box[0], box[1]), look.layer("furniture"), 1))


def _fit(
    rng: np.random.Generator, inner: Box, width: float, depth: float, avoid: list[Box], room: LayoutRoom
) -> tuple[Box, int] | None:
    """A free box for a ``width`` x ``depth`` piece against one side of ``inner``, or None."""
    x0, y0, x1, y1 = inner
    for _ in range(6):
        side = int(rng.integers(4))
        along = (x1 - x0) if side in (0, 2) else (y1 - y0)
        across = (y1 - y0) if side in (0, 2) else (x1 - x0)
        if width > along or depth > across * 0.6:
            continue
        s = float(rng.uniform(0, along - width))
        if side == 0:
            box = (x0 + s, y0, x0 + s + width, y0 + depth)
        elif side == 2:
            box = (x0 + s, y1 - depth, x0 + s + width, y1)
        elif side == 3:
            box = (x0, y0 + s, x0 + depth, y0 + s + width)
        else:
            box = (x1 - depth, y0 + s, x1, y0 + s + width)
        if any(_overlaps(box, other) for other in avoid):
            continue
        bx0, by0, bx1, by1 = box
        if not room.interior.contains(shapely_box(*box)):
            continue
        return (bx0, by0, bx1, by1), side
    return None
