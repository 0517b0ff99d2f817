"""The plan's own words: OCR, room names, dimensions, areas and the scale (docs/text.md).

``engine`` reads text lines (PP-OCRv4 detection and recognition on ONNX Runtime, one reader per
process), ``parse`` says what a line means (dimensions, areas, drawing scales, names), ``scale``
combines the measurements into one robust pixels-per-metre estimate, ``annotate`` puts it all into
the result document.  Between ``model`` and ``pipeline``: imports io, schema and geometry only.
"""

from model_code.text.annotate import annotate_document, read_text, suppress_text_strokes
from model_code.text.engine import TextBox, TextEngineMissing, TextReader, engine_available, shared_reader

__all__ = [
    "TextBox",
    "TextEngineMissing",
    "TextReader",
    "annotate_document",
    "engine_available",
    "read_text",
    "shared_reader",
    "suppress_text_strokes",
]
