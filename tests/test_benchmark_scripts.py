"""The benchmark scripts still run: smoke tests with small plans and few repeats.

The benchmarks are run by hand (their numbers go into docs/benchmarks.md); this keeps the
GPU sweep, which this machine cannot run for real, from rotting (the same code runs on CPU on
the tiny model), and the end-to-end latency ratio working against a real server.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(name: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run ``benchmarks/<name>`` as ``__main__`` with ``args``; its exit code."""
    monkeypatch.setattr(sys, "argv", [name, *args])
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(ROOT / "benchmarks" / name), run_name="__main__")
    return int(stop.value.code or 0)


def test_gpu_throughput_sweep_runs_on_cpu(tiny_checkpoint, tmp_path, monkeypatch):
    out = tmp_path / "gpu.json"
    code = run_script(
        "gpu_throughput.py",
        [
            "--model-dir",
            str(tiny_checkpoint),
            "--device",
            "cpu",
            "--size",
            "160",
            "--batch-sizes",
            "1",
            "3",
            "--amp",
            "none",
            "bf16",
            "--repeats",
            "1",
            "--out",
            str(out),
        ],
        monkeypatch,
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert [(r["amp"], r["batch_size"]) for r in result["rows"]] == [
        ("none", 1),
        ("none", 3),
        ("bf16", 1),
        ("bf16", 3),
    ]
    for row in result["rows"]:
        assert row["tensor"] == [row["batch_size"], 3, 128, 128]  # working size 128, padded to 32
        assert row["images_per_s"] > 0


def test_gpu_throughput_explains_a_missing_gpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["gpu_throughput.py", "--device", "cuda"])
    with pytest.raises(SystemExit, match="no CUDA device"):
        runpy.run_path(str(ROOT / "benchmarks" / "gpu_throughput.py"), run_name="__main__")


def test_latency_ratio_measures_each_plan_against_a_running_server(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the server's /opt/ml stand-in and log
    out = tmp_path / "ratio.json"
    args = ["--size", "256", "--seeds", "1", "9", "--requests", "1", "--workers", "1", "--out", str(out)]
    assert run_script("latency_ratio.py", args, monkeypatch) == 0
    result = json.loads(out.read_text())
    assert [plan["seed"] for plan in result["plans"]] == [1, 9]
    for plan in result["plans"]:
        assert plan["style"] and max(plan["image"]) == 256 and plan["png_kb"] >= 0
        assert plan["bare_forward_ms"]["p50"] > 0 and plan["end_to_end_ms"]["p50"] > 0
        assert {"decode", "forward", "vectorize", "rooms"} <= set(plan["worker_stages_ms_p50"])
        e2e, bare = plan["end_to_end_ms"]["p50"], plan["bare_forward_ms"]["p50"]
        assert plan["ratio_p50"] == pytest.approx(e2e / bare)
    assert result["plans_within_1_3"] == sum(plan["ratio_p50"] <= 1.3 for plan in result["plans"])


def test_junctions_benchmark_runs(monkeypatch, capsys):
    assert run_script("junctions.py", ["--seeds", "0", "--size", "512"], monkeypatch) == 0
    assert "junction ends meet exactly" in capsys.readouterr().out


def test_scale_table_runs_each_size_in_a_subprocess(tmp_path, monkeypatch):
    out = tmp_path / "table.json"
    args = ["--seeds", "0", "--sizes", "256", "640", "--out", str(out)]
    assert run_script("scale_table.py", args, monkeypatch) == 0
    rows = json.loads(out.read_text())
    assert [row["size"] for row in rows] == [256, 640]
    for row in rows:
        assert 0 <= row["wall_iou"] <= 1 and row["peak_rss_mb"] > 0 and row["working"] >= 256


def test_native_size_scores_a_checkpoint_with_a_native_band(tiny_checkpoint, tmp_path, monkeypatch):
    from model_code.datasets.synthetic import write_plan
    from model_code.synth.generator import generate_plan

    data = tmp_path / "plans"
    for folder in ("images", "annotations", "masks", "rooms"):
        (data / folder).mkdir(parents=True)
    for seed in (5, 6):
        write_plan(generate_plan(seed, size=600), data)
    out = tmp_path / "native.json"
    args = ["--data", str(data), "--split", "all", "--model", str(tiny_checkpoint), "--native-up-to", "1.25"]
    assert run_script("native_size.py", [*args, "--out", str(out)], monkeypatch) == 0
    row = json.loads(out.read_text())
    assert row["plans"] == 2 and row["native_up_to"] == 1.25
    assert 0 <= row["wall_iou_worst"] <= row["wall_iou_mean"] <= 1 and 0 <= row["f1_50"] <= 1


def test_opening_at_rooms_reads_the_openings_of_one_room_type_apart(
    tiny_checkpoint, tmp_path, monkeypatch, capsys
):
    from model_code.datasets.synthetic import write_plan
    from model_code.synth.generator import generate_plan

    data = tmp_path / "plans"
    for folder in ("images", "annotations", "masks", "rooms"):
        (data / folder).mkdir(parents=True)
    for seed in (5, 6):
        write_plan(generate_plan(seed, size=400), data)
    args = ["--data", str(data), "--split", "all", "--model", str(tiny_checkpoint), "--room-type", "bedroom"]
    assert run_script("opening_at_rooms.py", args, monkeypatch) == 0
    found = json.loads(capsys.readouterr().out)
    assert set(found) == {"at_rooms", "other"}
    assert found["at_rooms"]["pixels"] > 0 and found["other"]["pixels"] > 0  # bedrooms have doors and windows
    for row in found.values():
        assert 0 <= row["q10"] <= row["q50"] <= row["q90"] <= 1
        assert row["above_0.5"] <= row["above_0.3"] <= row["above_0.1"] <= row["above_0.01"] <= 1


def test_architecture_latency_times_each_candidate_in_the_serving_format(tmp_path, monkeypatch, capsys):
    out = tmp_path / "architectures.json"
    args = ["--candidates", "resnet18:3:32,16,8", "resnet18:3:64,32,16", "--runtime", "onnx"]
    args += ["--repeats", "2", "--warmup", "1", "--plan-size", "256", "--threads", "1", "--out", str(out)]
    assert run_script("architecture_latency.py", args, monkeypatch) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [row["decoder_channels"] for row in rows] == [[32, 16, 8], [64, 32, 16]]
    assert rows[0]["parameters_m"] < rows[1]["parameters_m"] and rows[0]["vs_first"] == 1.0
    assert all(row["median_ms"] > 0 and row["weights_mb"] > 0 for row in rows)
    assert "| resnet18 (depth 3) | 64,32,16 |" in capsys.readouterr().out


def test_architecture_latency_refuses_a_malformed_candidate(monkeypatch, capsys):
    assert run_script("architecture_latency.py", ["--candidates", "resnet18:5:64,32"], monkeypatch) == 2
    assert "one decoder width per encoder stage" in capsys.readouterr().err


@pytest.mark.slow
def test_device_training_run_rehearses_on_cpu(tmp_path, monkeypatch):
    """The one-shot GPU run (benchmarks/device_train.py) end to end on the CPU with a tiny network and two
    loader processes: both stages train (the first for several epochs, so loader workers are forked again
    after a validation), and both models come back as tar parts that unpack into loadable checkpoints."""
    import subprocess
    import tarfile

    from model_code.model.loader import load_model

    bundle = tmp_path / "bundle"
    (bundle / "wheels").mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "model_code", "synth", "--count", "6", "--out", str(bundle / "r3d"),
         "--seed", "5", "--size", "192"],
        check=True, capture_output=True,
    )  # fmt: skip
    out = tmp_path / "out"
    code = run_script(
        "device_train.py",
        ["run", "--skip-install", "--bundle", str(bundle), "--out", str(out),
         "--work", str(tmp_path / "work"),
         "--device", "cpu", "--pretrain-minutes", "0.1", "--finetune-minutes", "0.02", "--synthetic", "2",
         "--synthetic-validation", "2", "--batch-size", "2", "--crop-size", "64", "--workers", "2",
         "--stall-seconds", "60",
         "--pretrain-init", "none", "--room-types", "yes", "--encoder-depth", "3",
         "--decoder-channels", "32,16,8", "--finetune-synthetic", "2", "--finetune-redraw", "2"],
        monkeypatch,
    )  # fmt: skip
    assert code == 0
    assert (out / "pretrain.log").is_file() and (out / "finetune.log").is_file()
    # loader processes forked again after a validation (the eighteenth session's hang came at epoch 2)
    assert (out / "pretrain.log").read_text().count("\nepoch=") >= 2
    assert "+ 2 redrawn + 2 synthetic" in (out / "finetune.log").read_text()
    for name in ("synthetic", "default"):
        parts = sorted(out.glob(f"{name}.tar.part*"))
        assert parts and all(p.stat().st_size <= 15 * 2**20 for p in parts)
        archive = tmp_path / f"{name}.tar"
        archive.write_bytes(b"".join(p.read_bytes() for p in parts))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp_path / "unpacked", filter="data")
        model = load_model(tmp_path / "unpacked" / name, runtime="eager")
        assert "closet" in model.metadata.spec.channels  # room types were learnt
    # the packed default is the fine-tuning epoch chosen through the serving pipeline
    selection = json.loads((tmp_path / "unpacked" / "default" / "model.json").read_text())["training"][
        "selection"
    ]
    assert selection["split"] == "validation" and selection["candidates"]
    assert (out / "selection.md").read_text().startswith("# Epoch selection")


def test_device_training_shrinks_the_second_stage_to_the_call():
    """The fine-tuning budget is what the call has left after the first stage and its measured overhead
    (and packing), never more than asked: a slow first stage costs fine-tuning minutes, not the model."""
    fitting = runpy.run_path(str(ROOT / "benchmarks" / "device_train.py"))["fitting_minutes"]
    assert fitting(3.5, call_s=560, spent_s=300, overhead_s=30) == 3.5  # on plan
    assert fitting(3.5, call_s=560, spent_s=380, overhead_s=45) == pytest.approx((560 - 380 - 45 - 15) / 60)
    # the epoch selection's minute comes out of the fine-tuning too
    assert fitting(3.5, 560, 380, 45, reserve_s=75) == pytest.approx((560 - 380 - 45 - 75) / 60)
    assert fitting(3.5, call_s=560, spent_s=560, overhead_s=30) == 0.0  # nothing left: no stage


def test_device_training_versions_follow_the_bundled_models(tmp_path):
    """Each model the device run writes carries the next minor version of its bundled predecessor; the
    versions ``prepare`` recorded win (the default checkpoint does not travel to the device)."""
    import json

    script = runpy.run_path(str(ROOT / "benchmarks" / "device_train.py"))
    bundled = {
        name: json.loads((ROOT / "model_code" / f"{name}_model" / "model.json").read_text())["version"]
        for name in ("synthetic", "default")
    }
    versions = script["next_versions"](tmp_path)  # nothing recorded: read from the bundled models
    for name, version in bundled.items():
        major, minor, _ = version.split(".")
        assert versions[name] == f"{major}.{int(minor) + 1}.0"
    (tmp_path / "versions.json").write_text(json.dumps({"synthetic": "9.1.0", "default": "9.2.0"}))
    assert script["next_versions"](tmp_path) == {"synthetic": "9.1.0", "default": "9.2.0"}


def test_device_training_stops_a_stage_whose_log_goes_silent(tmp_path):
    """A hung stage (here a process that prints once, then sleeps) is stopped after the stall time, not
    left to eat the device call's minutes."""
    import time

    run_watched = runpy.run_path(str(ROOT / "benchmarks" / "device_train.py"))["run_watched"]
    log = tmp_path / "stage.log"
    hang = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"]
    start = time.monotonic()
    assert run_watched(hang, log, stall_s=2) is None
    assert time.monotonic() - start < 30 and "started" in log.read_text()
    chatty = [sys.executable, "-c", "import time\nfor k in range(4): print(k, flush=True); time.sleep(0.6)"]
    assert run_watched(chatty, tmp_path / "ok.log", stall_s=2) == 0


def test_rooms_tuning_replays_room_and_outdoor_knobs(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    import model_code.geometry.outdoor as outdoor
    import model_code.geometry.rooms as rooms
    from model_code.datasets.synthetic import write_plan
    from model_code.synth.generator import generate_plan

    data = tmp_path / "plans"
    for folder in ("images", "annotations", "masks", "rooms"):
        (data / folder).mkdir(parents=True)
    for seed in (0, 10):  # both with a terrace (a balcony room of the truth)
        write_plan(generate_plan(seed, size=256), data)
    out = tmp_path / "grid.json"
    args = ["--data", str(data), "--split", "all", "--model", str(tiny_checkpoint), "--out", str(out)]
    grid = ["--set", "OUTDOOR_MIN_CONTACT=0.45,0.3", "--set", "NECK_WIDTH=1.0"]
    assert run_script("rooms_tuning.py", [*args, *grid], monkeypatch) == 0
    rows = json.loads(out.read_text())
    assert [(r["OUTDOOR_MIN_CONTACT"], r["NECK_WIDTH"]) for r in rows] == [(0.45, 1.0), (0.3, 1.0)]
    for row in rows:
        assert 0 <= row["f1_50"] <= 1 and 0 <= row["recall_balcony"] <= 1
    assert outdoor.OUTDOOR_MIN_CONTACT == 0.45 and rooms.NECK_WIDTH == 1.0  # the knobs are put back
    capsys.readouterr()
    assert run_script("rooms_tuning.py", [*args, "--set", "NO_SUCH_KNOB=1"], monkeypatch) == 2
    assert "has a knob 'NO_SUCH_KNOB'" in capsys.readouterr().err


def test_wall_edges_scores_both_edges_per_style(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    from model_code.datasets.synthetic import write_plan
    from model_code.synth.generator import generate_plan

    data = tmp_path / "plans"
    for folder in ("images", "annotations", "masks", "rooms"):
        (data / folder).mkdir(parents=True)
    styles = "solid,thin"
    for seed in (5, 6):
        write_plan(generate_plan(seed, size=(300, 500), styles=styles.split(",")), data)
    out = tmp_path / "edges.json"
    args = ["--data", str(data), "--split", "all", "--model", str(tiny_checkpoint), "--radius", "2", "3"]
    args += [
        "--synth-styles",
        styles,
        "--synth-size",
        "300:500",
        "--out",
        str(out),
        "--pictures",
        str(tmp_path / "p"),
    ]
    assert run_script("wall_edges.py", args, monkeypatch) == 0
    rows = json.loads(out.read_text())
    assert [r["plan"] for r in rows] == ["synth_000005", "synth_000006"]
    for row in rows:
        assert row["style"] in ("solid", "thin")
        assert set(row) == {"plan", "style", "network", "r2 eps0.01", "r3 eps0.01"}
        assert all(0 <= row[k] <= 1 for k in ("network", "r2 eps0.01", "r3 eps0.01"))
    table = capsys.readouterr().out
    assert "| all | 2 |" in table and "r3 eps0.01" in table
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["synth_000005.png", "synth_000006.png"]


def test_cad_walls_breakdown_says_which_walls_are_found_and_how_far_the_false_ones_lie():
    error_breakdown = runpy.run_path(str(ROOT / "benchmarks" / "cad_walls.py"))["error_breakdown"]
    palette = np.zeros((40, 40, 3), np.uint8)
    palette[5:9, 5:35] = (0, 128, 0)  # a structural wall, 4 x 30
    palette[20:22, 5:35] = (128, 0, 0)  # a partition, 2 x 30
    pred = np.zeros((40, 40), bool)
    pred[5:9, 5:35] = True  # the structural wall, found
    pred[9:10, 5:35] = True  # 30 false pixels next to it
    pred[30:33, 5:35] = True  # 90 false pixels far from any wall
    values = error_breakdown(pred, palette)
    assert values["structural_recall"] == 1.0
    assert values["partition_recall"] == 0.0
    assert values["precision"] == pytest.approx(120 / 240)
    assert values["far_false_share"] == pytest.approx(90 / 120)
    assert values["iou_without_far_false"] == pytest.approx(120 / (150 + 60))  # 30 near false, 60 missed
    assert values["iou_with_partitions"] == pytest.approx(180 / 300)  # all 120 false pixels stay
    assert np.isnan(error_breakdown(pred, np.zeros_like(palette))["structural_recall"])


def test_cad_walls_reports_iou_and_error_breakdown_per_sheet(tmp_path, monkeypatch, tiny_checkpoint):
    sheet = np.full((160, 240, 3), 255, np.uint8)
    palette = np.zeros_like(sheet)
    cv2.rectangle(sheet, (30, 30), (210, 130), (0, 0, 0), 8)
    cv2.rectangle(palette, (30, 30), (210, 130), (0, 128, 0), 8)
    cv2.line(sheet, (120, 34), (120, 126), (0, 0, 0), 3)
    cv2.line(palette, (120, 34), (120, 126), (128, 0, 0), 3)
    data = tmp_path / "sheets"
    data.mkdir()
    cv2.imwrite(str(data / "box.jpg"), sheet)
    cv2.imwrite(str(data / "box_wall.png"), palette[..., ::-1])
    out = tmp_path / "report"
    four = f"unet:{tiny_checkpoint}@views=4"
    args = ["--data", str(data), "--backend", "opencv", "--backend", four, "--out", str(out), "--no-pictures"]
    assert run_script("cad_walls.py", args, monkeypatch) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["sheets"][0]["opencv"] > 0.5
    assert list(report["summary"]) == ["opencv", f"unet:{tiny_checkpoint.name}@views=4"]
    errors, _unet = report["errors"]
    assert errors["sheet"] == "box" and errors["backend"] == "opencv"
    assert errors["structural_recall"] > 0.8
    assert 0.0 <= errors["far_false_share"] <= 1.0
    assert errors["iou_with_partitions"] >= report["sheets"][0]["opencv"] - 1e-4
    assert errors["iou_without_far_false"] >= report["sheets"][0]["opencv"] - 1e-4
    markdown = (out / "report.md").read_text()
    assert "structural recall" in markdown and "| mean | `opencv` |" in markdown


def test_overlay_folder_puts_backends_side_by_side(tmp_path, monkeypatch, tiny_checkpoint, drawn_plan):
    data = tmp_path / "plans"
    data.mkdir()
    cv2.imwrite(str(data / "two_rooms.png"), drawn_plan)
    out = tmp_path / "overlays"
    args = ["--data", str(data), "--backend", "opencv", "--backend", f"unet:{tiny_checkpoint}@views=2"]
    assert run_script("overlay_folder.py", [*args, "--out", str(out), "--width", "200"], monkeypatch) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["two_rooms.png"]) == ["opencv", f"unet:{tiny_checkpoint.name}@views=2"]
    assert summary["two_rooms.png"]["opencv"]["rooms"] >= 2
    picture = cv2.imread(str(out / "two_rooms_overlay.png"))
    assert picture.shape[1] >= 400  # two 200 px panels
    bad = ["overlay_folder.py", "--data", str(data), "--backend", "unet@views=3", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", bad)
    with pytest.raises(SystemExit, match="views must be one of"):
        runpy.run_path(str(ROOT / "benchmarks" / "overlay_folder.py"), run_name="__main__")


def _flat_r3d(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A flat R3D folder of one 60 x 40 plan (a black band across) and its wall mask."""
    flat = tmp_path / "r3d"
    flat.mkdir()
    drawing = np.full((40, 60, 3), 255, np.uint8)
    drawing[10:14] = 0
    cv2.imwrite(str(flat / "7.jpg"), drawing)
    mask = np.zeros((40, 60), np.uint8)
    mask[10:14] = 255
    cv2.imwrite(str(flat / "7_wall.png"), mask)
    return flat, drawing, mask


def test_paper_tone_tints_the_drawings_and_keeps_the_truth(tmp_path, monkeypatch):
    flat, drawing, mask = _flat_r3d(tmp_path)
    customers = tmp_path / "channel"
    (customers / "images").mkdir(parents=True)
    (customers / "masks").mkdir()
    cv2.imwrite(str(customers / "images" / "a.png"), drawing)
    cv2.imwrite(str(customers / "masks" / "a.png"), mask)
    for source in (flat, customers):
        out = tmp_path / f"{source.name}_beige"
        args = ["--data", str(source), "--out", str(out), "--tone", "238,226,196"]
        assert run_script("paper_tone.py", args, monkeypatch) == 0
        picture = cv2.imread(str(next(out.rglob("7.jpg")) if source is flat else out / "images" / "a.png"))
        assert np.abs(picture[0, 0].astype(int) - [196, 226, 238]).max() <= 3  # BGR: white paper is beige
        assert picture[11, 30].max() <= 8  # ink stays black
        truth = out / "7_wall.png" if source is flat else out / "masks" / "a.png"
        assert np.array_equal(cv2.imread(str(truth), cv2.IMREAD_GRAYSCALE), mask)  # masks untouched
    inside = ["--data", str(flat), "--out", str(flat / "copy")]
    assert run_script("paper_tone.py", inside, monkeypatch) == 2
    bad_tone = ["--data", str(flat), "--out", str(tmp_path / "x"), "--tone", "300"]
    assert run_script("paper_tone.py", bad_tone, monkeypatch) == 2
    # a scanner's dark border round every drawing; the masks padded to stay aligned
    framed = tmp_path / "framed"
    args = ["--data", str(flat), "--out", str(framed), "--tone", "255", "--border", "5"]
    assert run_script("paper_tone.py", args, monkeypatch) == 0
    picture = cv2.imread(str(framed / "7.jpg"))
    assert picture.shape == (50, 70, 3) and picture[2, 2].max() <= 35 and picture[7, 7].min() >= 240
    truth = cv2.imread(str(framed / "7_wall.png"), cv2.IMREAD_GRAYSCALE)
    assert truth.shape == (50, 70) and np.array_equal(truth[5:-5, 5:-5], mask) and not truth[:5].any()
    faded = tmp_path / "faded"
    args = ["--data", str(flat), "--out", str(faded), "--tone", "255", "--contrast", "0.4", "--negative"]
    assert run_script("paper_tone.py", args, monkeypatch) == 0
    picture = cv2.imread(str(faded / "7.jpg"))
    assert picture[0, 0].max() <= 10 and 90 <= picture[11, 30].min() <= 115  # paper black, ink 255 * 0.4
    no_ink = ["--data", str(flat), "--out", str(tmp_path / "z"), "--contrast", "0"]
    assert run_script("paper_tone.py", no_ink, monkeypatch) == 2
    (customers / "a.json").write_text("{}")
    refused = ["--data", str(customers), "--out", str(tmp_path / "y"), "--border", "5"]
    assert run_script("paper_tone.py", refused, monkeypatch) == 2


def test_resized_copy_enlarges_drawings_and_truth_together(tmp_path, monkeypatch):
    flat, _drawing, mask = _flat_r3d(tmp_path)
    (flat / "README.md").write_text("notes")
    out = tmp_path / "x3"
    args = ["--data", str(flat), "--out", str(out), "--factor", "3"]
    assert run_script("resized_copy.py", args, monkeypatch) == 0
    picture = cv2.imread(str(out / "7.jpg"))
    truth = cv2.imread(str(out / "7_wall.png"), cv2.IMREAD_GRAYSCALE)
    assert picture.shape == (120, 180, 3) and truth.shape == (120, 180)
    assert set(np.unique(truth)) == {0, 255} and np.array_equal(truth[::3, ::3], mask)  # nearest: no grey
    assert picture[36, 90].max() <= 30 and picture[0, 0].min() >= 240  # the line moved with its truth
    assert (out / "README.md").read_text() == "notes"
    refused = [(flat / "c", "2"), (tmp_path / "y", "40")]  # --out inside --data; a factor out of range
    for target, factor in refused:
        args = ["--data", str(flat), "--out", str(target), "--factor", factor]
        assert run_script("resized_copy.py", args, monkeypatch) == 2
    (flat / "7.json").write_text("{}")  # JSON annotations would not move with the pictures
    args = ["--data", str(flat), "--out", str(tmp_path / "z"), "--factor", "2"]
    assert run_script("resized_copy.py", args, monkeypatch) == 2


@pytest.mark.slow
def test_select_epoch_writes_the_best_scoring_epoch_as_the_runs_model(tmp_path, monkeypatch, capsys):
    """A run trained with ``keep_epoch_models``: the script evaluates the kept epochs through the serving
    pipeline and writes the final model folder with the highest-scoring epoch's weights and the record."""
    import torch

    from model_code.datasets.synthetic import write_plan
    from model_code.model.loader import load_model
    from model_code.synth.generator import generate_plan
    from model_code.training.config import TrainConfig
    from model_code.training.loop import checkpoint_dir_for, train

    data = tmp_path / "plans"
    for folder in ("images", "annotations", "masks", "rooms"):
        (data / folder).mkdir(parents=True)
    for seed in range(6):
        write_plan(generate_plan(seed, size=192), data)
    config = TrainConfig(
        data=str(data), out=str(tmp_path / "model"), encoder="resnet18", encoder_depth=3,
        decoder_channels=(32, 16, 8), epochs=3, batch_size=2, crop_size=64, working_size=128,
        max_steps_per_epoch=2, num_workers=0, threads=1, augment="none", val_fraction=0.34,
        room_types="no", keep_epoch_models=True,
    )  # fmt: skip
    previous = torch.get_num_threads()
    try:
        result = train(config)
    finally:
        torch.set_num_threads(previous)
    checkpoints = checkpoint_dir_for(config)
    out, report = tmp_path / "selected", tmp_path / "report"
    args = ["--checkpoints", str(checkpoints), "--final", str(result.model_dir), "--data", str(data),
            "--split", "validation", "--last", "2", "--workers", "1", "--report", str(report),
            "--out", str(out)]  # fmt: skip
    assert run_script("select_epoch.py", args, monkeypatch) == 0
    meta = json.loads((out / "model.json").read_text())
    record = meta["training"]["selection"]
    candidates = {int(e): v for e, v in record["candidates"].items()}
    assert set(candidates) == {2, 3} | {result.best_epoch}  # the last two and the loop's best
    chosen = meta["training"]["best_epoch"]
    assert candidates[chosen]["score"] == max(v["score"] for v in candidates.values())
    kept = checkpoints / "epochs" / f"epoch-{chosen:03d}"
    assert (out / "model.safetensors").read_bytes() == (kept / "model.safetensors").read_bytes()
    assert meta["metrics"] == json.loads((kept / "model.json").read_text())["metrics"]
    assert meta["training"]["hyperparameters"]["batch_size"] == 2  # the final model's metadata kept
    assert (out / "history.json").is_file() and load_model(out, runtime="eager").metadata.version
    assert f"chosen: epoch {chosen}" in capsys.readouterr().out and (report / "selection.md").is_file()
    # a run without kept epochs is refused with the option to use
    args[1] = str(tmp_path / "nothing")
    assert run_script("select_epoch.py", args, monkeypatch) == 2
    assert "--keep-epoch-models" in capsys.readouterr().err


def test_contact_sheet_redraws_generated_plans_and_keeps_real_ones_out_of_the_repository(
    tmp_path, monkeypatch
):
    from tests.training.plans import write_r3d_dataset

    out = tmp_path / "redrawn.png"
    args = ["--redraw", "2", "--size", "256", "--styles", "cad,brochure", "--out", str(out)]
    assert run_script("contact_sheet.py", args, monkeypatch) == 0
    sheet = cv2.imread(str(out))
    assert sheet.shape[0] > 2 * 256 and sheet.shape[1] == 3 * 256  # two rows: source, cad, brochure
    real = write_r3d_dataset(tmp_path / "r3d", 2, size=128)
    args = ["--redraw", "1", "--redraw-from", str(real), "--styles", "cad", "--out", str(tmp_path / "r.png")]
    assert run_script("contact_sheet.py", args, monkeypatch) == 0
    inside = ["--redraw", "1", "--redraw-from", str(real), "--out", str(ROOT / "docs" / "images" / "x.png")]
    assert run_script("contact_sheet.py", inside, monkeypatch) == 2
    assert not (ROOT / "docs" / "images" / "x.png").exists()


def test_thin_truth_counts_the_rooms_a_shrunk_truth_still_encloses(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from thin_truth import enclosed_rooms

    wall = np.zeros((40, 60), np.uint8)
    wall[0, :] = wall[-1, :] = wall[:, 0] = wall[:, -1] = 1
    wall[:, 30] = 1  # a partition ...
    opening = np.zeros_like(wall)
    wall[15:25, 30], opening[15:25, 30] = 0, 1  # ... with a door
    labels = np.zeros((40, 60), np.int32)
    labels[1:-1, 1:30], labels[1:-1, 31:-1] = 1, 2
    assert enclosed_rooms(wall, opening, labels) == 2
    assert enclosed_rooms(wall, np.zeros_like(opening), labels) == 0  # through the doorway: one region
    picture = tmp_path / "thin.png"
    args = ["--count", "3", "--styles", "architectural", "--sheets", "0", "--picture", str(picture)]
    assert run_script("thin_truth.py", args, monkeypatch) == 0
    report = json.loads(capsys.readouterr().out.split("picture written")[0])
    counts = report["architectural"]
    assert counts["plans"] >= 1
    kept, whole = counts["enclosed_thin_lines_kept"], counts["enclosed_at_input_size"]
    assert kept == whole >= counts["enclosed_nearest"]
    assert counts["then_warped_thin_line_affine"] >= counts["then_warped_affine"]
    assert cv2.imread(str(picture)) is not None


def test_cad_walls_folds_write_drawing_crops_to_train_on_and_whole_sheets_to_score(
    tmp_path, monkeypatch, capsys
):
    from model_code.datasets.layouts import open_dataset

    source = tmp_path / "cad"
    source.mkdir()
    for i, stem in enumerate(["a", "b", "c"]):
        sheet = np.full((300, 400, 3), 255, np.uint8)
        palette = np.zeros_like(sheet)
        x0, y0 = 100 + 10 * i, 80
        cv2.rectangle(sheet, (x0, y0), (x0 + 150, y0 + 120), (0, 0, 0), 6)
        cv2.rectangle(palette, (x0 - 3, y0 - 3), (x0 + 153, y0 + 123), (0, 0, 128), 7)  # BGR: RGB (128, 0, 0)
        cv2.imwrite(str(source / f"{stem}.jpg"), sheet)
        cv2.imwrite(str(source / f"{stem}_wall.png"), palette)
    out = tmp_path / "folds"
    assert run_script("cad_walls_folds.py", ["--data", str(source), "--out", str(out)], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "# fold 0: trains on b; holds out a, c" in printed
    assert "# fold 1: trains on a, c; holds out b" in printed
    held_out = sorted(p.name for p in (out / "fold0" / "held_out").iterdir())
    assert held_out == ["a.jpg", "a_wall.png", "c.jpg", "c_wall.png"]
    assert sorted(p.name for p in (out / "fold0" / "seen").iterdir()) == ["b.jpg", "b_wall.png"]
    crop = cv2.imread(str(out / "fold1" / "validation" / "images" / "b.png"))
    mask = cv2.imread(str(out / "fold1" / "validation" / "masks" / "b.png"), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(cv2.imread(str(source / "b_wall.png")).max(axis=2))
    height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    assert crop.shape[:2] == mask.shape == (height + 80, width + 80)  # unframed: the walls' box and 40 px
    assert set(np.unique(mask).tolist()) == {0, 255}
    assert mask[43, 50 : 30 + width].all() and not mask[100, 100]  # the top wall, the room inside
    samples = open_dataset(out / "fold0" / "train")
    assert [s.image_path.stem for s in samples] == ["b"]
    plan = samples[0].load()
    assert plan.image.shape[:2] == plan.wall.shape and plan.wall.sum() == (mask > 0).sum()
    too_many = ["--data", str(source), "--out", str(out), "--folds", "4"]
    assert run_script("cad_walls_folds.py", too_many, monkeypatch) == 2
