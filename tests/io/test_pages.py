"""Pages of PDFs and multi-page TIFFs (model_code.io.pages)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from model_code.io.images import ImageDecodeError, ImageTooLargeError, decode_image
from model_code.io.pages import (
    MAX_PDF_DPI,
    PDF_DPI,
    PageNotFoundError,
    decode_page,
    decode_pages,
    page_count,
    read_page,
    read_single_page,
    render_pdf_page,
)
from tests.io.documents import multipage_tiff, scanned_pdf, vector_pdf


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


def test_vector_pdf_pages_render_their_drawing_at_the_chosen_dpi():
    data = vector_pdf([(144, 72), (216, 144)])  # 2 x 1 inch, 3 x 2 inches
    assert page_count(data) == 2
    assert PDF_DPI == 150
    first = render_pdf_page(data, 0)
    assert first.shape == (150, 300, 3)
    second = render_pdf_page(data, 1, dpi=100)
    assert second.shape == (200, 300, 3)
    dark = second.min(axis=2) < 128
    # the room outline: 15 % of the short side in from each edge (30 px at 100 dpi), 6 pt wide
    assert dark[100, 28:33].any() and dark[100, 268:273].any() and dark[100, 150]
    assert not dark[100, 5:20].any() and dark.mean() < 0.2
    assert np.array_equal(decode_page(data, 1, dpi=100), second)
    assert [page.shape for page in decode_pages(data, dpi=72)] == [(72, 144, 3), (144, 216, 3)]


@pytest.mark.parametrize("dpi", [0, -5, float("nan"), float("inf"), MAX_PDF_DPI + 1, "high"])
def test_impossible_pdf_resolutions_are_refused(dpi):
    with pytest.raises(ImageDecodeError, match="dpi"):
        render_pdf_page(vector_pdf([(72, 72)]), 0, dpi=dpi)


def test_the_pixel_budget_lowers_the_resolution_of_a_page_and_read_page_reports_it():
    data = vector_pdf([(720, 360)])  # 10 x 5 inches: 1500 x 750 at 150 dpi
    page = read_page(data, 1, max_pixels=200_000)
    assert page.image.shape[0] * page.image.shape[1] <= 200_000
    assert page.dpi == pytest.approx(page.image.shape[1] / 10, abs=0.01) and page.dpi < 150
    assert (page.number, page.count, page.paged) == (1, 1, True)


def test_read_page_numbers_pages_from_one_and_names_the_count_when_out_of_range():
    tiff = multipage_tiff([np.full((20, 30, 3), v, np.uint8) for v in (10, 120, 250)])
    page = read_page(tiff, 3)
    assert (page.number, page.count, page.paged, page.dpi) == (3, 3, True, None)
    assert int(page.image[0, 0, 0]) == 250
    png = io.BytesIO()
    grey(90).save(png, format="PNG")
    single = read_page(png.getvalue())
    assert (single.number, single.count, single.paged) == (1, 1, False)
    cases = [
        (tiff, 4, 3, "the TIFF has 3 pages"),
        (scanned_pdf([np.zeros((8, 8, 3), np.uint8)]), 2, 1, "PDF"),
    ]
    cases.append((png.getvalue(), 2, 1, "the image has one page"))
    for data, number, count, message in cases:
        with pytest.raises(PageNotFoundError, match=message) as info:
            read_page(data, number)
        assert (info.value.number, info.value.count) == (number, count)
        assert isinstance(info.value, ImageDecodeError)  # callers that only know decode errors still catch it


def test_scanned_pdf_pages_keep_their_pixels_at_the_scan_resolution():
    page = np.zeros((60, 90, 3), np.uint8)
    page[20:40, 30:60] = 255
    rendered = read_page(scanned_pdf([page, page], resolution=150), 2)
    assert rendered.image.shape == (60, 90, 3) and rendered.count == 2
    assert rendered.image[30, 45].min() > 200 and rendered.image[5, 5].max() < 50


def test_dataset_images_must_be_one_page(tmp_path):
    one = tmp_path / "one.tif"
    one.write_bytes(multipage_tiff([np.full((20, 30, 3), 7, np.uint8)]))
    assert read_single_page(one).shape == (20, 30, 3)
    many = tmp_path / "many.tif"
    many.write_bytes(multipage_tiff([np.zeros((20, 30, 3), np.uint8)] * 2))
    with pytest.raises(ImageDecodeError, match="2 pages"):
        read_single_page(many)
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(vector_pdf([(72, 72)]))
    with pytest.raises(ImageDecodeError, match="PDF cannot be a dataset image"):
        read_single_page(pdf)
    with pytest.raises(ImageDecodeError, match="read_page"):
        decode_image(pdf.read_bytes())
