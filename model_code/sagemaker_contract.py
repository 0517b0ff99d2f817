"""The SageMaker container contract: where things live under ``/opt/ml``.

``SAGEMAKER_BASE_DIR`` stands in for ``/opt/ml`` (tests point it at a temporary directory).
Paths are computed on each call from the environment: no global state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASE_DIR = "/opt/ml"


@dataclass(frozen=True)
class SageMakerPaths:
    """The directories and files of the SageMaker container layout."""

    base: Path

    @property
    def model(self) -> Path:
        """Where training writes the model and serving reads it (``/opt/ml/model``)."""
        return Path(os.environ.get("SM_MODEL_DIR", self.base / "model"))

    @property
    def input_config(self) -> Path:
        """``/opt/ml/input/config``: hyperparameters.json, inputdataconfig.json, resourceconfig.json."""
        return self.base / "input" / "config"

    @property
    def hyperparameters(self) -> Path:
        return self.input_config / "hyperparameters.json"

    @property
    def input_data_config(self) -> Path:
        return self.input_config / "inputdataconfig.json"

    @property
    def resource_config(self) -> Path:
        return self.input_config / "resourceconfig.json"

    def channel(self, name: str) -> Path:
        """Directory of input channel ``name`` (``SM_CHANNEL_<NAME>`` wins when set)."""
        env = os.environ.get(f"SM_CHANNEL_{name.upper()}")
        return Path(env) if env else self.base / "input" / "data" / name

    @property
    def output(self) -> Path:
        """``/opt/ml/output``: the failure file and output data."""
        return self.base / "output"

    @property
    def failure_file(self) -> Path:
        return self.output / "failure"

    @property
    def output_data(self) -> Path:
        return Path(os.environ.get("SM_OUTPUT_DATA_DIR", self.output / "data"))

    @property
    def checkpoints(self) -> Path:
        """``/opt/ml/checkpoints``: synced to S3 for spot-instance resume."""
        return self.base / "checkpoints"


def sagemaker_paths() -> SageMakerPaths:
    """The layout rooted at ``$SAGEMAKER_BASE_DIR`` (default ``/opt/ml``)."""
    return SageMakerPaths(Path(os.environ.get("SAGEMAKER_BASE_DIR", DEFAULT_BASE_DIR)))
