"""Bytes in and out: the one image decoder (:mod:`~model_code.io.images`) and atomic file writes
(:mod:`~model_code.io.files`).

Every stage that reads a plan (serving, the CLI, datasets, evaluation, annotation) decodes it
through :func:`model_code.io.images.decode_image`; PDFs and multi-page TIFFs are read page by
page through :mod:`~model_code.io.pages` (``read_page``), which renders PDFs with PDFium.
This package imports nothing else from ``model_code``.
"""
