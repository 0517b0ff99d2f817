"""The one image decoder: formats, modes, orientation and safety limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from model_code.io.images import (
    ImageDecodeError,
    ImageTooLargeError,
    decode_image,
    encode_png,
    read_labels,
    read_mask,
    sniff_format,
    write_png,
)


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_png_modes_decode_to_rgb():
    grey = Image.fromarray(np.full((4, 5), 7, np.uint8), "L")
    assert decode_image(_encode(grey, "PNG")).shape == (4, 5, 3)
    palette = grey.convert("P")
    assert decode_image(_encode(palette, "PNG"))[0, 0].tolist() == [7, 7, 7]
    sixteen = Image.fromarray(np.full((3, 3), 65535, np.uint16))
    assert decode_image(_encode(sixteen, "PNG"))[0, 0].tolist() == [255, 255, 255]


def test_transparent_pixels_are_composited_on_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 255)
    out = decode_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert out[0, 0].tolist() == [0, 0, 0]
    assert out[1, 1].tolist() == [255, 255, 255]


def test_jpeg_exif_orientation_is_honoured():
    image = Image.fromarray(np.zeros((10, 20, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    data = _encode(image, "JPEG", exif=exif.tobytes())
    assert sniff_format(data) == "jpeg"
    assert decode_image(data).shape == (20, 10, 3)


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_garbage_is_a_decode_error(data):
    with pytest.raises(ImageDecodeError):
        decode_image(data)


def test_truncated_png_is_a_decode_error():
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)), "PNG")
    with pytest.raises(ImageDecodeError):
        decode_image(data[: len(data) // 2])


def test_pixel_budget_is_checked_before_decoding():
    data = _encode(Image.new("L", (300, 300), 255), "PNG")
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        decode_image(data, max_pixels=300 * 300 - 1)
    assert decode_image(data, max_pixels=300 * 300).shape == (300, 300, 3)


def test_mask_round_trip_and_resize(tmp_path):
    mask = np.zeros((6, 8), bool)
    mask[2:4, 1:7] = True
    path = tmp_path / "m.png"
    path.write_bytes(encode_png(mask))
    assert (read_mask(path) == mask).all()
    assert read_mask(path, size=(16, 12)).shape == (12, 16)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_plain_png_fast_path_equals_pillow(mode):
    """8-bit RGB/grey PNGs go through OpenCV; the pixels are Pillow's, truncation still an error."""
    pixels = np.random.default_rng(1).integers(0, 256, (37, 53, 3), np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    data = _encode(image, "PNG")
    expected = np.asarray(image.convert("RGB"))
    decoded = decode_image(data)
    assert decoded.dtype == np.uint8 and decoded.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(decoded, expected)
    with pytest.raises(ImageDecodeError, match="truncated or corrupt"):
        decode_image(data[:-30])


def test_a_budget_above_pillows_own_guard_applies():
    """MODEL_SERVER_MAX_PIXELS may exceed Pillow's default 89,478,485-pixel bomb guard."""
    width, height = 9500, 9450  # 89.8 MP, just over Pillow's default guard
    buffer = io.BytesIO()
    Image.new("1", (width, height), 1).save(buffer, "PNG")
    data = buffer.getvalue()
    with pytest.raises(ImageTooLargeError, match="over the limit of 89000000 pixels"):
        decode_image(data, max_pixels=89_000_000)
    image = decode_image(data, max_pixels=100_000_000)
    assert image.shape == (height, width, 3)


def test_a_truncated_header_names_no_python_object():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, "PNG")
    for data in (buffer.getvalue()[:30], b"\x00" * 64):
        with pytest.raises(ImageDecodeError) as info:
            decode_image(data)
        assert "BytesIO" not in str(info.value) and " at 0x" not in str(info.value)


def test_read_labels_keeps_16_bit_ids_and_resizes_nearest(tmp_path):
    labels = np.zeros((4, 6), np.uint16)
    labels[1:3, 2:5] = 700  # above 255: needs the 16-bit PNG
    labels[0, 0] = 3
    write_png(tmp_path / "rooms.png", labels)
    read = read_labels(tmp_path / "rooms.png")
    assert read.dtype == np.int32 and np.array_equal(read, labels)
    bigger = read_labels(tmp_path / "rooms.png", (12, 8))
    assert bigger.shape == (8, 12) and set(np.unique(bigger)) == {0, 3, 700}
    write_png(tmp_path / "small.png", labels.astype(np.uint8))
    assert read_labels(tmp_path / "small.png").max() == 700 % 256
    write_png(tmp_path / "rgb.png", np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="label image"):
        read_labels(tmp_path / "rgb.png")


def test_colour_palette_masks_read_every_bright_class(tmp_path):
    """CAD-sheet masks colour partitions (128, 0, 0) and structural walls (0, 128, 0): both are walls."""
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[0, :] = (128, 0, 0)
    rgb[1, :] = (0, 128, 0)
    rgb[2, :] = (255, 255, 255)
    rgb[3, :] = (100, 90, 80)  # dark: background
    Image.fromarray(rgb).save(tmp_path / "palette.png")
    mask = read_mask(tmp_path / "palette.png")
    assert mask.tolist() == [[True] * 6] * 3 + [[False] * 6]
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=4).save(tmp_path / "indexed.png")
    assert read_mask(tmp_path / "indexed.png").tolist() == mask.tolist()
