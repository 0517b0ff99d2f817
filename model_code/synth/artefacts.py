"""Scan and print artefacts.

Geometric ones (a rotation of at most 3 degrees about the image centre) return the affine
matrix so that the caller moves the vector ground truth with the image; photometric ones
(paper tint, uneven lighting, blur, noise, JPEG) change the image only.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_ROTATION_DEG = 3.0


def rotation_matrix(angle_deg: float, width: int, height: int) -> np.ndarray:
    """The 2x3 affine matrix rotating by ``angle_deg`` (counter-clockwise) about the image centre."""
    if abs(angle_deg) > MAX_ROTATION_DEG:
        raise ValueError(f"rotation {angle_deg} exceeds {MAX_ROTATION_DEG} degrees")
    return cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), angle_deg, 1.0)


def warp_image(image: np.ndarray, matrix: np.ndarray, border: tuple[int, int, int]) -> np.ndarray:
    """Apply ``matrix`` to the image (bilinear), filling uncovered corners with ``border``."""
    height, width = image.shape[:2]
    return cv2.warpAffine(
        image,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to an ``(N, 2)`` array of ``(x, y)`` points."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return points @ matrix[:, :2].T + matrix[:, 2]


def paper_tint(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Multiply the image by a paper colour (white stays paper-coloured, ink stays dark)."""
    factor = np.asarray(colour, dtype=np.float32) / 255.0
    return np.clip(image.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def lighting_gain(rng: np.random.Generator, height: int, width: int, strength: float) -> np.ndarray:
    """A smooth (H, W) gain map in ``[1 - strength, 1]``: a random linear gradient plus a vignette."""
    yy = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xx = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    gx, gy = rng.uniform(-1, 1, 2).astype(np.float32)
    cx, cy = rng.uniform(-0.5, 0.5, 2).astype(np.float32)
    shade = 0.5 * (gx * xx + gy * yy) + 0.5 * ((xx - cx) ** 2 + (yy - cy) ** 2)
    shade = (shade - shade.min()) / max(float(shade.max() - shade.min()), 1e-6)
    return (1.0 - strength * shade).astype(np.float32)


def uneven_lighting(rng: np.random.Generator, image: np.ndarray, strength: float) -> np.ndarray:
    """Darken the image by a smooth gradient plus vignette, at most ``strength`` (0..1)."""
    gain = lighting_gain(rng, image.shape[0], image.shape[1], strength)
    return np.clip(image.astype(np.float32) * gain[..., None], 0, 255).astype(np.uint8)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels."""
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)


def noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    """Add grey Gaussian noise of ``sigma`` grey levels."""
    grain = rng.standard_normal(image.shape[:2], dtype=np.float32) * sigma
    return np.clip(image.astype(np.float32) + grain[..., None], 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG at ``quality`` (1-100)."""
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def scan_effects(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A scanned or photocopied look: paper tint and uneven lighting, blur, grain, then JPEG.

    The tint, lighting, blur and grain run in one float32 pass (the same operations as
    :func:`paper_tint`, :func:`uneven_lighting`, :func:`blur` and :func:`noise`, fused for speed).
    """
    height, width = image.shape[:2]
    tint = rng.integers(225, 256, 3).astype(np.float32)
    tint[2] = min(tint[1], tint[2])  # paper yellows, it does not turn blue
    gain = lighting_gain(rng, height, width, float(rng.uniform(0.05, 0.25)))
    work = image.astype(np.float32) * (tint / 255.0)
    work *= gain[..., None]
    sigma = float(rng.uniform(0.4, 1.1))
    work = cv2.GaussianBlur(work, (0, 0), sigmaX=sigma, sigmaY=sigma)
    work += (rng.standard_normal((height, width), dtype=np.float32) * float(rng.uniform(2.0, 8.0)))[..., None]
    out = np.clip(work, 0, 255).astype(np.uint8)
    return jpeg(out, int(rng.integers(35, 85)))


def light_effects(rng: np.random.Generator, image: np.ndarray, use_jpeg: bool) -> np.ndarray:
    """The mild artefacts of web images: sometimes a slight blur, sometimes JPEG compression."""
    if rng.random() < 0.15:
        image = blur(image, float(rng.uniform(0.3, 0.7)))
    if use_jpeg:
        image = jpeg(image, int(rng.integers(60, 96)))
    return image
