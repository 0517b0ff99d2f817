"""Shared pytest fixtures: small generated images and a tiny untrained checkpoint.

The tiny checkpoint is a real U-Net with random weights: tests of plumbing (loading,
serving, evaluation) must not depend on model quality, and nothing here is ever served
as the product's default model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from model_code.model.checkpoint import ModelMetadata, ModelSpec, save_model
from model_code.model.network import build_network

TINY_SPEC = ModelSpec(encoder="resnet18", encoder_depth=3, decoder_channels=(32, 16, 8))


@pytest.fixture(scope="session", autouse=True)
def onnx_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """ONNX exports made by tests (and by the servers they start) go to a temporary cache."""
    directory = tmp_path_factory.mktemp("floorplan_cache")
    previous = os.environ.get("FLOORPLAN_CACHE_DIR")
    os.environ["FLOORPLAN_CACHE_DIR"] = str(directory)
    yield directory
    if previous is None:
        os.environ.pop("FLOORPLAN_CACHE_DIR", None)
    else:
        os.environ["FLOORPLAN_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random-init U-Net checkpoint directory (seeded, working size 128)."""
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("tiny_model")
    network = build_network(TINY_SPEC)
    save_model(
        network, ModelMetadata(spec=TINY_SPEC, name="tiny-test", version="0.0.1", working_size=128), directory
    )
    return directory


@pytest.fixture()
def drawn_plan() -> np.ndarray:
    """A 160x200 RGB drawing of two rooms with black walls (no generator needed)."""
    image = np.full((160, 200, 3), 255, np.uint8)
    cv2.rectangle(image, (20, 20), (180, 140), (0, 0, 0), 6)
    cv2.line(image, (100, 20), (100, 140), (0, 0, 0), 4)
    return image
