"""The network: the smp U-Net a :class:`~model_code.model.checkpoint.ModelSpec` describes, and its weights.

:func:`build_network` makes the module (random or ImageNet-initialised encoder);
:func:`load_network` builds it and loads a checkpoint's weights.  torch and
segmentation-models-pytorch are imported only inside these functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from model_code.model.checkpoint import WEIGHTS_FILE, CheckpointError, ModelMetadata, ModelSpec, read_metadata

if TYPE_CHECKING:
    import torch


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet encoder weights could not be downloaded (no internet access)."""


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
            "encoder_weights=none, init_checkpoint=synthetic (bundled, generated plans only) or "
            "init_checkpoint=default (bundled, generated plans + R3D, research use)."
        ) from exc


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


def adapt_channels(
    network: torch.nn.Module, old_channels: tuple[str, ...], new_channels: tuple[str, ...]
) -> torch.nn.Module:
    """``network`` with its output head changed from ``old_channels`` to ``new_channels`` (in place).

    Channels both name keep their trained weights; new ones (room types added to a wall-and-opening
    model) start from the head's fresh initialisation.  The encoder and decoder are untouched.
    """
    import torch

    if tuple(old_channels) == tuple(new_channels):
        return network
    head = network.segmentation_head[0]
    if not isinstance(head, torch.nn.Conv2d) or head.out_channels != len(old_channels):
        raise CheckpointError(f"cannot adapt the output head {head!r} from {list(old_channels)}")
    fresh = torch.nn.Conv2d(
        head.in_channels,
        len(new_channels),
        head.kernel_size,
        padding=head.padding,
        bias=head.bias is not None,
    ).to(head.weight.device, head.weight.dtype)
    with torch.no_grad():
        for row, name in enumerate(new_channels):
            if name in old_channels:
                fresh.weight[row] = head.weight[old_channels.index(name)]
                if head.bias is not None:
                    fresh.bias[row] = head.bias[old_channels.index(name)]
    network.segmentation_head[0] = fresh
    return network
