"""The generator's pixel compositing: a blank page, a colour painted through a mask, a layer pasted;
and the fixed-point coordinates of its OpenCV drawing calls.

What ``image[:] = colour``, ``image[mask] = colour`` and ``image[mask] = layer[mask]`` do, with the
same bytes, through OpenCV's masked copy instead of numpy's boolean indexing, which gathers and
scatters every selected pixel one by one.  Measured at 1,500 x 1,400 px on the development machine:
a page fill 28 ms -> 0.8 ms, a colour through a 6 % mask 11 ms -> 2.5 ms (through a 90 % mask
96 ms -> 1.9 ms), a layer through a dense mask 500 ms -> 6 ms at 2,048 px.  The generator spends
most of its time on full-image layers, so these set how many plans a training loader draws a second
(``benchmarks/bench_synth.py``).

Every OpenCV drawing call of the generator takes sub-pixel coordinates with :data:`SHIFT` fractional
bits: :func:`fixed_point` makes a point of them, :func:`fixed_points` an array of points (a polygon's
ring), :func:`polygon_mask` fills a polygon with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

SHIFT = 4  # fractional bits of the coordinates given to OpenCV's drawing calls
SCALE = 1 << SHIFT


def fixed_point(x: float, y: float) -> tuple[int, int]:
    """The image point ``(x, y)`` in OpenCV's fixed-point coordinates (:data:`SHIFT` fractional bits)."""
    return round(float(x) * SCALE), round(float(y) * SCALE)


def fixed_points(points: np.ndarray) -> np.ndarray:
    """``(n, 2)`` image points (a polygon's ring) as ``int32`` fixed-point coordinates (:data:`SHIFT`
    fractional bits), rounded as :func:`fixed_point` rounds."""
    return np.round(np.asarray(points, np.float64) * SCALE).astype(np.int32)


def polygon_mask(ring: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """Boolean mask of the polygon ``ring`` (``(n, 2)`` image x, y) over ``window`` (x0, y0, x1, y1,
    ends exclusive), without drawing a full image.

    The polygon is filled over its own bounding box (OpenCV's fill is exact under whole-pixel shifts,
    not under clipping) and that box is cut to the window: the pixels a fill of a full image that
    holds the polygon would set there.
    """
    x0, y0, x1, y1 = window
    mask = np.zeros((max(0, y1 - y0), max(0, x1 - x0)), bool)
    points = fixed_points(ring)
    left, top = (points.min(axis=0) >> SHIFT) - 1
    right, bottom = (points.max(axis=0) >> SHIFT) + 2
    own = np.zeros((bottom - top, right - left), np.uint8)
    cv2.fillPoly(own, [points - np.array([left, top], np.int32) * SCALE], 1, cv2.LINE_8, SHIFT)
    ox0, oy0, ox1, oy1 = max(x0, left), max(y0, top), min(x1, right), min(y1, bottom)
    if ox1 > ox0 and oy1 > oy0:
        inside = own[oy0 - top : oy1 - top, ox0 - left : ox1 - left] > 0
        mask[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0] = inside
    return mask


def blank(height: int, width: int, colour: Sequence[int]) -> np.ndarray:
    """A new ``(height, width, 3)`` uint8 image of one ``colour``."""
    row = np.empty((width, 3), np.uint8)
    row[:] = np.asarray(colour, dtype=np.uint8)
    return np.ascontiguousarray(np.broadcast_to(row, (height, width, 3)))


def paste(image: np.ndarray, layer: np.ndarray, where: np.ndarray) -> None:
    """Copy ``layer``'s pixels into ``image`` (both ``(h, w, 3)`` uint8) where the boolean ``where`` is set.

    ``image`` may be a view (a slice of a larger image): it is written in place.
    """
    if where.shape != image.shape[:2] or layer.shape != image.shape:
        raise ValueError(f"paste: image {image.shape}, layer {layer.shape} and mask {where.shape} differ")
    out = cv2.copyTo(layer, np.ascontiguousarray(where, dtype=bool).view(np.uint8), image)
    if out is not image:  # OpenCV wrote into a new array (a layout it could not write in place)
        image[...] = out


def paint(image: np.ndarray, where: np.ndarray, colour: Sequence[int]) -> None:
    """Set ``image``'s pixels (``(h, w, 3)`` uint8, possibly a view) where ``where`` is set to ``colour``."""
    paste(image, blank(image.shape[0], image.shape[1], colour), where)
