"""Plans and annotations the annotation-tool tests share (drawn with OpenCV, never real data)."""

from __future__ import annotations

import cv2
import numpy as np
from flask import Flask
from flask.testing import FlaskClient


def draw_plan(width: int = 256, height: int = 192, wall: int = 6) -> np.ndarray:
    """A two-room plan: outer walls, one inner wall with a door gap, on white paper."""
    image = np.full((height, width, 3), 255, np.uint8)
    black = (0, 0, 0)
    cv2.rectangle(image, (20, 20), (width - 20, height - 20), black, wall)
    middle = width // 2
    cv2.line(image, (middle, 20), (middle, height // 2 - 15), black, wall)
    cv2.line(image, (middle, height // 2 + 15), (middle, height - 20), black, wall)
    return image


def sample_annotation(image_id: str = "plan_a") -> dict:
    """A valid annotation of :func:`draw_plan` (256 x 192) in the customers' format plus extensions."""
    return {
        "image_id": image_id,
        "walls": [
            {"id": "w1", "start": [20, 20], "end": [236, 20], "thickness": 6, "is_load_bearing": True},
            {"id": "w2", "start": [236, 20], "end": [236, 172], "thickness": 6, "is_load_bearing": True},
            {"id": "w3", "start": [128, 20], "end": [128, 81], "thickness": 6, "is_load_bearing": False},
        ],
        "openings": [{"id": "o1", "type": "door", "start": [128, 81], "end": [128, 111], "wall_id": "w3"}],
        "rooms": [
            {"id": "r1", "polygon": [[20, 20], [128, 20], [128, 172], [20, 172]], "name_hint": "kitchen"},
            {"id": "r2", "bounding_box": [128, 20, 236, 172], "name_hint": None},
        ],
    }


def tool_client(app: Flask) -> FlaskClient:
    """A test client that sends the app's session token on every request, as the editor does."""
    client = app.test_client()
    client.environ_base["HTTP_X_ANNOTATE_TOKEN"] = app.config["ANNOTATE_TOKEN"]
    return client
