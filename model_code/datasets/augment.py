"""Albumentations pipelines suited to line drawings.

Every pipeline first scales the plan so its longest side is the model's working size, or keeps a
plan at most ``native_up_to`` times larger at its own size (:class:`ToBaseSize`: what inference
does, ``model.scale.base_shape``), then applies the geometric and photometric augmentation and finally takes
a random ``crop_size`` square (padded with white paper where the plan is smaller; now and then with one
side on the outer face of the drawing's walls, :class:`EdgeAlignedCrop`).  Masks
are transformed with the image (nearest-neighbour), stacked as ``(H, W, 3)`` wall/opening/room type;
when the plan is shrunk, to the working size or by the scale augmentation, walls and openings thinner
than the shrink keep an unbroken line (:func:`keep_thin_lines`, :class:`ThinLineAffine`).
"""

from __future__ import annotations

import os

# albumentations asks the package index for a newer version on every import unless this is set: training
# must not reach the network (SageMaker jobs may run without it). The environment can still say otherwise.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from typing import Any

import albumentations as A  # noqa: N812 (the library's own convention)
import cv2
import numpy as np
from skimage.morphology import skeletonize

from model_code.model.scale import base_shape

AUGMENT_LEVELS = ("none", "light", "heavy")
PAPER = 255
LINE_PLANES = (0, 1)  # the wall and opening planes of the stacked masks (``torch_data.target_planes``)
# a warped skeleton marks an output pixel from this bilinear weight on: the nearest row or column to a
# 1 px line shrunk by up to 0.7 gets at least 0.29, its neighbours rarely this much (lines stay ~1 px)
SKELETON_WEIGHT = 0.25
# share of the augmented crops with one side on the outer face of the outermost wall (EdgeAlignedCrop):
# plans cropped tight to their walls, whose edge walls the bundled models lose (docs/scale.md)
EDGE_CROP_PROBABILITY = 0.15


class ThinLineAffine(A.Affine):
    """``Affine`` whose shrinking warps keep thin walls and openings in the ``(H, W, C)`` mask.

    Nearest-neighbour breaks a 1 px line that a warp shrinks (output rows step over it), as
    :class:`ToBaseSize`'s shrink does: each plane of :data:`LINE_PLANES` also gets the output pixels
    its skeleton, warped bilinearly, weighs at least :data:`SKELETON_WEIGHT` in.  Warps that do not
    shrink (a rotation or an enlargement keeps a nearest-neighbour line 8-connected) are left as they are.
    """

    def apply_to_mask(
        self, mask: np.ndarray, matrix: np.ndarray, output_shape: tuple[int, int], **params: Any
    ) -> np.ndarray:
        """The mask warped nearest-neighbour; when the warp shrinks, its thin lines kept."""
        warped = super().apply_to_mask(mask, matrix, output_shape, **params)
        if mask.ndim != 3 or abs(np.linalg.det(np.asarray(matrix, np.float64)[:2, :2])) >= 1.0:
            return warped
        warped = warped.copy()
        size = (round(output_shape[1]), round(output_shape[0]))
        for plane in LINE_PLANES:
            if plane < mask.shape[2] and mask[..., plane].any():
                skeleton = skeletonize(mask[..., plane] > 0).astype(np.float32)
                weight = cv2.warpAffine(
                    skeleton, np.asarray(matrix, np.float64)[:2], size, flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=0,
                )  # fmt: skip
                warped[..., plane][weight >= SKELETON_WEIGHT] = 1
        return warped


def _geometric(level: str) -> list[A.BasicTransform]:
    if level == "none":
        return []
    if level == "light":
        return [A.SquareSymmetry(p=1.0), ThinLineAffine(scale=(0.85, 1.2), fill=PAPER, fill_mask=0, p=0.5)]
    return [
        A.SquareSymmetry(p=1.0),  # flips and 90-degree rotations: plans have no canonical orientation
        ThinLineAffine(scale=(0.7, 1.4), rotate=(-5, 5), fill=PAPER, fill_mask=0, p=0.7),
    ]


def _photometric(level: str) -> list[A.BasicTransform]:
    if level == "none":
        return []
    if level == "light":
        return [A.RandomBrightnessContrast(0.15, 0.15, p=0.5)]
    return [
        A.ElasticTransform(alpha=20, sigma=8, fill=PAPER, fill_mask=0, p=0.1),
        A.RandomBrightnessContrast(0.25, 0.25, p=0.6),
        A.ToGray(p=0.2),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 5))], p=0.2),
        A.GaussNoise(std_range=(0.02, 0.08), p=0.2),
        A.ImageCompression(quality_range=(35, 95), p=0.3),
    ]


def keep_thin_lines(mask: np.ndarray, shrunk: np.ndarray) -> np.ndarray:
    """``shrunk``, a nearest-neighbour shrink of the 0/1 ``mask`` (walls or openings), with every pixel
    that the mask's skeleton passes through set to 1.

    Nearest-neighbour keeps a wall only where a sample lands on it: a 1 px partition of a 2,000 px
    plan shrunk to 512 px vanishes or breaks into dashes (and so does the door in it), and the
    network learns that the faint line it sees there is no wall: the rooms on either side merge.
    The skeleton, area-shrunk, marks each working pixel it touches, so every wall and opening stays
    an unbroken line at least one pixel wide; parts thicker than the shrink are unchanged (their
    skeleton lies inside them).
    """
    if not mask.any():
        return shrunk
    skeleton = skeletonize(mask > 0).astype(np.float32)
    touched = cv2.resize(skeleton, shrunk.shape[1::-1], interpolation=cv2.INTER_AREA) > 0
    return np.where(touched, np.ones_like(shrunk), shrunk)


class ToBaseSize(A.LongestMaxSize):
    """``LongestMaxSize(working_size)``, except that a plan larger than the working size by at most
    ``native_up_to`` times keeps its own size: the size inference first sees it at
    (:func:`model_code.model.scale.base_shape`).  A shrunk ``(H, W, C)`` mask keeps its thin walls
    and openings (:func:`keep_thin_lines` on the planes :data:`LINE_PLANES`)."""

    def __init__(self, working_size: int, native_up_to: float = 1.0, **kwargs) -> None:
        super().__init__(max_size=working_size, **kwargs)
        self.working_size = working_size
        self.native_up_to = native_up_to

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        """The scale factor: 1.0 inside the native band, else the longest side to the working size."""
        height, width = params["shape"][:2]
        if base_shape(height, width, self.working_size, self.native_up_to) == (height, width):
            return {"scale": 1.0}
        return super().get_params_dependent_on_data(params, data)

    def apply_to_mask(self, mask: np.ndarray, scale: float, **params: Any) -> np.ndarray:
        """The mask resized nearest-neighbour; when shrunk, its wall and opening planes keep thin lines."""
        shrunk = super().apply_to_mask(mask, scale, **params)
        if scale >= 1.0 or mask.ndim != 3:
            return shrunk
        shrunk = shrunk.copy()
        for plane in LINE_PLANES:
            if plane < mask.shape[2]:
                shrunk[..., plane] = keep_thin_lines(mask[..., plane], shrunk[..., plane])
        return shrunk


class EdgeAlignedCrop(A.RandomCrop):
    """``RandomCrop`` that, with probability ``edge_probability``, puts one side of the crop (left,
    right, top or bottom, at random) on the outer face of the outermost wall of the ``(H, W, C)``
    mask's wall plane, the other axis random: an exterior wall on the image's very edge, as a plan
    cropped tight to its walls shows it.  Plans smaller than the crop are padded as before."""

    def __init__(
        self, height: int, width: int, edge_probability: float = EDGE_CROP_PROBABILITY, p: float = 1.0
    ) -> None:
        super().__init__(height=height, width=width, p=p)
        if not 0.0 <= edge_probability <= 1.0:
            raise ValueError(f"edge_probability must be in [0, 1], got {edge_probability}")
        self.edge_probability = edge_probability

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        """The random crop's coordinates, one side moved onto the walls' outer face now and then."""
        out = super().get_params_dependent_on_data(params, data)
        mask = data.get("mask")
        if mask is None or out["pad_params"] is not None or self.py_random.random() >= self.edge_probability:
            return out
        ys, xs = np.nonzero(mask[..., LINE_PLANES[0]] if mask.ndim == 3 else mask)
        if xs.size == 0:
            return out
        height, width = params["shape"][:2]
        x0, y0 = out["crop_coords"][:2]
        side = self.py_random.randrange(4)
        if side == 0:
            x0 = int(xs.min())
        elif side == 1:
            x0 = int(xs.max()) + 1 - self.width
        elif side == 2:
            y0 = int(ys.min())
        else:
            y0 = int(ys.max()) + 1 - self.height
        x0, y0 = min(max(x0, 0), width - self.width), min(max(y0, 0), height - self.height)
        return {**out, "crop_coords": (x0, y0, x0 + self.width, y0 + self.height)}


def training_transform(
    working_size: int, crop_size: int, level: str = "heavy", native_up_to: float = 1.0
) -> A.Compose:
    """Scale to ``working_size`` (plans at most ``native_up_to`` times larger keep their size), augment at
    ``level`` and crop a random ``crop_size`` square (at ``light`` and ``heavy``,
    :data:`EDGE_CROP_PROBABILITY` of them on the walls' outer face, :class:`EdgeAlignedCrop`)."""
    if level not in AUGMENT_LEVELS:
        raise ValueError(f"unknown augmentation level {level!r}; expected one of {AUGMENT_LEVELS}")
    edge_probability = 0.0 if level == "none" else EDGE_CROP_PROBABILITY
    return A.Compose(
        [
            ToBaseSize(working_size, native_up_to, interpolation=cv2.INTER_AREA),
            *_geometric(level),
            A.PadIfNeeded(
                min_height=crop_size,
                min_width=crop_size,
                position="random",
                border_mode=cv2.BORDER_CONSTANT,
                fill=PAPER,
                fill_mask=0,
            ),
            EdgeAlignedCrop(crop_size, crop_size, edge_probability=edge_probability),
            *_photometric(level),
        ]
    )
