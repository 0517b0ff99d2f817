"""The OCR detector sees a large plan at up to DETECT_SIDE px, in overlapping tiles: small labels on a
big sheet are read, each line once, with the detector's memory that of one tile."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from model_code.synth import generate_plan
from model_code.text.engine import (
    DETECT_OVERLAP,
    DETECT_SIDE,
    DETECT_TILE,
    TextReader,
    _core_edge,
    tile_starts,
)
from model_code.text.parse import name_part
from tests.text.helpers import needs_engine


@pytest.mark.parametrize("length", [32, 1024, DETECT_TILE, DETECT_TILE + 32, 2048, 3072, 3520, 7968])
def test_tiles_cover_the_side_and_overlap_enough(length):
    starts = tile_starts(length)
    assert starts[0] == 0
    assert min(starts[-1] + DETECT_TILE, length) == length
    assert all(s % 32 == 0 for s in starts)
    assert starts == sorted(set(starts))
    for a, b in itertools.pairwise(starts):
        assert a + DETECT_TILE - b >= DETECT_OVERLAP  # a line this long lies whole in one tile
    # the cores cut the side into consecutive pieces, each inside its tile
    edges = [_core_edge(starts, i, length, DETECT_TILE) for i in range(len(starts) + 1)]
    assert edges[0] == 0 and edges[-1] == length and edges == sorted(edges)
    for i, start in enumerate(starts):
        assert start <= edges[i] and edges[i + 1] <= min(start + DETECT_TILE, length)
        assert edges[i] == 0 or edges[i] - start >= DETECT_OVERLAP / 2 - 32
        assert edges[i + 1] == length or start + DETECT_TILE - edges[i + 1] >= DETECT_OVERLAP / 2 - 32


def _names(reader: TextReader, image: np.ndarray, detect_side: int | None = None) -> list[str]:
    lines = reader.read(image, detect_side)
    return [n.lower() for n in (name_part(t.text) for t in lines) if n]


def _boxes_overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


@needs_engine
def test_labels_of_a_plan_on_a_large_sheet_are_read_once_each():
    reader = TextReader(threads=2)
    assert reader.detect_side == DETECT_SIDE > DETECT_TILE  # large plans are tiled by default
    plan = generate_plan(1013, size=1024, print_text=True)  # nine labels, small ones
    printed = sorted(p.text.lower() for p in plan.printed if p.kind == "name")
    alone = [n for n in _names(reader, plan.image) if n in printed]
    assert len(alone) >= len(printed) - 1, (alone, printed)
    # the plan at the middle of white paper three times its sides: its text a third as large
    # against the sheet, and tile edges running through the drawing
    h, w = plan.image.shape[:2]
    sheet = np.full((3 * h, 3 * w, 3), 255, np.uint8)
    sheet[h : 2 * h, w : 2 * w] = plan.image
    whole_sheet_at_1024 = [n for n in _names(reader, sheet, 1024) if n in printed]
    tiled = reader.read(sheet)
    names = [n for n in (name_part(t.text) for t in tiled) if n and n.lower() in printed]
    assert len(whole_sheet_at_1024) <= len(alone) - 3, (alone, whole_sheet_at_1024)  # too small at 1,024 px
    assert len(names) >= len(alone) - 1, (names, alone)
    # no line twice: the tiles' overlaps give no second box over a line
    boxes = [t.box for t in tiled]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert _boxes_overlap(a, b) < 0.5, (a, b, [t.text for t in tiled])
    # boxes are in the sheet's pixels: each name lies on the pasted plan
    for line in tiled:
        if name_part(line.text) and name_part(line.text).lower() in printed:
            x0, y0, x1, y1 = line.box
            assert w - 2 <= x0 and x1 <= 2 * w + 2 and h - 2 <= y0 and y1 <= 2 * h + 2, line
