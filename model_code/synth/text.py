"""Text on the drawing with OpenCV's Hershey fonts: any size, any angle, kept inside a region."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class TextSpec:
    """Font, scale and stroke of one piece of text."""

    font: int
    scale: float
    thickness: int

    def size(self, text: str) -> tuple[int, int, int]:
        """``(width, height, baseline)`` of ``text`` in pixels, unrotated."""
        (w, h), base = cv2.getTextSize(text, self.font, self.scale, self.thickness)
        return int(w), int(h), int(base)


def fit_scale(font: int, text: str, target_height: float, thickness: int) -> float:
    """The font scale whose capital height is about ``target_height`` pixels."""
    (_, h), _ = cv2.getTextSize(text or "X", font, 1.0, thickness)
    return max(0.2, target_height / max(h, 1))


def rotated_extent(width: float, height: float, angle_deg: float) -> tuple[float, float]:
    """Axis-aligned width and height of a ``width`` x ``height`` box rotated by ``angle_deg``."""
    a = math.radians(angle_deg)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    return width * c + height * s, width * s + height * c


def draw_text(
    image: np.ndarray,
    text: str,
    centre: tuple[float, float],
    spec: TextSpec,
    colour: Colour,
    angle: float = 0.0,
) -> None:
    """Draw ``text`` centred on ``centre`` (x, y), rotated ``angle`` degrees counter-clockwise."""
    w, h, base = spec.size(text)
    cx, cy = centre
    if angle == 0.0:
        origin = (round(cx - w / 2), round(cy + h / 2))
        cv2.putText(image, text, origin, spec.font, spec.scale, colour, spec.thickness, cv2.LINE_AA)
        return
    pad = spec.thickness + 2
    patch = np.zeros((h + base + 2 * pad, w + 2 * pad), dtype=np.uint8)
    cv2.putText(patch, text, (pad, pad + h), spec.font, spec.scale, 255, spec.thickness, cv2.LINE_AA)
    ew, eh = rotated_extent(patch.shape[1], patch.shape[0], angle)
    out_w, out_h = math.ceil(ew) + 2, math.ceil(eh) + 2
    matrix = cv2.getRotationMatrix2D((patch.shape[1] / 2, patch.shape[0] / 2), angle, 1.0)
    matrix[0, 2] += out_w / 2 - patch.shape[1] / 2
    matrix[1, 2] += out_h / 2 - patch.shape[0] / 2
    alpha = cv2.warpAffine(patch, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    x0, y0 = round(cx - out_w / 2), round(cy - out_h / 2)
    _composite(image, alpha, x0, y0, colour)


def _composite(image: np.ndarray, alpha: np.ndarray, x0: int, y0: int, colour: Colour) -> None:
    """Blend ``colour`` into ``image`` through the ``alpha`` patch placed at ``(x0, y0)``, clipped."""
    height, width = image.shape[:2]
    ax0, ay0 = max(0, -x0), max(0, -y0)
    ax1 = min(alpha.shape[1], width - x0)
    ay1 = min(alpha.shape[0], height - y0)
    if ax1 <= ax0 or ay1 <= ay0:
        return
    a = alpha[ay0:ay1, ax0:ax1].astype(np.float32)[..., None] / 255.0
    region = image[y0 + ay0 : y0 + ay1, x0 + ax0 : x0 + ax1]
    ink = np.asarray(colour, dtype=np.float32)
    region[:] = (region.astype(np.float32) * (1.0 - a) + ink * a + 0.5).astype(np.uint8)
