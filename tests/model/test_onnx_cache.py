"""The checkpoint's ONNX export is cached once and then served without importing torch."""

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
from model_code.model.loader import load_model
from model_code.model.onnx_cache import cache_dir, cached_onnx_path, checkpoint_key, export_checkpoint
from model_code.model.runtimes import onnx_available

pytestmark = pytest.mark.skipif(not onnx_available(), reason="onnxruntime/onnx are not installed")
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


def test_a_process_with_the_cached_export_never_imports_torch(tiny_checkpoint: Path, tmp_path: Path) -> None:
    env = {**os.environ, "FLOORPLAN_CACHE_DIR": str(tmp_path)}
    export_checkpoint(tiny_checkpoint, env)
    script = (
        "import sys\n"
        "from model_code.model.loader import load_model\n"
        "from model_code.pipeline import Pipeline\n"
        "from model_code.synth import generate_plan\n"
        f"model = load_model({str(tiny_checkpoint)!r}, threads=1)\n"
        "result = Pipeline(model).analyze(generate_plan(1, size=256).image)\n"
        "print(model.runtime, result.probabilities.shape, 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "onnx"
    assert out.stdout.split()[-1] == "False", "torch was imported although the export was cached"


def test_served_probabilities_match_eager(tiny_checkpoint: Path, drawn_plan: np.ndarray) -> None:
    from model_code.model.inference import predict_probabilities

    fast = load_model(tiny_checkpoint, threads=1)
    eager = load_model(tiny_checkpoint, runtime="eager")
    assert fast.runtime == "onnx" and fast._network is None  # no torch copy of the weights kept
    np.testing.assert_allclose(
        predict_probabilities(fast, drawn_plan), predict_probabilities(eager, drawn_plan), atol=1e-4
    )
    assert fast.network is not None  # training-side callers still get the torch network on demand


def test_a_damaged_cached_file_is_replaced(
    tiny_checkpoint: Path, caplog: pytest.LogCaptureFixture, drawn_plan: np.ndarray
) -> None:
    path = cached_onnx_path(tiny_checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an onnx file")
    with caplog.at_level(logging.WARNING, logger="model_code.model.onnx_cache"):
        model = load_model(tiny_checkpoint, threads=1)
    assert "exporting again" in caplog.text
    assert path.stat().st_size > 1000
    assert model.probabilities(np.zeros((1, 3, 64, 64), np.float32)).shape == (1, 2, 64, 64)


def test_an_unwritable_cache_still_serves(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be created under a file")
    monkeypatch.setenv("FLOORPLAN_CACHE_DIR", str(blocker))
    with caplog.at_level(logging.WARNING, logger="model_code.model.onnx_cache"):
        model = load_model(tiny_checkpoint, threads=1)
    assert model.runtime == "onnx" and "cannot cache the ONNX export" in caplog.text
    assert model.probabilities(np.zeros((1, 3, 64, 96), np.float32)).shape == (1, 2, 64, 96)


def test_export_cli(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["export", "--model-dir", str(tiny_checkpoint)]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == cached_onnx_path(tiny_checkpoint) and printed.is_file()
    assert cli_main(["export", "--model-dir", str(tmp_path)]) == 1
    assert "no model checkpoint" in capsys.readouterr().err
