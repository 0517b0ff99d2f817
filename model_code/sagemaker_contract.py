"""The SageMaker container contract: where things live under ``/opt/ml``.

``SAGEMAKER_BASE_DIR`` stands in for ``/opt/ml`` (tests point it at a temporary directory).
Paths are computed on each call from the environment: no global state.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------- training contract
# Hyperparameter decoding, the failure file and the resource/input-data configs (issue 5).

FAILURE_REASON_LIMIT = 1024  # SageMaker shows the first 1024 characters as FailureReason
SAGEMAKER_RESERVED_PREFIX = "sagemaker_"


def decode_hyperparameter(value: Any) -> Any:
    """Decode one hyperparameter value from any of the SDK's string encodings.

    SageMaker delivers every value as a string, in one of three encodings depending on the
    SDK path: plain (``"True"``, ``"adam"``, ``"3"``), JSON-quoted (``"\\"adam\\""``) or JSON
    (``"true"``, ``"3"``, ``"[1, 2]"``).  Returns the Python value (bool, int, float, str, list).
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text in ("True", "False"):
        return text == "True"
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    if isinstance(decoded, str):
        return decode_hyperparameter(decoded) if decoded != text else decoded
    return decoded


def read_hyperparameters(paths: SageMakerPaths | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(ours, reserved)``: decoded hyperparameters from ``SM_HPS`` or ``hyperparameters.json``.

    ``reserved`` holds the ``sagemaker_*`` names some SDK paths add (the caller logs and skips
    them).  A missing file means no hyperparameters; an unreadable one raises ``ValueError``.
    """
    paths = paths or sagemaker_paths()
    env = os.environ.get("SM_HPS")
    if env:
        source, text = "SM_HPS", env
    elif paths.hyperparameters.is_file():
        source, text = str(paths.hyperparameters), paths.hyperparameters.read_text()
    else:
        return {}, {}
    try:
        raw = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ValueError(f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{source} must hold a JSON object of name -> value, got {type(raw).__name__}")
    decoded = {str(k): decode_hyperparameter(v) for k, v in raw.items()}
    ours = {k: v for k, v in decoded.items() if not k.startswith(SAGEMAKER_RESERVED_PREFIX)}
    reserved = {k: v for k, v in decoded.items() if k.startswith(SAGEMAKER_RESERVED_PREFIX)}
    return ours, reserved


@dataclass(frozen=True)
class ResourceConfig:
    """``resourceconfig.json``: this host and all hosts of the job (names only, never resolved)."""

    current_host: str = "algo-1"
    hosts: tuple[str, ...] = ("algo-1",)

    @property
    def is_leader(self) -> bool:
        """True on the first host (the rendezvous of a multi-host job)."""
        return not self.hosts or self.current_host == self.hosts[0]


def read_resource_config(paths: SageMakerPaths | None = None) -> ResourceConfig:
    """Parse ``resourceconfig.json`` (absent -> one local host). No DNS lookups: nothing can hang."""
    paths = paths or sagemaker_paths()
    if not paths.resource_config.is_file():
        return ResourceConfig()
    try:
        data = json.loads(paths.resource_config.read_text())
    except ValueError as exc:
        raise ValueError(f"{paths.resource_config} is not valid JSON: {exc}") from exc
    hosts = tuple(str(h) for h in data.get("hosts", []) or [])
    current = str(data.get("current_host") or (hosts[0] if hosts else "algo-1"))
    return ResourceConfig(current_host=current, hosts=hosts or (current,))


def read_input_data_config(paths: SageMakerPaths | None = None) -> dict[str, dict[str, Any]]:
    """``inputdataconfig.json``: channel name -> its settings (empty when the file is absent)."""
    paths = paths or sagemaker_paths()
    if not paths.input_data_config.is_file():
        return {}
    try:
        data = json.loads(paths.input_data_config.read_text())
    except ValueError as exc:
        raise ValueError(f"{paths.input_data_config} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{paths.input_data_config} must hold a JSON object of channels")
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in data.items()}


def write_failure(message: str, paths: SageMakerPaths | None = None, details: str = "") -> Path:
    """Write ``/opt/ml/output/failure``: ``message`` first (SageMaker shows 1024 characters), then details."""
    paths = paths or sagemaker_paths()
    paths.output.mkdir(parents=True, exist_ok=True)
    head = message.strip()[:FAILURE_REASON_LIMIT]
    text = head + ("\n\n" + details if details else "") + "\n"
    paths.failure_file.write_text(text)
    return paths.failure_file
