"""Letters inside a text box are not walls: the vectorizer no longer makes short walls of them."""

from __future__ import annotations

import cv2
import numpy as np

from model_code.geometry.vectorize import VectorizeOptions, vectorize
from model_code.text.annotate import suppress_text_strokes
from model_code.text.engine import TextBox


def plan_with_a_label() -> tuple[np.ndarray, TextBox]:
    mask = np.zeros((300, 400), np.uint8)
    cv2.rectangle(mask, (20, 20), (380, 280), 1, 8)  # the outer walls
    cv2.line(mask, (200, 20), (200, 120), 1, 8)  # an inner wall that passes by the label
    cv2.putText(mask, "HALL 4x3", (120, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1, 4)  # bold letters
    size, _ = cv2.getTextSize("HALL 4x3", cv2.FONT_HERSHEY_SIMPLEX, 1.0, 4)
    box = (118.0, 200.0 - size[1] - 3, 122.0 + size[0], 206.0)
    return mask.astype(bool), TextBox(box, "HALL 4x3", 0.9)


def test_strokes_inside_a_text_box_are_removed_and_walls_kept():
    mask, label = plan_with_a_label()
    cleaned = suppress_text_strokes(mask, [label])
    x0, y0, x1, y1 = (int(v) for v in label.box)
    assert mask[y0:y1, x0:x1].any() and not cleaned[y0:y1, x0:x1].any()
    outside = np.ones_like(mask)
    outside[y0 - 2 : y1 + 2, x0 - 2 : x1 + 2] = False
    assert np.array_equal(cleaned & outside, mask & outside)


def test_no_short_false_walls_from_the_label():
    mask, label = plan_with_a_label()
    x0, y0, x1, y1 = label.box

    def walls_in_box(m: np.ndarray) -> int:
        plan = vectorize(m, np.zeros_like(m), VectorizeOptions(min_wall_length=0))
        return sum(
            1
            for w in plan.walls
            if x0 - 2 <= min(w.start[0], w.end[0])
            and max(w.start[0], w.end[0]) <= x1 + 2
            and y0 - 2 <= min(w.start[1], w.end[1])
            and max(w.start[1], w.end[1]) <= y1 + 2
        )

    assert walls_in_box(mask) > 0  # without the text box, letters become walls
    assert walls_in_box(suppress_text_strokes(mask, [label])) == 0


def test_a_scaled_mask_uses_the_scale():
    mask, label = plan_with_a_label()
    small = cv2.resize(mask.astype(np.uint8), (200, 150), interpolation=cv2.INTER_NEAREST).astype(bool)
    cleaned = suppress_text_strokes(small, [label], 0.5, 0.5)
    x0, y0, x1, y1 = (int(v / 2) for v in label.box)
    assert not cleaned[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1].any()
    assert cleaned[10:12].any()
