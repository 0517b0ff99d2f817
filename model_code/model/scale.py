"""The drawing's scale and the working scale the network sees it at.

The network was trained on plans whose longest side was its ``working_size`` (512 px), where
walls are a few pixels thick.  A large scan shrunk to that size loses its thin partitions; a
plan drawn with thin walls loses them already at a smaller size.  So the working scale is
chosen from the walls themselves:

1. **Estimate** the wall thickness.  The pipeline runs the network once at today's
   fit-to-working-size scale (the *coarse pass*) and :func:`mask_wall_thickness` measures the
   wall mask it gives (twice the median distance-transform ridge).  The network, not a rule
   about dark pixels, says what a wall is: run-length statistics of dark pixels were tried and
   fail on hatched, outlined and grey-filled walls (see ``docs/scale.md``).
2. **Choose** the scale at which walls are as thick as in training
   (:func:`choose_working_scale`): ``training thickness / estimated thickness``, never below the
   fit scale (a large scan is never processed coarser than before), at most :data:`MAX_GAIN`
   times it (measured: the bundled model gets worse beyond), never an upscale, within a
   working-pixel budget, and only for plans larger than :data:`RESCALE_FROM` times the working
   size (the latency of an ordinary 1,024 px plan stays what it was).  Inside a dead band around
   the fit scale the coarse pass is kept as is (the network saw plans over a range of scales in
   training), so ordinary plans cost nothing extra.  A page without walls keeps the fit scale.

On a drawing sheet the working size is the drawing's, not the sheet's: the fit scale fits the
drawing area inside the frame and title block (:func:`drawing_zoom`, at most
:data:`MAX_DRAWING_ZOOM` times the sheet's fit), while :data:`MAX_GAIN` still counts from the
sheet's fit: a sheet whose walls asked for more is seen as before (only its coarse pass is
larger), one that stayed at the fit scale is now seen at its drawing's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Typical wall thickness (px) of the R3D training plans at the 512 px working size, for
# checkpoints whose metadata has no ``wall_thickness_px``.  Measured with
# ``benchmarks/scale_estimation.py --r3d``: the median over the 179 plans of
# /work/shared/datasets/r3d/train of :func:`mask_wall_thickness` of the truth wall mask taken
# to the working size the way inference takes the image (area interpolation, > 0.5).
# Result: median 5.50 px (quartiles 5.50..7.50); the bundled model's own coarse-pass masks of the
# same plans measure 6.69 px (its masks are ~1.2x thicker than the truth: inside the dead band).
DEFAULT_TRAINING_WALL_THICKNESS_PX = 5.5
# The working scale is the fit scale unless the walls there are thinner than the training
# thickness divided by this (the network trained with scale augmentation copes inside it): with
# 5.5 px, plans whose coarse-pass walls measure 3.5 px or less (1.5, 3.5: the measure's steps) move.
DEAD_BAND = 1.3
# At most this many times the fit scale.  Measured on generated plans at 2,048 px (working scale
# forced to 1, 1.25, 1.5, 2 and 3 times the fit scale, ``docs/scale.md``): the bundled model is
# best at 1.5x on thin-walled plans (mean segment F1 0.72 -> 0.92 over six plans) and worse at 2x
# and beyond on every style (it fires on furniture and text), so the gain is capped here.
MAX_GAIN = 1.5
# Plans no larger than this many times the working size keep the fit scale whatever their walls:
# on a 1,024 px plan the second pass at 1.5x (768 px) tripled the end-to-end latency (422 -> 1412 ms,
# benchmarks/latency_ratio.py, seed 7), against the "at most ~10 % slower" at 1,024 px.  The
# thin partitions the issue is about vanish on large scans; those are rescaled.
RESCALE_FROM = 2.0
MAX_UPSCALE = 1.0  # never blow a plan up: its strokes gain nothing, the forward pass costs 1/s^2 more
MAX_WORKING_PIXELS = 6_000_000  # ~2,450 px square: bounds the forward pass (time, probability memory)
MIN_WALL_PIXELS = 32  # fewer wall pixels at the coarse pass: nothing to measure (blank page)
# A sheet's drawing area is fit to the working size, at most this many times the whole sheet's fit
# scale (a small plan in a corner of a large sheet).  Measured on the 11 `cad_walls` sheets and 60
# generated sheets (docs/scale.md, "The drawing, not the sheet, at the working size").
MAX_DRAWING_ZOOM = 2.0


@dataclass(frozen=True)
class WorkingScale:
    """Where the network sees a plan.

    ``scale`` is working pixels per input pixel (the mean of the two axes when rounding makes
    them differ), ``shape`` the working ``(h, w)``, ``fit_scale`` the coarse pass's scale (the
    fit-to-working-size scale; of the drawing area on a sheet), ``wall_thickness_px`` the
    estimated wall thickness in input pixels (``None`` when nothing was measured) and ``method``
    how the scale was chosen: ``fit`` (the dead band), ``drawing`` (the same, with the fit scale
    a sheet's drawing area's), ``measured`` (training / estimated thickness), ``clamped`` (a
    limit applied) or ``fallback`` (no walls to measure).
    """

    scale: float
    shape: tuple[int, int]
    fit_scale: float
    wall_thickness_px: float | None
    method: str


def fit_shape(height: int, width: int, working_size: int) -> tuple[int, int]:
    """``(h, w)`` after scaling the longest side to ``working_size`` (aspect kept)."""
    scale = working_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def base_shape(height: int, width: int, working_size: int, native_up_to: float = 1.0) -> tuple[int, int]:
    """``(h, w)`` a plan is first seen at: :func:`fit_shape`, except that a plan larger than the working
    size by at most ``native_up_to`` times keeps its own size (a checkpoint's ``native_up_to``: it was
    trained to see such plans unshrunk; 1.0, the default, shrinks every larger plan)."""
    if working_size < max(height, width) <= native_up_to * working_size:
        return height, width
    return fit_shape(height, width, working_size)


def shape_at(height: int, width: int, scale: float) -> tuple[int, int]:
    """``(h, w)`` of the image at ``scale``."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def mask_wall_thickness(mask: np.ndarray) -> float | None:
    """Typical wall thickness (px) of a wall mask: twice the median distance-transform ridge.

    ``None`` when the mask has fewer than :data:`MIN_WALL_PIXELS` set pixels.
    """
    mask = np.asarray(mask, bool)
    if int(np.count_nonzero(mask)) < MIN_WALL_PIXELS:
        return None
    dist = cv2.distanceTransform(np.pad(mask.view(np.uint8), 1), cv2.DIST_L2, cv2.DIST_MASK_5)[1:-1, 1:-1]
    peaks = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & (dist > 0)
    return float(max(2.0 * np.median(dist[peaks]) - 0.5, 1.0))


def drawing_zoom(
    height: int, width: int, area: tuple[int, int, int, int] | None, max_zoom: float = MAX_DRAWING_ZOOM
) -> float:
    """How many times a sheet's drawing ``area`` (x0, y0, x1, y1) must be enlarged, against the whole
    ``height x width`` sheet, for its longest side to be the sheet's: between 1 and ``max_zoom``;
    1.0 without a sheet (``area`` None)."""
    if area is None:
        return 1.0
    side = max(area[2] - area[0], area[3] - area[1])
    if side <= 0:
        return 1.0
    return float(min(max(max(height, width) / side, 1.0), max_zoom))


def choose_working_scale(
    height: int,
    width: int,
    working_size: int,
    coarse_thickness_px: float | None,
    training_thickness_px: float = DEFAULT_TRAINING_WALL_THICKNESS_PX,
    dead_band: float = DEAD_BAND,
    max_gain: float = MAX_GAIN,
    rescale_from: float = RESCALE_FROM,
    max_upscale: float = MAX_UPSCALE,
    max_working_pixels: int = MAX_WORKING_PIXELS,
    native_up_to: float = 1.0,
    zoom: float = 1.0,
) -> WorkingScale:
    """The working scale for an ``height x width`` plan whose walls measured
    ``coarse_thickness_px`` at the fit scale (``None``: nothing measured).

    The *fit* scale is the one of :func:`base_shape` (``native_up_to``: the checkpoint's, see there),
    times ``zoom`` on a drawing sheet (:func:`drawing_zoom`; never an upscale, within the pixel
    budget); ``max_gain`` counts from the fit scale without the zoom.

    The scale is ``fit * training / coarse`` clamped to ``[fit, fit * max_gain]``, to at most
    ``max_upscale`` (unless the fit scale itself is larger: a small plan is blown up to the
    working size as before) and to ``max_working_pixels``; the fit scale itself when that is
    within ``dead_band`` of it, or when the plan's longest side is at most ``rescale_from`` times the
    working size.
    """
    fit_h, fit_w = base_shape(height, width, working_size, native_up_to)
    fit = ((fit_h / height) + (fit_w / width)) / 2.0  # > 1 for a small plan (as before: blown up to fit)
    budget = math.sqrt(max_working_pixels / (height * width))  # the largest scale within the pixel budget
    sheet_fit, kept = fit, "fit"
    if zoom > 1.0:
        zoomed = min(fit * zoom, max(max_upscale, fit), budget)
        if zoomed > fit:
            fit, kept = zoomed, "drawing"
            fit_h, fit_w = shape_at(height, width, fit)
    if coarse_thickness_px is None or not math.isfinite(coarse_thickness_px) or coarse_thickness_px <= 0:
        return WorkingScale(fit, (fit_h, fit_w), fit, None, "fallback")
    estimated = coarse_thickness_px / fit
    wanted = fit * training_thickness_px / coarse_thickness_px
    if wanted <= fit * dead_band or max(height, width) <= rescale_from * working_size:
        return WorkingScale(fit, (fit_h, fit_w), fit, estimated, kept)
    ceiling = min(max(max_upscale, fit), sheet_fit * max_gain, budget)
    scale = min(wanted, max(ceiling, fit))
    method = "measured" if scale == wanted else "clamped"
    shape = shape_at(height, width, scale)
    if scale <= fit or max(shape) <= max(fit_h, fit_w):
        return WorkingScale(fit, (fit_h, fit_w), fit, estimated, "clamped")
    return WorkingScale(scale, shape, fit, estimated, method)
