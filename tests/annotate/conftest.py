"""Fixtures for the annotation tool: small plans drawn with OpenCV in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from model_code.io.images import write_png
from tests.annotate.helpers import draw_plan


@pytest.fixture
def plan_folder(tmp_path: Path) -> Path:
    """A folder with two plans (PNG and JPEG) and one R3D-style mask that must be ignored."""
    folder = tmp_path / "plans"
    folder.mkdir()
    image = draw_plan()
    write_png(folder / "plan_a.png", image)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(draw_plan(200, 160), cv2.COLOR_RGB2BGR))
    assert ok
    (folder / "plan_b.jpg").write_bytes(jpeg.tobytes())
    write_png(folder / "plan_a_wall.png", np.zeros((192, 256), bool))
    return folder
