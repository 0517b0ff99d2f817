"""Plans on drawing sheets (``generate_plan(..., sheet=)``, ``floorplan synth --sheet``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model_code.cli import main
from model_code.datasets.torch_data import render_synthetic
from model_code.io.images import read_image
from model_code.synth import STYLES, generate_plan
from model_code.synth.raster import rasterize_annotation
from model_code.synth.sheet import SHEET_STREAM, choose_sheet
from model_code.training.config import ConfigError, TrainConfig


def _ink(image: np.ndarray) -> np.ndarray:
    return image.astype(np.int16).sum(axis=2) < 3 * 110


@pytest.mark.parametrize("style", STYLES)
def test_sheet_plans_are_deterministic_and_their_masks_match_the_annotation(style: str) -> None:
    first = generate_plan(11, size=(600, 800), styles=[style], sheet=1.0)
    second = generate_plan(11, size=(600, 800), styles=[style], sheet=1.0)
    assert np.array_equal(first.image, second.image)
    assert first.annotation.to_dict() == second.annotation.to_dict()
    assert first.sheet_box is not None
    height, width = first.image.shape[:2]
    assert (first.annotation.width, first.annotation.height) == (width, height)
    wall, opening, rooms = rasterize_annotation(first.annotation, height, width)
    assert np.array_equal(wall, first.wall_mask)
    assert np.array_equal(opening, first.opening_mask)
    assert np.array_equal(rooms, first.room_labels)


def test_sheet_zero_and_plans_not_on_a_sheet_change_no_byte() -> None:
    for seed in (3, 4, 5, 6):
        plain = generate_plan(seed, size=400)
        zero = generate_plan(seed, size=400, sheet=0.0)
        assert np.array_equal(plain.image, zero.image) and zero.sheet_box is None
        half = generate_plan(seed, size=400, sheet=0.5)
        if half.sheet_box is None:  # the sheet's own stream said no: the plan is the plain one
            assert np.array_equal(plain.image, half.image)
            assert plain.annotation.to_dict() == half.annotation.to_dict()


def test_the_sheet_choice_comes_from_its_own_stream() -> None:
    drawn = [
        choose_sheet(np.random.default_rng([s, SHEET_STREAM]), 800, 600, 0.5) is not None for s in range(40)
    ]
    assert 8 < sum(drawn) < 32
    on_sheet = [generate_plan(s, size=800, sheet=0.5).sheet_box is not None for s in range(8)]
    assert on_sheet == drawn[:8]


def test_sheet_ink_lies_outside_the_plan_and_the_masks_only_move() -> None:
    for seed in (1, 2, 9):
        plan = generate_plan(seed, size=(900, 1200), styles=["solid"], sheet=1.0)
        x0, y0, x1, y1 = plan.sheet_box
        outside = np.ones(plan.wall_mask.shape, bool)
        outside[y0:y1, x0:x1] = False
        # the frame, title block and other sheet drawing put plenty of ink outside the plan canvas ...
        assert _ink(plan.image)[outside].sum() > 0.01 * outside.sum()
        # ... and none of it is wall or opening: the masks are the plan's, moved onto the sheet
        assert not (plan.wall_mask | plan.opening_mask)[outside].any()
        border = np.zeros_like(outside)
        border[:40], border[-40:], border[:, :40], border[:, -40:] = True, True, True, True
        assert _ink(plan.image)[border].any() and not plan.wall_mask[border].any()
        # the walls are still drawn: every wall pixel is dark ink in a solid-wall plan
        assert _ink(plan.image)[plan.wall_mask].mean() > 0.9


def test_training_passes_sheets_to_the_synthetic_plans() -> None:
    on = render_synthetic(21, 512, sheets=1.0)
    plan = generate_plan(21, 512, sheet=1.0)
    assert np.array_equal(on.image, plan.image) and np.array_equal(on.wall, plan.wall_mask)
    assert np.array_equal(render_synthetic(21, 512).image, generate_plan(21, 512).image)
    assert TrainConfig(synthetic=4).synthetic_sheets == 0.0
    with pytest.raises(ConfigError, match="synthetic_sheets"):
        TrainConfig(synthetic=4, synthetic_sheets=1.5).check()


def test_cli_sheet_flag(tmp_path: Path) -> None:
    out = tmp_path / "sheets"
    args = ["synth", "--count", "2", "--out", str(out), "--seed", "30", "--size", "512"]
    assert main([*args, "--sheet", "1"]) == 0
    for seed in (30, 31):
        plan = generate_plan(seed, size=512, sheet=1.0)
        assert plan.sheet_box is not None
        assert np.array_equal(read_image(out / "images" / f"synth_{seed:06d}.png"), plan.image)
    with pytest.raises(SystemExit):
        main([*args, "--sheet", "2"])


def test_long_low_sheet_plans_and_the_smallest_plans_always_get_a_layout() -> None:
    """Seed 10004497 (ten styles, sheets 0.3) put an architectural plan on a 461 x 223 px sheet area
    whose 1.6x margins left 17 px: a 70-minute pretraining died on it in its eleventh epoch."""
    styles = [*STYLES, "architectural", "brochure", "cad_colour"]
    plan = generate_plan(10004497, styles=styles, sheet=0.3)
    assert plan.style == "architectural" and plan.sheet_box is not None
    assert len(plan.annotation.rooms) >= 2
    for seed in range(120):  # 128 px plans in the style with the widest margins
        small = generate_plan(seed, size=(128, 160), styles=["architectural"], sheet=0.5)
        assert small.annotation.rooms
