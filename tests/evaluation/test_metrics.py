"""The metric module on hand-made cases with known values."""

from __future__ import annotations

import numpy as np
import pytest

from model_code.evaluation import metrics
from model_code.geometry import raster
from model_code.schema import Opening, Room, Wall


def test_pixel_iou_f1_and_pooling():
    gt = np.zeros((10, 10), bool)
    gt[2:6, 2:6] = True  # 16 px
    pred = np.zeros_like(gt)
    pred[4:8, 2:6] = True  # 16 px, 8 shared
    counts = metrics.pixel_counts(pred, gt)
    assert (counts.tp, counts.fp, counts.fn) == (8, 8, 8)
    assert metrics.iou(pred, gt) == pytest.approx(8 / 24)
    assert metrics.f1(pred, gt) == pytest.approx(0.5)
    pooled = counts + metrics.pixel_counts(gt, gt)
    assert pooled.iou == pytest.approx((8 + 16) / (24 + 16))
    empty = np.zeros_like(gt)
    assert metrics.iou(empty, empty) == 1.0 and metrics.f1(empty, gt) == 0.0
    with pytest.raises(ValueError, match="shape"):
        metrics.pixel_counts(pred, gt[:5])


def test_tolerant_f1_forgives_small_shifts_only():
    gt = np.zeros((40, 40), bool)
    gt[20, 5:35] = True
    shifted = np.roll(gt, 2, axis=0)
    far = np.roll(gt, 6, axis=0)
    assert metrics.f1(shifted, gt) == 0.0
    assert metrics.tolerant_f1(shifted, gt) == pytest.approx(1.0)
    assert metrics.tolerant_f1(far, gt) == 0.0
    half = gt.copy()
    half[20, 20:35] = False  # half the wall missed: precision 1, recall ~ (15 + 3) / 30
    counts = metrics.tolerant_counts(half, gt)
    assert counts.precision == 1.0
    assert counts.recall == pytest.approx(18 / 30)
    assert (counts + counts).f1 == pytest.approx(counts.f1)


def test_rasterize_walls_is_exact_for_axis_aligned_walls():
    wall = Wall(start=(10, 20), end=(30, 20), thickness=5)
    mask = raster.rasterize_walls([wall], (40, 50))
    ys, xs = np.nonzero(mask)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (18, 22, 8, 32)  # square caps of t / 2
    assert mask.sum() == 5 * 25
    even = raster.rasterize_walls([Wall(start=(10, 20.5), end=(30, 20.5), thickness=4)], (40, 50))
    assert np.nonzero(even)[0].min() == 19 and np.nonzero(even)[0].max() == 22
    assert not raster.rasterize_walls([], (4, 5)).any()


def test_rasterize_plan_cuts_openings_out_of_walls():
    wall = Wall(start=(10, 20), end=(50, 20), thickness=5)
    door = Opening(type="door", start=(20, 20), end=(30, 20), thickness=5)
    walls, openings = raster.rasterize_plan([wall], [door], (40, 60))
    assert openings.sum() == 5 * 11  # centres 20..30 inclusive, no caps
    assert not (walls & openings).any()
    assert walls.sum() == 5 * 45 - openings.sum()


def test_segment_matching_is_one_to_one_direction_free_and_angle_bound():
    truth = [Wall(start=(0, 0), end=(100, 0)), Wall(start=(0, 50), end=(100, 50))]
    pred = [
        Wall(start=(100.5, 0.5), end=(0.5, -0.5)),  # reversed, within 1 % of 200
        Wall(start=(0, 0.8), end=(100, 0.8)),  # a duplicate of the first: cannot match twice
        Wall(start=(0, 50), end=(100, 59)),  # 5.1 degrees off: endpoint 9 px away, no match
    ]
    scores = metrics.segment_scores(pred, truth, (100, 200))
    assert (scores.matched, scores.predicted, scores.truth) == (1, 3, 2)
    assert scores.precision == pytest.approx(1 / 3) and scores.recall == 0.5
    assert scores.f1 == pytest.approx(2 / 5)
    assert scores.length_recall == pytest.approx(0.5)
    loose = metrics.segment_scores(pred, truth, (100, 200), tolerance_fraction=0.05, angle_deg=6)
    assert loose.matched == 2


def test_wall_thickness_error_is_the_median_over_matched_walls_with_thickness():
    truth = [
        Wall(start=(0, 0), end=(100, 0), thickness=10),
        Wall(start=(0, 50), end=(100, 50), thickness=4),
        Wall(start=(0, 90), end=(100, 90), thickness=6),
        Wall(start=(50, 0), end=(50, 100), thickness=8),  # not found: does not count
    ]
    pred = [
        Wall(start=(0, 0.5), end=(100, 0.5), thickness=12),  # +20 %
        Wall(start=(100, 50), end=(0, 50), thickness=3),  # -25 %, reversed
        Wall(start=(0, 90), end=(100, 90), thickness=None),  # no thickness: does not count
        Wall(start=(0, 200), end=(100, 200), thickness=5),  # unmatched
    ]
    matches = metrics.segment_matches(pred, truth, (200, 200))
    assert metrics.wall_thickness_error(pred, truth, matches) == pytest.approx(0.225)
    matches = metrics.segment_matches(pred[2:], truth, (200, 200))
    assert metrics.wall_thickness_error(pred[2:], truth, matches) is None


def test_match_prefers_more_matches_over_smaller_distance():
    truth = np.array([[0, 0, 100, 0], [0, 3, 100, 3]], float)
    pred = np.array([[0, 1.5, 100, 1.5], [0, 4, 100, 4]], float)
    matches = metrics.match_segments(pred, truth, tolerance=2.0)
    assert sorted(matches) == [(0, 0), (1, 1)]


def test_opening_scores_use_the_looser_tolerance():
    truth = [Opening(type="door", start=(10, 10), end=(40, 10))]
    pred = [Opening(type="window", start=(13, 11), end=(43, 11))]  # 3.2 px off on a 200 px image
    assert metrics.segment_scores(pred, truth, (100, 200)).matched == 0
    assert metrics.opening_scores(pred, truth, (100, 200)).matched == 1
    assert metrics.opening_scores([], [], (100, 100)).f1 == 1.0


def test_room_scores_at_two_thresholds():
    truth = np.zeros((20, 40), np.int32)
    truth[:, :20] = 1
    truth[:, 20:] = 2
    pred = np.zeros_like(truth)
    pred[:, :20] = 5  # exact
    pred[:, 20:32] = 9  # IoU 12 / 20 = 0.6 with room 2
    pred[0, 39] = 11  # a one-pixel "room"
    scores = metrics.room_scores(pred, truth)
    assert (scores[0.5].matched, scores[0.5].predicted, scores[0.5].truth) == (2, 3, 2)
    assert scores[0.7].matched == 1
    assert scores[0.5].f1 == pytest.approx(0.8)
    matrix = metrics.room_iou_matrix(metrics.relabel(pred), truth)
    assert matrix.shape == (3, 2) and matrix[0, 0] == 1.0 and matrix[1, 1] == pytest.approx(0.6)


def test_room_scores_merged_room_matches_once():
    truth = np.zeros((10, 20), np.int32)
    truth[:, :10], truth[:, 10:] = 1, 2
    pred = np.ones_like(truth)  # both rooms merged into one: IoU 0.5 with each
    scores = metrics.room_scores(pred, truth)
    assert (scores[0.5].matched, scores[0.5].predicted, scores[0.5].truth) == (1, 1, 2)
    assert scores[0.7].matched == 0


def test_rasterize_rooms_round_trips_polygons_and_boxes():
    rooms = [
        Room(id="a", bounding_box=[2, 2, 5, 4], polygon=[(2, 2), (5, 2), (5, 4), (2, 4)]),
        Room(id="b", bounding_box=[10, 1, 12, 3]),
    ]
    labels = raster.rasterize_rooms(rooms, (8, 16))
    assert (labels == 1).sum() == 4 * 3 and (labels == 2).sum() == 3 * 3


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = np.linspace(0.0, 1.0, 21)
    low, high = metrics.bootstrap_ci(values, seed=3)
    assert (low, high) == metrics.bootstrap_ci(values, seed=3)
    assert low < values.mean() < high and high - low < 0.5
    rows = np.array([[1, 1], [2, 4], [3, 3]], float)
    pooled = metrics.bootstrap_ci(rows, lambda d: d[:, 0].sum() / d[:, 1].sum(), n_resamples=200)
    assert 0.4 <= pooled[0] <= pooled[1] <= 1.0
    assert metrics.bootstrap_ci([0.7]) == (0.7, 0.7)
    assert all(np.isnan(metrics.bootstrap_ci([])))
