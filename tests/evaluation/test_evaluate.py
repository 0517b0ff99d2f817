"""The evaluation suite: metric aggregation, backend specs, splits and the ``evaluate`` CLI end to end.

Plans are drawn here from a small vector annotation (walls with thickness, a door, two
rooms) and written in the synthetic-generator layout (images/, masks/, annotations/, rooms/)
and in the flat R3D layout; never real data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from model_code.cli import main
from model_code.datasets.layouts import open_dataset
from model_code.evaluation.backends import BackendSpecError, parse_backend, parse_backends
from model_code.evaluation.cli import split_samples
from model_code.evaluation.report import Summary, markdown_table, summarize
from model_code.evaluation.scoring import METRICS_BY_KEY, PlanRecord, PlanScore
from model_code.geometry import raster
from model_code.io.images import write_png
from model_code.schema import Annotation, Opening, Room, Wall

# --------------------------------------------------------------------------- drawn plans


def plan_annotation(index: int) -> Annotation:
    """Two rooms side by side with a door in the partition; sizes vary with ``index``."""
    width, height = 200 + 16 * index, 150 + 10 * index
    x0, y0, x1, y1 = 20.0, 20.0, width - 20.0, height - 20.0
    mid = round((x0 + x1) / 2)
    outer, inner = 8.0, 6.0
    door = (y0 + 30.0, y0 + 50.0)
    walls = [
        Wall((x0, y0), (x1, y0), outer, True, "w1"),
        Wall((x1, y0), (x1, y1), outer, True, "w2"),
        Wall((x1, y1), (x0, y1), outer, True, "w3"),
        Wall((x0, y1), (x0, y0), outer, True, "w4"),
        Wall((mid, y0), (mid, door[0]), inner, False, "w5"),
        Wall((mid, door[1]), (mid, y1), inner, False, "w6"),
    ]
    openings = [Opening("door", (mid, door[0]), (mid, door[1]), "o1", "w5", inner)]
    h_o, h_i = outer / 2, inner / 2
    left = [(x0 + h_o, y0 + h_o), (mid - h_i, y0 + h_o), (mid - h_i, y1 - h_o), (x0 + h_o, y1 - h_o)]
    right = [(mid + h_i, y0 + h_o), (x1 - h_o, y0 + h_o), (x1 - h_o, y1 - h_o), (mid + h_i, y1 - h_o)]
    rooms = [
        Room("r1", [left[0][0], left[0][1], left[2][0], left[2][1]], left, name_hint="bedroom"),
        Room("r2", [right[0][0], right[0][1], right[2][0], right[2][1]], right, name_hint="kitchen"),
    ]
    return Annotation(f"plan_{index}", walls, rooms, openings, width=width, height=height)


def render(annotation: Annotation) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Image, wall mask, opening mask and room labels of a drawn annotation."""
    shape = (annotation.height, annotation.width)
    wall = raster.rasterize_walls(annotation.walls, shape)
    opening = raster.rasterize_openings(annotation.openings, shape) & ~wall
    rooms = raster.rasterize_rooms(annotation.rooms, shape)
    rooms[wall] = 0
    image = np.full((*shape, 3), 255, np.uint8)
    image[wall] = (25, 25, 25)
    cv2.putText(image, "BED", (40, 90), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return image, wall, opening, rooms


def write_channel_dataset(root: Path, count: int = 3) -> Path:
    """The generator's layout: images/, masks/ (255 wall, 128 opening), annotations/, rooms/ (16-bit)."""
    for name in ("images", "masks", "annotations", "rooms"):
        (root / name).mkdir(parents=True, exist_ok=True)
    for index in range(count):
        annotation = plan_annotation(index)
        image, wall, opening, rooms = render(annotation)
        stem = annotation.image_id
        write_png(root / "images" / f"{stem}.png", image)
        grey = np.zeros(wall.shape, np.uint8)
        grey[opening] = 128
        grey[wall] = 255
        write_png(root / "masks" / f"{stem}.png", grey)
        (root / "annotations" / f"{stem}.json").write_text(json.dumps(annotation.to_dict()))
        Image.fromarray(rooms.astype(np.uint16)).save(root / "rooms" / f"{stem}.png")
    return root


def write_flat_dataset(root: Path, count: int) -> Path:
    """The flat R3D layout: <id>.jpg, <id>_wall.png, <id>_close.png, <id>_rooms.png (room colours)."""
    root.mkdir(parents=True, exist_ok=True)
    colours = [(224, 255, 192), (255, 224, 128)]
    for index in range(count):
        annotation = plan_annotation(index % 4)
        image, wall, opening, rooms = render(annotation)
        stem = f"{1000 + index}"
        cv2.imwrite(str(root / f"{stem}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        write_png(root / f"{stem}_wall.png", wall)
        write_png(root / f"{stem}_close.png", opening)
        coloured = np.zeros((*wall.shape, 3), np.uint8)
        for label, colour in enumerate(colours, start=1):
            coloured[rooms == label] = colour
        write_png(root / f"{stem}_rooms.png", coloured)
    return root


# --------------------------------------------------------------------------- aggregation


def _score(tp: float, fp: float, fn: float, value: float) -> PlanScore:
    return PlanScore(values={"wall_iou": value}, counts={"wall_tp": tp, "wall_fp": fp, "wall_fn": fn})


def test_pooled_and_mean_metrics_differ_as_defined() -> None:
    scores = [_score(90, 10, 0, 0.9), _score(0, 10, 0, 0.0)]
    assert METRICS_BY_KEY["wall_iou_pooled"].aggregate(scores) == pytest.approx(90 / 110)
    assert METRICS_BY_KEY["wall_iou"].aggregate(scores) == pytest.approx(0.45)
    assert METRICS_BY_KEY["wall_f1_pooled"].aggregate(scores) == pytest.approx(180 / 200)


def test_undefined_pooled_metric_is_none_not_zero() -> None:
    assert METRICS_BY_KEY["wall_iou_pooled"].aggregate([_score(0, 0, 0, 1.0)]) is None


def test_summary_has_a_bootstrap_interval_around_the_value() -> None:
    rng = np.random.default_rng(1)
    records = []
    for index in range(30):
        tp = float(rng.integers(50, 100))
        records.append(PlanRecord(f"p{index}", 10, 10, scores={"opencv": _score(tp, 100 - tp, 5, tp / 105)}))
    summary = summarize(records, ["opencv"], resamples=200, seed=0)["opencv"]
    for key in ("wall_iou_pooled", "wall_iou"):
        cell = summary[key]
        assert cell.plans == 30
        assert cell.low < cell.value < cell.high
        assert cell.high - cell.low < 0.2
    assert summary["segment_f1"] == Summary(None, None, None, 0)  # no vector ground truth here
    table = markdown_table({"opencv": summary})
    assert "| wall IoU, pooled (n=30) |" in table and "segment" not in table


# --------------------------------------------------------------------------- backends and splits


def test_backend_specs(tiny_checkpoint: Path) -> None:
    assert parse_backend("opencv").backend == "opencv"
    unet = parse_backend(f"unet:{tiny_checkpoint}")
    assert unet.backend == "unet" and unet.model_dir == str(tiny_checkpoint)
    assert [s.name for s in parse_backends(["opencv", f"unet:{tiny_checkpoint}"])] == [
        "opencv",
        f"unet:{tiny_checkpoint.name}",
    ]
    for bad in ("opencv:x", "yolo", "unet:/no/such/dir"):
        with pytest.raises(BackendSpecError):
            parse_backend(bad)
    with pytest.raises(BackendSpecError, match="twice"):
        parse_backends(["opencv", "opencv"])
    with pytest.raises(BackendSpecError, match="at least one"):
        parse_backends([])


def test_backend_specs_take_the_views_option(tiny_checkpoint: Path) -> None:
    plain, four = parse_backends([f"unet:{tiny_checkpoint}", f"unet:{tiny_checkpoint}@views=4"])
    assert (plain.views, four.views) == (1, 4) and plain.model_dir == four.model_dir
    assert four.name == f"unet:{tiny_checkpoint.name}@views=4"
    assert four.options().views == 4 and plain.options().views == 1
    assert parse_backend("unet@views=2").name == "unet@views=2"
    with pytest.raises(BackendSpecError, match="views must be one of"):
        parse_backend("unet:default@views=3")
    with pytest.raises(BackendSpecError, match="only the U-Net"):
        parse_backend("opencv@views=4")
    with pytest.raises(BackendSpecError, match="twice"):
        parse_backends(["unet@views=4", "unet:default@views=4"])


def test_flat_split_is_the_training_hold_out(tmp_path: Path) -> None:
    samples = open_dataset(write_flat_dataset(tmp_path / "flat", 20))
    validation = split_samples(samples, "validation")
    train = split_samples(samples, "train")
    assert len(validation) == 2 and len(train) == 18
    assert not {s.stem for s in validation} & {s.stem for s in train}
    assert [s.stem for s in split_samples(samples, "validation")] == [s.stem for s in validation]


# --------------------------------------------------------------------------- the CLI end to end


def test_evaluate_cli_end_to_end_with_both_backends(tmp_path: Path, tiny_checkpoint: Path) -> None:
    data = write_channel_dataset(tmp_path / "synth")
    out = tmp_path / "report"
    argv = ["evaluate", "--data", str(data), "--backend", "opencv", "--backend", f"unet:{tiny_checkpoint}"]
    assert main([*argv, "--out", str(out), "--resamples", "100"]) == 0

    report = json.loads((out / "report.json").read_text())
    names = ["opencv", f"unet:{tiny_checkpoint.name}"]
    assert list(report["backends"]) == names
    assert [p["stem"] for p in report["plans"]] == ["plan_0", "plan_1", "plan_2"]
    for name in names:
        summary = report["backends"][name]
        for key in ("wall_iou_pooled", "wall_iou", "wall_f1_tolerant", "vector_wall_iou", "segment_f1"):
            cell = summary[key]
            assert cell["plans"] == 3 and 0.0 <= cell["value"] <= 1.0, (name, key, cell)
            assert cell["low"] <= cell["value"] + 1e-9 and cell["value"] <= cell["high"] + 1e-9
        assert summary["room_f1_50"]["plans"] == 3
        assert summary["time_ms"]["value"] > 0
    # The classical baseline finds these clean walls; the untrained U-Net is only plumbing.
    assert report["backends"]["opencv"]["wall_iou_pooled"]["value"] > 0.8
    assert report["backends"]["opencv"]["room_f1_50"]["value"] > 0.5
    thickness = report["backends"]["opencv"]["wall_thickness_error"]
    assert thickness["plans"] == 3 and 0.0 <= thickness["value"] < 1.0  # clean walls: close thicknesses

    markdown = (out / "report.md").read_text()
    assert "| metric | opencv | unet:" in markdown and "[" in markdown
    assert "worst plans" in markdown
    for stem in ("plan_0", "plan_1", "plan_2"):
        picture = np.asarray(Image.open(out / "overlays" / f"{stem}.png"))
        assert picture.shape[1] > 2 * picture.shape[0]  # three panels side by side
    assert (out / "gallery.png").is_file()


def test_evaluate_cli_puts_one_checkpoint_with_one_and_two_views_side_by_side(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    data = write_channel_dataset(tmp_path / "synth")
    out = tmp_path / "report"
    spec = f"unet:{tiny_checkpoint}"
    argv = ["evaluate", "--data", str(data), "--backend", spec, "--backend", f"{spec}@views=2"]
    assert main([*argv, "--out", str(out), "--resamples", "20", "--limit", "1", "--no-overlays"]) == 0
    report = json.loads((out / "report.json").read_text())
    names = [f"unet:{tiny_checkpoint.name}", f"unet:{tiny_checkpoint.name}@views=2"]
    assert list(report["backends"]) == names
    assert [report["settings"]["backends"][name]["views"] for name in names] == [1, 2]
    plain, two = (report["backends"][name]["wall_iou_pooled"]["value"] for name in names)
    assert 0.0 <= plain <= 1.0 and 0.0 <= two <= 1.0


def test_evaluate_cli_on_the_flat_layout_validation_split(tmp_path: Path) -> None:
    data = write_flat_dataset(tmp_path / "flat", 12)
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(data), "--split", "validation", "--backend", "opencv",
                 "--out", str(out), "--no-overlays", "--resamples", "0"]) == 0  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert len(report["plans"]) == 1 == round(12 * 0.1)
    cell = report["backends"]["opencv"]["wall_iou_pooled"]
    assert cell["value"] > 0.8 and cell["low"] is None  # one plan: no interval
    assert report["backends"]["opencv"]["room_f1_50"]["plans"] == 1  # R3D colour rooms read
    assert report["backends"]["opencv"]["segment_f1"]["value"] is None  # no vector truth in R3D
    assert report["backends"]["opencv"]["wall_thickness_error"]["value"] is None
    assert not (out / "overlays").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend", "opencv", "--data", "/no/such/folder"], "does not exist"),
        (["--backend", "resnet", "--data", "."], "unknown backend"),
        (["--backend", "unet:/no/such/model", "--data", "."], "no model checkpoint"),
        (["--data", "."], "at least one --backend"),
        (["--backend", "opencv", "--data", ".", "--limit", "0"], "--limit"),
    ],
)
def test_evaluate_cli_rejects_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["evaluate", "--out", str(tmp_path / "out"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_cli_refuses_test_split_of_a_flat_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_flat_dataset(tmp_path / "flat", 3)
    argv = ["evaluate", "--data", str(data), "--split", "test", "--backend", "opencv"]
    code = main([*argv, "--out", str(tmp_path)])
    assert code == 2 and "no 'test' split" in capsys.readouterr().err


def test_nan_free_json(tmp_path: Path) -> None:
    data = write_channel_dataset(tmp_path / "synth", count=2)
    out = tmp_path / "report"
    argv = ["evaluate", "--data", str(data), "--backend", "opencv", "--out", str(out)]
    assert main([*argv, "--resamples", "20"]) == 0
    text = (out / "report.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    values = [c["value"] for c in json.loads(text)["backends"]["opencv"].values() if c["value"] is not None]
    assert all(math.isfinite(v) for v in values)


def test_leak_warning_for_plans_outside_the_models_hold_out(tmp_path: Path, tiny_checkpoint: Path) -> None:
    from model_code.model.checkpoint import read_metadata, save_model
    from model_code.model.loader import load_model

    model_dir = tmp_path / "model"
    metadata = read_metadata(tiny_checkpoint)
    metadata.training = {"validation_ids": ["plan_0"]}
    save_model(load_model(tiny_checkpoint).network, metadata, model_dir)
    data = write_channel_dataset(tmp_path / "synth", count=2)
    out = tmp_path / "report"
    argv = ["evaluate", "--data", str(data), "--backend", f"unet:{model_dir}", "--out", str(out)]
    assert main([*argv, "--no-overlays", "--resamples", "0"]) == 0
    warnings = json.loads((out / "report.json").read_text())["settings"]["warnings"]
    assert len(warnings) == 1 and "1 of the 2 evaluated plans" in warnings[0]


@pytest.mark.slow
def test_workers_give_the_same_scores_as_one_process(tmp_path: Path) -> None:
    data = write_channel_dataset(tmp_path / "synth", count=3)
    reports = []
    for workers in ("1", "2"):
        out = tmp_path / f"report{workers}"
        argv = [
            "evaluate",
            "--data",
            str(data),
            "--backend",
            "opencv",
            "--out",
            str(out),
            "--workers",
            workers,
        ]
        assert main([*argv, "--resamples", "0"]) == 0
        reports.append(json.loads((out / "report.json").read_text()))
        assert len(list((out / "overlays").glob("*.png"))) == 3
    strip = [
        [{k: v for k, v in p["scores"]["opencv"].items() if k != "time_ms"} for p in r["plans"]]
        for r in reports
    ]
    for plans in strip:
        for plan in plans:
            plan["values"].pop("time_ms")
    assert strip[0] == strip[1]


def test_room_labels_of_the_wrong_size_are_a_clear_error(tmp_path: Path) -> None:
    from model_code.evaluation.truth import GroundTruthError, read_instance_labels

    path = tmp_path / "rooms.png"
    Image.fromarray(np.ones((10, 12), np.uint16)).save(path)
    assert read_instance_labels(path, (10, 12)).dtype == np.int32
    with pytest.raises(GroundTruthError, match="is \\(10, 12\\), its plan is \\(20, 12\\)"):
        read_instance_labels(path, (20, 12))


def test_a_broken_plan_is_reported_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_channel_dataset(tmp_path / "synth", count=2)
    (data / "images" / "plan_1.png").write_bytes(b"not a png")
    out = tmp_path / "report"
    argv = ["evaluate", "--data", str(data), "--backend", "opencv", "--out", str(out)]
    assert main([*argv, "--resamples", "0"]) == 0
    report = json.loads((out / "report.json").read_text())
    broken = next(p for p in report["plans"] if p["stem"] == "plan_1")
    assert "cannot read plan plan_1" in broken["errors"]["ground truth"]
    assert report["backends"]["opencv"]["wall_iou"]["plans"] == 1
    assert "## Plans that failed" in (out / "report.md").read_text()


def test_nothing_scored_is_a_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_channel_dataset(tmp_path / "synth", count=1)
    (data / "images" / "plan_0.png").write_bytes(b"")
    argv = ["evaluate", "--data", str(data), "--backend", "opencv", "--out", str(tmp_path / "report")]
    assert main(argv) == 1
    assert "no plan could be scored" in capsys.readouterr().err


def test_a_failing_backend_is_reported_per_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from model_code.pipeline import Pipeline

    def broken(self: Pipeline, image: np.ndarray, options=None):
        raise RuntimeError("backend exploded")

    monkeypatch.setattr(Pipeline, "analyze", broken)
    data = write_channel_dataset(tmp_path / "synth", count=1)
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(data), "--backend", "opencv", "--out", str(out)]) == 1
    report = json.loads((out / "report.json").read_text())
    assert report["plans"][0]["errors"] == {"opencv": "RuntimeError: backend exploded"}
    assert "| plan_0 | opencv | RuntimeError: backend exploded |" in (out / "report.md").read_text()
    assert (out / "overlays" / "plan_0.png").is_file()  # ground truth beside a "failed" panel


def test_evaluate_cli_text_option_reaches_every_backend(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    from model_code.text import engine_available

    if not engine_available():
        pytest.skip("OCR models not installed (requirements-text.txt)")
    data = write_flat_dataset(tmp_path / "flat", 12)
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(data), "--split", "validation", "--backend", "opencv",
                 "--out", str(out), "--no-overlays", "--resamples", "0", "--text", "on"]) == 0  # fmt: skip
    assert json.loads((out / "report.json").read_text())["settings"]["text"] == "on"
    spec = parse_backend("opencv")
    assert spec.options().text == "off"  # the default, as served


def test_evaluate_cli_refuses_a_bad_text_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--data", ".", "--backend", "opencv", "--out", str(tmp_path / "o"),
              "--text", "yes"])  # fmt: skip
    assert "--text" in capsys.readouterr().err


def test_tint_errors_colours_hits_false_and_missed_pixels() -> None:
    from model_code.evaluation.pictures import ERROR_COLOURS, tint_errors

    image = np.full((2, 2, 3), 255, np.uint8)
    pred = np.array([[True, True], [False, False]])
    truth = np.array([[True, False], [True, False]])
    out = tint_errors(image, pred, truth)
    assert out[0, 0].tolist() == list(ERROR_COLOURS["hit"])
    assert out[0, 1].tolist() == list(ERROR_COLOURS["false"])
    assert out[1, 0].tolist() == list(ERROR_COLOURS["missed"])
    assert out[1, 1].tolist() == [255, 255, 255]  # paper stays paper, lightened
