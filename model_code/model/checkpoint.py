"""The one checkpoint format, shared by training, serving, evaluation and tests.

A checkpoint is a directory holding two files:

* ``model.safetensors`` - the weights (stored fp16 by default to keep the image small);
* ``model.json`` - :class:`ModelMetadata`: architecture, encoder, channels, normalisation,
  working resolution, training-data summary, metrics and version.

:func:`save_model` is the only writer; :func:`model_code.model.loader.load_model` the only
loader for inference (:func:`model_code.model.network.load_network` gives the torch module).
torch is imported only by the functions that need it: a CPU server whose model is already
exported to ONNX (:mod:`model_code.model.export_cache`) loads and runs it without torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_code.io.files import atomic_write_bytes

if TYPE_CHECKING:
    import torch


CHECKPOINT_FORMAT = "floorplan-unet"
CHECKPOINT_FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
METADATA_FILE = "model.json"
CHANNELS = ("wall", "opening")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_WORKING_SIZE = 64  # px: the U-Net's five poolings need at least a few cells
MAX_WORKING_SIZE = 4096  # px: larger plans are tiled; a larger working image only costs memory
MAX_NATIVE_UP_TO = 2.0  # a sanity bound: a plan this much larger than the working size costs 4x the pass
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = _PACKAGE_DIR / "default_model"
SYNTHETIC_MODEL_DIR = _PACKAGE_DIR / "synthetic_model"
# The checkpoints that ship inside the package, by the name a caller may give instead of a folder:
# ``default`` (generated plans + R3D, research use) and ``synthetic`` (generated plans only, no
# restriction: the clean start for commercial fine-tuning).  Each folder has its MODEL_CARD.md.
BUNDLED_MODELS: dict[str, Path] = {"default": DEFAULT_MODEL_DIR, "synthetic": SYNTHETIC_MODEL_DIR}
logger = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint directory is missing, incomplete or incompatible."""


def _whole_number(value: Any, name: str) -> int:
    """``value`` as an int when it is a whole number (``512`` or ``512.0``); else :class:`CheckpointError`."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole:
        raise CheckpointError(f"{name} must be a whole number, got {value!r}")
    return int(value)


@dataclass
class ModelSpec:
    """Everything needed to build the network (not the weights)."""

    encoder: str = "resnet34"
    encoder_depth: int = 5
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    in_channels: int = 3
    channels: tuple[str, ...] = CHANNELS
    architecture: str = "Unet"


@dataclass
class ModelMetadata:
    """The JSON half of a checkpoint: how to build, feed and describe the model."""

    spec: ModelSpec = field(default_factory=ModelSpec)
    name: str = "floorplan-unet"
    version: str = "0.0.0"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    working_size: int = 512
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    # typical wall thickness (px) of the training plans at ``working_size``; ``None`` (checkpoints
    # from before the field): ``model.scale.DEFAULT_TRAINING_WALL_THICKNESS_PX``
    wall_thickness_px: float | None = None
    # plans larger than ``working_size`` by at most this factor are seen at their own size, not shrunk
    # (``model.scale.base_shape``); 1.0: every larger plan is shrunk to the working size
    native_up_to: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form written to ``model.json``."""
        spec = dataclasses.asdict(self.spec)
        return {
            "format": CHECKPOINT_FORMAT,
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "architecture": spec.pop("architecture"),
            "encoder": spec.pop("encoder"),
            "encoder_depth": spec.pop("encoder_depth"),
            "decoder_channels": list(spec.pop("decoder_channels")),
            "in_channels": spec.pop("in_channels"),
            "channels": list(spec.pop("channels")),
            "normalization": {"scale": 1 / 255, "mean": list(self.mean), "std": list(self.std)},
            "working_size": self.working_size,
            **(
                {} if self.wall_thickness_px is None else {"wall_thickness_px": float(self.wall_thickness_px)}
            ),
            **({} if self.native_up_to == 1.0 else {"native_up_to": float(self.native_up_to)}),
            "training": self.training,
            "metrics": self.metrics,
            "created": self.created,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        """Parse ``model.json``; raises :class:`CheckpointError` on a foreign format."""
        if data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"not a {CHECKPOINT_FORMAT} checkpoint (format={data.get('format')!r})")
        if int(data.get("format_version", 0)) > CHECKPOINT_FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint format_version {data['format_version']} is newer than this code "
                f"understands ({CHECKPOINT_FORMAT_VERSION})"
            )
        spec = ModelSpec(
            encoder=data["encoder"],
            encoder_depth=int(data.get("encoder_depth", 5)),
            decoder_channels=tuple(int(c) for c in data.get("decoder_channels", (256, 128, 64, 32, 16))),
            in_channels=int(data.get("in_channels", 3)),
            channels=tuple(data.get("channels", CHANNELS)),
            architecture=data.get("architecture", "Unet"),
        )
        norm = data.get("normalization", {})
        metadata = cls(
            spec=spec,
            name=data.get("name", "floorplan-unet"),
            version=str(data.get("version", "0.0.0")),
            mean=tuple(norm.get("mean", IMAGENET_MEAN)),
            std=tuple(norm.get("std", IMAGENET_STD)),
            working_size=_whole_number(data.get("working_size", 512), "working_size"),
            training=data.get("training", {}),
            metrics=data.get("metrics", {}),
            created=data.get("created", ""),
            wall_thickness_px=None
            if data.get("wall_thickness_px") is None
            else float(data["wall_thickness_px"]),
            native_up_to=float(data.get("native_up_to", 1.0)),
        )
        metadata.check()
        return metadata

    def check(self) -> None:
        """Raise :class:`CheckpointError` for values no model can be served with.

        A checkpoint that passes these checks but holds nonsense would serve empty results (a
        zero ``std``) or exhaust memory at warm-up (a huge ``working_size``), so it is refused
        at load time, with the reason on ``/ping``.
        """
        spec = self.spec
        if not MIN_WORKING_SIZE <= self.working_size <= MAX_WORKING_SIZE:
            raise CheckpointError(
                f"working_size {self.working_size} is outside {MIN_WORKING_SIZE}..{MAX_WORKING_SIZE} pixels"
            )
        if self.wall_thickness_px is not None and not (
            math.isfinite(self.wall_thickness_px) and 0.5 <= self.wall_thickness_px <= self.working_size / 4
        ):
            raise CheckpointError(
                f"wall_thickness_px must be 0.5..working_size/4 pixels, got {self.wall_thickness_px!r}"
            )
        if not (math.isfinite(self.native_up_to) and 1.0 <= self.native_up_to <= MAX_NATIVE_UP_TO):
            raise CheckpointError(f"native_up_to must be 1..{MAX_NATIVE_UP_TO:g}, got {self.native_up_to!r}")
        if spec.in_channels != 3:
            raise CheckpointError(f"in_channels must be 3 (RGB input), got {spec.in_channels}")
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) != spec.in_channels or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
            ):
                raise CheckpointError(
                    f"normalization {name} must be {spec.in_channels} finite numbers, got {list(values)}"
                )
        if min(self.std) <= 0:
            raise CheckpointError(f"normalization std must be > 0, got {list(self.std)}")
        if "wall" not in spec.channels or len(set(spec.channels)) != len(spec.channels):
            raise CheckpointError(f"channels must name 'wall' once, got {list(spec.channels)}")
        if not 1 <= spec.encoder_depth <= 5:
            raise CheckpointError(f"encoder_depth must be 1..5, got {spec.encoder_depth}")
        if len(spec.decoder_channels) != spec.encoder_depth or min(spec.decoder_channels) < 1:
            channels = list(spec.decoder_channels)
            raise CheckpointError(
                f"decoder_channels must be {spec.encoder_depth} positive numbers, got {channels}"
            )


# What a training stage records about the data it saw: enough to tell, for any checkpoint, whether
# a real (licensed) plan ever reached its weights.
LINEAGE_FIELDS = (
    "train_plans",
    "sources",
    "layouts",
    "validation_source",
    "synthetic_plans_per_epoch",
    "redrawn_plans_per_epoch",
    "init",
    "epochs_completed",
    "train_time_s",
    "device",
)


def training_lineage(metadata: ModelMetadata) -> list[dict[str, Any]]:
    """The training stages that made a checkpoint: its own first, then its ancestors', back to the first.

    A model fine-tuned from a checkpoint records this list as ``training.lineage`` in its
    ``model.json``, so the whole data history travels with the weights even when the folders the
    earlier stages started from are gone: a customer can check that no research-only plan reached
    a model (the ``synthetic`` checkpoint's stages all have ``train_plans == 0``).
    """
    training = metadata.training
    stage = {
        "name": metadata.name,
        "version": metadata.version,
        **{key: training[key] for key in LINEAGE_FIELDS if key in training},
    }
    return [stage, *training.get("lineage", [])]


def weights_digest(directory: str | Path) -> str:
    """Hex SHA-256 of a checkpoint's weights file: which weights a name such as ``synthetic`` meant."""
    digest = hashlib.sha256()
    with open(Path(directory) / WEIGHTS_FILE, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(
    network: torch.nn.Module, metadata: ModelMetadata, directory: str | Path, half: bool = True
) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``directory``, each atomically."""
    from safetensors.torch import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not metadata.created:
        metadata.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    state = {
        k: (
            v.detach().to("cpu").half() if half and v.is_floating_point() else v.detach().to("cpu")
        ).contiguous()
        for k, v in network.state_dict().items()
    }
    atomic_write_bytes(directory / WEIGHTS_FILE, save(state))
    text = json.dumps(metadata.to_dict(), indent=2) + "\n"
    atomic_write_bytes(directory / METADATA_FILE, text.encode())
    return directory


def is_checkpoint(directory: str | Path) -> bool:
    """True when ``directory`` holds both checkpoint files."""
    directory = Path(directory)
    return (directory / WEIGHTS_FILE).is_file() and (directory / METADATA_FILE).is_file()


def checkpoint_problem(directory: str | Path) -> str | None:
    """What keeps ``directory`` from being a complete checkpoint, in words; ``None`` when it is one."""
    directory = Path(directory)
    if not directory.exists():
        return "does not exist"
    if not directory.is_dir():
        return "is a file, not a checkpoint folder (model.safetensors + model.json)"
    if is_checkpoint(directory):
        return None
    names = sorted(p.name for p in directory.iterdir())
    archives = [n for n in names if n.endswith((".tar.gz", ".tgz", ".tar", ".zip"))]
    if archives:
        return (
            f"holds the archive {archives[0]} instead of its files: SageMaker extracts model.tar.gz "
            f"into the model folder, so pack {WEIGHTS_FILE} and {METADATA_FILE} at the archive's top level"
        )
    if METADATA_FILE in names:
        return f"holds {METADATA_FILE} but no {WEIGHTS_FILE}"
    if WEIGHTS_FILE in names:
        return f"holds {WEIGHTS_FILE} but no {METADATA_FILE}"
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"holds no checkpoint ({WEIGHTS_FILE} + {METADATA_FILE}); found {shown}"


def read_metadata(directory: str | Path) -> ModelMetadata:
    """Read only ``model.json`` of a checkpoint."""
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        raise CheckpointError(f"no {METADATA_FILE} in {directory}")
    try:
        return ModelMetadata.from_dict(json.loads(path.read_text()))
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"invalid {path}: {exc}") from exc


def resolve_model_dir(directory: str | Path | None) -> Path:
    """``None`` or ``"default"`` -> the bundled default model, ``"synthetic"`` -> the bundled model
    trained on generated plans only (:data:`BUNDLED_MODELS`); else the directory given (write
    ``./synthetic`` for a local folder of that name)."""
    if directory is None:
        return DEFAULT_MODEL_DIR
    return BUNDLED_MODELS.get(str(directory), Path(directory))
