"""Pages of a document: a multi-page TIFF or a PDF as one RGB ``uint8`` array per page.

:func:`page_count` reads how many pages a body holds (1 for every single-image format),
:func:`decode_page` decodes one of them (0-based) and :func:`read_page` one by its number (1-based)
with the page's number, count and rendering resolution, so a caller can walk a long document page
by page without holding every page in memory.  The first page of a TIFF (and any single image) is
exactly what :func:`model_code.io.images.decode_image` returns.  A page that does not exist is a
:class:`PageNotFoundError` naming the document's page count.

PDF pages (vector drawings and scans alike) are rendered by :func:`render_pdf_page` with PDFium
(``pypdfium2``) at ``dpi`` (default :data:`PDF_DPI`, 150), on white; when a page at that resolution
would exceed the pixel budget the resolution is lowered to fit it.  This module only renders at the
resolution it is given: choosing it (from the drawing's scale, later) is the caller's job
(``model_code.pipeline.pdf_render_dpi``).  PDFium is not thread-safe: every call into it holds one
module lock.

Renderer and licence: pypdfium2 is Apache-2.0 or BSD-3-Clause and bundles PDFium (BSD-3-Clause,
Apache-2.0 for parts), so the image we sell carries permissive licences only.  PyMuPDF renders as
well but is AGPL-3.0 (or a commercial licence): shipping it in a commercial image would put the
image under the AGPL, so it is not used.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from model_code.io.images import (
    DEFAULT_MAX_PIXELS,
    ImageDecodeError,
    ImageTooLargeError,
    decode_image,
    sniff_format,
)

PDF_DPI = 150  # the default resolution; model_code.pipeline.pdf_render_dpi chooses the one used
MAX_PDF_DPI = 1200  # a larger dpi is refused (the pixel budget would cap it anyway)
PAGED_FORMATS = ("pdf", "tiff")
_PDFIUM_LOCK = threading.Lock()


class PageNotFoundError(ImageDecodeError):
    """The document has no page ``number`` (1-based): it holds ``count`` page(s)."""

    def __init__(self, number: int, count: int, kind: str | None):
        what = {"pdf": "the PDF", "tiff": "the TIFF"}.get(kind or "", "the image")
        pages = "one page" if count == 1 else f"{count} pages"
        super().__init__(f"page {number} does not exist: {what} has {pages}")
        self.number = number
        self.count = count


@dataclass(frozen=True)
class Page:
    """One decoded page and where it sits in its document.

    ``count`` is the document's page count (1 for a single image); ``paged`` says whether the body
    is a PDF or TIFF (whose result documents carry the page); ``dpi`` is the resolution a PDF page
    was rendered at (after fitting the pixel budget), ``None`` for raster images.
    """

    image: np.ndarray
    number: int
    count: int
    paged: bool
    dpi: float | None = None


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


def decode_page(
    data: bytes, index: int, max_pixels: int = DEFAULT_MAX_PIXELS, dpi: float = PDF_DPI
) -> np.ndarray:
    """Decode page ``index`` (0-based) of ``data`` into an ``(H, W, 3)`` RGB ``uint8`` array.

    ``dpi`` is the resolution of a PDF page (see :func:`render_pdf_page`); raster pages ignore it.

    Raises:
        PageNotFoundError: ``index`` out of range (an :class:`ImageDecodeError`).
        ImageDecodeError: undecodable data or page.
        ImageTooLargeError: a TIFF page over ``max_pixels`` (PDF pages are rendered to fit it).
    """
    return read_page(data, index + 1, max_pixels, dpi).image


def read_page(
    data: bytes, number: int = 1, max_pixels: int = DEFAULT_MAX_PIXELS, dpi: float = PDF_DPI
) -> Page:
    """Page ``number`` (1-based) of ``data`` with its number, the page count and its resolution.

    Any single image has exactly page 1.  Errors as :func:`decode_page`.
    """
    if not data:
        raise ImageDecodeError("empty request body: expected image bytes")
    fmt = sniff_format(data)
    if fmt == "pdf":
        rgb, used_dpi, count = _render_pdf(data, number - 1, dpi, max_pixels)
        return Page(rgb, number, count, paged=True, dpi=used_dpi)
    count = page_count(data) if fmt == "tiff" else 1
    if not 1 <= number <= count:
        raise PageNotFoundError(number, count, fmt)
    image = decode_image(data, max_pixels=max_pixels, frame=number - 1)
    return Page(image, number, count, paged=fmt == "tiff")


def read_single_page(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An image file that must be exactly one page (dataset images): a PDF or a TIFF of several
    pages is an :class:`ImageDecodeError` saying so, since its ground truth cannot say which page
    (or, for a PDF, which resolution) it was drawn on."""
    data = Path(path).read_bytes()
    fmt = sniff_format(data)
    if fmt == "pdf":
        raise ImageDecodeError(
            "a PDF cannot be a dataset image: render the annotated page to PNG at the resolution "
            "of its annotation first"
        )
    if fmt == "tiff" and (count := page_count(data)) > 1:
        raise ImageDecodeError(
            f"the TIFF has {count} pages; a dataset image must be one page: save the annotated page "
            "as its own image"
        )
    return decode_image(data, max_pixels=max_pixels)


def decode_pages(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, dpi: float = PDF_DPI
) -> Iterator[np.ndarray]:
    """Every page of ``data`` in order, decoded one at a time (see :func:`decode_page`)."""
    for index in range(page_count(data)):
        yield decode_page(data, index, max_pixels, dpi)


def render_pdf_page(
    data: bytes, index: int, dpi: float = PDF_DPI, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Render PDF page ``index`` (0-based) at ``dpi``, or lower so it stays within ``max_pixels``.

    Raises:
        PageNotFoundError: no such page.
        ImageDecodeError: not a readable PDF, or ``dpi`` not in ``(0, MAX_PDF_DPI]``.
        ImageTooLargeError: the page cannot fit ``max_pixels`` at any useful resolution.
    """
    return _render_pdf(data, index, dpi, max_pixels)[0]


def _open_pdf(data: bytes):  # -> pypdfium2.PdfDocument (call with the lock held)
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ImageDecodeError(f"cannot read PDF: {exc}") from exc


def _render_pdf(data: bytes, index: int, dpi: float, max_pixels: int) -> tuple[np.ndarray, float, int]:
    """Render one PDF page: ``(RGB, the dpi it was rendered at, the PDF's page count)``."""
    import pypdfium2 as pdfium

    try:
        valid = math.isfinite(float(dpi)) and 0 < float(dpi) <= MAX_PDF_DPI
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ImageDecodeError(f"PDF resolution must be a number of dpi in (0, {MAX_PDF_DPI}], got {dpi!r}")
    with _PDFIUM_LOCK, _open_pdf(data) as pdf:
        count = len(pdf)
        if not 0 <= index < count:
            if count < 1:
                raise ImageDecodeError("PDF has no pages")
            raise PageNotFoundError(index + 1, count, "pdf")
        try:
            page = pdf[index]
            try:
                width_pt, height_pt = page.get_size()
                if width_pt <= 0 or height_pt <= 0:
                    raise ImageDecodeError(f"PDF page {index + 1} has zero width or height")
                scale = float(dpi) / 72.0
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
    return rgb, rgb.shape[1] / width_pt * 72.0, count
