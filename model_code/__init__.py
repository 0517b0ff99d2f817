"""Floor-plan vectorization: raster plan -> walls, openings and rooms.

The public in-process API::

    from model_code import Pipeline
    pipeline = Pipeline.load()                 # the bundled model, or Pipeline.load("path/to/checkpoint")
    result = pipeline.analyze_file("plan.png")  # or pipeline.analyze(rgb_array)
    result.document.to_dict()                   # the result document (docs/serving.md)

The packages follow the data flow (``docs/architecture.md``): ``io`` decodes, ``model``
produces wall and opening probabilities, ``geometry`` turns masks into walls, openings and
rooms, ``schema`` holds the records of the result document, ``exports`` draws it, and
``pipeline`` ties them together for ``serving``, ``evaluation``, the CLI and the annotation tool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from model_code.version import __version__

if TYPE_CHECKING:
    from model_code.pipeline import Pipeline, PipelineOptions, PlanResult

__all__ = ["Pipeline", "PipelineOptions", "PlanResult", "__version__"]
_PIPELINE_NAMES = ("Pipeline", "PipelineOptions", "PlanResult")


def __getattr__(name: str) -> Any:
    """``Pipeline`` and friends, imported on first use so ``import model_code.io`` stays light."""
    if name in _PIPELINE_NAMES:
        from model_code import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'model_code' has no attribute {name!r}")
