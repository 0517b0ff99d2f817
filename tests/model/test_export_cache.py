"""The checkpoint's ONNX export (and the default runtime's int8 model) is cached once and then served
without importing torch."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model_code.cli import main as cli_main
from model_code.model.checkpoint import WEIGHTS_FILE
from model_code.model.export_cache import (
    cache_dir,
    cached_export_path,
    cached_onnx_path,
    checkpoint_key,
    export_checkpoint,
)
from model_code.model.loader import load_model
from model_code.model.quantize import QUANTIZE_VERSION
from model_code.model.runtimes import DEFAULT_RUNTIME, onnx_available, openvino_available

pytestmark = pytest.mark.skipif(
    not (onnx_available() and openvino_available()), reason="onnxruntime/onnx/openvino are not installed"
)
ROOT = Path(__file__).resolve().parents[2]


def test_cache_dir_follows_the_environment(tmp_path: Path) -> None:
    assert cache_dir({"FLOORPLAN_CACHE_DIR": str(tmp_path)}) == tmp_path / "onnx"
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "floorplan" / "onnx"
    assert cache_dir({}) == Path.home() / ".cache" / "floorplan" / "onnx"


def test_the_key_changes_with_the_weights(tiny_checkpoint: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_checkpoint, copy)
    assert checkpoint_key(copy) == checkpoint_key(tiny_checkpoint)  # where it lives does not matter
    weights = bytearray((copy / WEIGHTS_FILE).read_bytes())
    weights[-1] ^= 0xFF
    (copy / WEIGHTS_FILE).write_bytes(bytes(weights))
    assert checkpoint_key(copy) != checkpoint_key(tiny_checkpoint)


def test_export_once_then_reuse(tiny_checkpoint: Path, tmp_path: Path) -> None:
    env = {"FLOORPLAN_CACHE_DIR": str(tmp_path)}
    path = export_checkpoint(tiny_checkpoint, env)
    assert path == cached_onnx_path(tiny_checkpoint, env) and path.stat().st_size > 1000
    stamp = path.stat().st_mtime_ns
    assert export_checkpoint(tiny_checkpoint, env) == path
    assert path.stat().st_mtime_ns == stamp  # not exported again


def test_the_int8_model_is_made_once_from_the_cached_export(tiny_checkpoint: Path, tmp_path: Path) -> None:
    env = {"FLOORPLAN_CACHE_DIR": str(tmp_path)}
    xml = export_checkpoint(tiny_checkpoint, env, runtime="openvino_int8")
    assert xml == cached_export_path(tiny_checkpoint, "openvino_int8", env)
    assert xml.suffix == ".xml" and xml.with_suffix(".bin").stat().st_size > 1000
    assert cached_onnx_path(tiny_checkpoint, env).is_file()  # the fp32 export it was made from
    onnx_int8 = export_checkpoint(tiny_checkpoint, env, runtime="onnx_int8")
    assert onnx_int8.name.endswith(f".int8-q{QUANTIZE_VERSION}.onnx") and onnx_int8.stat().st_size > 1000
    stamp = xml.stat().st_mtime_ns
    assert export_checkpoint(tiny_checkpoint, env, runtime="openvino_int8") == xml
    assert xml.stat().st_mtime_ns == stamp  # not quantised again


@pytest.mark.parametrize("runtime", ["onnx", DEFAULT_RUNTIME])
def test_a_process_with_the_cached_export_never_imports_torch(
    tiny_checkpoint: Path, tmp_path: Path, runtime: str
) -> None:
    env = {**os.environ, "FLOORPLAN_CACHE_DIR": str(tmp_path), "FLOORPLAN_RUNTIME": runtime}
    export_checkpoint(tiny_checkpoint, env, runtime=runtime)
    script = (
        "import sys\n"
        "from model_code.model.loader import load_model\n"
        "from model_code.pipeline import Pipeline\n"
        "from model_code.synth import generate_plan\n"
        f"model = load_model({str(tiny_checkpoint)!r}, threads=1)\n"
        "result = Pipeline(model).analyze(generate_plan(1, size=256).image)\n"
        "print(model.runtime, result.probabilities.shape, 'nncf' in sys.modules, 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    words = out.stdout.split()
    assert words[0] == runtime
    assert words[-2:] == ["False", "False"], "nncf or torch was imported although the export was cached"


def test_served_probabilities_match_eager(tiny_checkpoint: Path, drawn_plan: np.ndarray) -> None:
    from model_code.model.inference import predict_probabilities

    fast = load_model(tiny_checkpoint, runtime="onnx", threads=1)
    eager = load_model(tiny_checkpoint, runtime="eager")
    assert fast.runtime == "onnx" and fast._network is None  # no torch copy of the weights kept
    np.testing.assert_allclose(
        predict_probabilities(fast, drawn_plan), predict_probabilities(eager, drawn_plan), atol=1e-4
    )
    assert fast.network is not None  # training-side callers still get the torch network on demand


@pytest.mark.parametrize("runtime", ["onnx", "openvino_int8"])
def test_a_damaged_cached_file_is_replaced(
    tiny_checkpoint: Path, caplog: pytest.LogCaptureFixture, runtime: str
) -> None:
    path = cached_export_path(tiny_checkpoint, "onnx" if runtime == "onnx" else runtime)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a model file")
    with caplog.at_level(logging.WARNING, logger="model_code.model.export_cache"):
        model = load_model(tiny_checkpoint, runtime=runtime, threads=1)
    assert "exporting again" in caplog.text
    assert path.stat().st_size > 1000
    assert model.probabilities(np.zeros((1, 3, 64, 64), np.float32)).shape == (1, 2, 64, 64)


def test_a_damaged_fp32_export_is_made_again_before_quantising(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FLOORPLAN_CACHE_DIR", str(tmp_path))
    fp32 = cached_onnx_path(tiny_checkpoint)
    fp32.parent.mkdir(parents=True, exist_ok=True)
    fp32.write_bytes(b"not an onnx file")
    with caplog.at_level(logging.WARNING, logger="model_code.model.export_cache"):
        model = load_model(tiny_checkpoint, runtime="openvino_int8", threads=1)
    assert "could not be quantised" in caplog.text and fp32.stat().st_size > 1000
    assert cached_export_path(tiny_checkpoint, "openvino_int8").is_file()
    assert model.probabilities(np.zeros((1, 3, 64, 96), np.float32)).shape == (1, 2, 64, 96)


def test_an_unwritable_cache_still_serves(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be created under a file")
    monkeypatch.setenv("FLOORPLAN_CACHE_DIR", str(blocker))
    with caplog.at_level(logging.WARNING, logger="model_code.model.export_cache"):
        model = load_model(tiny_checkpoint, threads=1)
    assert model.runtime == DEFAULT_RUNTIME and "cannot cache the export" in caplog.text
    assert model.probabilities(np.zeros((1, 3, 64, 96), np.float32)).shape == (1, 2, 64, 96)


def test_export_cli(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["export", "--model-dir", str(tiny_checkpoint)]) == 0
    printed = Path(capsys.readouterr().out.strip())  # nothing else on stdout (NNCF's progress goes to stderr)
    assert printed == cached_export_path(tiny_checkpoint, DEFAULT_RUNTIME) and printed.is_file()
    assert cli_main(["export", "--model-dir", str(tiny_checkpoint), "--runtime", "onnx"]) == 0
    assert Path(capsys.readouterr().out.strip()) == cached_onnx_path(tiny_checkpoint)
    assert cli_main(["export", "--model-dir", str(tmp_path)]) == 1
    assert "no model checkpoint" in capsys.readouterr().err
