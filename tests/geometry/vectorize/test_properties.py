"""Property tests (hypothesis): whatever the mask, the output is well-formed."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from model_code.geometry.rooms import detect_rooms
from model_code.geometry.vectorize import vectorize
from model_code.schema import Annotation, validate_annotation

H, W = 96, 128

line = st.tuples(
    st.integers(0, W - 1),
    st.integers(0, H - 1),
    st.integers(0, W - 1),
    st.integers(0, H - 1),
    st.integers(1, 8),
)
box = st.tuples(
    st.integers(0, W - 1),
    st.integers(0, H - 1),
    st.integers(0, W - 1),
    st.integers(0, H - 1),
    st.integers(1, 7),
)


def draw(lines, boxes, gaps) -> tuple[np.ndarray, np.ndarray]:
    """A wall mask of random lines and rectangle outlines; some gaps become openings."""
    mask = np.zeros((H, W), np.uint8)
    for x0, y0, x1, y1, t in lines:
        cv2.line(mask, (x0, y0), (x1, y1), 1, t)
    for x0, y0, x1, y1, t in boxes:
        cv2.rectangle(mask, (x0, y0), (x1, y1), 1, t)
    opening = np.zeros_like(mask)
    for x, y, size in gaps:
        opening[y : y + size, x : x + size] = mask[y : y + size, x : x + size]
    wall = mask.astype(bool) & ~opening.astype(bool)
    return wall, opening.astype(bool)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(line, max_size=6),
    st.lists(box, max_size=3),
    st.lists(st.tuples(st.integers(0, W - 1), st.integers(0, H - 1), st.integers(2, 12)), max_size=3),
)
def test_output_is_well_formed(lines, boxes, gaps):
    wall, opening = draw(lines, boxes, gaps)
    plan = vectorize(wall, opening)
    rooms = detect_rooms(plan, wall)

    # coordinates inside the image
    for item in [*plan.walls, *plan.openings]:
        for x, y in (item.start, item.end):
            assert 0 <= x <= W - 1 and 0 <= y <= H - 1
            assert math.isfinite(x) and math.isfinite(y)
    for room in rooms:
        for x, y in room.polygon:
            assert 0 <= x <= W - 1 and 0 <= y <= H - 1

    # no duplicate walls (same two endpoints in either order), positive lengths, thickness set
    keys = set()
    for w in plan.walls:
        key = tuple(sorted([tuple(np.round(w.start, 1)), tuple(np.round(w.end, 1))]))
        assert key not in keys
        keys.add(key)
        assert w.length > 0 and w.thickness >= 1.0 and 0.5 <= w.confidence <= 1.0

    # valid room polygons with consistent boxes and areas
    for room in rooms:
        polygon = Polygon(room.polygon)
        assert len(room.polygon) >= 3 and polygon.is_valid and polygon.area > 0
        x0, y0, x1, y1 = room.bounding_box
        assert x0 <= x1 and y0 <= y1 and room.area_px > 0

    # unique, well-formed ids and valid references; the result is a valid annotation
    assert [w.id for w in plan.walls] == [f"w{k}" for k in range(1, len(plan.walls) + 1)]
    assert [o.id for o in plan.openings] == [f"o{k}" for k in range(1, len(plan.openings) + 1)]
    assert [r.id for r in rooms] == [f"r{k}" for k in range(1, len(rooms) + 1)]
    wall_ids = {w.id for w in plan.walls}
    assert all(o.wall_id is None or o.wall_id in wall_ids for o in plan.openings)
    document = Annotation("prop", plan.walls, rooms, plan.openings, width=W, height=H).to_dict()
    validate_annotation(document)


@settings(max_examples=15, deadline=None)
@given(st.lists(line, min_size=1, max_size=5))
def test_deterministic(lines):
    wall, _ = draw(lines, [], [])
    first, second = vectorize(wall), vectorize(wall)
    assert [w.to_dict() for w in first.walls] == [w.to_dict() for w in second.walls]


def test_quality_benchmark_runs_end_to_end(tmp_path):
    script = Path(__file__).resolve().parents[3] / "benchmarks" / "vectorize_quality.py"
    out = tmp_path / "quality.json"
    picture = tmp_path / "overlay.png"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--synthetic",
            "2",
            "--size",
            "256",
            "--json",
            str(out),
            "--overlay",
            str(picture),
            "--overlay-size",
            "256",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "segment F1" in done.stdout
    numbers = json.loads(out.read_text())["synthetic"]
    assert 0.0 <= numbers["segment F1"][0] <= 1.0
    assert picture.stat().st_size > 1000
    bad = subprocess.run(
        [sys.executable, str(script), "--r3d", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0 and "not found" in bad.stderr


def test_noise_mask_is_handled_without_blowing_up():
    rng = np.random.default_rng(0)
    noise = cv2.dilate((rng.random((256, 256)) > 0.97).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(
        bool
    )
    opening = cv2.dilate((rng.random((256, 256)) > 0.995).astype(np.uint8), np.ones((4, 4), np.uint8)).astype(
        bool
    )
    plan = vectorize(noise & ~opening, opening)
    rooms = detect_rooms(plan, noise & ~opening)
    assert len(plan.walls) > 100  # thousands of pieces in, no all-pairs matrices needed
    for wall in plan.walls:
        for x, y in (wall.start, wall.end):
            assert 0 <= x <= 255 and 0 <= y <= 255
    assert all(Polygon(r.polygon).is_valid for r in rooms)
