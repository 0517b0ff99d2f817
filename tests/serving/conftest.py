"""Fixtures for the serving tests: generated plan bytes and one shared real server on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.helpers import ServerProcess, encode, plan_image

# The shared server's pixel budget: small, so a decompression-bomb test image stays cheap to build.
SERVER_MAX_PIXELS = 4_000_000


@pytest.fixture(scope="session")
def plan_png() -> bytes:
    """A generated 320x240 plan as PNG bytes."""
    return encode(plan_image(320, 240), "PNG")


@pytest.fixture(scope="session")
def plan_jpeg() -> bytes:
    """A generated 300x200 plan as JPEG bytes."""
    return encode(plan_image(300, 200), "JPEG", quality=90)


@pytest.fixture(scope="session")
def model_base_dir(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Path:
    """A SageMaker base dir whose ``model/`` holds the tiny random-init checkpoint."""
    base = tmp_path_factory.mktemp("sm_base")
    shutil.copytree(tiny_checkpoint, base / "model")
    return base


@pytest.fixture(scope="session")
def server(model_base_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``container/serve`` on a free loopback port, ready (/ping 200); shared by process and client tests."""
    log = tmp_path_factory.mktemp("server_log") / "serve.log"
    process = ServerProcess.serve(
        model_base_dir,
        log,
        MODEL_SERVER_MAX_PIXELS=str(SERVER_MAX_PIXELS),
        SAGEMAKER_BATCH="true",
        SAGEMAKER_MAX_CONCURRENT_TRANSFORMS="2",
    )
    try:
        process.wait_for(200)
        yield process
    finally:
        process.stop()
