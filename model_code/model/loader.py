"""The one model loader: a checkpoint directory to a :class:`LoadedModel` ready for inference.

:func:`load_model` picks the runtime (ONNX Runtime from the export cache on CPU, eager torch
otherwise); a CPU process whose export is cached never imports torch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model_code.model.checkpoint import (
    METADATA_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    ModelMetadata,
    is_checkpoint,
    read_metadata,
    resolve_model_dir,
)
from model_code.model.network import load_network

if TYPE_CHECKING:
    import torch

    from model_code.model.runtimes import Forward

logger = logging.getLogger(__name__)


class LoadedModel:
    """A checkpoint ready for inference: its metadata and a forward pass.

    ``forward`` maps a normalised ``(N, 3, H, W)`` float32 batch to ``(N, C, H, W)`` sigmoid
    probabilities; ``runtime`` names how it runs (see :mod:`model_code.model.runtimes`).  Without a
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
            from model_code.model.runtimes import prepare_forward

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


def load_model(
    directory: str | Path | None = None,
    device: str | torch.device = "cpu",
    runtime: str | None = None,
    threads: int | None = None,
) -> LoadedModel:
    """Load a checkpoint directory (``None``/"default": the bundled model) for inference.

    ``runtime`` picks the forward pass (:data:`model_code.model.runtimes.RUNTIMES`).  ``None`` means
    :data:`model_code.model.runtimes.DEFAULT_RUNTIME` on CPU (the fastest measured, see
    ``docs/benchmarks.md``), falling back to ``eager`` with a warning when it is unavailable, and
    ``eager`` on GPU.  A runtime named explicitly raises
    :class:`model_code.model.runtimes.RuntimeUnavailable` instead of falling back.  ``threads`` is ONNX
    Runtime's thread count (default :func:`model_code.model.runtimes.default_threads`); torch runtimes
    use torch's global setting.  The ONNX runtimes run the checkpoint's cached export
    (:func:`model_code.model.onnx_cache.onnx_model_forward`): when it exists, torch is not imported.
    """
    from model_code.model.runtimes import (
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
            from model_code.model.onnx_cache import onnx_model_forward

            forward = onnx_model_forward(directory, threads, arena=chosen == "onnx_arena")
            return LoadedModel(metadata, forward, directory=directory, runtime=chosen)
        if runtime is not None:
            raise RuntimeUnavailable(f"the {chosen!r} runtime needs the 'onnxruntime' and 'onnx' packages")
        logger.warning("runtime %r unavailable (onnxruntime/onnx not installed); using eager PyTorch", chosen)
        chosen = "eager"
    network = load_network(directory, metadata, device)
    forward = prepare_forward(network, chosen, threads)
    return LoadedModel(metadata, forward, network=network, directory=directory, runtime=chosen)
