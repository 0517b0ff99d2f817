"""Named rendering styles: how walls, text, decorations and scan artefacts look.

A :class:`Style` holds ranges and probabilities; :func:`realise` draws one concrete
:class:`Look` per plan from them, so two plans of one style still differ in colours, fonts and
decorations.  Every style keeps the same ground-truth semantics (see ``docs/synth.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from model_code.synth.layout import LayoutParams

Colour = tuple[int, int, int]

WALL_FILLS = ("solid", "grey", "hollow", "hatch", "line", "poche")
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
)

# pastel floor colours per room kind for the coloured style (RGB)
ROOM_COLOURS: dict[str, Colour] = {
    "living": (236, 244, 214),
    "kitchen": (250, 236, 200),
    "dining": (240, 232, 214),
    "bedroom": (252, 228, 196),
    "bath": (208, 236, 246),
    "wc": (214, 232, 244),
    "closet": (228, 226, 240),
    "study": (232, 240, 226),
    "utility": (230, 230, 230),
    "hall": (246, 222, 204),
}

# CAD layer colours (RGB) of the ``cad_colour`` style, as Chinese interior-design sheets draw them
YELLOW: Colour = (230, 200, 0)
ORANGE: Colour = (240, 140, 20)
GREEN: Colour = (0, 160, 60)
CYAN: Colour = (0, 180, 210)
MAGENTA: Colour = (200, 0, 200)
RED: Colour = (220, 20, 20)
BLUE: Colour = (30, 60, 220)
LIGHT_BLUE: Colour = (90, 150, 240)
GREY: Colour = (128, 128, 128)
DARK_GREY: Colour = (70, 70, 70)

# the drawing layers a look may colour (:meth:`Look.layer`); a layer without a colour is drawn in ink
LAYERS = (
    "furniture",
    "doors",
    "windows",
    "text",
    "dimensions",
    "axes",
    "hatch",
    "partitions",
    "sheet",
    "walls",
)


@dataclass(frozen=True)
class Style:
    """Ranges and probabilities of one named look."""

    name: str
    wall_fills: tuple[str, ...]
    interior_wall_m: tuple[float, float]
    exterior_wall_m: tuple[float, float]
    min_interior_px: int = 2
    paper: tuple[Colour, ...] = ((255, 255, 255),)
    ink: tuple[Colour, ...] = ((0, 0, 0),)
    fonts: tuple[int, ...] = FONTS[:4]
    label_probability: float = 0.9
    uppercase_probability: float = 0.5
    area_text_probability: float = 0.4
    furniture_probability: float = 0.7
    dimension_probability: float = 0.3
    north_arrow_probability: float = 0.3
    title_probability: float = 0.5
    grid: tuple[str, ...] = ("none",)
    room_fill_probability: float = 0.0
    thin_lines: bool = False
    scan: bool = False
    jpeg_probability: float = 0.2
    # opt-in styles only (the defaults draw nothing and change nothing for the seven default styles)
    structural_fills: tuple[str, ...] = ()  # fills of load-bearing walls; partitions then drawn as ink lines
    thick_spines: bool = False  # interior load-bearing (spine) walls as thick as the exterior walls
    column_probability: float = 0.0  # chance of a column at each structural wall end or corner
    dense_dimensions: bool = False  # two or three dimension chains with extension lines on every side
    glyph_label_probability: float = 0.0  # room names in ideogram-like glyphs (Hangul/CJK look)
    floor_texture_probability: float = 0.0  # wood planks, tiles or carpet inside rooms
    tiles_in_wet_rooms: bool = False  # ink tile grids in bath/wc/utility (scans and CAD sheets)
    shadow_probability: float = 0.0  # soft grey drop shadow of the walls on the floor
    tree_probability: float = 0.0  # trees and shrubs around the building (brochures)
    margin_scale: float = 1.0  # the canvas margin times this (room for dense dimension chains)
    partition_fill: str = (
        "line"  # with structural_fills: "line" (solid ink) or "hollow" (outline in layer colour)
    )
    dense_furniture: bool = False  # the denser furniture set (beds with covers, armchairs, X-boxed cabinets)
    ceiling_frame_probability: float = 0.0  # chance a plan draws nested ceiling frames in its main rooms
    rug_probability: float = 0.0  # chance a plan draws rugs with dense patterns in its main rooms
    # (layer, colour options) pairs: each plan draws one colour per layer (see LAYERS); empty: all ink
    layer_palettes: tuple[tuple[str, tuple[Colour, ...]], ...] = ()


STYLE_TABLE: dict[str, Style] = {
    s.name: s
    for s in (
        Style("solid", ("solid",), (0.10, 0.16), (0.25, 0.40), fonts=FONTS[:4]),
        Style(
            "grey",
            ("grey",),
            (0.10, 0.16),
            (0.22, 0.35),
            paper=((255, 255, 255), (250, 250, 246)),
            ink=((0, 0, 0), (40, 40, 40)),
        ),
        Style(
            "cad",
            ("hollow",),
            (0.12, 0.18),
            (0.28, 0.40),
            fonts=(cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL),
            uppercase_probability=0.9,
            area_text_probability=0.7,
            dimension_probability=0.85,
            north_arrow_probability=0.5,
            title_probability=0.8,
            grid=("axes", "none"),
            thin_lines=True,
            jpeg_probability=0.1,
        ),
        Style(
            "hatched",
            ("hatch",),
            (0.12, 0.18),
            (0.30, 0.45),
            fonts=(cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_PLAIN),
            dimension_probability=0.6,
            grid=("none", "axes"),
            thin_lines=True,
        ),
        Style(
            "thin",
            ("line",),
            (0.04, 0.07),
            (0.08, 0.12),
            fonts=(cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX),
            furniture_probability=0.5,
            dimension_probability=0.4,
            grid=("none", "paper"),
            thin_lines=True,
        ),
        Style(
            "colour",
            ("solid", "grey"),
            (0.10, 0.16),
            (0.22, 0.35),
            paper=((255, 255, 255), (248, 244, 232), (236, 242, 248), (244, 240, 230)),
            ink=((0, 0, 0), (50, 40, 30), (20, 30, 60)),
            fonts=FONTS[:4],
            room_fill_probability=1.0,
        ),
        Style(
            "scan",
            ("solid", "grey", "hollow", "hatch"),
            (0.10, 0.16),
            (0.25, 0.40),
            paper=((255, 255, 255), (246, 242, 228)),
            fonts=FONTS,
            grid=("none", "paper"),
            scan=True,
            jpeg_probability=0.9,
        ),
    )
}

OPT_IN_TABLE: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "architectural",
            ("line",),
            (0.015, 0.035),
            (0.24, 0.40),
            min_interior_px=1,
            paper=((255, 255, 255), (252, 252, 250)),
            fonts=(cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL),
            label_probability=0.7,
            area_text_probability=0.2,
            furniture_probability=0.75,
            dimension_probability=0.0,  # the dense chains replace the plain ones
            north_arrow_probability=0.2,
            title_probability=0.0,
            grid=("none", "axes"),
            thin_lines=True,
            jpeg_probability=0.5,
            structural_fills=("solid", "solid", "solid", "hatch", "poche", "hollow"),
            thick_spines=True,
            column_probability=0.35,
            dense_dimensions=True,
            glyph_label_probability=0.6,
            tiles_in_wet_rooms=True,
            margin_scale=1.6,
        ),
        Style(
            "brochure",
            ("solid", "grey"),
            (0.10, 0.16),
            (0.22, 0.35),
            paper=((255, 255, 255), (250, 248, 244), (246, 246, 246)),
            ink=((0, 0, 0), (60, 60, 60), (40, 40, 50)),
            fonts=(cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX),
            uppercase_probability=0.6,
            area_text_probability=0.6,
            furniture_probability=0.95,
            dimension_probability=0.1,
            title_probability=0.4,
            room_fill_probability=0.8,
            floor_texture_probability=0.85,
            shadow_probability=0.6,
            tree_probability=0.5,
        ),
        Style(
            "cad_colour",
            ("hollow",),
            (0.12, 0.20),
            (0.20, 0.32),
            min_interior_px=4,  # hollow partitions: two 1-px lines with paper between
            ink=((0, 0, 0), (40, 40, 40), (70, 70, 70)),
            fonts=(cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL),
            label_probability=0.8,
            uppercase_probability=0.9,
            area_text_probability=0.2,
            furniture_probability=1.0,
            dimension_probability=0.0,  # the dense chains replace the plain ones
            north_arrow_probability=0.2,
            title_probability=0.0,  # the sheet carries the drawing title
            grid=("axes", "axes", "none"),
            thin_lines=True,
            jpeg_probability=0.5,
            # "hollow": an outline in the ``walls`` layer colour with paper inside, as most of the
            # `cad_walls` sheets draw their walls (red, blue, magenta or black double lines)
            structural_fills=("grey", "grey", "poche", "solid", "hollow", "hollow", "hollow"),
            thick_spines=True,
            column_probability=0.2,
            dense_dimensions=True,
            glyph_label_probability=0.7,
            tiles_in_wet_rooms=True,
            margin_scale=1.3,
            partition_fill="hollow",
            dense_furniture=True,
            ceiling_frame_probability=0.5,
            rug_probability=0.5,
            layer_palettes=(
                ("furniture", (YELLOW, YELLOW, ORANGE, GREEN, MAGENTA, GREY)),
                ("doors", (GREEN, GREY, YELLOW, CYAN, ORANGE)),
                ("windows", (CYAN, CYAN, LIGHT_BLUE, GREY)),
                ("text", (GREY, YELLOW, MAGENTA, GREEN, DARK_GREY)),
                ("dimensions", (YELLOW, GREEN, GREY, CYAN, ORANGE)),
                ("axes", (BLUE, LIGHT_BLUE, RED, GREY)),
                ("hatch", (GREY, CYAN, GREEN, MAGENTA)),
                ("partitions", (RED, BLUE, GREEN, MAGENTA, CYAN, DARK_GREY)),
                ("sheet", (YELLOW, GREEN, RED, DARK_GREY, DARK_GREY)),
                ("walls", (RED, RED, BLUE, MAGENTA, DARK_GREY, (0, 0, 0))),
            ),
        ),
    )
}
STYLE_TABLE.update(OPT_IN_TABLE)

# drawn when no style is named: the seven original styles, so every existing seed gives the same plan
STYLES: tuple[str, ...] = tuple(s for s in STYLE_TABLE if s not in OPT_IN_TABLE)
# drawn only when named (``styles=[...]``, ``floorplan synth --styles``, ``synthetic_styles``)
OPT_IN_STYLES: tuple[str, ...] = tuple(OPT_IN_TABLE)
ALL_STYLES: tuple[str, ...] = STYLES + OPT_IN_STYLES


@dataclass
class Look:
    """One plan's concrete drawing choices, drawn from a :class:`Style`."""

    style: str
    wall_fill: str
    paper: Colour
    ink: Colour
    wall_grey: Colour
    font: int
    italic: bool
    uppercase: bool
    line_width: int
    labels: bool
    area_text: bool
    furniture: bool
    dimensions: bool
    north_arrow: bool
    title: bool
    grid: str
    room_fill: bool
    hatch_spacing: int
    hatch_kind: str  # "/", "\\" or "x" (cross-hatched)
    scan: bool
    jpeg: bool
    # opt-in styles only; the defaults are what the seven default styles draw
    structural_fill: str | None = None  # None: every wall in ``wall_fill``
    columns: float = 0.0  # probability of a column at each structural wall end
    dense_dimensions: bool = False
    glyph_labels: bool = False
    floor_texture: bool = False
    wet_tiles: bool = False
    shadow: bool = False
    trees: bool = False
    partition_fill: str = "line"  # with ``structural_fill``: partitions as solid ink or hollow outlines
    dense_furniture: bool = False
    layer_colours: dict[str, Colour] = field(default_factory=dict)  # see LAYERS; missing layers: ink
    ceiling_frames: bool = False  # nested ceiling (or floor inlay) frames and medallions in the main rooms
    rugs: bool = False  # rugs and inlays with dense patterns (herringbone, lattice...) in the main rooms

    def layer(self, name: str, default: Colour | None = None) -> Colour:
        """Colour of drawing layer ``name``: the look's own, else ``default``, else the ink."""
        return self.layer_colours.get(name, self.ink if default is None else default)


def realise(rng: np.random.Generator, style: Style, size: int) -> Look:
    """Draw one :class:`Look` for a plan of longest side ``size`` pixels."""
    ink = style.ink[int(rng.integers(len(style.ink)))]
    grey_level = int(rng.integers(90, 170))
    base = 1 if style.thin_lines or size < 700 else 2
    look = Look(
        style=style.name,
        wall_fill=style.wall_fills[int(rng.integers(len(style.wall_fills)))],
        paper=style.paper[int(rng.integers(len(style.paper)))],
        ink=ink,
        wall_grey=(grey_level, grey_level, grey_level),
        font=style.fonts[int(rng.integers(len(style.fonts)))],
        italic=bool(rng.random() < 0.15),
        uppercase=bool(rng.random() < style.uppercase_probability),
        line_width=max(1, base + (size // 1400)),
        labels=bool(rng.random() < style.label_probability),
        area_text=bool(rng.random() < style.area_text_probability),
        furniture=bool(rng.random() < style.furniture_probability),
        dimensions=bool(rng.random() < style.dimension_probability),
        north_arrow=bool(rng.random() < style.north_arrow_probability),
        title=bool(rng.random() < style.title_probability),
        grid=style.grid[int(rng.integers(len(style.grid)))],
        room_fill=bool(rng.random() < style.room_fill_probability),
        hatch_spacing=int(rng.integers(4, 8)),
        hatch_kind=str(rng.choice(["/", "\\", "x"])),
        scan=style.scan,
        jpeg=bool(rng.random() < style.jpeg_probability),
    )
    if style.name in OPT_IN_TABLE:  # further draws only for opt-in styles: default styles keep their stream
        look = _realise_opt_in(rng, style, look)
    return look


def _realise_opt_in(rng: np.random.Generator, style: Style, look: Look) -> Look:
    """The opt-in styles' extra choices, drawn after (and never instead of) the common ones."""
    structural = None
    if style.structural_fills:
        structural = style.structural_fills[int(rng.integers(len(style.structural_fills)))]
    look = replace(
        look,
        structural_fill=structural,
        columns=style.column_probability,
        dense_dimensions=style.dense_dimensions,
        glyph_labels=bool(rng.random() < style.glyph_label_probability),
        floor_texture=bool(rng.random() < style.floor_texture_probability),
        wet_tiles=style.tiles_in_wet_rooms and bool(rng.random() < 0.8),
        shadow=bool(rng.random() < style.shadow_probability),
        trees=bool(rng.random() < style.tree_probability),
        partition_fill=style.partition_fill,
        dense_furniture=style.dense_furniture,
        # drawn last and only for styles with palettes, so the other opt-in styles keep their stream too
        layer_colours={
            name: options[int(rng.integers(len(options)))] for name, options in style.layer_palettes
        },
    )
    if style.ceiling_frame_probability > 0:  # drawn last, so the other opt-in styles keep their stream
        look = replace(look, ceiling_frames=bool(rng.random() < style.ceiling_frame_probability))
    if style.rug_probability > 0:  # after the frames, so plans drawn before keep their looks
        look = replace(look, rugs=bool(rng.random() < style.rug_probability))
    return look


def layout_params(rng: np.random.Generator, style: Style) -> LayoutParams:
    """Wall thicknesses (metres) and pixel minimums for a layout in ``style``."""
    return LayoutParams(
        interior_wall_m=float(rng.uniform(*style.interior_wall_m)),
        exterior_wall_m=float(rng.uniform(*style.exterior_wall_m)),
        min_interior_px=style.min_interior_px,
        thick_spines=style.thick_spines,
        column_probability=style.column_probability,
    )
