"""The training transform's shrink to the working size keeps thin walls and openings in the truth."""

from __future__ import annotations

import albumentations as A  # noqa: N812
import cv2
import numpy as np
import pytest

from model_code.datasets.augment import EdgeAlignedCrop, ThinLineAffine, keep_thin_lines, training_transform
from model_code.geometry.components import label_components


def _plan(size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """A plan with a 24 px exterior wall and two 1 px partitions (one diagonal, one with a door), as
    image and masks."""
    wall = np.zeros((size, size), np.uint8)
    opening = np.zeros_like(wall)
    cv2.rectangle(wall, (200, 200), (1800, 1800), 1, 24)
    cv2.line(wall, (1001, 212), (1001, 1788), 1, 1)  # a partition one input pixel wide, between samples
    cv2.line(wall, (212, 1200), (990, 1500), 1, 1)  # a diagonal one
    if size > 1200:
        wall[1300:1400, 1001] = 0
        opening[1300:1400, 1001] = 1  # a door in the partition
    image = np.full((size, size, 3), 255, np.uint8)
    image[(wall | opening) > 0] = 0
    masks = np.stack([wall, opening, np.zeros_like(wall)], axis=-1)
    return image, masks


def _nearest(masks: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(masks, (size, size), interpolation=cv2.INTER_NEAREST)


def test_a_one_pixel_partition_survives_the_shrink_as_an_unbroken_line():
    image, masks = _plan()
    out = training_transform(512, 512, "none")(image=image, mask=masks)["mask"]
    nearest = _nearest(masks, 512)
    column = out[56:447, 250, :2].max(axis=1)  # the vertical partition at x = 1001 / 4, wall or door
    assert column.all()  # unbroken from wall to wall
    assert out[326:349, 250, 1].all() and not out[327:349, 250, 0].any()  # the door is a door
    # nearest-neighbour alone (samples every 4th column): gone, door and all
    assert not nearest[56:447, 249:252, :2].any()
    # the partition splits the plan's inside in two at the working size, as it does at input size
    inside = np.zeros((512, 512), bool)
    inside[57:446, 57:446] = True
    closed = out[..., 0] | out[..., 1]
    assert label_components(inside & (closed == 0), connectivity=4).count - 1 >= 2


def test_thick_walls_openings_and_room_types_are_the_nearest_shrink():
    image, masks = _plan()
    masks[..., 0][600:700, 188:212] = 0
    masks[..., 1][600:700, 188:212] = 1  # a window in the exterior wall
    masks[..., 2][300:900, 300:900] = 3  # a room-type patch
    out = training_transform(512, 512, "none")(image=image, mask=masks)["mask"]
    nearest = _nearest(masks, 512)
    np.testing.assert_array_equal(out[..., 2], nearest[..., 2])
    np.testing.assert_array_equal(out[140:185, 40:60, 1], nearest[140:185, 40:60, 1])  # the window
    thin = np.zeros((512, 512), bool)
    thin[:, 248:253] = True
    thin[290:385, 50:250] = True  # around the diagonal partition
    for plane in (0, 1):
        added = (out[..., plane] == 1) & (nearest[..., plane] == 0)
        thick = cv2.dilate(nearest[..., plane], np.ones((3, 3), np.uint8)) > 0
        assert not (added & ~thin & ~thick).any()  # nothing added away from a thin part
        assert (out[..., plane] >= nearest[..., plane]).all()  # nothing taken away


def test_plans_that_are_not_shrunk_keep_their_masks_exactly():
    image, masks = _plan(512)
    out = training_transform(512, 512, "none")(image=image, mask=masks)["mask"]
    np.testing.assert_array_equal(out, masks)


@pytest.mark.parametrize("shape", [(100, 80), (1, 1)])
def test_keep_thin_lines_on_an_empty_wall_is_the_shrink_itself(shape):
    shrunk = np.zeros(shape, np.uint8)
    assert keep_thin_lines(np.zeros((400, 320), np.uint8), shrunk) is shrunk


def _warp(masks: np.ndarray, scale: float, rotate: float) -> tuple[np.ndarray, np.ndarray]:
    """``masks`` through :class:`ThinLineAffine` and through plain ``Affine``, same warp."""
    outs = []
    for kind in (ThinLineAffine, A.Affine):
        warp = A.Compose([kind(scale=(scale, scale), rotate=(rotate, rotate), fill=255, fill_mask=0, p=1.0)])
        warp.set_random_seed(0)
        outs.append(warp(image=np.full(masks.shape, 255, np.uint8), mask=masks)["mask"])
    return outs[0], outs[1]


@pytest.mark.parametrize("rotate", [0.0, 4.0])
def test_a_shrinking_warp_keeps_thin_lines_where_plain_affine_breaks_them(rotate):
    wall, opening, types = (np.zeros((512, 512), np.uint8) for _ in range(3))
    cv2.rectangle(wall, (60, 60), (450, 450), 1, 8)
    cv2.line(wall, (300, 64), (300, 446), 1, 1)  # a 1 px partition that output columns step over ...
    wall[200:240, 300], opening[200:240, 300] = 0, 1  # ... with a door
    types[100:200, 100:200] = 4
    masks = np.dstack([wall, opening, types])
    kept, plain = _warp(masks, 0.7, rotate)
    inside = np.zeros((512, 512), np.uint8)
    cv2.rectangle(inside, (130, 130), (380, 380), 1, -1)  # inside the shrunk outer wall
    split = (inside > 0) & ((kept[..., 0] | kept[..., 1]) == 0)
    assert label_components(split, connectivity=4).count - 1 == 2  # the partition and door close
    broken = (inside > 0) & ((plain[..., 0] | plain[..., 1]) == 0)
    assert label_components(broken, connectivity=4).count - 1 == 1  # nearest-neighbour alone leaks
    # aligned with the plain warp: nothing added away from the partition or the plain warp's walls
    for plane in (0, 1):
        added = (kept[..., plane] == 1) & (plain[..., plane] == 0)
        near = cv2.dilate(plain[..., plane], np.ones((3, 3), np.uint8)) > 0
        column = np.zeros((512, 512), bool)
        column[:, 270:305] = True  # around the partition's new place (x = 255.5 + 0.7 * 44.5)
        assert not (added & ~near & ~column).any()
    np.testing.assert_array_equal(kept[..., 2], plain[..., 2])


def test_a_warp_that_does_not_shrink_is_plain_affine():
    wall = np.zeros((256, 256), np.uint8)
    cv2.line(wall, (128, 20), (128, 236), 1, 1)
    masks = np.dstack([wall, np.zeros_like(wall), np.zeros_like(wall)])
    kept, plain = _warp(masks, 1.2, 3.0)
    np.testing.assert_array_equal(kept, plain)


@pytest.mark.parametrize("level", ["light", "heavy"])
def test_every_augmentation_level_warps_with_thin_lines_kept(level):
    transform = training_transform(512, 256, level)
    assert any(isinstance(t, ThinLineAffine) for t in transform.transforms)
    assert not any(type(t) is A.Affine for t in transform.transforms)


def _ring_plan() -> tuple[np.ndarray, np.ndarray]:
    """A 512 px plan: a 2 px wall ring from 100 to 400, paper round it (a random crop's side lands on
    it by chance in about 3 % of crops)."""
    wall = np.zeros((512, 512), np.uint8)
    cv2.rectangle(wall, (100, 100), (399, 399), 1, -1)
    wall[102:398, 102:398] = 0
    image = np.full((512, 512, 3), 255, np.uint8)
    image[wall > 0] = 0
    return image, np.stack([wall, np.zeros_like(wall), np.zeros_like(wall)], axis=-1)


def _wall_on_an_edge(mask: np.ndarray) -> bool:
    wall = mask[..., 0]
    return max(wall[:, 0].sum(), wall[:, -1].sum(), wall[0].sum(), wall[-1].sum()) >= 100


def test_edge_aligned_crops_put_the_outer_wall_on_the_crops_edge() -> None:
    image, masks = _ring_plan()
    always = A.Compose([EdgeAlignedCrop(256, 256, edge_probability=1.0)])
    never = A.Compose([EdgeAlignedCrop(256, 256, edge_probability=0.0)])
    on_edge = {"always": 0, "never": 0}
    for seed in range(40):
        for name, transform in (("always", always), ("never", never)):
            transform.set_random_seed(seed)
            out = transform(image=image, mask=masks)
            assert out["image"].shape == (256, 256, 3) and out["mask"].shape == (256, 256, 3)
            assert np.array_equal(out["image"][..., 0] == 0, out["mask"][..., 0] > 0)  # still aligned
            on_edge[name] += _wall_on_an_edge(out["mask"])
    assert on_edge["always"] == 40
    assert on_edge["never"] <= 4  # a plain random crop lands on the wall's face only by chance


def test_edge_aligned_crops_are_a_share_of_the_training_crops() -> None:
    image, masks = _ring_plan()
    counts = {}
    for level in ("none", "light"):  # (heavy's rotations turn most walls off the crop's axes)
        transform = training_transform(512, 256, level)
        hits = 0
        for seed in range(200):
            transform.set_random_seed(seed)
            hits += _wall_on_an_edge(transform(image=image, mask=masks)["mask"])
        counts[level] = hits
    assert counts["none"] <= 15  # by chance (about 3 %)
    assert counts["light"] >= counts["none"] + 15  # EDGE_CROP_PROBABILITY = 0.15 of 200 more


def test_edge_aligned_crop_checks_its_probability() -> None:
    with pytest.raises(ValueError, match="edge_probability"):
        EdgeAlignedCrop(256, 256, edge_probability=1.5)
