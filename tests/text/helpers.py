"""What the text tests share: the mark that skips a test when the OCR models are not installed."""

from __future__ import annotations

import pytest

from model_code.text import engine_available

needs_engine = pytest.mark.skipif(
    not engine_available(), reason="OCR models not installed (requirements-text.txt)"
)
