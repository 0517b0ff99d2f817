"""Pictures of the report: per plan, the side-by-side overlay and the rooms by type; the galleries.

``side_by_side``: ground truth | each backend's walls, openings and rooms.  ``rooms_side_by_side``:
the true rooms coloured by their type | each backend's rooms coloured by the type it gave them,
labelled with it, and each missed true room's cause written where that room is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from model_code.evaluation.truth import GroundTruth
from model_code.exports.overlay import TYPE_COLOURS
from model_code.io.images import read_image, write_png
from model_code.pipeline import PlanResult

if TYPE_CHECKING:
    from model_code.evaluation.scoring import PlanRecord, RoomAnalysis

PANEL_SIZE = 480  # longest side of one panel in the side-by-side pictures
HEADER = 28  # px of caption above each panel
GROUND_TRUTH_COLOURS = {"wall": (220, 40, 40), "opening": (30, 120, 230)}
ROOM_PANEL_SIZE = 560  # longest side of a panel of the rooms-by-type pictures (labels stay legible)
MISS_COLOUR = (160, 0, 0)  # the cause of a missed true room
LABEL_MIN_PX = 150  # rooms smaller than this on the panel are coloured but not labelled (no clutter)


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    """Scale so the longest side is ``size`` (area interpolation when shrinking)."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=interpolation
    )


def _caption(panel: np.ndarray, text: str) -> np.ndarray:
    """Put a white caption strip with ``text`` above ``panel``."""
    strip = np.full((HEADER, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(strip, text, (6, HEADER - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, panel])


def tint_masks(
    image: np.ndarray,
    wall: np.ndarray,
    opening: np.ndarray,
    rooms: np.ndarray | None = None,
    alpha: float = 0.6,
) -> np.ndarray:
    """Ground-truth pixel masks over a lightened plan: walls red, openings blue, rooms in pastels."""
    out = (image.astype(np.float32) * 0.5 + 127.5).astype(np.float32)
    if rooms is not None and rooms.max(initial=0) > 0:
        count = int(rooms.max()) + 1
        palette = np.random.default_rng(0).integers(120, 240, size=(count, 3)).astype(np.float32)
        inside = rooms > 0
        out[inside] = out[inside] * 0.6 + palette[rooms[inside]] * 0.4
    for mask, colour in ((wall, GROUND_TRUTH_COLOURS["wall"]), (opening, GROUND_TRUTH_COLOURS["opening"])):
        out[mask] = out[mask] * (1 - alpha) + np.asarray(colour, np.float32) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


ERROR_COLOURS = {"hit": (0, 170, 0), "false": (230, 0, 0), "missed": (0, 0, 230)}


def tint_errors(image: np.ndarray, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """A predicted mask against the truth over the lightened plan: hits green, false pixels red,
    missed pixels blue (RGB)."""
    out = (image.astype(np.float32) * 0.5 + 127.5).astype(np.uint8)
    out[pred & truth] = ERROR_COLOURS["hit"]
    out[pred & ~truth] = ERROR_COLOURS["false"]
    out[~pred & truth] = ERROR_COLOURS["missed"]
    return out


def truth_panel(truth: GroundTruth) -> np.ndarray:
    """The ground truth as a picture: vector overlay when an annotation exists, else tinted masks."""
    from model_code.exports.overlay import draw_overlay

    if truth.annotation is not None and truth.annotation.walls:
        ann = truth.annotation
        return draw_overlay(truth.image, ann.walls, ann.openings, ann.rooms)
    return tint_masks(truth.image, truth.wall, truth.opening, truth.room_labels)


def side_by_side(truth: GroundTruth, results: dict[str, PlanResult], order: Sequence[str]) -> np.ndarray:
    """Ground truth | each backend's walls, openings and rooms, captioned, one row."""
    from model_code.exports.overlay import draw_overlay

    panels = [_caption(_fit(truth_panel(truth), PANEL_SIZE), f"{truth.stem}: ground truth")]
    for name in order:
        result = results.get(name)
        if result is None:
            blank = np.full_like(panels[0][HEADER:], 255)
            panels.append(_caption(blank, f"{name}: failed"))
            continue
        doc = result.document
        picture = draw_overlay(truth.image, doc.walls, doc.openings, doc.rooms)
        caption = f"{name}: {len(doc.walls)} walls, {len(doc.openings)} openings, {len(doc.rooms)} rooms"
        panels.append(_caption(_fit(picture, PANEL_SIZE), caption))
    return hstack_padded(panels)


def _text(canvas: np.ndarray, text: str, centre: tuple[int, int], colour, scale: float = 0.4) -> None:
    """``text`` centred on ``centre`` with a white halo, kept inside the canvas."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (w, h), _ = cv2.getTextSize(text, font, scale, 1)
    x = int(np.clip(centre[0] - w / 2, 1, max(1, canvas.shape[1] - w - 1)))
    y = int(np.clip(centre[1] + h / 2, h + 1, canvas.shape[0] - 2))
    cv2.putText(canvas, text, (x, y), font, scale, (255, 255, 255), 3, cv2.LINE_AA)
    cv2.putText(canvas, text, (x, y), font, scale, colour, 1, cv2.LINE_AA)


def _inner_point(mask: np.ndarray) -> tuple[int, int]:
    """The pixel of ``mask`` farthest from its edge, ``(x, y)``: where a room's label goes."""
    dist = cv2.distanceTransform(np.pad(mask.view(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def typed_rooms_picture(
    image: np.ndarray,
    labels: np.ndarray,
    room_types: Sequence[str],
    texts: Sequence[str],
    size: int = ROOM_PANEL_SIZE,
) -> np.ndarray:
    """The plan (lightened, longest side ``size``) with room ``k`` of ``labels`` filled in the colour
    of ``room_types[k - 1]``, outlined, and labelled ``texts[k - 1]``.
    """
    small_image = _fit(image, size)
    height, width = small_image.shape[:2]
    small = cv2.resize(np.asarray(labels, np.int32), (width, height), interpolation=cv2.INTER_NEAREST)
    out = small_image.astype(np.float32) * 0.45 + 140.0
    colours = np.array([(255, 255, 255), *[TYPE_COLOURS.get(t, TYPE_COLOURS["unknown"]) for t in room_types]])
    inside = (small > 0) & (small <= len(room_types))
    out[inside] = out[inside] * 0.5 + colours[small[inside]] * 0.5
    edge = np.zeros_like(inside)
    edge[:, 1:] |= small[:, 1:] != small[:, :-1]
    edge[1:, :] |= small[1:, :] != small[:-1, :]
    edge &= inside
    out[edge] = colours[small[edge]] * 0.55
    picture = np.clip(out, 0, 255).astype(np.uint8)
    for k, text in enumerate(texts, start=1):
        mask = small == k
        if text and np.count_nonzero(mask) >= LABEL_MIN_PX:
            _text(picture, text, _inner_point(mask), (20, 20, 20))
    return picture


def _wrapped(
    width: int, items: Sequence[tuple[str, tuple[int, int, int] | None]], scale: float = 0.45
) -> np.ndarray:
    """White ``HEADER``-high lines of ``(text, swatch colour or None)`` items, wrapped at ``width``."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    lines: list[list[tuple[int, str, tuple[int, int, int] | None]]] = [[]]
    x = 6
    for text, swatch in items:
        step = cv2.getTextSize(text, font, scale, 1)[0][0] + (18 if swatch else 0) + 12
        if lines[-1] and x + step > width:
            lines.append([])
            x = 6
        lines[-1].append((x, text, swatch))
        x += step
    strip = np.full((HEADER * len(lines), width, 3), 255, dtype=np.uint8)
    for row, line in enumerate(lines):
        base = row * HEADER
        for x, text, swatch in line:
            if swatch is not None:
                cv2.rectangle(strip, (x, base + 8), (x + 14, base + HEADER - 8), swatch, -1)
                x += 18
            colour = MISS_COLOUR if text.startswith("red text") else (0, 0, 0)
            cv2.putText(strip, text, (x, base + HEADER - 9), font, scale, colour, 1, cv2.LINE_AA)
    return strip


def _legend(width: int) -> np.ndarray:
    """Strip(s) with the colour of every room type and what the red text means."""
    items = [(name, colour) for name, colour in TYPE_COLOURS.items()]
    return _wrapped(width, [*items, ("red text: why a true room was missed", None)])


def _caption_wrapped(panel: np.ndarray, parts: Sequence[str]) -> np.ndarray:
    """Like ``_caption``, but the parts (joined by ", ") wrap onto more lines when the panel is narrow."""
    texts = [part + ("," if index < len(parts) - 1 else "") for index, part in enumerate(parts)]
    return np.vstack([_wrapped(panel.shape[1], [(t, None) for t in texts], 0.5), panel])


def rooms_side_by_side(
    truth: GroundTruth, analyses: dict[str, RoomAnalysis | None], order: Sequence[str]
) -> np.ndarray | None:
    """True rooms by type | each backend's rooms by type, with missed true rooms' causes in red.

    None when no backend's result has room truth to compare with.
    """
    first = next((a for a in analyses.values() if a is not None), None)
    if first is None:
        return None
    true_types = [room.type for room in first.outcomes]
    known = "" if first.types_known else " (no type truth)"
    truth_picture = typed_rooms_picture(truth.image, first.truth_labels, true_types, true_types)
    panels = [
        _caption_wrapped(truth_picture, [f"{truth.stem}: {len(true_types)} true rooms", f"by type{known}"])
    ]
    for name in order:
        analysis = analyses.get(name)
        if analysis is None:
            panels.append(_caption_wrapped(np.full_like(truth_picture, 255), [f"{name}: failed"]))
            continue
        picture = typed_rooms_picture(
            truth.image, analysis.pred_labels, analysis.pred_types, analysis.pred_types
        )
        small_truth = cv2.resize(analysis.truth_labels, (picture.shape[1], picture.shape[0]),
                                 interpolation=cv2.INTER_NEAREST)  # fmt: skip
        for k, room in enumerate(analysis.outcomes, start=1):
            mask = small_truth == k
            if room.cause is not None and np.count_nonzero(mask) >= LABEL_MIN_PX // 4:
                _text(picture, room.cause, _inner_point(mask), MISS_COLOUR, 0.35)
        matched = sum(room.match is not None for room in analysis.outcomes)
        judged = [room.type_correct for room in analysis.outcomes if room.type_correct is not None]
        parts = [
            f"{name}: {len(analysis.pred_types)} rooms",
            f"{matched}/{len(analysis.outcomes)} true matched",
        ]
        if analysis.types_known:
            parts.append(f"type right {sum(judged)}/{len(judged)}")
        panels.append(_caption_wrapped(picture, parts))
    # captions may wrap onto different numbers of lines: align the pictures at the bottom
    height = max(panel.shape[0] for panel in panels)
    panels = [np.vstack([np.full((height - p.shape[0], p.shape[1], 3), 255, np.uint8), p]) for p in panels]
    row = hstack_padded(panels)
    return np.vstack([row, _legend(row.shape[1])])


def hstack_padded(panels: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Place RGB panels left to right on white, top-aligned, ``gap`` px apart."""
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for panel in panels:
        canvas[: panel.shape[0], x : x + panel.shape[1]] = panel
        x += panel.shape[1] + gap
    return canvas


def write_gallery(
    out_dir: Path,
    worst: Sequence[PlanRecord],
    max_width: int = 1200,
    name: str = "gallery.png",
    picture: str = "overlay",
) -> str | None:
    """Stack the worst plans' pictures (their ``overlay`` or ``room_overlay``) into ``name``.

    Returns its path relative to ``out_dir``, or None when none of them has the picture.
    """
    rows = []
    for record in worst:
        relative = getattr(record, picture)
        if relative and (out_dir / relative).is_file():
            row = read_image(out_dir / relative)
            if row.shape[1] > max_width:
                scale = max_width / row.shape[1]
                size = (max_width, max(1, round(row.shape[0] * scale)))
                row = cv2.resize(row, size, interpolation=cv2.INTER_AREA)
            rows.append(row)
    if not rows:
        return None
    width = max(r.shape[1] for r in rows)
    canvas_rows = []
    for row in rows:
        padded = np.full((row.shape[0], width, 3), 255, dtype=np.uint8)
        padded[:, : row.shape[1]] = row
        canvas_rows.append(padded)
        canvas_rows.append(np.full((8, width, 3), 200, dtype=np.uint8))
    write_png(out_dir / name, np.vstack(canvas_rows[:-1]))
    return name
