"""Pages of PDFs and multi-page TIFFs (model_code.io.pages)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from model_code.io.images import ImageDecodeError, ImageTooLargeError, decode_image
from model_code.io.pages import decode_page, decode_pages, page_count


def grey(value: int, width: int = 60, height: int = 40) -> Image.Image:
    return Image.fromarray(np.full((height, width, 3), value, np.uint8))


def tiff_of(*pages: Image.Image) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=list(pages[1:]))
    return buffer.getvalue()


def test_single_images_are_one_page_decoded_as_before():
    png = io.BytesIO()
    grey(90).save(png, format="PNG")
    assert page_count(png.getvalue()) == 1
    assert np.array_equal(decode_page(png.getvalue(), 0), decode_image(png.getvalue()))
    with pytest.raises(ImageDecodeError, match="one page"):
        decode_page(png.getvalue(), 1)


def test_tiff_pages_in_order_with_the_pixel_budget():
    data = tiff_of(grey(10), grey(200, 80, 50))
    assert page_count(data) == 2
    first, second = decode_pages(data)
    assert np.array_equal(first, decode_image(data))
    assert second.shape == (50, 80, 3) and int(second[0, 0, 0]) == 200
    with pytest.raises(ImageTooLargeError):
        decode_page(data, 1, max_pixels=3000)
    with pytest.raises(ImageDecodeError, match="2 page"):
        decode_page(data, 2)


def test_pdf_pages_render_at_150_dpi_on_white():
    buffer = io.BytesIO()
    grey(0, 150, 75).save(buffer, format="PDF", save_all=True, append_images=[grey(255)], resolution=150)
    data = buffer.getvalue()
    assert page_count(data) == 2
    first, second = decode_pages(data)
    assert first.shape == (75, 150, 3) and first.max() < 10
    assert second.shape == (40, 60, 3) and second.min() > 245


def test_broken_pdfs_are_decode_errors():
    with pytest.raises(ImageDecodeError, match="PDF"):
        page_count(b"%PDF-1.7 ...")
    with pytest.raises(ImageDecodeError, match="PDF"):
        decode_page(b"%PDF-1.7 ...", 0)
    with pytest.raises(ImageDecodeError):
        page_count(b"")
