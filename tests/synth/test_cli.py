"""``floorplan synth`` end to end on a few small plans."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model_code.cli import main
from model_code.datasets.layouts import open_dataset
from model_code.datasets.room_maps import label_type_map
from model_code.datasets.synthetic import read_bare_openings
from model_code.io.images import read_image
from model_code.schema import room_type_of_name, validate_annotation
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


def test_cli_bare_openings_end_to_end(tmp_path: Path) -> None:
    out, plain = tmp_path / "bare", tmp_path / "plain"
    common = ["synth", "--count", "2", "--seed", "40", "--size", "160"]
    assert main([*common, "--out", str(out), "--bare-openings", "1"]) == 0
    assert main([*common, "--out", str(plain)]) == 0
    assert not (plain / "bare_openings").exists()  # nothing new without the option
    samples = open_dataset(out)
    assert [s.stem for s in samples] == ["synth_000040", "synth_000041"]
    for seed, sample in zip((40, 41), samples, strict=True):
        plan = generate_plan(seed, size=160, bare_openings=1.0)
        assert np.array_equal(read_image(sample.image_path), plan.image)
        assert not np.array_equal(read_image(plain / "images" / sample.image_path.name), plan.image)
        # the ground truth is that of the plan drawn with its symbols
        for folder in ("annotations", "masks", "rooms"):
            name = sample.image_path.stem + (".json" if folder == "annotations" else ".png")
            assert (out / folder / name).read_bytes() == (plain / folder / name).read_bytes()
        data = json.loads(sample.annotation_path.read_text())
        validate_annotation(data)
        ids = [o["id"] for o in data["openings"] if o["type"] in ("door", "window")]
        assert ids and read_bare_openings(out, sample.stem) == ids
        assert [r["type"] for r in data["rooms"]] == [room_type_of_name(k) for k in plan.room_kinds]
        # the dataset reader gives the generator's room types back from the files
        loaded = sample.load()
        assert loaded.room_type is not None
        assert np.array_equal(loaded.room_type, label_type_map(plan.room_labels, plan.room_kinds))
    assert read_bare_openings(plain, "synth_000040") is None


@pytest.mark.parametrize("value", ["-0.1", "1.5", "half", "nan"])
def test_cli_rejects_a_bad_bare_fraction(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "--count", "1", "--out", "x", "--bare-openings", value])
    assert exit_info.value.code == 2
    assert "--bare-openings: expected a fraction from 0 to 1" in capsys.readouterr().err


def test_cli_redraws_an_annotated_dataset_with_its_own_truth(tmp_path: Path) -> None:
    from tests.training.plans import write_r3d_dataset

    real = write_r3d_dataset(tmp_path / "r3d", 2, size=128)
    out = tmp_path / "redrawn"
    args = ["--seed", "40", "--redraw", str(real), "--styles", "cad_colour", "--sheet", "0.5"]
    assert main(["synth", "--count", "3", "--out", str(out), *args]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["images", "masks"]
    samples = {s.stem: s for s in open_dataset(real)}
    redrawn = open_dataset(out)
    assert [s.stem for s in redrawn] == sorted(
        f"{stem}_redrawn_{seed:06d}"
        for stem, seed in zip([*sorted(samples), sorted(samples)[0]], (40, 41, 42), strict=True)
    )
    for sample in redrawn:
        plan, truth = sample.load(), samples[sample.stem.split("_redrawn_")[0]].load()
        # the grey mask keeps an opening where the truth marks both (opening wins)
        assert plan.wall.sum() == (truth.wall & ~truth.opening).sum() > 0
        assert plan.opening.sum() == truth.opening.sum() > 0
        assert plan.image.shape[:2] >= truth.wall.shape


def test_cli_redraw_refuses_a_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "redrawn"
    assert main(["synth", "--count", "2", "--out", str(out), "--redraw", str(tmp_path / "nothing")]) == 2
    assert "--redraw" in capsys.readouterr().err and not out.exists()
