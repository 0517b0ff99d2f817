"""The U-Net and its one checkpoint format, shared by training, serving, evaluation and tests.

A checkpoint is a directory holding two files:

* ``model.safetensors`` - the weights (stored fp16 by default to keep the image small);
* ``model.json`` - :class:`ModelMetadata`: architecture, encoder, channels, normalisation,
  working resolution, training-data summary, metrics and version.

:func:`load_model` is the only loader; :func:`save_model` the only writer.  torch is imported
only by the functions that need it: a CPU server whose model is already exported to ONNX
(:mod:`model_code.onnx_cache`) loads and runs it without torch.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model_code.atomic import atomic_write_bytes

if TYPE_CHECKING:
    import torch

    from model_code.runtimes import Forward

CHECKPOINT_FORMAT = "floorplan-unet"
CHECKPOINT_FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
METADATA_FILE = "model.json"
CHANNELS = ("wall", "opening")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_MODEL_DIR = Path(__file__).parent / "default_model"
logger = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint directory is missing, incomplete or incompatible."""


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet encoder weights could not be downloaded (no internet access)."""


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
        return cls(
            spec=spec,
            name=data.get("name", "floorplan-unet"),
            version=str(data.get("version", "0.0.0")),
            mean=tuple(norm.get("mean", IMAGENET_MEAN)),
            std=tuple(norm.get("std", IMAGENET_STD)),
            working_size=int(data.get("working_size", 512)),
            training=data.get("training", {}),
            metrics=data.get("metrics", {}),
            created=data.get("created", ""),
        )


class LoadedModel:
    """A checkpoint ready for inference: its metadata and a forward pass.

    ``forward`` maps a normalised ``(N, 3, H, W)`` float32 batch to ``(N, C, H, W)`` sigmoid
    probabilities; ``runtime`` names how it runs (see :mod:`model_code.runtimes`).  Without a
    ``forward``, ``network`` runs eagerly.  ``network`` is the torch module: for an ONNX runtime
    it is loaded from ``directory`` only when first asked for (training, weight comparisons), so
    serving never holds a second copy of the weights.
    """

    def __init__(
        self,
        metadata: ModelMetadata,
        forward: Forward | None = None,
        *,
        network: torch.nn.Module | None = None,
        directory: Path | None = None,
        runtime: str = "eager",
    ):
        if forward is None:
            if network is None:
                raise ValueError("LoadedModel needs a forward function or a network")
            from model_code.runtimes import prepare_forward

            forward = prepare_forward(network, "eager")
        self.metadata = metadata
        self.forward = forward
        self.directory = directory
        self.runtime = runtime
        self._network = network

    @property
    def network(self) -> torch.nn.Module:
        """The torch network (CPU, eval mode, fp32), loaded from ``directory`` on first use if need be."""
        if self._network is None:
            if self.directory is None:
                raise CheckpointError(
                    "this model has no torch network and no checkpoint directory to load one"
                )
            self._network = load_network(self.directory)
        return self._network

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Sigmoid probabilities ``(N, C, H, W)`` float32 for a normalised ``(N, 3, H, W)`` batch."""
        return self.forward(batch)


def build_network(spec: ModelSpec, encoder_weights: str | None = None) -> torch.nn.Module:
    """Build the smp U-Net described by ``spec``.

    ``encoder_weights="imagenet"`` downloads ImageNet weights (needs internet; raises
    :class:`PretrainedWeightsUnavailable` with a clear message otherwise); ``None`` starts
    from random initialisation.
    """
    import segmentation_models_pytorch as smp  # imports torch

    if spec.architecture != "Unet":
        raise CheckpointError(f"unsupported architecture {spec.architecture!r} (only Unet)")
    try:
        return smp.Unet(
            encoder_name=spec.encoder,
            encoder_depth=spec.encoder_depth,
            encoder_weights=encoder_weights,
            decoder_channels=list(spec.decoder_channels),
            in_channels=spec.in_channels,
            classes=len(spec.channels),
        )
    except Exception as exc:
        if encoder_weights is None:
            raise
        raise PretrainedWeightsUnavailable(
            f"could not load {encoder_weights!r} weights for encoder {spec.encoder!r}: {exc}. "
            "Downloading pretrained weights needs internet access; offline, use "
            "encoder_weights=none or init_checkpoint=default (our synthetic-pretrained model)."
        ) from exc


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
    """``None`` or ``"default"`` -> the bundled default model; else the directory given."""
    if directory is None or str(directory) == "default":
        return DEFAULT_MODEL_DIR
    return Path(directory)


def load_network(
    directory: str | Path, metadata: ModelMetadata | None = None, device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """The torch U-Net of a checkpoint directory, in eval mode, fp32, on ``device``."""
    from safetensors.torch import load_file

    directory = Path(directory)
    metadata = metadata or read_metadata(directory)
    network = build_network(metadata.spec)
    state = load_file(str(directory / WEIGHTS_FILE))
    reference = network.state_dict()
    state = {k: v.to(reference[k].dtype) if k in reference else v for k, v in state.items()}
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {directory} do not match {metadata.spec}: {exc}") from exc
    return network.to(device).eval()


def load_model(
    directory: str | Path | None = None,
    device: str | torch.device = "cpu",
    runtime: str | None = None,
    threads: int | None = None,
) -> LoadedModel:
    """Load a checkpoint directory (``None``/"default": the bundled model) for inference.

    ``runtime`` picks the forward pass (:data:`model_code.runtimes.RUNTIMES`).  ``None`` means
    :data:`model_code.runtimes.DEFAULT_RUNTIME` on CPU (the fastest measured, see
    ``docs/benchmarks.md``), falling back to ``eager`` with a warning when it is unavailable, and
    ``eager`` on GPU.  A runtime named explicitly raises
    :class:`model_code.runtimes.RuntimeUnavailable` instead of falling back.  ``threads`` is ONNX
    Runtime's thread count (default :func:`model_code.runtimes.default_threads`); torch runtimes
    use torch's global setting.  The ONNX runtimes run the checkpoint's cached export
    (:func:`model_code.onnx_cache.onnx_model_forward`): when it exists, torch is not imported.
    """
    from model_code.runtimes import (
        DEFAULT_RUNTIME,
        ONNX_RUNTIMES,
        RuntimeUnavailable,
        onnx_available,
        prepare_forward,
    )

    directory = resolve_model_dir(directory)
    if not is_checkpoint(directory):
        raise CheckpointError(f"no model checkpoint ({WEIGHTS_FILE} + {METADATA_FILE}) in {directory}")
    metadata = read_metadata(directory)
    on_cpu = str(device) == "cpu"
    chosen = runtime or (DEFAULT_RUNTIME if on_cpu else "eager")
    if chosen in ONNX_RUNTIMES:
        if not on_cpu:
            raise CheckpointError(f"runtime {chosen!r} runs on CPU only (device {device})")
        if onnx_available():
            from model_code.onnx_cache import onnx_model_forward

            forward = onnx_model_forward(directory, threads, arena=chosen == "onnx_arena")
            return LoadedModel(metadata, forward, directory=directory, runtime=chosen)
        if runtime is not None:
            raise RuntimeUnavailable(f"the {chosen!r} runtime needs the 'onnxruntime' and 'onnx' packages")
        logger.warning("runtime %r unavailable (onnxruntime/onnx not installed); using eager PyTorch", chosen)
        chosen = "eager"
    network = load_network(directory, metadata, device)
    forward = prepare_forward(network, chosen, threads)
    return LoadedModel(metadata, forward, network=network, directory=directory, runtime=chosen)
