"""The engine's own post-processing: words cut apart joined into their line, spaces read from the gaps."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from model_code.text.engine import SPACE_EVIDENCE, TextReader, _take_trailing_glyph, merge_line_parts


def box(x0: float, y0: float, x1: float, y1: float, tilt: float = 0.0) -> tuple[np.ndarray, float]:
    """A detection: the rectangle's corners (turned by ``tilt`` degrees about the origin) and a score."""
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    a = math.radians(tilt)
    turn = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
    return corners @ turn.T, 0.8


def extent(quad: np.ndarray) -> list[float]:
    return [*np.round(quad.min(axis=0), 1).tolist(), *np.round(quad.max(axis=0), 1).tolist()]


def test_a_word_and_the_glyph_after_it_are_one_line():
    merged = merge_line_parts([box(255, 187, 348, 209), box(356, 189, 366, 208)])  # "Chambre" | "1"
    assert len(merged) == 1 and extent(merged[0][0]) == [255, 187, 366, 209]


def test_the_words_of_a_label_turned_by_90_degrees_are_one_line():
    parts = [box(567, 690, 599, 772), box(573, 649, 596, 693), box(569, 560, 599, 648)]  # Salle | de | bains
    merged = merge_line_parts(parts)
    assert len(merged) == 1 and extent(merged[0][0]) == [567, 560, 599, 772]


def test_two_lines_of_a_label_and_far_words_stay_apart():
    lines = [box(451, 328, 579, 360), box(459, 357, 573, 389)]  # "Chambre 3" over "17,06 m2"
    assert len(merge_line_parts(lines)) == 2
    far = [box(100, 100, 200, 120), box(240, 100, 300, 120)]  # a gap of two line heights
    assert len(merge_line_parts(far)) == 2
    small = [box(100, 100, 200, 124), box(204, 110, 210, 116)]  # a speck, not a glyph of the line
    assert len(merge_line_parts(small)) == 2


def test_parts_of_a_line_on_a_plan_scanned_askew():
    merged = merge_line_parts([box(255, 187, 348, 209, tilt=4.0), box(356, 189, 366, 208, tilt=4.0)])
    assert len(merged) == 1
    sides = sorted(np.linalg.norm(np.diff(merged[0][0], axis=0, append=merged[0][0][:1]), axis=1))
    assert sides[0] == pytest.approx(22, abs=0.5) and sides[-1] == pytest.approx(111, abs=0.5)
    crossed = merge_line_parts([box(255, 187, 348, 209, tilt=4.0), box(356, 189, 366, 208, tilt=15.0)])
    assert len(crossed) == 2


def turned_about_centre(x0: float, y0: float, x1: float, y1: float, tilt: float) -> tuple[np.ndarray, float]:
    """A detection turned by ``tilt`` degrees about its own centre."""
    quad, score = box(x0 - (x0 + x1) / 2, y0 - (y0 + y1) / 2, x1 - (x0 + x1) / 2, y1 - (y0 + y1) / 2, tilt)
    return quad + np.array([(x0 + x1) / 2, (y0 + y1) / 2], np.float32), score


def test_a_lone_glyph_whose_rectangle_came_out_turned_joins_its_word():
    # "HABITACION 3" turned by 90 degrees (generated plan, seed 1024): the detector's rectangle around
    # the near-square "3" came out turned by 18 degrees, so the tilt test kept it apart from its word
    word = box(796, 343, 818, 477)
    glyph = turned_about_centre(795, 322, 816, 345, 18.0)
    for parts in ([word, glyph], [glyph, word]):
        merged = merge_line_parts(parts)
        assert len(merged) == 1
        x0, y0, x1, y1 = extent(merged[0][0])
        assert y0 < 325 and y1 == 477 and x1 - x0 < 25  # upright, in the word's frame
    # an elongated box turned that much is still another line (a hatch, a dimension line)
    stroke = turned_about_centre(800, 300, 812, 345, 18.0)
    assert len(merge_line_parts([word, stroke])) == 2


def reader_with(characters: list[str]) -> TextReader:
    """A reader without sessions, for its decoder: CTC classes blank, ``characters``, space."""
    reader = TextReader.__new__(TextReader)
    reader.characters = ["", *characters, " "]
    return reader


def frames(rows: list[dict[int, float]], classes: int) -> np.ndarray:
    """CTC frames: each row's probabilities by class, the rest of the mass on the blank (class 0)."""
    pred = np.zeros((len(rows), classes), np.float32)
    for k, row in enumerate(rows):
        for index, p in row.items():
            pred[k, index] = p
        pred[k, 0] = 1.0 - sum(row.values())
    return pred


@pytest.mark.parametrize(("space", "text"), [(0.3, "A 1"), (SPACE_EVIDENCE, "A 1"), (0.01, "A1")])
def test_a_space_is_read_where_the_gap_says_so(space, text):
    reader = reader_with(["A", "1"])  # classes: 0 blank, 1 "A", 2 "1", 3 space
    pred = frames([{1: 0.9}, {}, {3: space}, {}, {2: 0.9}], 4)
    decoded, confidence = reader._decode(pred)
    assert decoded == text and confidence == pytest.approx(0.9)


def test_a_space_that_wins_its_frame_is_not_doubled():
    reader = reader_with(["A", "1"])
    assert reader._decode(frames([{1: 0.9}, {3: 0.8}, {2: 0.9}], 4))[0] == "A 1"


def label_image(wall: bool = False) -> np.ndarray:
    """BGR: "Chambre 1" drawn upright ("Chambre" in x 81-191, the "1" in x 214-221); ``wall``: a wall
    just after the 1."""
    image = np.full((100, 360, 3), 255, np.uint8)
    cv2.putText(image, "Chambre", (80, 58), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    cv2.putText(image, "1", (210, 58), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    if wall:
        cv2.rectangle(image, (228, 0), (236, 99), (0, 0, 0), -1)
    return image


def test_a_lone_digit_the_detector_missed_after_a_word_joins_it():
    word = np.array([[74, 34], [206, 34], [206, 64], [74, 64]], np.float32)  # "Chambre" alone
    longer = _take_trailing_glyph(label_image(), word)
    assert 220 <= longer[:, 0].max() <= 235 and longer[:, 0].min() == 74
    assert np.allclose(longer[:, 1], word[:, 1])
    # a label turned by 90 degrees, read bottom to top: the 1 above the word (x becomes 360 - x)
    turned = np.ascontiguousarray(np.rot90(label_image()))
    quad = np.array([[34, 154], [64, 154], [64, 286], [34, 286]], np.float32)
    longer = _take_trailing_glyph(turned, quad)
    assert 125 <= longer[:, 1].min() <= 140 and longer[:, 1].max() == 286
    # a wall right after the digit: no clear paper past it, not a lone glyph
    assert np.array_equal(_take_trailing_glyph(label_image(wall=True), word), word)
    # a box that already ends after its last glyph stays as it is
    whole = np.array([[74, 34], [232, 34], [232, 64], [74, 64]], np.float32)
    assert np.array_equal(_take_trailing_glyph(label_image(), whole), whole)


def dashed_label(line: bool = True) -> np.ndarray:
    """BGR: "SALA DE ESTAR" drawn upright, with a dashed grid line through its middle (``line``)."""
    image = np.full((120, 520, 3), 255, np.uint8)
    cv2.putText(image, "SALA DE ESTAR", (100, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
    if line:
        for x in range(0, 520, 16):
            cv2.line(image, (x, 58), (x + 9, 58), (90, 90, 90), 1)
    return image


def test_a_dashed_line_through_a_label_is_erased_from_its_crop_only():
    from model_code.text.engine import _erase_crossing_lines

    quad = np.array([[96, 44], [336, 44], [336, 76], [96, 76]], np.float32)
    image = dashed_label()
    crop = image[44:76, 96:336]
    erased = _erase_crossing_lines(image, quad, crop)
    assert (erased[58 - 44] > 200).all()  # the line's row is paper now
    changed = np.flatnonzero((erased != crop).any(axis=(1, 2)))
    assert changed.tolist() == [58 - 44]  # and nothing else was touched
    plain = dashed_label(line=False)
    assert np.array_equal(_erase_crossing_lines(plain, quad, plain[44:76, 96:336]), plain[44:76, 96:336])
    walled = plain.copy()
    walled[:, 340:348] = 0  # a wall beside the label, on one side only: not a line through it
    assert np.array_equal(_erase_crossing_lines(walled, quad, walled[44:76, 96:336]), walled[44:76, 96:336])
