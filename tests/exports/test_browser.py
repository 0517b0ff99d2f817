"""The SVG export opened in a real headless Chromium and screenshotted (slow).

Needs Debian's ``chromium``; Playwright drives it through ``executable_path``, no browser download.
The screenshot is kept in the test's ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model_code.exports.overlay import DOOR_COLOUR, WALL_COLOUR
from model_code.exports.svg import to_svg
from tests.browser import chromium

pytestmark = pytest.mark.slow


def near(picture: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    """How many pixels are within ``tolerance`` of ``rgb`` in every channel."""
    return int((np.abs(picture.astype(int) - np.array(rgb)) <= tolerance).all(axis=2).sum())


def test_svg_export_renders_in_chromium(pipeline_document, tmp_path: Path):
    document = pipeline_document
    svg = tmp_path / "plan.svg"
    svg.write_text(to_svg(document), encoding="utf-8")
    shot = tmp_path / "plan.svg.png"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": document.width, "height": document.height})
        page.goto(svg.as_uri())
        drawn = page.evaluate(
            """() => ({
                walls: document.querySelectorAll('#walls line').length,
                openings: document.querySelectorAll('#openings line').length,
                rooms: document.querySelectorAll('#rooms polygon').length,
                labels: Array.from(document.querySelectorAll('#labels text'))
                    .map(t => t.getBBox().width),
            })"""
        )
        page.screenshot(path=str(shot))
    assert drawn["walls"] == len(document.walls)
    assert drawn["openings"] == len(document.openings)
    assert drawn["rooms"] == len(document.rooms)
    assert len(drawn["labels"]) == len(document.rooms)
    assert all(width > 0 for width in drawn["labels"])  # the labels were laid out as text
    picture = np.asarray(Image.open(shot).convert("RGB"))
    assert picture.shape[:2] == (document.height, document.width)
    assert picture.std() > 10  # not blank
    wall_length = sum(wall.length for wall in document.walls)
    assert near(picture, WALL_COLOUR) > wall_length  # bands at least 2 px wide, minus what covers them
    assert near(picture, DOOR_COLOUR) > 0
    # the walls are where the document says: most points along the centrelines are wall-coloured
    # (openings, labels and other walls cover some)
    hits = []
    for wall in document.walls:
        for t in (0.25, 0.5, 0.75):
            x, y = np.rint(np.asarray(wall.start) * (1 - t) + np.asarray(wall.end) * t).astype(int)
            window = picture[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2]
            hits.append(near(window, WALL_COLOUR, 30) > 0)
    assert np.mean(hits) > 0.6
