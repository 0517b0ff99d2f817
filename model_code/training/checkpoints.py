"""Resume state for training runs (spot instances, kills, time budgets).

A checkpoint directory holds ``training_state.pt`` (weights, optimiser, scheduler, scaler,
epoch counter, history, early-stopping counters), written atomically after every epoch and
on SIGTERM, and ``best/``: the best model so far in the serving format
(:func:`model_code.model.checkpoint.save_model`).

The state holds tensors and plain data only (dicts, lists, tuples, str, int, float, bool, None) and
is read with ``torch.load(weights_only=True)``: SageMaker syncs the checkpoint folder from S3, so a
crafted file must not be able to run code in the job.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model_code.model.checkpoint import ModelSpec

STATE_FILE = "training_state.pt"
BEST_DIR = "best"
EPOCHS_DIR = "epochs"
EPOCH_PREFIX = "epoch-"  # epoch N's kept model: <checkpoint-dir>/epochs/epoch-NNN


class ResumeError(RuntimeError):
    """A checkpoint exists but cannot continue this run (other model spec or recipe, corrupt file)."""


@dataclass
class TrainingState:
    """What a run needs to continue where it stopped."""

    epoch: int  # epochs completed
    spec: dict[str, Any]
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any] | None = None
    best_score: float = -1.0
    best_epoch: int = 0
    best_metrics: dict[str, float] = field(default_factory=dict)
    stale_epochs: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    elapsed_s: float = 0.0
    finished: bool = False
    recipe: dict[str, Any] = field(default_factory=dict)  # the settings it was started with (resume_recipe)


def state_path(directory: str | Path) -> Path:
    """The state file inside a checkpoint directory."""
    return Path(directory) / STATE_FILE


def best_dir(directory: str | Path) -> Path:
    """The best-so-far model inside a checkpoint directory."""
    return Path(directory) / BEST_DIR


def epoch_dir(directory: str | Path, epoch: int) -> Path:
    """Where ``--keep-epoch-models`` keeps epoch ``epoch``'s model inside a checkpoint directory."""
    return Path(directory) / EPOCHS_DIR / f"{EPOCH_PREFIX}{epoch:03d}"


def kept_epochs(directory: str | Path) -> dict[int, Path]:
    """Epoch number -> model folder of every epoch ``--keep-epoch-models`` kept in a checkpoint directory."""
    root = Path(directory) / EPOCHS_DIR
    kept = {}
    for path in sorted(root.glob(f"{EPOCH_PREFIX}*")) if root.is_dir() else []:
        number = path.name.removeprefix(EPOCH_PREFIX)
        if path.is_dir() and number.isdigit():
            kept[int(number)] = path
    return kept


def save_state(directory: str | Path, state: TrainingState) -> Path:
    """Write ``state`` atomically (a kill mid-write leaves the previous state intact)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = state_path(directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{STATE_FILE}.")
    os.close(fd)
    try:
        torch.save(plain_data(asdict(state)), tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def load_state(
    directory: str | Path,
    spec: ModelSpec,
    recipe: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
) -> TrainingState | None:
    """The saved state for a run of ``spec`` with ``recipe``, or None when the directory has none.

    Raises :class:`ResumeError` when the state belongs to a different network, or to a run started
    with another recipe (:func:`resume_recipe`; a state written before recipes were kept has none and
    resumes as before): its optimiser and schedule would silently replace what this run asks for.
    ``defaults`` are the settings' default values: a setting added since the state was written is
    missing from its recipe, and that run ran with the default.
    """
    path = state_path(directory)
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in str(exc):
            raise ResumeError(
                f"refusing to load training state {path}: it holds more than tensors and plain data"
                f"{_unsafe_detail(str(exc))}, and loading it in full could run code. "
                "Delete it (or use another checkpoint directory) to start afresh."
            ) from None
        raise ResumeError(f"cannot read training state {path}: {exc}") from exc
    try:
        state = TrainingState(**data)
    except Exception as exc:
        raise ResumeError(f"cannot read training state {path}: {exc}") from exc
    if _spec_key(state.spec) != _spec_key(asdict(spec)):
        raise ResumeError(
            f"{path} was written for a different network ({state.spec}); this run builds {asdict(spec)}. "
            "Use another checkpoint directory or delete it to start afresh."
        )
    if recipe is not None and state.recipe:
        saved, asked = _comparable({**(defaults or {}), **state.recipe}), _comparable(recipe)
        changed = [key for key in sorted(set(saved) | set(asked)) if saved.get(key) != asked.get(key)]
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} there, {asked.get(k)!r} here" for k in changed)
            raise ResumeError(
                f"{path} belongs to a run started with other settings ({details}); resuming would continue "
                "that run's optimiser and schedule, not this one's. Run again with its settings to resume, "
                "or use another checkpoint directory (or delete it) to start afresh."
            )
    return state


# Settings a resumed run may change: where things go, how the machine runs it, when it stops.
RESUMABLE_SETTINGS = frozenset(
    {
        "data",
        "validation",
        "out",
        "checkpoint_dir",
        "output_dir",
        "epochs",
        "time_budget_minutes",
        "early_stopping_patience",
        "keep_epoch_models",
        "num_workers",
        "threads",
        "device",
        "amp",
        "model_name",
        "model_version",
    }
)


def resume_recipe(settings: dict[str, Any]) -> dict[str, Any]:
    """The part of a run's settings (``TrainConfig.to_dict()``) that a resumed run must repeat.

    Everything but :data:`RESUMABLE_SETTINGS`: data selection, network, optimiser, schedule, crops,
    augmentation, seed.  A run may be resumed with more epochs or another time budget.
    """
    return {key: value for key, value in settings.items() if key not in RESUMABLE_SETTINGS}


def _comparable(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe as JSON gives it back (``TrainConfig.to_dict()`` is JSON-able): tuples as lists."""
    return json.loads(json.dumps(recipe))


def _unsafe_detail(message: str) -> str:
    """`` (global posix.system)`` from torch's weights-only refusal (without its advice to load in full)."""
    found = re.search(r"GLOBAL (\S+)", message)
    if found:
        return f" (global {found.group(1)})"
    found = re.search(r"Unsupported [^\n.]*", message)
    return f" ({found.group(0)})" if found else ""


def plain_data(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays turned into Python numbers and tensors, recursively.

    What :func:`save_state` writes must load with ``torch.load(weights_only=True)``, which accepts
    tensors, dicts, lists, tuples, str, int, float, bool and None but no NumPy objects.
    """
    if isinstance(value, dict):
        return {plain_data(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [plain_data(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _spec_key(spec: dict[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in spec.items()))
