"""Environment knobs of the model server (fast, no processes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from model_code.model.checkpoint import DEFAULT_MODEL_DIR, CheckpointError
from model_code.serving.config import (
    ServingConfig,
    ServingConfigError,
    available_cpus,
    default_workers,
    resolve_serving_model_dir,
)
from tests.serving.helpers import ping_once_loaded


def test_defaults():
    config = ServingConfig.from_env({"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    assert (config.host, config.port) == ("0.0.0.0", 8080)
    assert config.timeout_s == 60
    assert config.gunicorn_timeout_s >= config.timeout_s
    assert config.max_payload_bytes == 6 * 1024 * 1024
    assert config.default_accept == "application/json"
    assert config.torch_threads == available_cpus()
    assert config.execution_parameters() == {
        "MaxConcurrentTransforms": 1,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 6,
    }


def test_sagemaker_names_win_over_generic_names():
    env = {
        "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "MODEL_SERVER_WORKERS": "5",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "90",
        "MODEL_SERVER_TIMEOUT": "10",
        "SAGEMAKER_BIND_TO_PORT": "9000",
    }
    config = ServingConfig.from_env(env)
    assert (config.workers, config.timeout_s, config.port) == (3, 90, 9000)
    assert config.gunicorn_timeout_s >= 90
    assert config.torch_threads == max(1, available_cpus() // 3)
    assert config.max_concurrent_transforms == 3
    assert ServingConfig.from_env({"MODEL_SERVER_WORKERS": "2", "MODEL_SERVER_TIMEOUT": "10"}).workers == 2


def test_batch_variables():
    env = {
        "MODEL_SERVER_WORKERS": "2",
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20",
        "SAGEMAKER_BATCH_STRATEGY": "single_record",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "4",
    }
    config = ServingConfig.from_env(env)
    assert config.batch
    assert config.execution_parameters() == {
        "MaxConcurrentTransforms": 4,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 20,
    }
    for spelling in ("MULTI_RECORD", "MultiRecord", "multi_record"):
        multi = ServingConfig.from_env({**env, "SAGEMAKER_BATCH_STRATEGY": spelling})
        assert multi.execution_parameters()["BatchStrategy"] == "MULTI_RECORD"
    assert ServingConfig.from_env({**env, "SAGEMAKER_BATCH_STRATEGY": "SingleRecord"}).batch_strategy == (
        "SINGLE_RECORD"
    )
    with pytest.raises(ServingConfigError, match="MULTI_RECORD"):
        ServingConfig.from_env({**env, "SAGEMAKER_BATCH_STRATEGY": "ALL_AT_ONCE"})


def test_default_accept_override():
    config = ServingConfig.from_env(
        {"MODEL_SERVER_WORKERS": "1", "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "image/png"}
    )
    assert config.default_accept == "image/png"
    with pytest.raises(ServingConfigError, match="SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"):
        ServingConfig.from_env({"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAGEMAKER_BIND_TO_PORT", "http"),
        ("SAGEMAKER_BIND_TO_PORT", "70000"),
        ("MODEL_SERVER_WORKERS", "0"),
        ("SAGEMAKER_MODEL_SERVER_TIMEOUT", "-1"),
        ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "lots"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ServingConfigError, match=name):
        ServingConfig.from_env({name: value})


def test_default_workers_respect_cpus_memory_and_gpu():
    assert default_workers(cpus=8, memory_mb=64_000, worker_memory_mb=1200, use_gpu=False) == 8
    assert default_workers(cpus=8, memory_mb=3_000, worker_memory_mb=1200, use_gpu=False) == 2
    assert default_workers(cpus=8, memory_mb=500, worker_memory_mb=1200, use_gpu=False) == 1
    assert default_workers(cpus=8, memory_mb=None, worker_memory_mb=1200, use_gpu=False) == 8
    assert default_workers(cpus=8, memory_mb=64_000, worker_memory_mb=1200, use_gpu=True) == 1


def test_model_dir_prefers_base_dir_checkpoint(tmp_path, monkeypatch, tiny_checkpoint: Path):
    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    assert resolve_serving_model_dir() == DEFAULT_MODEL_DIR  # absent
    (tmp_path / "model").mkdir()
    assert resolve_serving_model_dir() == DEFAULT_MODEL_DIR  # empty
    (tmp_path / "model" / ".keep").write_text("")
    assert resolve_serving_model_dir() == DEFAULT_MODEL_DIR  # hidden files only
    shutil.copytree(tiny_checkpoint, tmp_path / "model", dirs_exist_ok=True)
    assert resolve_serving_model_dir() == tmp_path / "model"


@pytest.mark.parametrize(
    "files, message",
    [
        (["model.json"], "holds model.json but no model.safetensors"),
        (["model.safetensors"], "holds model.safetensors but no model.json"),
        (["model.tar.gz"], "holds the archive model.tar.gz instead of its files"),
        (["notes.txt"], "holds no checkpoint (model.safetensors + model.json); found notes.txt"),
        ([], "is a file, not a checkpoint folder"),
    ],
)
def test_half_a_checkpoint_is_an_error_not_the_bundled_model(
    tmp_path, monkeypatch, tiny_checkpoint: Path, files, message
):
    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    model = tmp_path / "model"
    if files:
        model.mkdir()
        for name in files:
            source = tiny_checkpoint / name
            (model / name).write_bytes(source.read_bytes() if source.exists() else b"\x1f\x8b junk")
    else:
        model.write_bytes(b"a file where the model folder should be")
    with pytest.raises(CheckpointError) as info:
        resolve_serving_model_dir()
    assert message in str(info.value)
    assert "served only when the folder is absent or empty" in str(info.value)


def test_half_a_checkpoint_keeps_ping_503_with_the_reason(tmp_path, monkeypatch, tiny_checkpoint: Path):
    from model_code.serving.app import create_app

    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_bytes((tiny_checkpoint / "model.json").read_bytes())
    client = create_app(ServingConfig(workers=1)).test_client()
    answer = ping_once_loaded(client)
    assert answer.status_code == 503
    assert answer.json["status"] == "failed"
    assert "holds model.json but no model.safetensors" in answer.json["reason"]
    response = client.post("/invocations", data=b"\x89PNG", content_type="image/png")
    assert response.status_code == 503


def test_max_pixels_above_the_ceiling_is_refused():
    assert ServingConfig.from_env({"MODEL_SERVER_MAX_PIXELS": "150000000"}).max_pixels == 150_000_000
    with pytest.raises(ServingConfigError, match="MODEL_SERVER_MAX_PIXELS"):
        ServingConfig.from_env({"MODEL_SERVER_MAX_PIXELS": "2000000000"})


def test_admission_limit_leaves_a_thread_for_ping():
    config = ServingConfig.from_env({"MODEL_SERVER_WORKERS": "1"})
    assert (config.threads, config.max_queue) == (16, 8)
    assert ServingConfig.from_env({"MODEL_SERVER_WORKERS": "1", "MODEL_SERVER_THREADS": "3"}).max_queue == 1
    config = ServingConfig.from_env({"MODEL_SERVER_WORKERS": "1", "MODEL_SERVER_MAX_QUEUE": "9"})
    assert config.max_queue == 9
    with pytest.raises(ServingConfigError, match="MODEL_SERVER_MAX_QUEUE=16 must be below"):
        ServingConfig.from_env({"MODEL_SERVER_WORKERS": "1", "MODEL_SERVER_MAX_QUEUE": "16"})
    with pytest.raises(ServingConfigError, match="MODEL_SERVER_THREADS"):
        ServingConfig.from_env({"MODEL_SERVER_WORKERS": "1", "MODEL_SERVER_THREADS": "1"})


@pytest.mark.parametrize(
    ("value", "expected"), [(None, False), ("", False), ("true", True), ("1", True), ("no", False)]
)
def test_text_preload_is_off_unless_asked(value, expected):
    env = {} if value is None else {"MODEL_SERVER_TEXT_PRELOAD": value}
    assert ServingConfig.from_env(env).text_preload is expected


def test_views_default_to_one_and_take_only_what_the_pipeline_offers():
    assert ServingConfig.from_env({}).views == 1
    assert ServingConfig.from_env({"MODEL_SERVER_VIEWS": " 4 "}).views == 4
    with pytest.raises(ServingConfigError, match=r"MODEL_SERVER_VIEWS=3 must be one of \[1, 2, 4\]"):
        ServingConfig.from_env({"MODEL_SERVER_VIEWS": "3"})
    with pytest.raises(ServingConfigError, match="MODEL_SERVER_VIEWS='all' is not an integer"):
        ServingConfig.from_env({"MODEL_SERVER_VIEWS": "all"})
