"""The data-preparation commands through the ``floorplan`` entry point: organize, validate, masks, upload."""

from __future__ import annotations

import argparse
import json
import shutil
from itertools import chain

import numpy as np
import pytest
from botocore.exceptions import ClientError

from model_code.cli import main
from model_code.datasets.cli import configure_upload, run_upload
from model_code.datasets.layouts import open_dataset
from model_code.datasets.organize import split_counts
from model_code.datasets.upload import METADATA_KEY
from tests.training.plans import annotation_for, write_annotation_dataset, write_r3d_dataset


def test_organize_splits_80_10_10_deterministically(tmp_path, capsys):
    source = write_annotation_dataset(tmp_path / "plans", 10)
    assert main(["organize", str(source), str(tmp_path / "a"), "--seed", "4"]) == 0
    assert main(["organize", str(source), str(tmp_path / "b"), "--seed", "4"]) == 0
    first = json.loads((tmp_path / "a" / "splits.json").read_text())
    assert first == json.loads((tmp_path / "b" / "splits.json").read_text())
    assert [len(first[k]) for k in ("train", "validation", "test")] == [8, 1, 1]
    assert sorted(chain.from_iterable(first.values())) == [f"plan{i:03d}" for i in range(10)]
    validation = open_dataset(tmp_path / "a" / "validation")
    assert [s.stem for s in validation] == first["validation"] and validation[0].annotation_path.is_file()
    assert "train 8, validation 1, test 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("total", "expected"), [(3, (1, 1, 1)), (4, (2, 1, 1)), (50, (40, 5, 5)), (179, (143, 18, 18))]
)
def test_tiny_sets_still_get_validation_and_test(total, expected):
    assert split_counts(total, (80, 10, 10)) == expected


def test_organize_keeps_the_r3d_layout_and_limit(tmp_path):
    source = write_r3d_dataset(tmp_path / "r3d", 6)
    assert main(["organize", str(source), str(tmp_path / "out"), "--limit", "5", "--split", "3,1,1"]) == 0
    splits = json.loads((tmp_path / "out" / "splits.json").read_text())
    assert [len(splits[k]) for k in ("train", "validation", "test")] == [3, 1, 1]
    assert len(open_dataset(tmp_path / "out" / "train")) == 3


def test_organize_refuses_duplicates_and_unannotated_images(tmp_path, capsys):
    source = write_annotation_dataset(tmp_path / "plans", 4)
    shutil.copy(source / "images" / "plan000.png", source / "images" / "zcopy.png")
    (source / "annotations" / "zcopy.json").write_text(json.dumps(annotation_for(0)))
    shutil.copy(source / "images" / "plan001.png", source / "images" / "lonely.png")
    (source / "images" / "lonely.png").write_bytes((source / "images" / "lonely.png").read_bytes() + b"x")
    assert main(["organize", str(source), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "zcopy.png: duplicate of" in err and "lonely.png: no annotation or mask" in err
    assert not (tmp_path / "out" / "splits.json").exists()
    assert main(["organize", str(source), str(tmp_path / "out"), "--skip-problems"]) == 0
    splits = json.loads((tmp_path / "out" / "splits.json").read_text())
    assert sorted(chain.from_iterable(splits.values())) == ["plan000", "plan001", "plan002", "plan003"]


def test_organize_needs_three_plans_and_an_empty_target(tmp_path, capsys):
    source = write_annotation_dataset(tmp_path / "plans", 2)
    assert main(["organize", str(source), str(tmp_path / "out")]) == 2
    assert "at least 3" in capsys.readouterr().err
    assert main(["organize", str(source), str(source)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_validate_reports_every_problem_with_its_file(tmp_path, capsys):
    folder = write_annotation_dataset(tmp_path / "plans", 2)
    good = folder / "annotations" / "plan000.json"
    bad = annotation_for(1)
    bad["walls"][0]["end"] = bad["walls"][0]["start"]  # zero length
    bad["walls"][1]["end"] = [500, 40]  # outside the 96 x 96 image
    bad["openings"][0]["wall_id"] = "nope"
    (folder / "annotations" / "plan001.json").write_text(json.dumps(bad))
    missing = {"image_id": "x", "walls": [{"start": [1, 2]}]}
    (folder / "annotations" / "plan002.json").write_text(json.dumps(missing))
    (folder / "annotations" / "plan003.json").write_text("{broken")
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert str(good) not in out
    assert "plan001.json: walls/0 (id w1): zero-length segment" in out
    assert "plan001.json: walls/1 (id w2): end [500, 40] is outside the 96x96 image" in out
    assert "plan001.json: openings/0: wall_id 'nope' names no wall" in out
    assert "plan002.json: (document): 'rooms' is a required property" in out
    assert "plan002.json: walls/0: 'end' is a required property" in out
    assert "plan003.json: not valid JSON" in out
    assert main(["validate", str(good)]) == 0


def test_validate_with_nothing_to_check(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    assert "no annotation JSON files" in capsys.readouterr().err


def test_masks_from_annotations_and_from_r3d(tmp_path):
    folder = write_annotation_dataset(tmp_path / "plans", 2)
    assert main(["masks", str(folder), "--default-thickness", "8"]) == 0
    sample = open_dataset(folder)[0]
    assert sample.layout == "masks" and sample.mask_path.name == "plan000.png"
    plan = sample.load()
    assert plan.wall[10, 60] and plan.opening[10, 37] and set(np.unique(plan.wall)) == {False, True}
    r3d = write_r3d_dataset(tmp_path / "r3d", 2)
    assert main(["masks", str(r3d)]) == 2
    assert main(["masks", str(r3d), "--out", str(tmp_path / "channel")]) == 0
    converted = open_dataset(tmp_path / "channel")
    assert [s.stem for s in converted] == ["0", "1"] and converted[0].layout == "masks"
    assert np.array_equal(converted[1].load().opening, open_dataset(r3d)[1].load().opening)


class FakeS3:
    """Just enough of an S3 client: head_object and upload_file over a dict."""

    def __init__(self):
        self.objects: dict[str, dict] = {}
        self.uploads: list[str] = []

    def head_object(self, Bucket, Key):  # noqa: N803 (boto3's argument names)
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
        return self.objects[Key]

    def upload_file(self, Filename, Bucket, Key, ExtraArgs):  # noqa: N803
        self.uploads.append(Key)
        self.objects[Key] = {"Metadata": ExtraArgs["Metadata"], "ETag": '"x"'}


def upload_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_upload(parser)
    return parser.parse_args(list(argv))


def test_upload_skips_unchanged_files(tmp_path, capsys):
    source = write_annotation_dataset(tmp_path / "plans", 3)
    assert main(["organize", str(source), str(tmp_path / "ds")]) == 0
    client = FakeS3()
    assert run_upload(upload_args(str(tmp_path / "ds"), "s3://bucket/floorplans/v1"), client=client) == 0
    assert "floorplans/v1/train/images/" in " ".join(client.uploads)
    assert "floorplans/v1/splits.json" in client.uploads
    first = len(client.uploads)
    assert first == 7  # 3 images + 3 annotations + splits.json
    assert run_upload(upload_args(str(tmp_path / "ds"), "s3://bucket/floorplans/v1"), client=client) == 0
    assert len(client.uploads) == first
    key = next(k for k in client.objects if k.endswith(".json") and "/annotations/" in k)
    client.objects[key]["Metadata"][METADATA_KEY] = "stale"
    assert run_upload(upload_args(str(tmp_path / "ds"), "s3://bucket/floorplans/v1"), client=client) == 0
    assert client.uploads[first:] == [key]
    assert "1 file(s) uploaded, 6 unchanged skipped" in capsys.readouterr().out


def test_upload_dry_run_and_bad_uri(tmp_path, capsys):
    source = write_annotation_dataset(tmp_path / "plans", 1)
    assert main(["upload", str(source), "s3://bucket/p", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert (
        "would upload images/plan000.png -> s3://bucket/p/images/plan000.png" in out and "nothing sent" in out
    )
    assert main(["upload", str(source), "bucket/p", "--dry-run"]) == 2
    assert "s3://bucket/prefix" in capsys.readouterr().err
