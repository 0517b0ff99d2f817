"""The one training configuration and its hyperparameter names.

:class:`TrainConfig` is filled from the ``floorplan train`` command line or from SageMaker
hyperparameters.  A hyperparameter's name is its field name with ``-`` or ``_`` (so the
customers' ``batch-size`` and ``learning-rate`` and the issue's ``encoder_weights`` and
``init_checkpoint`` all work); unknown names are an error.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from model_code.datasets.augment import AUGMENT_LEVELS
from model_code.model.checkpoint import MAX_NATIVE_UP_TO
from model_code.synth.styles import ALL_STYLES

ENCODER_WEIGHTS = ("none", "imagenet")
SCHEDULERS = ("cosine", "cosine-budget", "plateau")
ROOM_TYPE_MODES = ("auto", "yes", "no")
MONITORS = ("val_mean_iou", "val_iou", "val_opening_iou", "val_type_miou")
# Paths are not hyperparameters: on SageMaker they come from the container layout.
PATH_FIELDS = ("data", "validation", "out", "checkpoint_dir", "output_dir")


def _help(text: str) -> dict[str, str]:
    return {"help": text}


class ConfigError(ValueError):
    """A hyperparameter or option has an unknown name or an invalid value."""


@dataclass
class TrainConfig:
    """Everything a training run needs; each field (not a path) is also a hyperparameter."""

    # data
    data: str | None = field(default=None, metadata=_help("training folder (any layout, or a split root)"))
    validation: str | None = field(
        default=None, metadata=_help("validation folder; default: validation/ of a split root, else a split")
    )
    out: str = field(
        default="runs/model", metadata=_help("where the final model (serving format) is written")
    )
    checkpoint_dir: str | None = field(
        default=None, metadata=_help("resume state (training_state.pt, best/); default <out>-checkpoints")
    )
    output_dir: str | None = field(default=None, metadata=_help("curve PNG and history; default <out>"))
    synthetic: int = field(
        default=0, metadata=_help("synthetic plans rendered on the fly and mixed into each epoch")
    )
    synthetic_seed: int = field(
        default=1_000_000,
        metadata=_help("plan i of epoch e is generate_plan(synthetic_seed + e * synthetic + i)"),
    )
    synthetic_validation: int = field(
        default=8, metadata=_help("synthetic validation plans when there is no real validation data")
    )
    synthetic_size: tuple[int, ...] | None = field(
        default=None,
        metadata=_help(
            "longest side of synthetic plans: N, or MIN,MAX for a range (generator default: 256,2048)"
        ),
    )
    synthetic_sheets: float = field(
        default=0.0,
        metadata=_help(
            "probability (0..1) that a synthetic plan is drawn on a drawing sheet (frame, title block, "
            "legend, dimension chains): none of it is wall"
        ),
    )
    synthetic_styles: str | None = field(
        default=None,
        metadata=_help(
            "comma-separated generator styles of the synthetic plans, opt-in ones included "
            "(e.g. solid,cad,architectural,brochure); default: the seven default styles"
        ),
    )
    redraw: int = field(
        default=0,
        metadata=_help(
            "real training plans redrawn per epoch from their masks in the synthetic styles (on sheets "
            "as often as synthetic_sheets), beside the plans as drawn: real layouts in every look"
        ),
    )
    val_fraction: float = field(
        default=0.1, metadata=_help("share of --data held out when no validation folder exists")
    )
    max_train_samples: int | None = field(
        default=None, metadata=_help("use only the first N training plans (after shuffling by seed)")
    )
    repeat: int = field(default=1, metadata=_help("each real plan gives this many random crops per epoch"))
    # model
    encoder: str = field(
        default="resnet34",
        metadata=_help("smp encoder: resnet34 (default), resnet18, mobilenet_v2, efficientnet-b0, ..."),
    )
    encoder_depth: int = field(
        default=5, metadata=_help("encoder stages (3-5); decoder_channels needs as many entries")
    )
    decoder_channels: tuple[int, ...] = field(
        default=(256, 128, 64, 32, 16),
        metadata=_help("decoder channels per stage, comma separated, e.g. 256,128,64,32,16"),
    )
    encoder_weights: str = field(default="none", metadata=_help("none | imagenet (needs internet)"))
    init_checkpoint: str | None = field(
        default=None,
        metadata=_help(
            "'default' (bundled model), 'synthetic' (bundled, generated plans only) or a checkpoint directory"
        ),
    )
    room_types: str = field(
        default="auto",
        metadata=_help(
            "learn room-type channels (closet, bathroom, living, bedroom, hall, balcony) with walls and "
            "openings: yes | no | auto (yes when the init checkpoint has them, synthetic > 0, or a training "
            "plan carries room types: R3D room colours, annotated rooms with a name_hint)"
        ),
    )
    working_size: int = field(
        default=512,
        metadata=_help("longest side at inference; training crops are taken at this scale (multiple of 32)"),
    )
    native_up_to: float = field(
        default=1.0,
        metadata=_help(
            "plans larger than the working size by at most this factor are seen at their own size, in "
            "training and at inference (1.0: every larger plan is shrunk to the working size; at most 2)"
        ),
    )
    # optimisation
    epochs: int = field(default=30, metadata=_help("maximum number of epochs"))
    batch_size: int = field(default=8, metadata=_help("crops per optimisation step"))
    learning_rate: float = field(
        default=3e-4,
        metadata=_help("AdamW learning rate of the decoder (and of the encoder, times encoder_lr_factor)"),
    )
    weight_decay: float = field(default=1e-4, metadata=_help("AdamW weight decay"))
    scheduler: str = field(
        default="cosine",
        metadata=_help(
            "cosine (over the epochs) | cosine-budget (over time_budget_minutes of training time, stepped "
            "after each epoch: for a run bounded by time, not epochs) | plateau"
        ),
    )
    freeze_encoder_epochs: int = field(
        default=0, metadata=_help("train only the decoder for the first N epochs")
    )
    encoder_lr_factor: float = field(
        default=1.0, metadata=_help("encoder learning rate = learning_rate * this")
    )
    dice_weight: float = field(default=1.0, metadata=_help("loss = BCE + dice_weight * Dice"))
    room_type_weight: float = field(
        default=1.0,
        metadata=_help("loss = walls-and-openings term + room_type_weight * room-types term (each averaged)"),
    )
    crop_size: int = field(default=384, metadata=_help("side of the random training crops (multiple of 32)"))
    augment: str = field(default="heavy", metadata=_help("none | light | heavy"))
    early_stopping_patience: int = field(
        default=10, metadata=_help("epochs without improvement of `monitor`; 0 disables")
    )
    monitor: str = field(
        default="val_mean_iou",
        metadata=_help(
            "validation metric for best model and early stopping: val_mean_iou (mean of wall, opening and, "
            "with room types, room-type mIoU) | val_iou | val_opening_iou | val_type_miou"
        ),
    )
    keep_epoch_models: bool = field(
        default=False,
        metadata=_help(
            "also keep every epoch's model (fp16, serving format) in <checkpoint-dir>/epochs/epoch-NNN, so a "
            "run can be selected afterwards on the serving pipeline's metrics (rooms, segments)"
        ),
    )
    # budget and machine
    max_steps_per_epoch: int | None = field(
        default=None, metadata=_help("cap the optimisation steps per epoch (CPU budgets)")
    )
    time_budget_minutes: float | None = field(
        default=None,
        metadata=_help("stop after this many minutes (the current epoch is validated and saved)"),
    )
    num_workers: int = field(default=1, metadata=_help("DataLoader worker processes"))
    threads: int | None = field(
        default=None, metadata=_help("torch CPU threads (default: all cores, at most 8)")
    )
    amp: bool = field(default=True, metadata=_help("mixed precision on GPU (ignored on CPU)"))
    device: str = field(default="auto", metadata=_help("auto | cpu | cuda"))
    seed: int = field(default=0, metadata=_help("seed of splits, sampling and augmentation"))
    model_name: str = field(default="floorplan-unet", metadata=_help("name stored in the model metadata"))
    model_version: str = field(default="0.1.0", metadata=_help("version stored in the model metadata"))

    def check(self) -> None:
        """Raise :class:`ConfigError` on values that cannot work."""
        problems = []
        if self.encoder_weights not in ENCODER_WEIGHTS:
            problems.append(f"encoder_weights must be one of {ENCODER_WEIGHTS}, got {self.encoder_weights!r}")
        if self.scheduler not in SCHEDULERS:
            problems.append(f"scheduler must be one of {SCHEDULERS}, got {self.scheduler!r}")
        if self.augment not in AUGMENT_LEVELS:
            problems.append(f"augment must be one of {AUGMENT_LEVELS}, got {self.augment!r}")
        if self.room_types not in ROOM_TYPE_MODES:
            problems.append(f"room_types must be one of {ROOM_TYPE_MODES}, got {self.room_types!r}")
        if self.monitor not in MONITORS:
            problems.append(f"monitor must be one of {MONITORS}, got {self.monitor!r}")
        for name in ("epochs", "batch_size", "crop_size", "working_size", "repeat"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.crop_size % 32 or self.working_size % 32:
            problems.append(
                f"crop_size and working_size must be multiples of 32 ({self.crop_size}, {self.working_size})"
            )
        if not 1.0 <= self.native_up_to <= MAX_NATIVE_UP_TO:  # also refuses nan
            problems.append(f"native_up_to must be 1..{MAX_NATIVE_UP_TO:g}, got {self.native_up_to}")
        if not self.room_type_weight >= 0:
            problems.append(f"room_type_weight must be >= 0, got {self.room_type_weight}")
        if self.learning_rate <= 0:
            problems.append(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.val_fraction < 1.0:
            problems.append(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if not 0.0 <= self.synthetic_sheets <= 1.0:  # also refuses nan
            problems.append(f"synthetic_sheets must be a fraction from 0 to 1, got {self.synthetic_sheets}")
        if self.synthetic_styles is not None:
            names = self.synthetic_style_names() or ()
            unknown = [n for n in names if n not in ALL_STYLES]
            if not names or unknown:
                known = ",".join(ALL_STYLES)
                problems.append(
                    f"synthetic_styles must name styles from {known}, got {self.synthetic_styles!r}"
                )
        if self.synthetic_size is not None and len(self.synthetic_size) not in (1, 2):
            problems.append(f"synthetic_size takes one size or a MIN,MAX pair, got {self.synthetic_size}")
        if self.redraw < 0:
            problems.append(f"redraw must be >= 0, got {self.redraw}")
        if self.redraw and self.data is None:
            problems.append("redraw redraws real training plans: give a data folder")
        if self.data is None and self.synthetic < 1:
            problems.append("no training data: give a data folder, synthetic > 0, or both")
        if self.scheduler == "cosine-budget" and not (self.time_budget_minutes or 0) > 0:
            problems.append(
                "scheduler=cosine-budget decays over the time budget: give time_budget_minutes > 0"
            )
        if self.encoder_weights == "imagenet" and self.init_checkpoint:
            problems.append("encoder_weights=imagenet and init_checkpoint are exclusive: choose one")
        if problems:
            raise ConfigError("; ".join(problems))

    def synthetic_style_names(self) -> tuple[str, ...] | None:
        """``synthetic_styles`` as a tuple of names (None: the generator's default styles)."""
        if self.synthetic_styles is None:
            return None
        return tuple(n.strip() for n in self.synthetic_styles.split(",") if n.strip())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        out = dataclasses.asdict(self)
        out["decoder_channels"] = list(self.decoder_channels)
        return out


def hyperparameter_names() -> list[str]:
    """Documented hyperparameter names (hyphenated form; the underscore form is accepted too)."""
    return [f.name.replace("_", "-") for f in fields(TrainConfig) if f.name not in PATH_FIELDS]


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _is_optional(kind: Any) -> bool:
    return isinstance(kind, types.UnionType) and type(None) in kind.__args__


def _base(kind: Any) -> Any:
    if _is_optional(kind):
        return next(a for a in kind.__args__ if a is not type(None))
    return kind


def coerce(name: str, value: Any) -> Any:
    """Convert ``value`` (string or JSON value) to the type of field ``name``."""
    kind = _field_types()[name]
    if value is None or (
        _is_optional(kind) and isinstance(value, str) and value.strip().lower() in ("", "none", "null")
    ):
        if _is_optional(kind):
            return None
        raise ConfigError(f"{name} cannot be empty")
    base = _base(kind)
    try:
        if base is bool:
            return _to_bool(value)
        if base is int:
            number = float(value)
            if number != int(number):
                raise ValueError(f"{value!r} is not a whole number")
            return int(number)
        if base is float:
            return float(value)
        if typing.get_origin(base) is tuple:
            items = (
                value
                if isinstance(value, (list, tuple))
                else str(value).replace(" ", "").strip("[]()").split(",")
            )
            return tuple(int(v) for v in items if str(v) != "")
        return str(value).strip()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: invalid value {value!r} ({exc})") from exc


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a boolean")


def config_from_mapping(values: Mapping[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """A :class:`TrainConfig` from ``name -> value`` pairs (hyphen or underscore names).

    Raises :class:`ConfigError` listing every unknown name.
    """
    config = dataclasses.replace(base) if base is not None else TrainConfig()
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(k for k in values if k.replace("-", "_") not in known)
    if unknown:
        raise ConfigError(f"unknown hyperparameter(s) {unknown}; known: {hyperparameter_names()}")
    for key, value in values.items():
        name = key.replace("-", "_")
        setattr(config, name, coerce(name, value))
    return config
