"""The wall mask's edges moved onto the drawing's own ink (``inference.guided_mask``), and the
``wall_edges`` option that chooses it, end to end with the bundled model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model_code.model.inference import (
    GUIDE_RADIUS,
    guide_bytes,
    guide_radius,
    guided_filter,
    guided_mask,
    threshold_bytes,
    upsample_bytes,
    upsample_mask,
    upsampling,
)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _drawn_walls(size: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """A white page with black walls of odd widths, and their exact mask."""
    truth = np.zeros((size, size), bool)
    truth[40:49, 20:280] = True  # 9 px horizontal wall
    truth[40:260, 20:27] = True  # 7 px vertical wall
    truth[150:155, 27:200] = True  # 5 px partition
    image = np.full((size, size, 3), 255, np.uint8)
    image[truth] = 20
    return image, truth


def test_edges_a_coarse_probability_put_off_the_ink_snap_back() -> None:
    image, truth = _drawn_walls()
    # what a network seeing the plan at a third of its size gives: a blurred, 1.5 px fatter wall
    fat = cv2.dilate(truth.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    coarse = cv2.resize(cv2.GaussianBlur(fat, (0, 0), 1.5), (100, 100), interpolation=cv2.INTER_AREA)
    plain = upsample_mask(coarse, truth.shape, 0.5)
    snapped = guided_mask(coarse, image, 0.5)
    assert _iou(snapped, truth) > _iou(plain, truth) + 0.05
    assert _iou(snapped, truth) > 0.9


def test_strips_give_the_whole_image_result() -> None:
    image, truth = _drawn_walls()
    coarse = cv2.resize(truth.astype(np.float32), (120, 120), interpolation=cv2.INTER_AREA)
    whole = guided_mask(coarse, image, 0.5, strip_rows=300)
    for rows in (1, 7, 64):
        assert np.array_equal(guided_mask(coarse, image, 0.5, strip_rows=rows), whole)


def test_a_grey_image_and_a_flat_probability() -> None:
    image, truth = _drawn_walls()
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    coarse = cv2.resize(truth.astype(np.float32), (150, 150), interpolation=cv2.INTER_AREA)
    assert np.array_equal(guided_mask(coarse, grey, 0.5), guided_mask(coarse, image, 0.5))
    assert not guided_mask(np.zeros((30, 30), np.float32), image, 0.5).any()  # nothing is invented
    assert guided_mask(np.ones((30, 30), np.float32), image, 0.5).all()  # a flat map stays flat
    values = np.random.default_rng(0).random((40, 40), dtype=np.float32)
    flat_guide = np.full((40, 40), 0.5, np.float32)
    twice_averaged = cv2.blur(cv2.blur(values, (5, 5)), (5, 5))  # no edge to follow: b is the mean
    assert np.allclose(guided_filter(flat_guide, values, 2, 0.01), twice_averaged, atol=1e-5)


@pytest.mark.parametrize(("radius", "eps", "rows"), [(0, 0.01, 8), (3, 0.0, 8), (3, 0.01, 0)])
def test_bad_arguments_are_refused(radius: int, eps: float, rows: int) -> None:
    with pytest.raises(ValueError, match="guided_mask needs"):
        guided_mask(np.zeros((4, 4), np.float32), np.zeros((8, 8, 3), np.uint8), 0.5, radius, eps, rows)


def test_one_upsampling_serves_both_masks() -> None:
    """The pipeline upsamples the wall channel once: ``guide_bytes`` leaves the bytes as they are, so
    the network's own mask thresholded from them afterwards is ``upsample_mask``'s."""
    image, _truth = _drawn_walls()
    coarse = np.random.default_rng(3).random((75, 75)).astype(np.float32)
    upsampled = upsample_bytes(coarse, image.shape[:2])
    kept = upsampled.copy()
    radius = guide_radius(upsampling(coarse.shape, image.shape[:2]))  # the pipeline's window: 6 px here
    assert radius == 6
    assert np.array_equal(guide_bytes(upsampled, image, 0.5, radius), guided_mask(coarse, image, 0.5))
    assert np.array_equal(upsampled, kept)
    assert np.array_equal(threshold_bytes(upsampled, 0.5), upsample_mask(coarse, image.shape[:2], 0.5))
    with pytest.raises(ValueError, match="differ"):
        guide_bytes(upsampled[:-1], image, 0.5)


def test_the_bundled_model_walls_fit_the_ink_better_with_drawing_edges() -> None:
    """End to end: a generated 1,024 px plan through the pipeline with each ``wall_edges``."""
    from model_code.pipeline import Pipeline, PipelineOptions
    from model_code.synth import generate_plan

    plan = generate_plan(7, size=1024, styles=["solid"])
    pipeline = Pipeline.load()
    drawing = pipeline.analyze(plan.image, PipelineOptions())
    network = pipeline.analyze(plan.image, PipelineOptions(wall_edges="network"))
    truth = np.asarray(plan.wall_mask, bool)
    assert _iou(drawing.wall_mask, truth) > _iou(network.wall_mask, truth) + 0.01
    # the rooms are traced at the working scale: the edges do not move them
    assert [r.polygon for r in drawing.document.rooms] == [r.polygon for r in network.document.rooms]


def test_a_finely_hatched_wall_stays_whole() -> None:
    """A checkerboard-filled wall: the filter alone follows the texture; the holes are filled again."""
    truth = np.zeros((120, 160), bool)
    truth[40:52, 10:150] = True
    image = np.full((120, 160, 3), 255, np.uint8)
    checker = (np.add.outer(np.arange(120), np.arange(160)) % 2 == 0) & truth
    image[checker] = 0
    image[40, 10:150] = image[51, 10:150] = 0  # the wall's outline
    image[40:52, 10] = image[40:52, 149] = 0
    prob = cv2.resize(truth.astype(np.float32), (80, 60), interpolation=cv2.INTER_AREA)
    filtered_only = guided_filter(
        cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32),
        cv2.resize(prob, (160, 120), interpolation=cv2.INTER_LINEAR) * 255,
        3,
        0.01 * 255**2,
    )
    assert (filtered_only[41:51, 12:148] <= 127.5).any()  # the texture punches holes
    mask = guided_mask(prob, image, 0.5)
    assert mask[41:51, 12:148].all()  # none left
    assert _iou(mask, truth) > 0.9


def test_a_plan_traced_at_its_own_size_keeps_its_walls_and_rooms() -> None:
    """Walls and rooms are traced on the network's edges at every size (the room stage and the room
    classifier were tuned on them); the returned mask and the walls' thicknesses take the new edges."""
    from model_code.pipeline import Pipeline, PipelineOptions
    from model_code.synth import generate_plan

    plan = generate_plan(11, size=400, styles=["hatched"])
    pipeline = Pipeline.load()
    drawing = pipeline.analyze(plan.image, PipelineOptions())
    network = pipeline.analyze(plan.image, PipelineOptions(wall_edges="network"))
    assert drawing.document.inference["working_width"] == network.document.inference["working_width"]
    assert [(r.polygon, r.type) for r in drawing.document.rooms] == [
        (r.polygon, r.type) for r in network.document.rooms
    ]
    assert len(drawing.document.walls) == len(network.document.walls)
    assert (drawing.wall_mask != network.wall_mask).any()  # the returned mask has the new edges


def test_network_edges_with_text_strokes_removed_are_not_re_measured() -> None:
    """``wall_edges=network`` keeps the old pipeline even when the text stage rewrites the traced mask."""
    from model_code.pipeline import Pipeline, PipelineOptions
    from model_code.synth import generate_plan

    image = generate_plan(3, size=400, print_text=True).image
    pipeline = Pipeline.load()
    network = pipeline.analyze(image, PipelineOptions(wall_edges="network", text="on")).document
    drawing = pipeline.analyze(image, PipelineOptions(text="on")).document
    assert "remeasure" not in network.timing_ms and "remeasure" in drawing.timing_ms


def test_the_window_grows_with_the_upsampling() -> None:
    """A plan enlarged many times from its working scale: the network's edge is a working pixel off,
    many input pixels, and only a window that grows with the upsampling reaches the ink."""
    assert guide_radius(1.0) == guide_radius(2.0) == GUIDE_RADIUS  # ordinary plans: as before
    assert guide_radius(8.0) == 12 and guide_radius(16.0) == 24
    assert upsampling((100, 50), (800, 400)) == 8.0
    truth = np.zeros((800, 800), bool)
    truth[200:248, 100:700] = True  # a 48 px wall on an 800 px plan
    truth[200:700, 100:140] = True
    image = np.full((800, 800, 3), 255, np.uint8)
    image[truth] = 20
    # the network at 1/8 scale: its wall half a working pixel fatter on every side, its edges blurred
    fat = cv2.dilate(truth.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(np.float32)
    coarse = cv2.resize(cv2.GaussianBlur(fat, (0, 0), 4), (100, 100), interpolation=cv2.INTER_AREA)
    small_window = guided_mask(coarse, image, 0.5, radius=GUIDE_RADIUS)
    grown = guided_mask(coarse, image, 0.5)  # radius 12
    assert _iou(small_window, truth) < 0.9
    assert _iou(grown, truth) > 0.98
