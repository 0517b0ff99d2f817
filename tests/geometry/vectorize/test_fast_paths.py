"""The fast paths of vectorize give the answers of the slow ones.

Components with statistics come from the block-based labeller (8-connectivity) or from plain
labelling plus ``find_objects`` (4-connectivity); blob shapes come from image moments; thick
walls are skeletonized at half resolution.  Each is checked against the straightforward
computation it replaces.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from model_code.evaluation.metrics import iou
from model_code.geometry.components import boundary_pixels, label_components, remove_small
from model_code.geometry.raster import rasterize_plan
from model_code.geometry.rooms import detect_rooms
from model_code.geometry.spatial import SegmentIndex
from model_code.geometry.vectorize import VectorizeOptions, vectorize
from model_code.geometry.vectorize import segments as segments_module
from model_code.geometry.vectorize.graph import (
    block_max_at,
    downscale_mask,
    ridge_map,
    ridge_thickness,
    skeleton_factor,
)
from model_code.geometry.vectorize.openings import blob_shape
from model_code.geometry.vectorize.segments import _opening_pairs, merge_collinear, opening_proximity
from model_code.geometry.vectorize.thickness import distance_map

from .test_shapes import band


def random_blobs(seed: int, shape=(97, 131), density=0.45) -> np.ndarray:
    """A noisy mask with many components of all sizes (smoothed random noise, thresholded)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 1.5)
    return noise > np.quantile(noise, 1 - density)


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_components_match_opencv_statistics(connectivity, seed):
    mask = random_blobs(seed)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=connectivity)
    parts = label_components(mask, connectivity)
    assert parts.count == count
    assert parts.count > 5  # the mask really has many components
    # same partition of the pixels (labels may be numbered differently)
    pairs = {(int(a), int(b)) for a, b in zip(labels.ravel(), parts.labels.ravel(), strict=True)}
    assert len(pairs) == count
    expected = sorted(
        (int(s[cv2.CC_STAT_AREA]), int(s[0]), int(s[1]), int(s[2]), int(s[3])) for s in stats[1:]
    )
    found = []
    for k in range(1, parts.count):
        rows, cols = parts.boxes[k]
        found.append((parts.area(k), cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start))
        blob, x0, y0 = parts.crop(k)
        assert (x0, y0) == (cols.start, rows.start)
        assert blob.sum() == parts.area(k)
    assert sorted(found) == expected


def test_components_reject_bad_input():
    with pytest.raises(ValueError, match="connectivity"):
        label_components(np.ones((4, 4), bool), 6)
    with pytest.raises(ValueError, match="2-D"):
        label_components(np.ones((4, 4, 2), bool))


def test_boundary_pixels_are_the_mask_minus_its_3x3_erosion_with_the_edge_outside():
    mask = np.zeros((6, 7), bool)
    mask[1:5, 1:6] = True  # a 4 x 5 block: its 2 x 3 core is inside
    mask[0:3, 0] = True  # a strip on the image's edge: all boundary
    edge = boundary_pixels(mask)
    core = np.zeros_like(mask)
    core[2:4, 2:5] = True
    assert np.array_equal(edge, mask & ~core)
    assert not boundary_pixels(np.zeros((3, 3), bool)).any()
    assert boundary_pixels(np.ones((2, 5), bool)).all()  # the image's edge is outside


@pytest.mark.parametrize("min_area", [3, 12, 40])
def test_remove_small_matches_the_whole_image_lookup(min_area):
    mask = random_blobs(3, density=0.3)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    np.testing.assert_array_equal(remove_small(mask, min_area), keep[labels])


def test_remove_small_with_many_specks():
    mask = np.zeros((60, 200), bool)
    mask[::3, ::3] = True  # 1,340 single-pixel specks: the whole-image branch
    mask[20:40, 50:148] = True  # no speck touches it
    out = remove_small(mask, 5)
    expected = np.zeros_like(mask)
    expected[20:40, 50:148] = True
    np.testing.assert_array_equal(out, expected)
    assert mask[0, 0]  # the input is left alone


def test_blob_shape_matches_principal_components():
    blob = np.zeros((40, 60), bool)
    cv2.ellipse(blob.view(np.uint8), (30, 20), (25, 6), 30, 0, 360, 1, -1)
    ys, xs = np.nonzero(blob)
    points = np.stack([xs + 100, ys + 7], axis=1).astype(np.float64)
    centre, axis, elongation = blob_shape(blob, 100, 7)
    np.testing.assert_allclose(centre, points.mean(axis=0), atol=1e-9)
    values, vectors = np.linalg.eigh(np.cov((points - points.mean(axis=0)).T))
    assert abs(abs(axis @ vectors[:, 1]) - 1) < 1e-9
    assert elongation == pytest.approx(math.sqrt(values[1] / values[0]), rel=1e-6)
    assert math.degrees(math.atan2(axis[1], axis[0])) % 180 == pytest.approx(30, abs=2)
    single = np.zeros((3, 3), bool)
    single[1, 1] = True
    centre, axis, elongation = blob_shape(single)
    assert tuple(centre) == (1.0, 1.0) and tuple(axis) == (1.0, 0.0) and elongation == 1.0
    with pytest.raises(ValueError):
        blob_shape(np.zeros((3, 3), bool))


def test_downscale_keeps_blocks_that_are_half_set():
    mask = np.zeros((5, 5), bool)
    mask[0, 0:2] = True  # block (0, 0): 2 of 4 set
    mask[0, 2] = True  # block (0, 1): 1 of 4 set
    mask[4, 4] = True  # block (2, 2): 1 of 1 pixel, padded to 1 of 4
    small = downscale_mask(mask, 2)
    assert small.shape == (3, 3)
    assert small[0, 0] and not small[0, 1] and not small[2, 2]
    assert downscale_mask(mask, 1) is mask
    values = np.arange(25, dtype=np.float32).reshape(5, 5)
    rows, cols = np.nonzero(np.ones((3, 3), bool))
    np.testing.assert_array_equal(block_max_at(values, rows, cols, 2), [6, 8, 9, 16, 18, 19, 21, 23, 24])
    np.testing.assert_array_equal(block_max_at(values, rows, cols, 1), values[:3, :3].ravel())


def thick_plan(t: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Two rooms side by side with ``t``-px walls and a door in the partition (400 x 560 px)."""
    mask = np.zeros((400, 560), bool)
    for x0, y0, x1, y1 in ((60, 60, 500, 60), (60, 340, 500, 340), (60, 60, 60, 340), (500, 60, 500, 340)):
        band(mask, x0, y0, x1, y1, t)
    band(mask, 280, 60, 280, 340, t)
    opening = np.zeros_like(mask)
    opening[180:240, 280 - t // 2 : 280 + t - t // 2] = True
    mask &= ~opening
    return mask, opening


def test_thick_walls_are_skeletonized_at_half_resolution_with_the_same_answer():
    mask, opening = thick_plan()
    dist = distance_map(mask)
    assert skeleton_factor(ridge_thickness(dist, ridge_map(dist))) == 2
    fast = vectorize(mask, opening)
    slow = vectorize(mask, opening, VectorizeOptions(half_resolution_thickness=1e6))
    assert len(fast.walls) == len(slow.walls) == 5
    assert len(fast.openings) == len(slow.openings) == 1
    for a, b in zip(fast.walls, slow.walls, strict=True):
        assert math.dist(a.start, b.start) <= 2.0 and math.dist(a.end, b.end) <= 2.0
        assert abs(a.thickness - b.thickness) <= 1.0
    assert abs(fast.wall_thickness - slow.wall_thickness) <= 1.0
    assert iou(rasterize_plan(fast.walls, fast.openings, mask.shape)[0], mask) > 0.97
    assert len(detect_rooms(fast, mask)) == len(detect_rooms(slow, mask)) == 2


def test_thin_walls_stay_at_full_resolution():
    mask, _ = thick_plan(t=8)
    dist = distance_map(mask)
    assert skeleton_factor(ridge_thickness(dist, ridge_map(dist))) == 1
    assert skeleton_factor(30.0, limit=40.0) == 1 and skeleton_factor(40.0, limit=40.0) == 2


def random_segments(seed: int, count: int = 60, side: float = 200.0) -> np.ndarray:
    """Short, mostly axis-aligned segments scattered over a square (many near-collinear pairs)."""
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0, side, (count, 2))
    angle = rng.choice([0.0, math.pi / 2, 0.3], count) + rng.normal(0, 0.02, count)
    length = rng.uniform(3, 40, count)
    ends = starts + length[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return np.hstack([starts, ends])


def _as_set(pairs: tuple[np.ndarray, np.ndarray]) -> set[tuple[int, int]]:
    return {(int(i), int(j)) for i, j in zip(*pairs, strict=True)}


def _with_new(pairs: tuple[np.ndarray, np.ndarray], first: int) -> set[tuple[int, int]]:
    return {pair for pair in _as_set(pairs) if max(pair) >= first}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("first", [1, 25, 59])
def test_pairs_with_new_segments_are_the_full_pairs_that_involve_them(seed, first):
    segs = random_segments(seed)
    index = SegmentIndex(segs, 6.0)
    full = index.pairs(6.0)
    assert _as_set(index.pairs(6.0, first)) == _with_new(full, first)
    openings = np.zeros((220, 220), bool)
    openings[::17, :] = True  # stripes: many ends touch an opening
    proximity = opening_proximity(openings)
    everything = _opening_pairs(segs, proximity, 3.0, 50.0)
    found = _opening_pairs(segs, proximity, 3.0, 50.0, first)
    assert _as_set(found) == _with_new(everything, first)


def broken_lines(seed: int) -> np.ndarray:
    """Eight walls, each cut into 4-6 pieces by small gaps and wider ones, plus loose clutter."""
    rng = np.random.default_rng(seed)
    pieces = []
    for k in range(8):
        horizontal, offset = k % 2 == 0, 20.0 + 22.0 * k + rng.normal(0, 0.3)
        cuts = np.sort(rng.uniform(15, 185, int(rng.integers(3, 6))))
        bounds = [10.0, *cuts.tolist(), 190.0]
        for a, b in itertools.pairwise(bounds):
            gap = rng.choice([1.0, 3.0, 12.0])
            a, b = a + gap / 2, b - gap / 2
            pieces.append([a, offset, b, offset] if horizontal else [offset, a, offset, b])
    return np.vstack([np.asarray(pieces), random_segments(seed, count=20)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merge_looks_only_at_new_pairs_after_the_first_pass(seed, monkeypatch):
    # the same merge with every pass looking at every pair
    segs = broken_lines(seed)
    openings = np.zeros((220, 220), bool)
    openings[::23, :] = True
    openings[:, ::29] = True
    thick = np.random.default_rng(seed).uniform(2, 3, len(segs))
    fast = merge_collinear(segs, 5.0, 2.0, 6.0, openings, 40.0, thick)
    full_pairs, full_opening_pairs = SegmentIndex.pairs, segments_module._opening_pairs
    monkeypatch.setattr(SegmentIndex, "pairs", lambda self, radius, first=0: full_pairs(self, radius))
    monkeypatch.setattr(
        segments_module, "_opening_pairs", lambda s, p, r, reach, first=0: full_opening_pairs(s, p, r, reach)
    )
    slow = merge_collinear(segs, 5.0, 2.0, 6.0, openings, 40.0, thick)
    assert len(fast) <= len(segs) - 12  # chains of pieces merged, over several passes
    np.testing.assert_array_equal(fast, slow)
