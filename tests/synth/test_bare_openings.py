"""Doors and windows drawn without their symbol (``generate_plan(..., bare_openings=)``)."""

from __future__ import annotations

import numpy as np
import pytest

from model_code.synth import STYLES, SynthPlan, generate_plan
from model_code.synth import generator as generator_module
from model_code.synth import render as render_module
from model_code.synth.generator import BARE_TYPES, choose_bare
from model_code.synth.raster import wall_and_opening_masks

FLAT_STYLES = [s for s in STYLES if s != "scan"]  # no rotation: the opening bands stay axis-true


def _same(a: SynthPlan, b: SynthPlan) -> bool:
    return (
        a.image.tobytes() == b.image.tobytes()
        and a.wall_mask.tobytes() == b.wall_mask.tobytes()
        and a.opening_mask.tobytes() == b.opening_mask.tobytes()
        and a.room_labels.tobytes() == b.room_labels.tobytes()
        and a.annotation.to_dict() == b.annotation.to_dict()
        and a.style == b.style
        and a.room_kinds == b.room_kinds
    )


def _symbolled(plan: SynthPlan) -> list[int]:
    return [k for k, o in enumerate(plan.annotation.openings) if o.type in BARE_TYPES]


@pytest.fixture
def no_photo_effects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave out blur and JPEG, so pixels can be compared exactly (both plans of a pair alike)."""
    monkeypatch.setattr(generator_module, "light_effects", lambda rng, image, use_jpeg: image)


@pytest.mark.parametrize("style", STYLES)
def test_zero_is_the_default(style: str) -> None:
    # the bare choice has its own generator, so 0.0 changes no byte (checked once by hand against the
    # commit before the option: image, masks, room ids and annotation of 31 plans identical)
    default = generate_plan(5, size=256, styles=[style])
    zero = generate_plan(5, size=256, styles=[style], bare_openings=0.0)
    assert _same(default, zero)
    assert default.bare_openings == zero.bare_openings == []


@pytest.mark.parametrize("style", STYLES)
def test_bare_plans_are_deterministic_and_keep_the_ground_truth(style: str) -> None:
    first = generate_plan(8, size=256, styles=[style], bare_openings=0.5)
    second = generate_plan(8, size=256, styles=[style], bare_openings=0.5)
    assert _same(first, second)
    assert first.bare_openings == second.bare_openings
    drawn = generate_plan(8, size=256, styles=[style])
    # everything but the image is the plan drawn with every symbol
    assert first.annotation.to_dict() == drawn.annotation.to_dict()
    assert np.array_equal(first.wall_mask, drawn.wall_mask)
    assert np.array_equal(first.opening_mask, drawn.opening_mask)
    assert np.array_equal(first.room_labels, drawn.room_labels)
    assert first.room_kinds == drawn.room_kinds


def test_all_bare_is_every_door_and_window_and_nothing_else() -> None:
    for seed in range(6):
        plan = generate_plan(seed, size=200, bare_openings=1.0)
        assert plan.bare_openings == _symbolled(plan)
        assert all(plan.annotation.openings[k].type != "opening" for k in plan.bare_openings)


def test_bare_choice_is_nested_and_honours_the_fraction() -> None:
    types = ["door", "window", "opening"] * 1000
    half = choose_bare(3, types, 0.5)
    assert set(choose_bare(3, types, 0.2)) <= set(half) <= set(choose_bare(3, types, 0.8))
    assert all(types[k] != "opening" for k in half)
    assert abs(len(half) / 2000 - 0.5) < 0.05
    assert choose_bare(3, types, 0.0) == []
    assert choose_bare(3, types, 1.0) == [k for k, t in enumerate(types) if t != "opening"]


def test_fraction_is_roughly_honoured_over_many_openings() -> None:
    bare = total = 0
    for seed in range(40):
        plan = generate_plan(seed, size=128, bare_openings=0.3)
        bare += len(plan.bare_openings)
        total += len(_symbolled(plan))
    assert total > 300
    assert abs(bare / total - 0.3) < 0.06


@pytest.mark.parametrize("style", STYLES)
def test_all_bare_equals_never_drawing_a_symbol(style: str, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = generate_plan(21, size=300, styles=[style], bare_openings=1.0)
    monkeypatch.setattr(render_module, "draw_door", lambda *args: None)
    monkeypatch.setattr(render_module, "draw_window", lambda *args: None)
    assert _same(bare, generate_plan(21, size=300, styles=[style]))


@pytest.mark.usefixtures("no_photo_effects")
@pytest.mark.parametrize("style", FLAT_STYLES)
def test_bare_gaps_are_plain_paper_and_only_symbols_go(style: str) -> None:
    for seed in (1, 2):
        drawn = generate_plan(seed, size=400, styles=[style])
        bare = generate_plan(seed, size=400, styles=[style], bare_openings=1.0)
        height, width = bare.wall_mask.shape
        # the gap of every bare door and window holds one colour, the paper (the mask still marks it)
        for k in bare.bare_openings:
            opening = bare.annotation.openings[k]
            _, band = wall_and_opening_masks([], [opening], height, width)
            assert band.any() and np.all(bare.opening_mask[band])
            assert len(np.unique(bare.image[band], axis=0)) == 1
            assert int(bare.image[band].min()) >= 200  # paper colours are light
            if opening.type == "window":  # the glazing lines were there
                assert len(np.unique(drawn.image[band], axis=0)) > 1
        # the pixels that changed lie around the openings: leaves, arcs, panels, glazing, jambs
        near = np.zeros((height, width), bool)
        for k in bare.bare_openings:
            opening = bare.annotation.openings[k]
            (x0, y0), (x1, y1) = opening.start, opening.end
            reach = float(np.hypot(x1 - x0, y1 - y0)) + opening.thickness / 2 + 3
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            near[
                max(int(cy - reach), 0) : int(cy + reach) + 1,
                max(int(cx - reach), 0) : int(cx + reach) + 1,
            ] = True
        changed = np.any(drawn.image != bare.image, axis=2)
        assert changed.any()
        assert not np.any(changed & ~near)


def test_bad_fractions_are_rejected() -> None:
    for value in (-0.1, 1.5, float("nan"), "0.5", True, None):
        with pytest.raises(ValueError, match="bare_openings"):
            generate_plan(1, size=128, bare_openings=value)  # type: ignore[arg-type]
