"""Pages of a document: a multi-page TIFF or a PDF as one RGB ``uint8`` array per page.

:func:`page_count` reads how many pages a body holds (1 for every single-image format) and
:func:`decode_page` decodes one of them, so a caller can walk a long document page by page
without holding every page in memory.  The first page of a TIFF (and any single image) is
exactly what :func:`model_code.io.images.decode_image` returns.

PDF pages are rendered with PDFium (``pypdfium2``) at a fixed :data:`PDF_DPI`, on white; when a
page at that resolution would exceed the pixel budget the scale is lowered to fit it.  Choosing
the resolution from the drawing's scale is left to a later issue.  PDFium is not thread-safe:
every call into it holds one module lock.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator

import numpy as np
from PIL import Image

from model_code.io.images import (
    DEFAULT_MAX_PIXELS,
    ImageDecodeError,
    ImageTooLargeError,
    decode_image,
    sniff_format,
)

PDF_DPI = 150  # fixed for now; a later issue chooses it from the drawing's scale
PAGED_FORMATS = ("pdf", "tiff")
_PDFIUM_LOCK = threading.Lock()


def page_count(data: bytes) -> int:
    """How many pages ``data`` holds: a PDF's or a TIFF's page count, 1 for any other image.

    Raises:
        ImageDecodeError: empty data, or a PDF or TIFF whose pages cannot be read.
    """
    if not data:
        raise ImageDecodeError("empty request body: expected image bytes")
    fmt = sniff_format(data)
    if fmt == "pdf":
        with _PDFIUM_LOCK, _open_pdf(data) as pdf:
            count = len(pdf)
        if count < 1:
            raise ImageDecodeError("PDF has no pages")
        return count
    if fmt == "tiff":
        try:
            with Image.open(io.BytesIO(data)) as image:
                return max(1, int(getattr(image, "n_frames", 1)))
        except Exception as exc:  # Pillow raises many types for broken TIFF directories
            raise ImageDecodeError(f"cannot read TIFF pages: {exc}") from exc
    return 1


def decode_page(data: bytes, index: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode page ``index`` (0-based) of ``data`` into an ``(H, W, 3)`` RGB ``uint8`` array.

    Raises:
        ImageDecodeError: undecodable data or page, or ``index`` out of range.
        ImageTooLargeError: a TIFF page over ``max_pixels`` (PDF pages are rendered to fit it).
    """
    fmt = sniff_format(data)
    if fmt == "pdf":
        return _render_pdf_page(data, index, max_pixels)
    if index and fmt != "tiff":
        raise ImageDecodeError(f"page {index + 1} does not exist: the image has one page")
    return decode_image(data, max_pixels=max_pixels, frame=index)


def decode_pages(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[np.ndarray]:
    """Every page of ``data`` in order, decoded one at a time (see :func:`decode_page`)."""
    for index in range(page_count(data)):
        yield decode_page(data, index, max_pixels)


def _open_pdf(data: bytes):  # -> pypdfium2.PdfDocument (call with the lock held)
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ImageDecodeError(f"cannot read PDF: {exc}") from exc


def _render_pdf_page(data: bytes, index: int, max_pixels: int) -> np.ndarray:
    """Render one PDF page at :data:`PDF_DPI`, or lower so it stays within ``max_pixels``."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK, _open_pdf(data) as pdf:
        if not 0 <= index < len(pdf):
            raise ImageDecodeError(f"page {index + 1} does not exist: the PDF has {len(pdf)} page(s)")
        try:
            page = pdf[index]
            try:
                width_pt, height_pt = page.get_size()
                if width_pt <= 0 or height_pt <= 0:
                    raise ImageDecodeError(f"PDF page {index + 1} has zero width or height")
                scale = PDF_DPI / 72.0
                # The rendered size is rounded up: keep a margin of one pixel on each side.
                while math.ceil(width_pt * scale) * math.ceil(height_pt * scale) > max_pixels:
                    fit = math.sqrt(max_pixels / ((width_pt + 1) * (height_pt + 1) * scale * scale))
                    scale *= min(fit, 0.99)
                    if scale * max(width_pt, height_pt) < 1:
                        raise ImageTooLargeError(
                            f"PDF page {index + 1} cannot be rendered within {max_pixels} pixels"
                        )
                # PDFium rounds the size up: 160.0000001 pixels would be 161, so snap to the nearest.
                snapped = (max(1, round(width_pt * scale)) - 1e-3) / width_pt
                if math.ceil(width_pt * snapped) * math.ceil(height_pt * snapped) <= max_pixels:
                    scale = snapped
                bitmap = page.render(scale=scale, rev_byteorder=True)
                rgb = np.array(bitmap.to_numpy()[:, :, :3], dtype=np.uint8, copy=True)
            finally:
                page.close()
        except (ImageDecodeError, ImageTooLargeError):
            raise
        except pdfium.PdfiumError as exc:
            raise ImageDecodeError(f"cannot render PDF page {index + 1}: {exc}") from exc
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ImageDecodeError(f"PDF page {index + 1} rendered to an empty image")
    return rgb
