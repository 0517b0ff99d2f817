"""Fixtures of the training tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def training_logger_restored() -> Iterator[None]:
    """Undo ``training.cli.setup_logging`` after each test (it stops propagation, which hides records
    from ``caplog`` in the tests that run later, whatever their order)."""
    log = logging.getLogger("model_code.training")
    saved = (list(log.handlers), log.level, log.propagate)
    yield
    log.handlers[:], log.level, log.propagate = saved
