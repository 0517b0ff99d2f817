"""Tiny documents for the input tests: vector PDFs written by hand, scanned PDFs and multi-page TIFFs
made with Pillow (shared by tests/io, tests/serving and tests/container)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image


def plan_drawing(width_pt: float, height_pt: float, wall_pt: float = 6.0) -> str:
    """A PDF content stream: a room outline and one inner wall, stroked black ``wall_pt`` wide."""
    m = 0.15 * min(width_pt, height_pt)
    x0, y0, x1, y1 = m, m, width_pt - m, height_pt - m
    mid = (x0 + x1) / 2
    return f"0 G {wall_pt} w {x0} {y0} m {x1} {y0} l {x1} {y1} l {x0} {y1} l h S {mid} {y0} m {mid} {y1} l S"


def vector_pdf(pages: Sequence[tuple[float, float]]) -> bytes:
    """A PDF of vector pages (no image inside), each ``(width, height)`` in points with a
    :func:`plan_drawing`; written object by object with an exact cross-reference table."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
    ]
    for i, (width, height) in enumerate(pages):
        bodies.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
            f"/Contents {4 + 2 * i} 0 R /Resources << >> >>".encode()
        )
        stream = plan_drawing(width, height).encode()
        bodies.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def scanned_pdf(pages: Sequence[np.ndarray], resolution: float = 150) -> bytes:
    """A PDF whose pages are the RGB arrays as images at ``resolution`` dpi (what a scanner writes)."""
    first, *rest = [Image.fromarray(page) for page in pages]
    buffer = io.BytesIO()
    first.save(buffer, format="PDF", save_all=True, append_images=rest, resolution=resolution)
    return buffer.getvalue()


def multipage_tiff(pages: Sequence[np.ndarray]) -> bytes:
    """A TIFF holding the RGB arrays as its pages, in order."""
    first, *rest = [Image.fromarray(page) for page in pages]
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=rest)
    return buffer.getvalue()
