"""Wall and opening probabilities for an RGB image from a loaded U-Net.

The image is resized to its working shape (by default the longest side equals the model's
working size; :mod:`model_code.model.scale` chooses another from the plan's wall thickness),
padded with the plan's own paper colour to a multiple of 32, normalised as the checkpoint says and run through
the model's runtime (ONNX Runtime on CPU by default, without importing torch).  When the working
image is larger than one tile it is processed as overlapping tiles blended with a smooth window,
so memory stays bounded at any size.  With more than one view (the ``views`` option) every batch also
goes through the network mirrored (:data:`VIEW_FLIPS`) and the probabilities, flipped back, are
averaged: test-time augmentation, slower in proportion and more accurate.  Probabilities stay at the
working scale; masks reach the input size through :func:`upsample_mask` (one byte per pixel, never a
float map at input size), the wall mask through :func:`guided_mask`, which also moves its edges onto
the drawing's own.
"""

from __future__ import annotations

import cv2
import numpy as np

from model_code.model.loader import LoadedModel
from model_code.model.paper import paper_colour
from model_code.model.preprocess import normalize
from model_code.model.scale import base_shape

PAD_MULTIPLE = 32
Flips = tuple[tuple[int, ...], ...]  # views: the batch axes each one flips (see VIEW_FLIPS)
DEFAULT_TILE_SIZE = 768
DEFAULT_TILE_OVERLAP = 128
# The guided filter of :func:`guided_mask` (He, Sun and Tang, "Guided image filtering", 2010): the
# window radius in input pixels and the regularisation (grey levels in 0..1, squared).  Chosen on
# the R3D training share (80 plans, mean wall IoU 0.931 -> 0.954 at radius 3) and 60 generated
# plans of all ten styles at 512-2,048 px (0.834 -> 0.861, every style better); radius 4 was a
# little better on R3D and worse on the generated CAD style (hollow walls), radius 2 the reverse,
# and a radius grown with the wall thickness was worse everywhere (docs/scale.md, "Wall edges").
GUIDE_RADIUS = 3
# That radius is for plans upsampled at most ~2.3 times from their working scale; a plan upsampled more
# gets GUIDE_RADIUS_PER_UPSAMPLING input px per upsampling step (:func:`guide_radius`).  The
# network's edge is uncertain by about a working pixel, which is many input pixels on a large scan,
# so a 7 x 7 window cannot reach the ink.  Measured with generated plans rendered at 4,096 px and
# resampled (benchmarks/scale_table.py's plans, default 0.3.0, twenty-seventh session): wall IoU at
# 8,192 px 0.962 -> 0.996 (colour), 0.947 -> 0.993 (thin); at 4,096 px 0.964-0.980 -> 0.981-0.995 on
# colour, hatched, scan and thin plans, cad 0.915 -> 0.916 (1.0 per step: 0.918; 2.0: less on cad);
# a 1,024 px plan (factor 2) keeps radius 3, where larger radii cost the thin plan 0.95 -> 0.87.
GUIDE_RADIUS_PER_UPSAMPLING = 1.5
GUIDE_EPS = 0.01
GUIDE_STRIP_ROWS = 256  # rows filtered at once: memory stays a few strips of floats at any size
# Pixels the network called wall that the filter opened into holes this small (a closing's square
# side) are wall again: on fine hatching and checkerboard fills the filter follows the texture and
# leaves a wall full of one-pixel holes that the vectorizer then traces as many small walls (an
# unannotated 500 px plan: 43 -> 69 walls).  Measured with benchmarks/wall_edges.py: generated
# hatched 0.679 -> 0.688, all styles 0.8611 -> 0.8619, R3D training share 0.9537 -> 0.9538; a
# grey opening of the guide instead cost R3D 0.002.
GUIDE_HOLE_CLOSE = 3
# The views of the plan the network averages (the ``views`` option): each entry flips the normalised
# ``(N, 3, H, W)`` batch along those axes (-1: left-right, -2: upside down) and the probabilities back.
# The network was trained on every flip and quarter turn (SquareSymmetry), so every view is a fair look.
# On the R3D validation split (default 0.3.0): mean wall IoU 0.947 (1 view), 0.951 (2), 0.955 (4); the
# four quarter-turned views added (8, tried with a patched forward pass, not kept) gave 0.955 again.
# Averaging also drops walls the network is unsure of: docs/benchmarks.md "Views".
VIEW_FLIPS: dict[int, Flips] = {
    1: ((),),
    2: ((), (-1,)),
    4: ((), (-1,), (-2,), (-1, -2)),
}


def working_shape(height: int, width: int, working_size: int, native_up_to: float = 1.0) -> tuple[int, int]:
    """``(h, w)`` after scaling the longest side to ``working_size`` (aspect kept), except plans at most
    ``native_up_to`` times larger, which keep their size (``scale.base_shape``)."""
    return base_shape(height, width, working_size, native_up_to)


def pad_to_multiple(
    image: np.ndarray, multiple: int = PAD_MULTIPLE, paper: tuple[float, ...] | None = None
) -> np.ndarray:
    """Pad bottom/right with the plan's paper colour (``paper``, else :func:`paper_colour` of ``image``)
    so both sides are multiples of ``multiple``."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return image
    paper = paper_colour(image) if paper is None else paper
    return cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=paper)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)`` with at least ``overlap``."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def blend_window(tile: int, overlap: int) -> np.ndarray:
    """``(tile, tile)`` weights: 1 in the centre, ramping down linearly over ``overlap`` px at the edges."""
    ramp = np.ones(tile, np.float32)
    if overlap > 0:
        edge = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        ramp[:overlap] = edge
        ramp[-overlap:] = edge[::-1]
    return np.outer(ramp, ramp)


def _forward(model: LoadedModel, batch: list[np.ndarray], flips: Flips = VIEW_FLIPS[1]) -> np.ndarray:
    """The network's probabilities for a batch of RGB images, averaged over the views ``flips``."""
    meta = model.metadata
    x = np.stack([normalize(image, meta.mean, meta.std) for image in batch])
    total: np.ndarray | None = None
    for axes in flips:
        view = model.probabilities(np.ascontiguousarray(np.flip(x, axis=axes)) if axes else x)
        view = np.flip(view, axis=axes) if axes else view
        total = view if total is None else total + view  # never in place: a runtime may own its output
    assert total is not None, "flips must name at least one view"
    if len(flips) > 1:
        total = total / np.float32(len(flips))
    return total


def _tiled(
    model: LoadedModel, padded: np.ndarray, tile: int, overlap: int, batch_size: int, flips: Flips
) -> np.ndarray:
    height, width = padded.shape[:2]
    channels = len(model.metadata.spec.channels)
    total = np.zeros((channels, height, width), np.float32)
    weight = np.zeros((height, width), np.float32)
    window = blend_window(tile, overlap)
    boxes = [(y, x) for y in tile_starts(height, tile, overlap) for x in tile_starts(width, tile, overlap)]
    for first in range(0, len(boxes), batch_size):
        chunk = boxes[first : first + batch_size]
        probs = _forward(model, [padded[y : y + tile, x : x + tile] for y, x in chunk], flips)
        for (y, x), prob in zip(chunk, probs, strict=True):
            total[:, y : y + tile, x : x + tile] += prob * window
            weight[y : y + tile, x : x + tile] += window
    total /= np.maximum(weight, 1e-6)  # in place: no second (C, H, W) array
    return total


def tile_count(
    shape: tuple[int, int], tile_size: int = DEFAULT_TILE_SIZE, overlap: int = DEFAULT_TILE_OVERLAP
) -> int:
    """How many network passes a working image of ``shape`` takes (1 when it fits one tile)."""
    h, w = (int(v) + (-int(v)) % PAD_MULTIPLE for v in shape)
    if max(h, w) <= tile_size:
        return 1
    return len(tile_starts(max(h, tile_size), tile_size, overlap)) * len(
        tile_starts(max(w, tile_size), tile_size, overlap)
    )


def predict_probabilities(
    model: LoadedModel,
    image: np.ndarray,
    working_size: int | None = None,
    tile_size: int = DEFAULT_TILE_SIZE,
    tile_overlap: int = DEFAULT_TILE_OVERLAP,
    batch_size: int = 2,
    at_working_size: bool = False,
    shape: tuple[int, int] | None = None,
    flips: Flips = VIEW_FLIPS[1],
) -> np.ndarray:
    """Return ``(C, H, W)`` float32 probabilities (channels as in the metadata) at input size.

    ``working_size`` overrides the checkpoint's; working images larger than ``tile_size``
    (a multiple of 32) are processed as overlapping tiles, ``batch_size`` tiles at a time.
    ``at_working_size`` returns them at the working size instead (``working_shape``), as the
    network produced them; :func:`upsample_probabilities` takes them to the input size later.
    ``shape`` gives the working ``(h, w)`` directly (a chosen working scale) instead.
    ``flips`` are the views averaged (:data:`VIEW_FLIPS`; ``()`` is the plan as it is).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    if not flips or any(not set(axes) <= {-1, -2} for axes in flips):
        raise ValueError(f"flips must be one or more tuples of the axes -1 and -2, got {flips!r}")
    if tile_size % PAD_MULTIPLE or not 0 <= tile_overlap < tile_size // 2:
        raise ValueError(
            f"tile_size must be a multiple of 32 and overlap < tile_size/2 ({tile_size}, {tile_overlap})"
        )
    height, width = image.shape[:2]
    if shape is None:
        meta = model.metadata
        wh, ww = working_shape(height, width, int(working_size or meta.working_size), meta.native_up_to)
    else:
        wh, ww = max(1, int(shape[0])), max(1, int(shape[1]))
    resized = image
    if (wh, ww) != (height, width):
        shrink = wh <= height and ww <= width
        resized = cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    paper = paper_colour(resized)
    padded = pad_to_multiple(resized, paper=paper)
    if max(padded.shape[:2]) <= tile_size:
        probs = _forward(model, [padded], flips)[0]
    else:
        if min(padded.shape[:2]) < tile_size:  # a long thin plan: pad the short side up to one tile
            ph, pw = max(0, tile_size - padded.shape[0]), max(0, tile_size - padded.shape[1])
            padded = cv2.copyMakeBorder(padded, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=paper)
        probs = _tiled(model, padded, tile_size, tile_overlap, batch_size, flips)
    probs = np.ascontiguousarray(probs[:, :wh, :ww], dtype=np.float32)
    return probs if at_working_size else upsample_probabilities(probs, (height, width))


def upsample_probabilities(probs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``(C, h, w)`` probabilities resized (bilinear) to ``shape`` = ``(H, W)``, as float32."""
    height, width = int(shape[0]), int(shape[1])
    if probs.shape[1:] != (height, width):
        probs = np.stack([cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR) for p in probs])
    return np.ascontiguousarray(probs, dtype=np.float32)


def upsample_mask(prob: np.ndarray, shape: tuple[int, int], threshold: float) -> np.ndarray:
    """``prob > threshold`` at ``shape`` = ``(H, W)`` from ``(h, w)`` probabilities, as ``bool``.

    The probabilities are quantised to bytes at the working scale and resized (bilinear) as bytes,
    then thresholded in place: one byte per input pixel, where a float map would take four (a
    120 MP plan's wall channel: 120 MB instead of 480 MB).  The mask is that of the float path
    except where the interpolated probability is within 1/255 of the threshold.
    """
    return threshold_bytes(upsample_bytes(prob, shape), threshold)


def threshold_bytes(values: np.ndarray, threshold: float) -> np.ndarray:
    """``values > threshold`` for probabilities quantised to bytes (:func:`upsample_bytes`), in place:
    the same uint8 array, viewed as ``bool``."""
    level = float(np.clip(threshold, 0.0, 1.0)) * 255.0
    cv2.threshold(values, level, 1, cv2.THRESH_BINARY, dst=values)
    return values.view(bool)


def upsample_bytes(prob: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``(h, w)`` probabilities quantised to bytes (0..255) and resized (bilinear) to ``shape`` =
    ``(H, W)``: a new uint8 array, one byte per input pixel."""
    height, width = int(shape[0]), int(shape[1])
    small = np.clip(np.rint(np.asarray(prob, np.float32) * 255.0), 0, 255).astype(np.uint8)  # a copy
    if small.shape != (height, width):
        small = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return small


def _box(values: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(values, -1, (2 * radius + 1, 2 * radius + 1))


def guided_filter(guide: np.ndarray, values: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The guided filter of ``values`` by ``guide`` (both ``(h, w)`` float32): locally ``a * guide + b``.

    In every ``(2 * radius + 1)``-square window the output is the linear function of the guide
    closest to ``values`` (least squares, ``eps`` keeps ``a`` small where the guide is flat), averaged
    over the windows that cover a pixel.  Where ``values`` is flat it is returned unchanged; where it
    steps, the step moves to the guide's edge.  Scaling guide and values by the same factor ``k``
    (and ``eps`` by ``k**2``) scales the output by ``k``.
    """
    mean_guide = _box(guide, radius)
    mean_values = _box(values, radius)
    a = _box(guide * values, radius)
    a -= mean_guide * mean_values  # the covariance
    variance = _box(guide * guide, radius)
    variance -= mean_guide * mean_guide
    variance += eps
    a /= variance
    mean_values -= a * mean_guide  # now b
    out = _box(a, radius)
    out *= guide
    out += _box(mean_values, radius)
    return out


def upsampling(working: tuple[int, ...], shape: tuple[int, ...]) -> float:
    """How many times a ``working`` ``(h, w)`` map is enlarged to ``shape`` ``(H, W)`` (mean of the axes)."""
    return (shape[0] / working[0] + shape[1] / working[1]) / 2.0


def guide_radius(factor: float) -> int:
    """The guided filter's window radius (input px) for probabilities upsampled ``factor`` times:
    :data:`GUIDE_RADIUS`, or :data:`GUIDE_RADIUS_PER_UPSAMPLING` px per step when that is more."""
    return max(GUIDE_RADIUS, round(GUIDE_RADIUS_PER_UPSAMPLING * factor))


def guided_mask(
    prob: np.ndarray,
    image: np.ndarray,
    threshold: float,
    radius: int | None = None,
    eps: float = GUIDE_EPS,
    strip_rows: int = GUIDE_STRIP_ROWS,
) -> np.ndarray:
    """``prob > threshold`` at the size of ``image``, its edges moved onto the drawing's own.

    ``prob`` is an ``(h, w)`` probability map at the working scale; ``image`` the ``(H, W, 3)`` RGB
    (or ``(H, W)`` grey) uint8 plan.  The probabilities are upsampled as :func:`upsample_mask` does
    (:func:`upsample_bytes`), then guided-filtered (:func:`guided_filter`) by the plan's grey levels before
    the threshold: a wall edge the network placed a pixel or two off (it saw the plan at the working
    scale, and its masks run ~1.2x thicker than the truth) snaps to the ink.  Holes the filter opens
    inside the network's own wall (a closing of :data:`GUIDE_HOLE_CLOSE` px: fine hatching) are
    filled again.  The work goes in strips of ``strip_rows`` rows with a margin of the filter's and
    the closing's reach, so the result is that of the whole image while memory stays bounded: one
    byte map at input size plus a few strips of floats.  A strip whose probabilities are all zero
    stays empty without filtering (exactly what the filter gives).  ``radius`` None: :func:`guide_radius`
    of the upsampling from ``prob`` to ``image``.
    """
    if radius is None:
        radius = guide_radius(upsampling(prob.shape[:2], image.shape[:2]))
    return guide_bytes(upsample_bytes(prob, image.shape[:2]), image, threshold, radius, eps, strip_rows)


def guide_bytes(
    upsampled: np.ndarray,
    image: np.ndarray,
    threshold: float,
    radius: int = GUIDE_RADIUS,
    eps: float = GUIDE_EPS,
    strip_rows: int = GUIDE_STRIP_ROWS,
) -> np.ndarray:
    """:func:`guided_mask` of probabilities already upsampled to the size of ``image`` as bytes
    (:func:`upsample_bytes`), which are left unchanged: a caller that also needs the network's own
    mask thresholds the same bytes afterwards (:func:`threshold_bytes`)."""
    if radius < 1 or eps <= 0 or strip_rows < 1:
        raise ValueError(
            f"guided_mask needs radius >= 1, eps > 0 and strip_rows >= 1, got {radius}, {eps}, {strip_rows}"
        )
    height, width = image.shape[:2]
    if upsampled.shape != (height, width):
        raise ValueError(f"guide_bytes: upsampled {upsampled.shape} and image {image.shape[:2]} differ")
    out = np.zeros((height, width), bool)
    level = threshold * 255.0
    margin = 2 * radius + GUIDE_HOLE_CLOSE - 1  # the filter's reach (a box of the boxes), the closing's
    square = np.ones((GUIDE_HOLE_CLOSE, GUIDE_HOLE_CLOSE), np.uint8)
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        above, below = max(0, top - margin), min(height, bottom + margin)
        values_bytes = upsampled[above:below]
        if not values_bytes.any():
            continue
        rows = image[above:below]
        grey = cv2.cvtColor(rows, cv2.COLOR_RGB2GRAY) if rows.ndim == 3 else rows
        # on the 0..255 scale of the bytes (eps scaled to match): the same filter, two passes fewer
        filtered = guided_filter(
            grey.astype(np.float32), values_bytes.astype(np.float32), radius, eps * 255.0**2
        )
        kept = (filtered > level).view(np.uint8)
        closed = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, square)
        kept |= closed & (values_bytes > level).view(np.uint8)
        out[top:bottom] = kept[top - above : bottom - above].view(bool)
    return out
