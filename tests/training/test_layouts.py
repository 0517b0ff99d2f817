"""The dataset reader: three layouts, mask decoding, annotation rasterisation, clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from model_code.datasets.layouts import (
    DatasetError,
    detect_layout,
    merge_grey_mask,
    open_dataset,
    scan_dataset,
    split_grey_mask,
)
from model_code.datasets.rasterize import annotation_masks
from model_code.schema import Annotation
from tests.training.plans import (
    BROKEN_FILES,
    annotation_for,
    break_plan,
    draw_plan,
    write_annotation_dataset,
    write_channel_dataset,
    write_r3d_dataset,
)


def test_channel_layout_round_trips_wall_and_opening(tmp_path):
    write_channel_dataset(tmp_path, 3)
    samples = open_dataset(tmp_path)
    assert [s.stem for s in samples] == ["plan000", "plan001", "plan002"]
    assert detect_layout(tmp_path) == "masks"
    plan = samples[1].load()
    _, wall, opening = draw_plan(1)
    assert plan.image.shape == (96, 96, 3)
    assert np.array_equal(plan.wall, wall)
    assert np.array_equal(plan.opening, opening)
    assert opening.any() and not (plan.wall & plan.opening).any()


def test_plain_binary_mask_is_walls_only():
    grey = np.array([[0, 255], [128, 30]], np.uint8)
    wall, opening = split_grey_mask(grey)
    assert wall.tolist() == [[False, True], [False, False]]
    assert opening.tolist() == [[False, False], [True, False]]
    binary = np.array([[0, 255]], np.uint8)
    assert not split_grey_mask(binary)[1].any()
    assert np.array_equal(split_grey_mask(merge_grey_mask(wall, opening))[0], wall)


def test_r3d_layout_resizes_rgba_masks_to_the_image(tmp_path):
    write_r3d_dataset(tmp_path, 2)
    (tmp_path / "0_close_wall.png").write_bytes((tmp_path / "0_wall.png").read_bytes())  # R3D extra file
    samples = open_dataset(tmp_path)
    assert detect_layout(tmp_path) == "r3d"
    assert [s.stem for s in samples] == ["0", "1"]
    plan = samples[0].load()
    _, wall, opening = draw_plan(0)
    assert plan.wall.shape == wall.shape == plan.image.shape[:2]
    assert np.mean(plan.wall == wall) > 0.9  # stored at half size, nearest-resized back
    assert np.array_equal(plan.opening, opening)


def test_annotation_layout_rasterises_walls_and_cuts_openings(tmp_path):
    write_annotation_dataset(tmp_path, 2)
    samples = open_dataset(tmp_path)
    assert detect_layout(tmp_path) == "annotations"
    plan = samples[0].load()
    assert plan.wall[10, 60] and plan.wall[60, 86]  # top and right walls drawn
    assert plan.opening[10, 37] and not plan.wall[10, 37]  # the door cuts the top wall
    assert plan.wall[10, 10]  # square caps close the corner
    assert samples[0].load_annotation().walls[0].is_load_bearing


def test_masks_folder_wins_over_annotations(tmp_path):
    write_annotation_dataset(tmp_path, 1)
    (tmp_path / "masks").mkdir()
    from model_code.io.images import write_png

    write_png(tmp_path / "masks" / "plan000.png", np.zeros((96, 96), np.uint8))
    sample = open_dataset(tmp_path)[0]
    assert sample.annotation_path is not None
    assert not sample.load().wall.any()


def test_default_and_host_thickness():
    data = annotation_for(0)
    annotation = Annotation.from_dict(data)
    wall, opening = annotation_masks(annotation, 96, 96, default_thickness=10)
    # w3 has no thickness: drawn 10 px wide around y=86, w1 is 4 px around y=10
    assert wall[82, 50] and wall[90, 50] and not wall[80, 50]
    assert wall[8, 60] and not wall[14, 60]
    # the door takes its host wall's thickness (4) plus a margin
    assert opening[8, 37] and opening[12, 37] and not opening[15, 37]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "not a dataset"),
        (lambda p: (p / "images").mkdir(), "neither a masks/ nor an annotations/"),
        (lambda p: [(p / "images").mkdir(), (p / "masks").mkdir()], "no annotated plans"),
        (lambda p: (p / "train").mkdir(), "splits"),
    ],
)
def test_bad_folders_get_clear_errors(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path)


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(tmp_path / "absent")


@pytest.mark.parametrize("how", BROKEN_FILES)
def test_an_unreadable_file_is_named_in_the_error(tmp_path, how):
    write_channel_dataset(tmp_path, 2)
    broken = break_plan(tmp_path, "plan001", how)
    samples = open_dataset(tmp_path)
    samples[0].load()
    with pytest.raises(DatasetError, match=re.escape(str(broken))):
        samples[1].load()


def test_scan_lists_the_images_left_out_and_the_plans_without_openings(tmp_path):
    write_r3d_dataset(tmp_path / "r3d", 3)
    (tmp_path / "r3d" / "0_close.png").unlink()
    (tmp_path / "r3d" / "1_wall.png").unlink()
    scan = scan_dataset(tmp_path / "r3d")
    assert [s.stem for s in scan.samples] == ["0", "2"] and scan.dropped == [tmp_path / "r3d" / "1.jpg"]
    assert [s.stem for s in scan.without_opening] == ["0"]
    write_channel_dataset(tmp_path / "channel", 2)
    (tmp_path / "channel" / "masks" / "plan000.png").unlink()
    scan = scan_dataset(tmp_path / "channel")
    assert scan.dropped == [tmp_path / "channel" / "images" / "plan000.png"] and not scan.without_opening


def test_dataset_images_are_single_pages(tmp_path):
    """A multi-page TIFF is refused when its plan loads, a PDF in images/ stops the scan; a
    single-page TIFF is an ordinary dataset image."""
    from tests.io.documents import multipage_tiff, vector_pdf

    write_channel_dataset(tmp_path, 2)
    image, _, _ = draw_plan(0)
    (tmp_path / "images" / "plan000.png").unlink()
    (tmp_path / "images" / "plan000.tif").write_bytes(multipage_tiff([image]))
    (tmp_path / "images" / "plan001.png").unlink()
    (tmp_path / "images" / "plan001.tif").write_bytes(multipage_tiff([image, image]))
    single, double = open_dataset(tmp_path)
    assert single.load().image.shape == (96, 96, 3)
    with pytest.raises(DatasetError, match=r"plan001\.tif.*2 pages; a dataset image must be one page"):
        double.load()
    (tmp_path / "images" / "plan002.pdf").write_bytes(vector_pdf([(72, 72)]))
    with pytest.raises(DatasetError, match=r"PDF files \(plan002\.pdf\).*render the annotated page to PNG"):
        open_dataset(tmp_path)
