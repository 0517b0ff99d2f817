"""``generate_plan``: one seeded synthetic plan with its exact ground truth.

Steps: pick a style and canvas, build the vector layout, render it, apply the geometric artefact
to the image and the vectors alike, rasterise the masks from the final vectors, then apply the
photometric artefacts to the image only.

``bare_openings`` draws some doors and windows without their symbol (a plain gap in the wall, as a
network that misses the symbol sees it); the choice comes from its own generator,
``default_rng([seed, BARE_STREAM])``, so the main stream, and with ``bare_openings=0.0`` every
byte, is what it was without the option.

``sheet`` puts the plan on a drawing sheet (frame, title block, legend, dimension chains, north
arrow, scale bar, grid bubbles; see :mod:`model_code.synth.sheet`) with that probability.  The
sheet keeps the image size: the plan is laid out on a smaller canvas and pasted at an integer
offset, so its records move exactly.  Every sheet choice comes from ``default_rng([seed,
SHEET_STREAM])``; with ``sheet=0.0`` (or when a plan is not drawn on a sheet) every byte is what it
was without the option.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from shapely import Polygon, box
from shapely.geometry.polygon import orient

from model_code.schema import Annotation, Opening, Room, Wall, bounding_box_of, room_type_of_name
from model_code.synth.artefacts import (
    MAX_ROTATION_DEG,
    light_effects,
    rotation_matrix,
    scan_effects,
    transform_points,
    warp_image,
)
from model_code.synth.decor import Terrace
from model_code.synth.layout import Layout, generate_layout
from model_code.synth.raster import room_label_image, wall_and_opening_masks
from model_code.synth.render import render_layout
from model_code.synth.sheet import SHEET_STREAM, choose_sheet, draw_sheet
from model_code.synth.styles import ALL_STYLES, STYLE_TABLE, STYLES, layout_params, realise
from model_code.synth.words import TEXT_STREAM, PrintedText, Words

MIN_SIZE = 128
MAX_SIZE = 4096
DEFAULT_SIZE_RANGE = (256, 2048)
COORDINATE_DECIMALS = 2  # what schema.Wall/Opening/Room.to_dict keep
BARE_STREAM = 1  # second word of the seed of the bare-opening generator: default_rng([seed, BARE_STREAM])
BARE_TYPES = ("door", "window")  # the opening types that have a symbol to leave out
MAX_MARGIN_SHARE = 0.3  # the margin on each side takes at most this share of the canvas's short side
MIN_PLAN_SPAN = 48  # px: the margins leave at least this much of the canvas's short side to the plan
TERRACE_KIND = "balcony"  # the kind (and type) of a terrace drawn outside the building


@dataclass
class SynthPlan:
    """A generated plan: RGB image, annotation and masks that agree pixel for pixel."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    annotation: Annotation
    wall_mask: np.ndarray  # (H, W) bool, openings excluded
    opening_mask: np.ndarray  # (H, W) bool, door/window gaps within the wall band
    room_labels: np.ndarray  # (H, W) int32, 0 = no room, k = annotation.rooms[k - 1]
    style: str
    room_kinds: list[str]  # semantic kind of each room (living, bedroom, ...), parallel to annotation.rooms
    # indices into annotation.openings of the doors and windows drawn without their symbol (ascending)
    bare_openings: list[int] = field(default_factory=list)
    # the plan canvas on its sheet (x0, y0, x1, y1) before any scan rotation; None when not on a sheet
    sheet_box: tuple[int, int, int, int] | None = None
    ppm: float = 0.0  # pixels per metre of the drawing (the layout's scale; rotation keeps it)
    language: str | None = None  # with print_text: the labels' language (en, fr, es, de, sv)
    printed: list[PrintedText] = field(default_factory=list)  # with print_text: every line drawn


def plan_id(seed: int) -> str:
    """The image id of the plan made from ``seed``, e.g. ``synth_000042``."""
    return f"synth_{seed:06d}"


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _size_range(size: int | tuple[int, int] | None) -> tuple[int, int]:
    """The inclusive range the longest side is drawn from (a single size is a one-value range)."""
    if size is None:
        return DEFAULT_SIZE_RANGE
    lo, hi = (size, size) if _is_int(size) else tuple(size)  # type: ignore[arg-type,misc]
    if not (_is_int(lo) and _is_int(hi) and MIN_SIZE <= lo <= hi <= MAX_SIZE):
        raise ValueError(
            f"size must be an integer (or a (min, max) pair) from {MIN_SIZE} to {MAX_SIZE}, got {size!r}"
        )
    return int(lo), int(hi)


def _check_arguments(seed: int, styles: Sequence[str] | None) -> tuple[str, ...]:
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if styles is None:
        return STYLES
    if isinstance(styles, str):
        styles = [styles]
    chosen = tuple(dict.fromkeys(styles))
    if not chosen:
        raise ValueError(f"styles must name at least one of {list(ALL_STYLES)}")
    unknown = [s for s in chosen if s not in STYLE_TABLE]
    if unknown:
        raise ValueError(f"unknown style(s) {unknown}; known styles: {list(ALL_STYLES)}")
    return tuple(s for s in ALL_STYLES if s in chosen)


def _check_fraction(value: float, name: str = "bare_openings") -> float:
    valid = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not valid or not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a fraction from 0 to 1, got {value!r}")
    return float(value)


def choose_bare(seed: int, types: Sequence[str], fraction: float) -> list[int]:
    """Indices of the doors and windows among ``types`` drawn without their symbol.

    One uniform draw per opening (passages included, so an opening's draw never depends on the
    types before it) from ``default_rng([seed, BARE_STREAM])``; an opening is bare when its draw is
    below ``fraction``, so the bare openings of a larger fraction include those of a smaller one.
    """
    if fraction <= 0.0 or not types:
        return []
    draws = np.random.default_rng([int(seed), BARE_STREAM]).random(len(types))
    return [
        k for k, (kind, u) in enumerate(zip(types, draws, strict=True)) if kind in BARE_TYPES and u < fraction
    ]


def generate_plan(
    seed: int,
    size: int | tuple[int, int] | None = None,
    styles: Sequence[str] | None = None,
    bare_openings: float = 0.0,
    sheet: float = 0.0,
    print_text: bool = False,
) -> SynthPlan:
    """Generate the plan for ``seed``: same seed and arguments give identical bytes.

    Args:
        seed: non-negative integer; every random choice derives from it.
        size: longest image side in pixels (128-4096); a ``(min, max)`` pair draws it from that
            range, None from 256..2048.
        styles: restrict the random style choice to these names (see ``ALL_STYLES``).  None draws
            from the seven default ``STYLES``; the opt-in styles (``OPT_IN_STYLES``:
            ``architectural``, ``brochure``, ``cad_colour``) are drawn only when named.
        bare_openings: probability (0..1) that each door and window is drawn without its symbol
            (no leaf, swing arc, sliding panels, glazing lines or jambs: a plain gap in the wall).
            The ground truth is unchanged; ``SynthPlan.bare_openings`` lists them.  Everything
            else is drawn as with 0.0 (label and furniture still keep clear of a bare door's swing).
        sheet: probability (0..1) that the plan is drawn on a drawing sheet of the same image size
            (frame, title block, legend, dimension chains, north arrow, scale bar, grid bubbles):
            none of it is wall or opening.  ``SynthPlan.sheet_box`` says where the plan lies.
        print_text: label every room in one of five languages and print a dimension or area line
            in one of several notations where it fits (:mod:`model_code.synth.words`), with the
            ground truth in ``SynthPlan.printed``; its choices come from ``default_rng([seed,
            TEXT_STREAM])``.  Off (the default), every byte is what it was without the option.
    """
    names = _check_arguments(seed, styles)
    fraction = _check_fraction(bare_openings)
    sheet_fraction = _check_fraction(sheet, "sheet")
    size_lo, size_hi = _size_range(size)
    rng = np.random.default_rng(int(seed))
    style = STYLE_TABLE[names[int(rng.integers(len(names)))]]
    longest = size_lo if size_lo == size_hi else int(rng.integers(size_lo, size_hi + 1))
    shortest = round(longest * float(rng.uniform(0.7, 1.0)))
    width, height = (longest, shortest) if rng.random() < 0.5 else (shortest, longest)
    look = realise(rng, style, longest)
    sheet_rng = np.random.default_rng([int(seed), SHEET_STREAM])
    frame = choose_sheet(sheet_rng, width, height, sheet_fraction)
    canvas_w, canvas_h = (frame.plan_width, frame.plan_height) if frame else (width, height)
    words = None
    if print_text:
        words = Words(np.random.default_rng([int(seed), TEXT_STREAM]))
        look = replace(look, labels=True, area_text=True)
    margin = round(max(canvas_w, canvas_h) * float(rng.uniform(0.09, 0.14)))
    if style.margin_scale != 1.0:  # opt-in styles only: room for dense dimension chains
        margin = round(margin * style.margin_scale)
    # A sheet's plan area can be long and low, and a 128 px plan small: the margins never take more
    # than 60% of the short side nor leave less than MIN_PLAN_SPAN px (untouched wherever they
    # already left more, so every earlier plan is the plan it was).
    short = min(canvas_w, canvas_h)
    margin = max(0, min(margin, int(MAX_MARGIN_SHARE * short), (short - MIN_PLAN_SPAN) // 2))
    layout = generate_layout(
        rng, canvas_w, canvas_h, layout_params(rng, style), margin, max_bay_depth=0.45 * margin
    )
    annotation = to_annotation(layout, plan_id(int(seed)))
    wall_mask, opening_mask = wall_and_opening_masks(
        annotation.walls, annotation.openings, canvas_h, canvas_w
    )
    bare = choose_bare(int(seed), [o.type for o in layout.openings], fraction)
    rendering = render_layout(rng, layout, look, wall_mask, opening_mask, bare=frozenset(bare), words=words)
    for room, label in zip(annotation.rooms, rendering.labels, strict=True):
        room.name_hint = label
    for terrace in rendering.terraces:  # outside the building, but a room (R3D types balconies)
        annotation.rooms.append(terrace_room(terrace, len(annotation.rooms) + 1))
    image = rendering.image
    sheet_box = None
    if frame is not None:
        image = draw_sheet(sheet_rng, frame, image, layout, look, wall_mask | opening_mask)
        shift = np.array([[1.0, 0.0, frame.x], [0.0, 1.0, frame.y]])
        annotation = transform_annotation(annotation, shift)
        annotation.width, annotation.height = width, height
        wall_mask, opening_mask = wall_and_opening_masks(annotation.walls, annotation.openings, height, width)
        sheet_box = (frame.x, frame.y, frame.x + canvas_w, frame.y + canvas_h)
    if look.scan:
        angle = float(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG))
        matrix = rotation_matrix(angle, width, height)
        image = warp_image(image, matrix, look.paper)
        annotation = transform_annotation(annotation, matrix)
        wall_mask, opening_mask = wall_and_opening_masks(annotation.walls, annotation.openings, height, width)
        image = scan_effects(rng, image)
    else:
        image = light_effects(rng, image, look.jpeg)
    labels = room_label_image(annotation.rooms, wall_mask | opening_mask, height, width)
    pixel_counts = np.bincount(labels.ravel(), minlength=len(annotation.rooms) + 1)
    for k, room in enumerate(annotation.rooms, start=1):
        room.area_px = float(pixel_counts[k])
    return SynthPlan(
        image=np.ascontiguousarray(image),
        annotation=annotation,
        wall_mask=wall_mask,
        opening_mask=opening_mask,
        room_labels=labels,
        style=style.name,
        room_kinds=[room.kind for room in layout.rooms] + [TERRACE_KIND] * len(rendering.terraces),
        bare_openings=bare,
        sheet_box=sheet_box,
        ppm=float(layout.ppm),
        language=None if words is None else words.language,
        printed=[] if words is None else list(words.printed),
    )


def _xy(point: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """A point rounded to the 0.01 px the JSON keeps: masks from the records equal masks from the file."""
    return (round(float(point[0]), COORDINATE_DECIMALS), round(float(point[1]), COORDINATE_DECIMALS))


def to_annotation(layout: Layout, image_id: str) -> Annotation:
    """The customers' annotation records (with our extensions) of a layout; rooms typed by their kind."""
    walls = [
        Wall(
            start=_xy(w.start),
            end=_xy(w.end),
            thickness=float(w.thickness),
            is_load_bearing=bool(w.load_bearing),
            id=w.id,
        )
        for w in layout.walls
    ]
    openings = [
        Opening(
            type=o.type,  # type: ignore[arg-type]
            start=_xy(o.start),
            end=_xy(o.end),
            id=f"o{k + 1}",
            wall_id=o.wall_id,
            thickness=float(o.thickness),
        )
        for k, o in enumerate(layout.openings)
    ]
    rooms = []
    for k, room in enumerate(layout.rooms):
        ring = pixel_ring(room.interior)
        rooms.append(
            Room(
                id=f"room_{k + 1}",
                bounding_box=bounding_box_of(ring),
                polygon=ring,
                type=room_type_of_name(room.kind),
            )
        )
    return Annotation(
        image_id=image_id,
        walls=walls,
        rooms=rooms,
        openings=openings,
        width=layout.width,
        height=layout.height,
    )


def terrace_room(terrace: Terrace, number: int) -> Room:
    """The ground-truth room of a terrace drawn outside the building: the inside of its outline,
    type ``balcony``, named by the word printed in it."""
    x0, y0, x1, y1 = terrace.box
    ring = pixel_ring(box(x0 + 0.5, y0 + 0.5, x1 - 0.5, y1 - 0.5))
    return Room(
        id=f"room_{number}",
        bounding_box=bounding_box_of(ring),
        polygon=ring,
        name_hint=terrace.name,
        type=room_type_of_name(TERRACE_KIND),
    )


def pixel_ring(interior: Polygon) -> list[tuple[float, float]]:
    """The room polygon through the centres of its outermost pixels: the interior shrunk by half a pixel."""
    inner = interior.buffer(-0.5, join_style="mitre")
    if inner.geom_type == "MultiPolygon":
        inner = max(inner.geoms, key=lambda g: g.area)
    if inner.is_empty:
        inner = interior
    inner = orient(inner.simplify(0.01), sign=1.0)
    return [_xy(p) for p in list(inner.exterior.coords)[:-1]]


def transform_annotation(annotation: Annotation, matrix: np.ndarray) -> Annotation:
    """A copy of ``annotation`` with every coordinate moved by the 2x3 affine ``matrix``."""

    def move(point: tuple[float, float]) -> tuple[float, float]:
        return _xy(transform_points(np.array([point]), matrix)[0])

    walls = [
        Wall(move(w.start), move(w.end), w.thickness, w.is_load_bearing, w.id, w.confidence)
        for w in annotation.walls
    ]
    openings = [
        Opening(o.type, move(o.start), move(o.end), o.id, o.wall_id, o.thickness) for o in annotation.openings
    ]
    rooms = []
    for room in annotation.rooms:
        ring = [move(p) for p in room.polygon or []]
        rooms.append(
            Room(
                room.id,
                bounding_box_of(ring),
                ring,
                room.area_px,
                room.name_hint,
                room.type,
                room.type_confidence,
            )
        )
    return Annotation(annotation.image_id, walls, rooms, openings, annotation.width, annotation.height)
