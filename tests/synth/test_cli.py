"""``floorplan synth`` end to end on a few small plans."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model_code.cli import main
from model_code.datasets.layouts import open_dataset
from model_code.io.images import read_image
from model_code.schema import validate_annotation
from model_code.synth import generate_plan


def _run(out: Path, *extra: str) -> int:
    return main(["synth", "--count", "3", "--out", str(out), "--seed", "7", "--size", "256", *extra])


def test_cli_writes_the_dataset_layout(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    assert _run(out) == 0
    names = [f"synth_{seed:06d}" for seed in (7, 8, 9)]
    for folder, suffix in (("images", "png"), ("annotations", "json"), ("masks", "png"), ("rooms", "png")):
        assert sorted(p.name for p in (out / folder).iterdir()) == [f"{n}.{suffix}" for n in names]
    for seed, name in zip((7, 8, 9), names, strict=True):
        plan = generate_plan(seed, size=256)
        assert np.array_equal(read_image(out / "images" / f"{name}.png"), plan.image)
        data = json.loads((out / "annotations" / f"{name}.json").read_text())
        validate_annotation(data)
        assert data["image_id"] == name
        assert data["image"] == {"width": plan.image.shape[1], "height": plan.image.shape[0]}
        grey = np.asarray(Image.open(out / "masks" / f"{name}.png"))
        assert grey.dtype == np.uint8 and set(np.unique(grey)) <= {0, 128, 255}
        assert np.array_equal(grey == 255, plan.wall_mask)
        assert np.array_equal(grey == 128, plan.opening_mask)
        rooms = Image.open(out / "rooms" / f"{name}.png")
        assert rooms.mode.startswith("I")  # 16-bit
        assert np.array_equal(np.asarray(rooms).astype(np.int32), plan.room_labels)
        assert np.asarray(rooms).max() == len(data["rooms"])
    samples = open_dataset(out)  # the training/evaluation reader understands the layout
    assert [s.stem for s in samples] == names
    loaded = samples[0].load()
    assert np.array_equal(loaded.wall, generate_plan(7, size=256).wall_mask)


def test_cli_with_workers_and_styles_matches_serial(tmp_path: Path) -> None:
    assert _run(tmp_path / "serial", "--styles", "cad,thin") == 0
    assert _run(tmp_path / "parallel", "--styles", "cad,thin", "--workers", "2") == 0
    for folder in ("images", "masks", "rooms", "annotations"):
        for path in sorted((tmp_path / "serial" / folder).iterdir()):
            assert path.read_bytes() == (tmp_path / "parallel" / folder / path.name).read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ["--count", "0", "--out", "x"],
        ["--count", "2", "--out", "x", "--size", "10"],
        ["--count", "2", "--out", "x", "--size", "900:300"],
        ["--count", "2", "--out", "x", "--size", "big"],
        ["--count", "2", "--out", "x", "--styles", "solid,nope"],
        ["--count", "2", "--out", "x", "--seed", "-3"],
        ["--count", "2"],
    ],
)
def test_cli_rejects_bad_arguments(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", *args])
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_cli_refuses_a_file_as_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file.txt"
    target.write_text("not a folder")
    assert _run(target) == 2
    assert "not a folder" in capsys.readouterr().err
