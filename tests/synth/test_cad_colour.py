"""The opt-in ``cad_colour`` style: coloured CAD layers and hollow partitions, ground truth unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from model_code.cli import main
from model_code.geometry.raster import rasterize_walls
from model_code.io.images import read_image
from model_code.synth import OPT_IN_STYLES, STYLES, SynthPlan, generate_plan
from model_code.synth.extras import (
    FRAME_KINDS,
    RUG_PATTERNS,
    _rug_pattern,
    draw_ceiling_frames,
    draw_rugs,
    paint_split_walls,
    structural_masks,
)
from model_code.synth.styles import LAYERS, OPT_IN_TABLE, STYLE_TABLE, realise
from model_code.training.config import config_from_mapping
from tests.synth.helpers import axis_aligned, drawn_layout, rerasterised

CHROMA = 100  # max - min of RGB above this: a clearly coloured (not grey) pixel


def _plan(seed: int, size: int = 512, sheet: float = 0.0) -> SynthPlan:
    return generate_plan(seed, size=size, styles=["cad_colour"], sheet=sheet)


def test_cad_colour_is_opt_in_and_only_it_colours_layers() -> None:
    assert "cad_colour" in OPT_IN_STYLES and "cad_colour" not in STYLES
    assert {generate_plan(seed, size=128).style for seed in range(20)} <= set(STYLES)
    rng = np.random.default_rng(0)
    for name in STYLE_TABLE:  # every other style draws every layer in its ink, as before
        look = realise(rng, STYLE_TABLE[name], 512)
        if name == "cad_colour":
            assert set(look.layer_colours) == set(LAYERS)
        else:
            assert look.layer_colours == {}
            assert all(look.layer(layer) == look.ink for layer in LAYERS)
    assert dict(OPT_IN_TABLE["cad_colour"].layer_palettes).keys() == set(LAYERS)


@pytest.mark.parametrize("sheet", [0.0, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cad_colour_draws_coloured_layers_off_the_walls(seed: int, sheet: float) -> None:
    plan = _plan(seed, sheet=sheet)
    assert plan.style == "cad_colour"
    rgb = plan.image.astype(int)
    coloured = (rgb.max(axis=2) - rgb.min(axis=2)) > CHROMA
    off_walls = coloured & ~(plan.wall_mask | plan.opening_mask)
    assert off_walls.sum() > 500  # furniture, dimensions, doors, text... in layer colours
    # several layer colours, not one tinted ink
    hues = cv2.cvtColor(plan.image, cv2.COLOR_RGB2HSV)[..., 0][off_walls] // 15
    assert len({h for h in np.unique(hues) if (hues == h).sum() > 50}) >= 2


@pytest.mark.parametrize("sheet", [0.0, 1.0])
@pytest.mark.parametrize("seed", [0, 3, 5])
def test_cad_colour_ground_truth_is_exact(seed: int, sheet: float) -> None:
    plan = _plan(seed, size=384, sheet=sheet)
    annotation, wall_ref, opening_ref = rerasterised(plan)
    if all(axis_aligned(w) for w in annotation.walls):
        assert np.array_equal(wall_ref, plan.wall_mask)
        assert np.array_equal(opening_ref, plan.opening_mask)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cad_colour_partitions_are_hollow_walls(seed: int) -> None:
    plan = _plan(seed, size=1024)
    bearing = [w for w in plan.annotation.walls if w.is_load_bearing]
    partitions = plan.wall_mask & ~rasterize_walls(bearing, plan.wall_mask.shape)
    inside = cv2.erode(partitions.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert inside.sum() > 500
    paperish = plan.image.min(axis=2) >= 200
    # paper between the two lines (blur and JPEG may smudge a few narrow interiors), lines drawn
    assert paperish[inside].mean() > 0.75
    assert paperish[partitions & ~inside].mean() < 0.05
    # those paper pixels are wall in the mask: the partition is wall across its full thickness
    assert np.all(plan.wall_mask[inside])


@pytest.mark.parametrize("fill", ["grey", "poche", "solid", "hollow"])
def test_hollow_partitions_paint_only_wall_pixels(fill: str) -> None:
    layout, wall_mask, look = drawn_layout("cad_colour", 7, 400, 340, 60)
    look.structural_fill = fill
    paper = np.asarray(look.paper, np.uint8)
    canvas = np.full((340, 400, 3), 7, np.uint8)  # not paper: shows every pixel painted
    paint_split_walls(canvas, layout, wall_mask, look)
    painted = np.any(canvas != 7, axis=2)
    assert np.array_equal(painted, wall_mask)  # every wall pixel, nothing else
    structural, _ = structural_masks(layout, wall_mask)
    partitions = wall_mask & ~structural
    inside = cv2.erode(partitions.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert inside.any() and np.all(canvas[inside] == paper)
    assert np.all(canvas[partitions & ~inside] == np.asarray(look.layer("partitions"), np.uint8))
    if fill == "grey":
        assert np.any(np.all(canvas[structural] == np.asarray(look.wall_grey, np.uint8), axis=1))
    if fill == "hollow":  # a double line in the walls layer's colour, paper between (columns solid ink)
        structural, columns = structural_masks(layout, wall_mask)
        square = np.ones((3, 3), np.uint8)
        inner = cv2.erode(structural.astype(np.uint8), square, iterations=look.line_width).astype(bool)
        assert (inner & ~columns).any() and np.all(canvas[inner & ~columns] == paper)
        outline = structural & ~inner & ~columns
        assert outline.any() and np.all(canvas[outline] == np.asarray(look.layer("walls"), np.uint8))


def test_cad_colour_draws_hollow_structural_walls_in_the_walls_colour() -> None:
    """Some plans draw their load-bearing walls as double lines in a layer colour, paper between."""
    style = OPT_IN_TABLE["cad_colour"]
    assert "hollow" in style.structural_fills
    assert any(c != (0, 0, 0) and max(c) - min(c) > CHROMA for c in dict(style.layer_palettes)["walls"])
    rng = np.random.default_rng(3)
    looks = [realise(rng, style, 1024) for _ in range(60)]
    hollow = [look for look in looks if look.structural_fill == "hollow"]
    assert hollow and {look.layer("walls") for look in hollow} != {hollow[0].ink}
    # the architectural style's hollow walls keep the ink (it has no layer colours)
    assert realise(rng, OPT_IN_TABLE["architectural"], 1024).layer("walls") == (0, 0, 0)


def test_cli_and_training_accept_cad_colour(tmp_path: Path) -> None:
    out = tmp_path / "cad"
    args = ["synth", "--count", "1", "--out", str(out), "--seed", "70", "--size", "256"]
    assert main([*args, "--styles", "cad_colour"]) == 0
    plan = _plan(70, size=256)
    assert np.array_equal(read_image(out / "images" / "synth_000070.png"), plan.image)
    config = config_from_mapping({"synthetic": 4, "synthetic-styles": "cad_colour,solid"})
    config.check()
    assert config.synthetic_style_names() == ("cad_colour", "solid")


def _drawn_in_main_rooms(draw: Callable[..., None], seed: int) -> np.ndarray:
    """What ``draw(rng, canvas, layout, look)`` changes on a blank canvas of a ``cad_colour`` layout
    (``bool``), checked to lie on no wall pixel and inside the living rooms, bedrooms and the like
    (:data:`FRAME_KINDS`, grown by one pixel)."""
    layout, wall_mask, look = drawn_layout("cad_colour", seed, 600, 500, 60)
    canvas = np.full((500, 600, 3), 255, np.uint8)
    draw(np.random.default_rng(seed), canvas, layout, look)
    changed = np.any(canvas != 255, axis=2)
    rooms = np.zeros(wall_mask.shape, np.uint8)
    for room in layout.rooms:
        if room.interior is not None and room.kind in FRAME_KINDS:
            ring = np.round(np.asarray(room.interior.exterior.coords)).astype(np.int32)
            cv2.fillPoly(rooms, [ring], 1)
    assert not (changed & wall_mask).any()
    assert not (changed & ~cv2.dilate(rooms, np.ones((3, 3), np.uint8)).astype(bool)).any()
    return changed


def test_ceiling_frames_are_long_lines_inside_the_main_rooms_only() -> None:
    """Nested ceiling frames: drawn inside living rooms, bedrooms and the like, never on a wall pixel."""
    assert OPT_IN_TABLE["cad_colour"].ceiling_frame_probability > 0
    assert all(STYLE_TABLE[n].ceiling_frame_probability == 0 for n in STYLE_TABLE if n != "cad_colour")
    drawn_any = False
    for seed in range(6):
        changed = _drawn_in_main_rooms(draw_ceiling_frames, seed)
        drawn_any |= bool(changed.sum() > 200)
    assert drawn_any


@pytest.mark.parametrize(("flag", "seed"), [("ceiling_frames", 5), ("rugs", 6)])
def test_only_some_cad_colour_plans_draw_the_flagged_extra(flag: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    flags = [getattr(realise(rng, OPT_IN_TABLE["cad_colour"], 1024), flag) for _ in range(40)]
    assert 5 < sum(flags) < 35
    assert not getattr(realise(rng, OPT_IN_TABLE["architectural"], 1024), flag)


def test_rugs_are_dense_patterns_inside_the_main_rooms_only() -> None:
    """Rugs: large dense patterned areas in living rooms, bedrooms and the like, never on a wall pixel."""
    assert OPT_IN_TABLE["cad_colour"].rug_probability > 0
    assert all(STYLE_TABLE[n].rug_probability == 0 for n in STYLE_TABLE if n != "cad_colour")
    largest = 0
    for seed in range(8):
        changed = _drawn_in_main_rooms(draw_rugs, seed)
        count, _, stats, _ = cv2.connectedComponentsWithStats(
            cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        )
        for k in range(1, count):
            x, y, w, h, area = stats[k]
            if w >= 30 and h >= 30:  # a rug, not a stray stroke: dense ink over most of its box
                ink = changed[y : y + h, x : x + w].mean()
                assert ink > 0.12, ink
                largest = max(largest, int(area))
    assert largest > 2000  # some plan drew a rug of a few square metres


@pytest.mark.parametrize("kind", RUG_PATTERNS)
def test_each_rug_pattern_is_dense_over_the_whole_rug(kind: str) -> None:
    pattern = _rug_pattern(np.random.default_rng(3), kind, (120, 160), ppm=60.0)
    assert pattern.shape == (120, 160)
    assert 0.1 < pattern.mean() < 0.6
    rows = pattern.mean(axis=1)
    assert rows.min() > 0.02  # no empty band: a texture over the whole rug
