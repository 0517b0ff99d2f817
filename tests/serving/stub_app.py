"""The serving app with a stub pipeline, for load, timeout and readiness tests against real gunicorn.

``python -m gunicorn --config container/gunicorn.conf.py "tests.serving.stub_app:create_app()"``
runs the real gunicorn settings and Flask app; only the model is replaced:

* the analysis sleeps ``width / 100`` seconds (a 50 px wide image: 0.5 s), in steps of at most
  ``STAGE_S``, calling ``between_stages`` after each step like the real pipeline does between its
  stages; a sleep stands for a C call that cannot be interrupted;
* loading takes ``STUB_LOAD_S`` seconds, a comma-separated list: the n-th worker to start (claimed
  with files in ``STUB_CLAIM_DIR``) takes the n-th value, later ones the last value.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

import numpy as np
from flask import Flask

from model_code.pipeline import Pipeline, PipelineOptions, PlanResult
from model_code.serving.app import create_app as serving_app
from model_code.serving.config import ServingConfig

STAGE_S = 0.5


class SleepyPipeline(Pipeline):
    """Sleeps instead of running a model; answers the OpenCV baseline's result on a corner of the plan."""

    def analyze(
        self,
        image: np.ndarray,
        options: PipelineOptions | None = None,
        between_stages: Callable[[], None] | None = None,
    ) -> PlanResult:
        seconds = image.shape[1] / 100
        steps = max(1, math.ceil(seconds / STAGE_S))
        for _ in range(steps):
            time.sleep(seconds / steps)
            if between_stages is not None:
                between_stages()
        return super().analyze(np.ascontiguousarray(image[:32, :32]), PipelineOptions(backend="opencv"))


def _claim_index() -> int:
    """0 for the first worker to start, 1 for the next, ... (exclusive file creation)."""
    claim_dir = Path(os.environ.get("STUB_CLAIM_DIR", "/nonexistent"))
    if not claim_dir.is_dir():
        return 0
    for index in count():
        try:
            (claim_dir / f"worker-{index}").open("x").write(str(os.getpid()))
            return index
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def load() -> Pipeline:
    """The stub 'model load': sleeps this worker's share of ``STUB_LOAD_S``."""
    delays = [float(v) for v in os.environ.get("STUB_LOAD_S", "0.2").split(",")]
    time.sleep(delays[min(_claim_index(), len(delays) - 1)])
    return SleepyPipeline(None)


def create_app() -> Flask:
    """The serving app from the environment's configuration, with the stub pipeline."""
    return serving_app(ServingConfig.from_env(), loader=load)
