"""The vector export formats by name and media type, and :func:`export_document`, the one entry point.

* ``svg``: ``image/svg+xml``, ``.svg``, :mod:`~model_code.exports.svg`;
* ``geojson``: ``application/geo+json`` (also ``application/vnd.geo+json``, its name before
  RFC 7946), ``.geojson``, :mod:`~model_code.exports.geojson`;
* ``dxf``: ``application/dxf`` (also ``image/vnd.dxf``, the IANA registration), ``.dxf``,
  :mod:`~model_code.exports.dxf`.

The format modules are imported when first used, so importing this one (the server does, for
content negotiation) costs nothing; ezdxf is loaded with the first DXF.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from model_code.schema import Annotation, ResultDocument


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its name, media type, the other media types it answers to, its file suffix."""

    name: str
    media_type: str
    aliases: tuple[str, ...]
    suffix: str
    module: str
    function: str


FORMATS = {
    "svg": ExportFormat("svg", "image/svg+xml", (), ".svg", "svg", "to_svg"),
    "geojson": ExportFormat(
        "geojson", "application/geo+json", ("application/vnd.geo+json",), ".geojson", "geojson", "to_geojson"
    ),
    "dxf": ExportFormat("dxf", "application/dxf", ("image/vnd.dxf",), ".dxf", "dxf", "to_dxf"),
}
# every media type an export answers to -> its format name
MEDIA_TYPES = {
    media_type: fmt.name for fmt in FORMATS.values() for media_type in (fmt.media_type, *fmt.aliases)
}


def export_document(
    document: ResultDocument | Annotation, fmt: str, metres_per_pixel: float | None = None
) -> bytes:
    """The document in format ``fmt`` (a name of :data:`FORMATS` or one of its media types), as bytes.

    Raises:
        ValueError: an unknown format, a document without its image size, or a bad
            ``metres_per_pixel``.

    ``metres_per_pixel`` defaults to the document's ``scale`` when it has one (pixels otherwise).
    """
    name = MEDIA_TYPES.get(fmt, fmt)
    if name not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; known: {sorted(FORMATS)}")
    chosen = FORMATS[name]
    scale = getattr(document, "scale", None)
    if metres_per_pixel is None and scale is not None:  # the document's own scale (text or option)
        metres_per_pixel = scale.metres_per_pixel
    function = getattr(import_module(f"model_code.exports.{chosen.module}"), chosen.function)
    body = function(document, metres_per_pixel)
    return body.encode("utf-8") if isinstance(body, str) else body
