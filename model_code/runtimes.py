"""CPU runtimes for the U-Net forward pass: eager, channels_last, TorchScript and ONNX Runtime.

Every runtime is prepared from the same eval-mode network into a :data:`Forward`: a function
from a normalised ``(N, 3, H, W)`` float32 tensor (H, W multiples of 32) to the ``(N, C, H, W)``
logits, exactly what ``network(tensor)`` returns.  The benchmark
(``benchmarks/runtime_compare.py``) and the equivalence test use these functions, so the
variants measured are the variants tested.

* ``eager`` - the network as loaded, under ``torch.inference_mode`` (what inference does).
* ``channels_last`` - a copy of the network and its input in ``torch.channels_last``.
* ``torchscript`` - ``torch.jit.trace`` + ``torch.jit.freeze`` (conv-bn folding, constants).
* ``torchscript_optimized`` - the above + ``torch.jit.optimize_for_inference``.
* ``onnx`` - ``torch.onnx.export`` (TorchScript-based exporter, opset 17, dynamic batch/H/W)
  into memory, run by an ONNX Runtime CPU session with all graph optimisations and without
  ORT's CPU memory arena (activations come from malloc and are given back after each run).
* ``onnx_arena`` - the same with ORT's CPU arena: ~10 % faster, but the arena keeps the largest
  activation set (~130-200 MiB per process at 512 px) for the life of the session.

``onnxruntime`` and ``onnx`` are imported only when the ``onnx`` runtime is prepared.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

Forward = Callable[[torch.Tensor], torch.Tensor]

RUNTIMES = ("eager", "channels_last", "torchscript", "torchscript_optimized", "onnx", "onnx_arena")
DEFAULT_RUNTIME = (
    "onnx"  # fastest on CPU at equal accuracy, small memory cost (docs/benchmarks.md, "Runtimes")
)
ONNX_OPSET = 17
ONNX_INPUT = "image"
ONNX_OUTPUT = "logits"


class RuntimeUnavailable(RuntimeError):
    """The requested runtime cannot be used here (e.g. ``onnxruntime`` is not installed)."""


def onnx_available() -> bool:
    """True when ``onnxruntime`` and ``onnx`` (needed by the exporter) can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def to_channels_last(network: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``network`` with its 4-D parameters in ``torch.channels_last`` (the original is kept)."""
    return copy.deepcopy(network).to(memory_format=torch.channels_last).eval()


def trace_torchscript(
    network: torch.nn.Module, example: torch.Tensor, optimize: bool = False
) -> torch.jit.ScriptModule:
    """Trace ``network`` on ``example`` and freeze it; ``optimize`` adds ``optimize_for_inference``.

    The U-Net has no data-dependent control flow, and its decoder takes the upsampling sizes
    from the skip tensors' shapes, so the traced graph accepts any H, W that are multiples of 32.
    """
    network = network.eval()
    with torch.no_grad():
        traced = torch.jit.trace(network, example, check_trace=False)
        frozen = torch.jit.freeze(traced)
        if optimize:
            frozen = torch.jit.optimize_for_inference(frozen)
    return frozen


def export_onnx(network: torch.nn.Module, example: torch.Tensor, destination: str | Path | IO[bytes]) -> None:
    """Export ``network`` to ONNX (opset 17, dynamic batch/height/width) into a path or a binary buffer.

    Uses the TorchScript-based exporter (``dynamo=False``), which needs only ``onnx``.
    """
    if not onnx_available():
        raise RuntimeUnavailable("ONNX export needs the 'onnx' and 'onnxruntime' packages (pip install them)")
    dynamic = {0: "batch", 2: "height", 3: "width"}
    target = str(destination) if isinstance(destination, Path) else destination
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # the legacy exporter announces its own deprecation
        torch.onnx.export(
            network.eval(),
            (example,),
            target,
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=[ONNX_INPUT],
            output_names=[ONNX_OUTPUT],
            dynamic_axes={ONNX_INPUT: dynamic, ONNX_OUTPUT: dynamic},
        )


def onnx_session(model: bytes | str | Path, threads: int, arena: bool = False) -> Any:
    """An ONNX Runtime CPU ``InferenceSession`` for a model file or its bytes.

    ``threads`` sets the intra-op pool (match ``torch.get_num_threads()``); inter-op is 1 and all
    graph optimisations are enabled.  ``arena`` keeps ORT's CPU memory arena (faster, but it
    never shrinks); without it activations are plain allocations returned after each run.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise RuntimeUnavailable("the 'onnx' runtime needs the 'onnxruntime' package") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = arena
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def release_freed_memory() -> None:
    """Hand memory freed by the C allocator back to the OS (glibc ``malloc_trim``; no-op elsewhere).

    The ONNX export allocates ~100 MiB of temporary buffers that glibc would otherwise keep
    mapped for the life of a server worker.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def _eager_forward(network: torch.nn.Module) -> Forward:
    def forward(tensor: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return network(tensor)

    return forward


def _channels_last_forward(network: torch.nn.Module) -> Forward:
    converted = to_channels_last(network)

    def forward(tensor: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return converted(tensor.contiguous(memory_format=torch.channels_last)).contiguous()

    return forward


def _torchscript_forward(network: torch.nn.Module, example: torch.Tensor, optimize: bool) -> Forward:
    module = trace_torchscript(network, example, optimize=optimize)

    def forward(tensor: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return module(tensor)

    return forward


def _onnx_forward(network: torch.nn.Module, example: torch.Tensor, threads: int, arena: bool) -> Forward:
    buffer = io.BytesIO()
    export_onnx(network, example, buffer)
    session = onnx_session(buffer.getvalue(), threads, arena=arena)
    del buffer
    release_freed_memory()

    def forward(tensor: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(session.run([ONNX_OUTPUT], {ONNX_INPUT: array})[0])

    return forward


def prepare_forward(
    network: torch.nn.Module, runtime: str, example: torch.Tensor, threads: int | None = None
) -> Forward:
    """Prepare ``network`` (eval mode, CPU) for ``runtime`` (one of :data:`RUNTIMES`).

    ``example`` is a representative input used for tracing/export (its values do not matter,
    only its rank and dtype); ``threads`` sets ONNX Runtime's pool (default: torch's thread count).
    Raises :class:`RuntimeUnavailable` when the runtime's package is missing and ``ValueError``
    for an unknown runtime name.
    """
    network = network.eval()
    if runtime == "eager":
        return _eager_forward(network)
    if runtime == "channels_last":
        return _channels_last_forward(network)
    if runtime in ("torchscript", "torchscript_optimized"):
        return _torchscript_forward(network, example, optimize=runtime == "torchscript_optimized")
    if runtime in ("onnx", "onnx_arena"):
        return _onnx_forward(network, example, threads or torch.get_num_threads(), runtime == "onnx_arena")
    raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")


def probabilities(forward: Forward, tensor: torch.Tensor) -> np.ndarray:
    """Sigmoid probabilities ``(N, C, H, W)`` float32 from a prepared :data:`Forward`."""
    with torch.inference_mode():
        return torch.sigmoid(forward(tensor)).float().cpu().numpy()
