"""The network's input: an RGB image normalised as the checkpoint says.

One function shared by inference (:mod:`model_code.model.inference`), training data
(:mod:`model_code.datasets.torch_data`) and int8 calibration (:mod:`model_code.model.quantize`), so the
three feed the network the same numbers.
"""

from __future__ import annotations

import numpy as np


def normalize(image: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB -> normalised ``(3, H, W)`` float32 array (the network's input).

    Each channel is ``(value / 255 - mean) / std``, computed once for the 256 possible values and
    looked up per pixel: the same float32 numbers as the arithmetic, ~8x faster.
    """
    values = np.arange(256, dtype=np.float32) / np.float32(255.0)
    table = (values[None, :] - np.asarray(mean, np.float32)[:, None]) / np.asarray(std, np.float32)[:, None]
    out = np.empty((image.shape[2], *image.shape[:2]), np.float32)
    for channel in range(image.shape[2]):
        np.take(table[channel], image[:, :, channel], out=out[channel])
    return out
