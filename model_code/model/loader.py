"""The one model loader: a checkpoint directory to a :class:`LoadedModel` ready for inference.

:func:`load_model` picks the runtime (on CPU the default exported runtime, run from the export cache;
eager torch on GPU); a CPU process whose export is cached never imports torch.
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
from model_code.model.room_classifier import RoomClassifier, RoomClassifierError, load_room_classifier

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
    serving never holds a second copy of the weights.  ``room_classifier`` types the detected rooms
    (:mod:`model_code.model.room_classifier`; ``None`` when the checkpoint has none).
    """

    def __init__(
        self,
        metadata: ModelMetadata,
        forward: Forward | None = None,
        *,
        network: torch.nn.Module | None = None,
        directory: Path | None = None,
        runtime: str = "eager",
        room_classifier: RoomClassifier | None = None,
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
        self.room_classifier = room_classifier
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

    def release_memory(self) -> None:
        """Give back what the runtime keeps after large inputs (OpenVINO's buffers; a no-op for the
        others, which free their activations after every run).  The pipeline calls it after each
        plan's forward stage."""
        release = getattr(self.forward, "release_memory", None)
        if release is not None:
            release()


def load_model(
    directory: str | Path | None = None,
    device: str | torch.device = "cpu",
    runtime: str | None = None,
    threads: int | None = None,
    room_classifier: bool = True,
) -> LoadedModel:
    """Load a checkpoint directory (``None``/"default"/"synthetic": a bundled model) for inference.

    ``runtime`` picks the forward pass (:data:`model_code.model.runtimes.RUNTIMES`).  ``None`` means
    :func:`model_code.model.runtimes.default_runtime` on CPU (``$FLOORPLAN_RUNTIME``, else the fastest
    runtime within the accuracy bounds, see ``docs/benchmarks.md``) and ``eager`` on GPU.  When the
    built-in default's package is missing it falls back to ``onnx``, then to ``eager``, with a warning;
    a runtime named explicitly (argument or environment) raises
    :class:`model_code.model.runtimes.RuntimeUnavailable` instead.  ``threads`` is ONNX Runtime's or
    OpenVINO's thread count (default :func:`model_code.model.runtimes.default_threads`); torch runtimes
    use torch's global setting.  The exported runtimes run the checkpoint's cached export
    (:func:`model_code.model.export_cache.exported_model_forward`): when it exists, torch is not imported.
    ``room_classifier=False`` leaves the checkpoint's room classifier unread (``floorplan train-rooms``
    replaces it, even one made for older features).
    """
    from model_code.model.runtimes import (
        DEFAULT_RUNTIME,
        EXPORTED_RUNTIMES,
        FALLBACK_RUNTIME,
        RuntimeUnavailable,
        prepare_forward,
        runtime_available,
        runtime_from_environment,
    )

    directory = resolve_model_dir(directory)
    if not is_checkpoint(directory):
        raise CheckpointError(f"no model checkpoint ({WEIGHTS_FILE} + {METADATA_FILE}) in {directory}")
    metadata = read_metadata(directory)
    try:
        classifier = load_room_classifier(directory) if room_classifier else None
    except RoomClassifierError as exc:
        raise CheckpointError(str(exc)) from exc
    on_cpu = str(device) == "cpu"
    named = runtime or (runtime_from_environment() if on_cpu else None)  # explicit: no silent fallback
    chosen = named or (DEFAULT_RUNTIME if on_cpu else "eager")
    if chosen in EXPORTED_RUNTIMES:
        if not on_cpu:
            raise CheckpointError(f"runtime {chosen!r} runs on CPU only (device {device})")
        if not runtime_available(chosen):
            if named:
                raise RuntimeUnavailable(
                    f"the {chosen!r} runtime needs packages that are not installed "
                    "(onnxruntime and onnx; openvino and nncf for the OpenVINO runtimes)"
                )
            fallback = FALLBACK_RUNTIME if runtime_available(FALLBACK_RUNTIME) else "eager"
            logger.warning(
                "runtime %r unavailable (its package is not installed); using %s",
                chosen,
                "eager PyTorch" if fallback == "eager" else fallback,
            )
            chosen = fallback
    if chosen in EXPORTED_RUNTIMES:
        from model_code.model.export_cache import exported_model_forward

        forward = exported_model_forward(directory, chosen, threads)
        return LoadedModel(metadata, forward, directory=directory, runtime=chosen, room_classifier=classifier)
    network = load_network(directory, metadata, device)
    forward = prepare_forward(network, chosen, threads)
    return LoadedModel(
        metadata, forward, network=network, directory=directory, runtime=chosen, room_classifier=classifier
    )
