"""The paper a plan is drawn on: its colour, and how far the drawing reaches on it.

Scans of A3 to A1 sheets, PDF pages and brochure pages often hold a plan that fills only part of
the image, the rest blank paper.  The working scale is chosen for the whole image (it fits the
image's longest side, then follows the walls' thickness within limits, :mod:`model_code.model.scale`),
so a plan on paper three times its size was seen at a third of its own fit scale: on generated plans
pasted on such paper, room F1 fell from 0.995 to 0.717 and one plan lost every room
(``benchmarks/plan_on_paper.py``).  :func:`drawing_extent` finds the box that holds all the ink on
a large image with blank margins; the pipeline analyses that box as the plan and places the result
back on the page (``Pipeline.analyze``).

A scan or photocopy may also come in the scanner's dark border, which the network took for walls
(R3D validation plans in a 10 px border: wall IoU 0.955 -> 0.493); :func:`scan_border` finds it and
:func:`drawing_extent` cuts it off at any image size.

A drawing may also be light on dark: a CAD viewer's black background, a blueprint, a negative scan.
The network has only seen dark ink on light paper and finds nothing (R3D validation inverted: wall IoU
0.001); :func:`light_on_dark` recognises such a drawing by its thin strokes, and the pipeline analyses
its negative (:func:`dark_on_light`).

Faint ink (a light photocopy, a pencil drawing, a CAD print in light grey) lost the network a tenth of
its walls and rooms (R3D validation faded to 35% of its contrast: wall IoU 0.828, room F1 0.781);
:func:`with_dark_ink` grows such ink's contrast until its darkest ink is black.

Ink is any pixel whose colour differs from the paper's (:func:`paper_colour`, the median of the
image's outer ring) by more than :data:`INK_CONTRAST` in some channel; a row or column holds ink
when at least :data:`MIN_INK_PER_LINE` of its pixels are ink (a speck of scanner dust does not
stretch the box).  Nothing that is ink is ever cut: the box holds every such row and column, grown by
a margin of paper.  Images whose edges are not paper (a coloured page, a drawing cut by the image's
edges) give no blank-paper box, and are analysed whole (inside any scan border) as before.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

# The ring of edge pixels whose median colour is the paper the working image is padded with
# (pad_to_multiple).  Padding with white instead, R3D validation wall IoU was 0.952 pooled (worst plan
# 0.803, now 0.846); on the same plans on grey paper 0.952 (now 0.957), on beige 0.958 (0.959).
PAPER_RING_PX = 2
INK_CONTRAST = 48  # grey levels (0..255) in some channel from the paper's colour: ink
MIN_INK_PER_LINE = 3  # ink pixels a row or column needs to count as holding ink
# Images whose longest side is at most this are analysed whole: the R3D plans the network was trained
# on (up to about 1,000 px) were seen whole, margins included, and a plan this small is seen at its
# own size or near it anyway.
CROP_FROM_SIDE = 1024
# Paper kept round the drawing on each side: this share of the ink's longest side (and at least
# MIN_MARGIN_PX), the margin plans usually have: on the 179 R3D plans the ink's box is 1.12 times
# shorter than the image on its longest side at the median (1.26 at the 90th percentile), so a plan
# cut down to its box and this margin is fit to the working size as the plans the network learnt from.
MARGIN = 0.06
MIN_MARGIN_PX = 16
# The box (with its margin) is used only when it is at least this many times shorter than the image on
# its longest side: wider blank paper than plans usually have.  Lower, frames with a modest white border
# were cut (two `cad_walls` sheets, gain 1.12 with a 2% margin) and their scale moved for nothing.
MIN_GAIN = 1.25
STRIP_ROWS = 1024  # rows compared with the paper at once: memory stays a strip whatever the size
# A scanner's or photocopier's dark border: rows (columns) at an image edge at most this share of the
# paper's grey (the median grey of the image) along nearly their whole length (a ratio, as ink on
# tinted paper is: a border of 25 on grey paper of 86, R3D's 42761030 in one, is as dark as on white).
BORDER_DARKNESS = 0.5
BORDER_FILL = 0.97  # share of the row's pixels: a wall along the edge has gaps (windows, doors, corners)
MAX_BORDER = 0.1  # of the side: a border is never deeper


# A drawing is light on dark when its thin strokes (pixels POLARITY_CONTRAST grey levels lighter than
# the paper, the median grey, that a POLARITY_OPEN_PX square opening removes: lines, not light areas)
# outnumber its thin dark strokes POLARITY_RATIO to one and cover POLARITY_MIN_SHARE of the image,
# looked at with the longest side at most POLARITY_SIDE px.  No plan of R3D (179), the other styles (27),
# the CAD sheets (11) or 150 generated plans of all ten styles is taken for one; all of their negatives are.
POLARITY_CONTRAST = 64
POLARITY_OPEN_PX = 9
POLARITY_RATIO = 2.0
POLARITY_MIN_SHARE = 0.005
POLARITY_SIDE = 512


def pixel_sample(image: np.ndarray, side: int = POLARITY_SIDE) -> np.ndarray:
    """Every n-th pixel of the image in both directions, so that the sample is at most ``side`` px
    large: what the paper checks look at, so they cost the same whatever the image's size."""
    height, width = image.shape[:2]
    step = max(1, round(max(height, width) / side))
    return np.ascontiguousarray(image[::step, ::step])


def grey_sample(image: np.ndarray, side: int = POLARITY_SIDE) -> np.ndarray:
    """The grey levels (uint8) of the image's :func:`pixel_sample`."""
    sample = pixel_sample(image, side)
    return cv2.cvtColor(sample, cv2.COLOR_RGB2GRAY) if sample.ndim == 3 else sample


def grey_quantile(grey: np.ndarray, share: float) -> float:
    """The grey level below which ``share`` (0..1) of the uint8 ``grey`` pixels lie (from their
    histogram: a median or percentile in a fraction of the time of a sort)."""
    counts = np.cumsum(np.bincount(grey.ravel(), minlength=256))
    return float(np.searchsorted(counts, share * counts[-1]))


def light_on_dark(image: np.ndarray, grey: np.ndarray | None = None) -> bool:
    """Whether an RGB (or grey) uint8 drawing is drawn in light lines on a dark ground (see the
    constants above): grey areas lighter than their paper (a white margin round grey paper) are areas,
    not strokes, and do not count.  ``grey``: the image's :func:`grey_sample`, if already taken."""
    grey = grey_sample(image) if grey is None else grey
    paper = grey_quantile(grey, 0.5)
    square = np.ones((POLARITY_OPEN_PX, POLARITY_OPEN_PX), np.uint8)

    def thin(mask: np.ndarray) -> int:
        areas = cv2.morphologyEx(mask, cv2.MORPH_OPEN, square)
        return int(np.count_nonzero(mask > areas))

    light = thin((grey > paper + POLARITY_CONTRAST).astype(np.uint8))
    dark = thin((grey < paper - POLARITY_CONTRAST).astype(np.uint8))
    return light > POLARITY_RATIO * dark and light > POLARITY_MIN_SHARE * grey.size


def dark_on_light(image: np.ndarray, grey: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """The drawing as dark ink on light paper: the negative of a light-on-dark drawing
    (:func:`light_on_dark`, a new array), else ``image`` itself; and whether it was inverted."""
    if light_on_dark(image, grey):
        return cv2.bitwise_not(image), True
    return image, False


# Faint ink (a light photocopy, a pencil drawing, a CAD print in light grey): the darkest ink (the grey
# level of the darkest INK_PERCENTILE percent of the image: walls cover more, so it is theirs, not a
# light floor fill's) is less than FAINT_CONTRAST of the paper's grey away from it.  On R3D, the other
# styles and the CAD sheets the least contrast is 0.66; a plan faded to 35% of its contrast measures 0.35.
INK_CANDIDATE = 24  # grey levels darker than the paper: ink, ...
MIN_INK_SHARE = 0.005  # ... of which a drawing has at least this share of its pixels (else: no ink)
INK_PERCENTILE = 0.2
FAINT_CONTRAST = 0.5
MAX_INK_GAIN = 4.0


def ink_gain(image: np.ndarray, grey: np.ndarray | None = None) -> float:
    """How many times the contrast of a drawing's faint ink must grow for its darkest ink to be black
    (at most :data:`MAX_INK_GAIN`); 1.0 when the ink is not faint (see the constants above).
    ``grey``: the image's :func:`grey_sample`, if already taken."""
    grey = grey_sample(image) if grey is None else grey
    paper = grey_quantile(grey, 0.5)
    if paper <= 0 or np.count_nonzero(grey < paper - INK_CANDIDATE) < MIN_INK_SHARE * grey.size:
        return 1.0
    ink = grey_quantile(grey, INK_PERCENTILE / 100.0)
    if paper - ink >= FAINT_CONTRAST * paper:
        return 1.0
    return float(min(MAX_INK_GAIN, paper / (paper - ink)))


def with_dark_ink(image: np.ndarray, grey: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """A drawing with faint ink with its contrast to the paper grown by :func:`ink_gain` (every channel
    moved away from the paper's colour, the per-channel median of the image's :func:`pixel_sample`, in
    one OpenCV pass; a new array), else ``image`` itself; and the gain (1.0: unchanged)."""
    gain = ink_gain(image, grey)
    if gain == 1.0:
        return image, 1.0
    sample = pixel_sample(image)
    paper = np.median(sample.reshape(-1, 1 if image.ndim == 2 else image.shape[2]), axis=0)
    channels = paper.size
    matrix = np.zeros((channels, channels + 1), np.float32)
    for c in range(channels):
        matrix[c, c] = gain
        matrix[c, channels] = paper[c] * (1.0 - gain)
    out = cv2.transform(image if image.ndim == 3 else image[..., None], matrix)
    return (out if image.ndim == 3 else out.reshape(image.shape)), gain


def paper_colour(image: np.ndarray, ring: int = PAPER_RING_PX) -> tuple[float, ...]:
    """The colour of a plan's paper: the per-channel median of its outermost ``ring`` pixels.

    Scans on grey or beige paper, and plans with a tinted background, are not white at their edges;
    padding them with white draws an edge the network reads as a wall (a blob at the corner where
    the grey paper of R3D plan 42761030 met the padding and its own white margin)."""
    h, w = image.shape[:2]
    ring = max(1, min(ring, h // 2, w // 2))
    sides = (image[:ring], image[h - ring :], image[:, :ring], image[:, w - ring :])
    pixels = np.concatenate([side.reshape(-1, *image.shape[2:]) for side in sides])
    return tuple(float(v) for v in np.atleast_1d(np.median(pixels, axis=0)))


def ink_extent(image: np.ndarray, paper: tuple[float, ...] | None = None) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (exclusive) of the rows and columns of an ``(H, W, 3)`` or ``(H, W)`` uint8
    image that hold ink on ``paper`` (default :func:`paper_colour`), or None when none does.

    One pass of OpenCV's vector code over strips of :data:`STRIP_ROWS` rows (about 0.3 s for 120 MP
    on one core here)."""
    paper = paper_colour(image) if paper is None else paper
    height, width = image.shape[:2]
    scalar = tuple(float(v) for v in paper)[:4]
    scalar = scalar + (0.0,) * (4 - len(scalar))
    rows = np.zeros(height, np.int64)
    cols = np.zeros(width, np.int64)
    for y in range(0, height, STRIP_ROWS):
        contrast = cv2.absdiff(np.ascontiguousarray(image[y : y + STRIP_ROWS]), scalar)
        if contrast.ndim == 3:
            channels = cv2.split(contrast)
            contrast = channels[0]
            for channel in channels[1:]:
                contrast = cv2.max(contrast, channel)
        ink = cv2.compare(contrast, INK_CONTRAST, cv2.CMP_GT)  # 255 where ink
        rows[y : y + ink.shape[0]] = cv2.reduce(ink, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() // 255
        cols += cv2.reduce(ink, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() // 255
    ys = np.flatnonzero(rows >= MIN_INK_PER_LINE)
    xs = np.flatnonzero(cols >= MIN_INK_PER_LINE)
    if ys.size == 0 or xs.size == 0:
        return None
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def scan_border(image: np.ndarray, grey: np.ndarray | None = None) -> tuple[int, int, int, int]:
    """How deep a dark scan border reaches into each side of an RGB (or grey) uint8 image, in pixels:
    ``(top, bottom, left, right)``, 0 where there is none.

    A border row (column) is one whose pixels are at most :data:`BORDER_DARKNESS` of the paper's grey
    (the median grey of the image) along at least :data:`BORDER_FILL` of its length,
    counted from the edge inward, at most :data:`MAX_BORDER` of the side deep.  Nothing further is
    trimmed: a plan's wall may touch the border (R3D validation in a 10 px border: pooled wall IoU
    0.955 so, 0.951 trimming one pixel more, 0.950 two).  On the 179 R3D plans, the 27 plans of
    other styles and the 11 CAD sheets no side has one: an exterior wall drawn along an edge has gaps.
    ``grey``: the image's :func:`grey_sample`, if already taken.
    """
    height, width = image.shape[:2]
    dark = BORDER_DARKNESS * grey_quantile(grey_sample(image) if grey is None else grey, 0.5)
    if dark < 1:
        return 0, 0, 0, 0

    def depth(line: Callable[[int], np.ndarray], count: int) -> int:
        found = 0
        while found < MAX_BORDER * count:
            pixels = np.ascontiguousarray(line(found))
            levels = cv2.cvtColor(pixels[None], cv2.COLOR_RGB2GRAY)[0] if pixels.ndim == 2 else pixels
            if np.count_nonzero(levels <= dark) < BORDER_FILL * levels.size:
                break
            found += 1
        return found

    return (
        depth(lambda k: image[k], height),
        depth(lambda k: image[height - 1 - k], height),
        depth(lambda k: image[:, k], width),
        depth(lambda k: image[:, width - 1 - k], width),
    )


def drawing_extent(image: np.ndarray, grey: np.ndarray | None = None) -> tuple[int, int, int, int] | None:
    """The box ``(x0, y0, x1, y1)`` (input px, exclusive) to analyse as the plan, or None (the whole
    image): inside a dark scan border (:func:`scan_border`), at any size; and, on an image over
    :data:`CROP_FROM_SIDE` px, the drawing on blank paper.

    The drawing's box holds every row and column with ink (:func:`ink_extent`, on the paper inside
    any border) and a margin of paper (:data:`MARGIN`, at least :data:`MIN_MARGIN_PX`); it is used
    when its longest side is at least :data:`MIN_GAIN` times shorter than the image's (else the
    working scale would hardly change).  Without a border the answer is None when the image is at
    most :data:`CROP_FROM_SIDE` px, when its edges are not paper (no ink-free margin), or when the
    box saves too little.  ``grey``: the image's :func:`grey_sample`, if already taken.
    """
    height, width = image.shape[:2]
    top, bottom, left, right = scan_border(image, grey)
    inner = (left, top, width - right, height - bottom)
    bordered = inner != (0, 0, width, height)
    if max(height, width) <= CROP_FROM_SIDE:
        return inner if bordered else None
    ink = ink_extent(image[top : height - bottom, left : width - right])
    if ink is None:
        return inner if bordered else None
    x0, y0, x1, y1 = (ink[0] + left, ink[1] + top, ink[2] + left, ink[3] + top)
    margin = max(MIN_MARGIN_PX, round(MARGIN * max(x1 - x0, y1 - y0)))
    x0, y0 = max(inner[0], x0 - margin), max(inner[1], y0 - margin)
    x1, y1 = min(inner[2], x1 + margin), min(inner[3], y1 + margin)
    if max(height, width) < MIN_GAIN * max(x1 - x0, y1 - y0):
        return inner if bordered else None
    return x0, y0, x1, y1
