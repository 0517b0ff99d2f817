"""The one image decoder: bytes or files -> RGB ``uint8`` arrays, with safety limits.

Handles PNG (grayscale, RGB, RGBA composited on white, palette, 16-bit) and JPEG (EXIF
orientation honoured), refuses truncated or undecodable data and decompression bombs with
typed errors that the server maps to HTTP codes.  Pillow reads the header and decodes every
case; plain 8-bit RGB and grey PNGs, the most common upload, are decoded by OpenCV (libpng),
about 15 % faster.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# 150 MP: an A0 sheet scanned at 300 dpi is 140 MP.  What a worker can analyse within its memory
# budget (MODEL_SERVER_WORKER_MEMORY_MB, 1.5 GB): ``benchmarks/scale_table.py --megapixels`` measured
# the peak RSS of a whole analysis, decode included (docs/scale.md); larger images are refused
# before decoding with a 413 that gives both numbers.
DEFAULT_MAX_PIXELS = 150_000_000
MAX_PIXELS_CEILING = 1_000_000_000  # the largest budget a caller may set (3 GB once decoded to RGB)

# Every decode checks its own budget (``max_pixels``) against the header before decoding, so
# Pillow's global decompression-bomb guard (89 MP by default) must not be the tighter limit:
# it sits at the ceiling of what a budget may be.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS_CEILING

# Never let Pillow fill truncated data with grey: a cut-off upload must be an error.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageDecodeError(ValueError):
    """The bytes are empty, truncated or not an image we can read."""


class ImageTooLargeError(ValueError):
    """The image exceeds the pixel budget (decompression-bomb guard)."""


def sniff_format(data: bytes) -> str | None:
    """Return ``"png"``, ``"jpeg"`` (or another known format name) from magic bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF"):
        return "pdf"
    return None


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to an RGB uint8 array; alpha is composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":  # convert() copies even an RGB image: a 100 MP plan is 300 MB
        image = image.convert("RGB")
    return _rgb_array(image)


STRIP_BYTES = 1 << 24  # 16 MB: the rows copied out of a large Pillow image at a time


def _rgb_array(image: Image.Image) -> np.ndarray:
    """An RGB Pillow image as a new ``(H, W, 3)`` array, one copy of the pixels.

    ``np.asarray(image)`` goes through ``tobytes()``, which joins the rows into one more copy: a
    150 MP JPEG would peak at four times its 450 MB.  Large images are copied strip by strip.
    """
    width, height = image.size
    if width * height * 3 <= 4 * STRIP_BYTES:
        return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, STRIP_BYTES // (3 * width))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        out[top:bottom] = np.asarray(image.crop((0, top, width, bottom)), dtype=np.uint8)
    return out


def _plain_png(image: Image.Image) -> bool:
    """An 8-bit RGB or grey PNG without transparency or EXIF: what OpenCV decodes exactly like Pillow."""
    return (
        image.format == "PNG"
        and image.mode in ("RGB", "L")
        and "transparency" not in image.info
        and "exif" not in image.info
    )


def _decode_plain_png(data: bytes) -> np.ndarray:
    """Decode a :func:`_plain_png` with OpenCV into RGB; truncated data raises :class:`ImageDecodeError`."""
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ImageDecodeError("cannot decode PNG image: the data is truncated or corrupt")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB, dst=decoded)  # in place: no second copy of a 100 MP image


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, frame: int = 0) -> np.ndarray:
    """Decode image bytes into an ``(H, W, 3)`` RGB ``uint8`` array.

    ``frame`` picks a page of a multi-page TIFF (0-based; :mod:`model_code.io.pages` walks the pages);
    errors about a later page name it (``TIFF page 2 ...``).

    Raises:
        ImageDecodeError: empty, truncated or undecodable data.
        ImageTooLargeError: more than ``max_pixels`` pixels (checked before decoding).
    """
    if not data:
        raise ImageDecodeError("empty request body: expected image bytes")
    fmt = sniff_format(data)
    if fmt == "pdf":
        raise ImageDecodeError(
            "a PDF is a document, not one image: read its pages with model_code.io.pages.read_page"
        )
    subject = "image" if frame == 0 else f"{(fmt or 'image').upper()} page {frame + 1}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if frame:
                count = int(getattr(image, "n_frames", 1))
                if not 0 <= frame < count:
                    raise ImageDecodeError(
                        f"page {frame + 1} does not exist: the {(fmt or 'image').upper()} has {count} page(s)"
                    )
                image.seek(frame)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(
                    f"{subject} is {width}x{height} = {width * height} pixels, "
                    f"over the limit of {max_pixels} pixels"
                )
            if frame == 0 and _plain_png(image):
                return _decode_plain_png(data)
            image.load()
            # in place: without it an image with nothing to transpose is copied (300 MB at 100 MP)
            ImageOps.exif_transpose(image, in_place=True)
    except (ImageTooLargeError, ImageDecodeError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"{subject} rejected as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:  # its message quotes the in-memory stream's repr
        what = (
            f"a complete {fmt.upper()} file"
            if fmt
            else "an image format we read (PNG, JPEG, TIFF, BMP, WebP)"
        )
        raise ImageDecodeError(f"cannot decode image: the data is not {what}") from exc
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError...)
        what = f"{fmt.upper()} " if fmt and frame == 0 else ""
        raise ImageDecodeError(f"cannot decode {what}{subject}: {exc}") from exc
    if image.size[0] < 1 or image.size[1] < 1:
        raise ImageDecodeError(f"{subject} has zero width or height")
    return _to_rgb(image)


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file into an ``(H, W, 3)`` RGB ``uint8`` array (see :func:`decode_image`)."""
    return decode_image(Path(path).read_bytes(), max_pixels=max_pixels)


def _on_black(image: Image.Image) -> Image.Image:
    """``image`` composited onto black when it has transparency (a label/mask image), else as is."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return image


def read_grey(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a label/mask image as a grey ``uint8`` array (RGBA composited onto black).

    ``size`` is ``(width, height)``: the image is resized nearest-neighbour to it if it differs,
    so label values are never blended.
    """
    grey = _on_black(Image.open(path)).convert("L")
    if size is not None and grey.size != tuple(size):
        grey = grey.resize(tuple(size), Image.NEAREST)
    return np.asarray(grey)


def read_mask(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a binary mask image (white or any bright colour = foreground) as a ``bool`` array.

    Modes L, RGB, RGBA and palettes are accepted (RGBA composited onto black); a pixel is
    foreground when its brightest channel is > 127, so white-on-black masks (R3D) and palette
    masks that colour classes in pure hues (the CAD sheets' (128, 0, 0) partitions and (0, 128, 0)
    structural walls, grey 38 and 75) both read right.  ``size`` is ``(width, height)``: the mask
    is resized nearest-neighbour to it if it differs.
    """
    image = _on_black(Image.open(path))
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    if size is not None and image.size != tuple(size):
        image = image.resize(tuple(size), Image.NEAREST)
    array = np.asarray(image)
    return (array.max(axis=2) if array.ndim == 3 else array) > 127


def read_labels(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read an instance-id image (8- or 16-bit grey PNG, e.g. a ``rooms/`` image) as ``int32``.

    ``size`` is ``(width, height)``: the image is resized nearest-neighbour to it if it differs.
    """
    image = Image.open(path)
    if image.mode not in ("L", "I", "I;16", "I;16B", "I;16L"):
        raise ValueError(f"{path}: expected a grey 8- or 16-bit label image, got mode {image.mode}")
    labels = np.asarray(image).astype(np.int32)
    if size is not None and (labels.shape[1], labels.shape[0]) != tuple(size):
        labels = cv2.resize(labels, tuple(size), interpolation=cv2.INTER_NEAREST)
    return labels


def encode_png(array: np.ndarray) -> bytes:
    """Encode a ``uint8`` (H, W), (H, W, 3) array or a ``bool`` mask (white = True) as PNG."""
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write an array as a PNG file (see :func:`encode_png`)."""
    Path(path).write_bytes(encode_png(array))
