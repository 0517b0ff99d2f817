"""Wall and opening probabilities for an RGB image from a loaded U-Net.

The image is resized so its longest side equals the model's working size, padded to a
multiple of 32 with white paper, normalised as the checkpoint says, run through the
network under ``torch.inference_mode`` and the sigmoid maps are resized back to the
input size.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from model_code.network import LoadedModel

PAD_MULTIPLE = 32


def working_shape(height: int, width: int, working_size: int) -> tuple[int, int]:
    """``(h, w)`` after scaling the longest side to ``working_size`` (aspect kept)."""
    scale = working_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def to_tensor(image: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """``(H, W, 3)`` uint8 RGB -> normalised ``(1, 3, H, W)`` float tensor."""
    arr = image.astype(np.float32) / 255.0
    arr = (arr - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None]


def pad_to_multiple(image: np.ndarray, multiple: int = PAD_MULTIPLE) -> np.ndarray:
    """Pad bottom/right with white so both sides are multiples of ``multiple``."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return image
    return cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(255, 255, 255))


def predict_probabilities(
    model: LoadedModel, image: np.ndarray, working_size: int | None = None
) -> np.ndarray:
    """Return ``(C, H, W)`` float32 probabilities (channels as in the metadata) at input size."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    meta = model.metadata
    height, width = image.shape[:2]
    size = int(working_size or meta.working_size)
    wh, ww = working_shape(height, width, size)
    resized = (
        image if (wh, ww) == (height, width) else cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
    )
    padded = pad_to_multiple(resized)
    device = next(model.network.parameters()).device
    with torch.inference_mode():
        logits = model.network(to_tensor(padded, meta.mean, meta.std).to(device))
        probs = torch.sigmoid(logits)[0, :, :wh, :ww].float().cpu().numpy()
    if (wh, ww) != (height, width):
        probs = np.stack([cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR) for p in probs])
    return np.ascontiguousarray(probs, dtype=np.float32)
