"""The result document as an SVG drawing: one layer (``<g>``) each for rooms, walls, openings and labels.

:func:`to_svg` draws in the document's own coordinates: input-image pixels, x to the right and
y down, which is SVG's convention too, so ``viewBox="0 0 width height"`` lays the drawing exactly
over the plan image (no flip).  The layers, bottom to top:

* ``<g id="rooms">`` - one ``<polygon id="r1" class="room">`` per room (its polygon, or its
  bounding box when it has none), tinted in the overlay's palette, with ``data-area-px``
  and ``data-name-hint``;
* ``<g id="walls">`` - one ``<line id="w1" class="wall">`` per wall along its centreline with
  ``stroke-width`` = its thickness and square caps, i.e. the band
  :func:`~model_code.geometry.raster.segment_polygon` draws;
* ``<g id="openings">`` - one ``<line class="door|window|opening">`` per opening across its gap,
  as thick as the opening (or its host wall), doors blue, windows cyan, plain openings green;
* ``<g id="labels">`` - one ``<text class="room-label">`` per room at a point well inside it:
  the room id (and ``name_hint``), then its area.

The groups also carry Inkscape's layer attributes, so they open as layers there.  With
``metres_per_pixel`` the geometry stays in pixels (so it still fits the image); the labels give
areas in m² and the root carries ``data-metres-per-pixel``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from model_code.exports.overlay import DOOR_COLOUR, WALL_COLOUR, WINDOW_COLOUR, room_colour
from model_code.exports.shapes import (
    Units,
    document_size,
    label_height,
    label_point,
    opening_thickness,
    room_label,
    room_outline,
    wall_thickness,
    walls_by_id,
)
from model_code.schema import Annotation, ResultDocument

SVG_NS = "http://www.w3.org/2000/svg"
INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"
OPENING_COLOUR = (89, 161, 79)
LAYERS = ("rooms", "walls", "openings", "labels")


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _layer(name: str, body: list[str], style: str) -> list[str]:
    head = f'<g id="{name}" inkscape:groupmode="layer" inkscape:label="{name}" {style}>'
    return [head, *body, "</g>"]


def to_svg(document: ResultDocument | Annotation, metres_per_pixel: float | None = None) -> str:
    """The document as a standalone SVG 1.1 drawing (UTF-8 text); see the module docstring.

    ``document`` may be a :class:`~model_code.schema.ResultDocument` or an
    :class:`~model_code.schema.Annotation` with its ``width``/``height`` set.

    Raises:
        ValueError: the document has no positive size, or ``metres_per_pixel`` is not a
            finite number > 0.
    """
    units = Units(metres_per_pixel)
    width, height = document_size(document, "an SVG")
    hosts = walls_by_id(document.walls)
    font = label_height(width, height)

    rooms, labels = [], []
    for index, room in enumerate(document.rooms):
        outline = room_outline(room)
        if outline is None:
            continue
        colour = _hex(room_colour(room, index))
        points = " ".join(f"{_num(x)},{_num(y)}" for x, y in outline)
        extra = ""
        if room.area_px is not None:
            extra += f' data-area-px="{_num(room.area_px)}"'
        if room.name_hint:
            extra += f" data-name-hint={quoteattr(room.name_hint)}"
        if room.type:
            extra += f" data-type={quoteattr(room.type)}"
        rooms.append(
            f'<polygon id={quoteattr(room.id)} class="room" points="{points}" fill="{colour}" '
            f'stroke="{colour}"{extra}/>'
        )
        x, y = label_point(outline)
        lines = room_label(room, units)
        top = y - (len(lines) - 1) * font * 0.6
        spans = "".join(
            f'<tspan x="{_num(x)}" y="{_num(top + i * font * 1.2)}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        labels.append(f'<text class="room-label" data-room={quoteattr(room.id)}>{spans}</text>')

    walls = []
    for index, wall in enumerate(document.walls):
        (x1, y1), (x2, y2) = wall.start, wall.end
        wall_id = quoteattr(wall.id or f"wall{index + 1}")
        walls.append(
            f'<line id={wall_id} class="wall" '
            f'x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke-width="{_num(wall_thickness(wall))}"/>'
        )

    openings = []
    colours = {"door": DOOR_COLOUR, "window": WINDOW_COLOUR, "opening": OPENING_COLOUR}
    for index, opening in enumerate(document.openings):
        (x1, y1), (x2, y2) = opening.start, opening.end
        kind = opening.type if opening.type in colours else "opening"
        host = f" data-wall={quoteattr(opening.wall_id)}" if opening.wall_id else ""
        opening_id = quoteattr(opening.id or f"opening{index + 1}")
        openings.append(
            f'<line id={opening_id} class="{kind}" '
            f'x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke="{_hex(colours[kind])}" stroke-width="{_num(opening_thickness(opening, hosts))}"'
            f"{host}/>"
        )

    root = (
        f'<svg xmlns="{SVG_NS}" xmlns:inkscape="{INKSCAPE_NS}" version="1.1" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
    )
    if units.scaled:
        root += f' data-metres-per-pixel="{units.factor!r}"'
    title = escape(document.image_id or "floor plan")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        root + ">",
        f"<title>{title}</title>",
        "<desc>Walls, openings and rooms of the floor plan; coordinates are input-image pixels, "
        "x to the right, y down.</desc>",
        *_layer("rooms", rooms, 'fill-opacity="0.35" stroke-width="1"'),
        *_layer("walls", walls, f'stroke="{_hex(WALL_COLOUR)}" stroke-linecap="square"'),
        *_layer("openings", openings, 'stroke-linecap="butt"'),
        *_layer(
            "labels",
            labels,
            f'font-family="DejaVu Sans, Arial, sans-serif" font-size="{_num(font)}" fill="#1e1e1e" '
            'text-anchor="middle" dominant-baseline="central" stroke="#ffffff" '
            f'stroke-width="{_num(font / 5)}" paint-order="stroke"',
        ),
        "</svg>",
    ]
    return "\n".join(out) + "\n"
