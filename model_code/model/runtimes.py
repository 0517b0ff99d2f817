"""Runtimes for the U-Net forward pass: eager, channels_last, TorchScript, ONNX Runtime and OpenVINO.

Every runtime is a :data:`Forward`: a function from a normalised ``(N, 3, H, W)`` float32 numpy
batch (H, W multiples of 32) to the ``(N, C, H, W)`` float32 sigmoid probabilities.  The
benchmark (``benchmarks/runtime_compare.py``) and the equivalence test use these functions, so
the variants measured are the variants tested.

* ``eager`` - the network as loaded (CPU or GPU), under ``torch.inference_mode``.
* ``channels_last`` - a copy of the network and its input in ``torch.channels_last``.
* ``torchscript`` - ``torch.jit.trace`` + ``torch.jit.freeze`` (conv-bn folding, constants).
* ``torchscript_optimized`` - the above + ``torch.jit.optimize_for_inference``.
* ``onnx`` - the network and its sigmoid exported by ``torch.onnx.export`` (TorchScript-based
  exporter, opset 17, dynamic batch/H/W), run by an ONNX Runtime CPU session with all graph
  optimisations and without ORT's CPU memory arena (activations come from malloc and are given
  back after each run).  The exported file is cached per checkpoint
  (:mod:`model_code.model.export_cache`), so a process that finds it never imports torch.
* ``onnx_arena`` - the same with ORT's CPU arena: ~10 % faster, but the arena keeps the largest
  activation set (~130-200 MiB per process at 512 px) for the life of the session.
* ``onnx_int8`` - ONNX Runtime on the int8 model (static QDQ quantisation, per-channel weights,
  calibrated on generated plans: :mod:`model_code.model.quantize`).
* ``openvino`` - OpenVINO's CPU plugin on the fp32 ONNX export, fp32 arithmetic throughout.
* ``openvino_bf16`` - the same with bfloat16 arithmetic: as fast as int8 on a CPU with AMX, but
  emulated and about 4x slower than fp32 on one without native bf16 (docs/benchmarks.md), so never
  a default.
* ``openvino_int8`` - OpenVINO on the NNCF post-training int8 model (concatenations kept in
  floating point: quantising the U-Net's skip concatenations costs 7 points of wall agreement).

The int8 models are made from the fp32 export at export time and cached beside it.  torch is
imported only by the functions that need it, ``onnxruntime``/``onnx``/``openvino``/``nncf`` only
when their runtime is prepared.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import importlib.util
import io
import os
import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

Forward = Callable[[np.ndarray], np.ndarray]

RUNTIMES = (
    "eager",
    "channels_last",
    "torchscript",
    "torchscript_optimized",
    "onnx",
    "onnx_arena",
    "onnx_int8",
    "openvino",
    "openvino_bf16",
    "openvino_int8",
)
ONNX_RUNTIMES = ("onnx", "onnx_arena", "onnx_int8")  # run by ONNX Runtime
OPENVINO_RUNTIMES = ("openvino", "openvino_bf16", "openvino_int8")  # run by OpenVINO
EXPORTED_RUNTIMES = ONNX_RUNTIMES + OPENVINO_RUNTIMES  # served from the export cache, without torch
QUANTIZED_RUNTIMES = ("onnx_int8", "openvino_int8")  # need calibration batches to prepare
# The fastest CPU runtime within the accuracy bounds (docs/benchmarks.md, "Runtimes"); when its package is
# missing, load_model falls back to FALLBACK_RUNTIME, then to eager.
DEFAULT_RUNTIME = "openvino_int8"
FALLBACK_RUNTIME = "onnx"
RUNTIME_ENV = "FLOORPLAN_RUNTIME"  # overrides the default runtime of load_model(runtime=None)
ONNX_OPSET = 17
ONNX_INPUT = "image"
ONNX_OUTPUT = "probabilities"
EXAMPLE_SIDE = 64  # side of the dummy input a traced/exported runtime is prepared with


class RuntimeUnavailable(RuntimeError):
    """The requested runtime cannot be used here (e.g. ``onnxruntime`` is not installed)."""


def onnx_available() -> bool:
    """True when ``onnxruntime`` and ``onnx`` (needed by the exporter) are installed.

    Looked up without importing them: a serving worker that runs a cached export never needs
    ``onnx`` (~11 MiB once imported).
    """
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def openvino_available() -> bool:
    """True when OpenVINO is installed (looked up without importing it)."""
    return importlib.util.find_spec("openvino") is not None


def runtime_available(runtime: str) -> bool:
    """True when the packages ``runtime`` needs are installed (the torch runtimes always are here)."""
    if runtime in ONNX_RUNTIMES:
        return onnx_available()
    if runtime in OPENVINO_RUNTIMES:
        return openvino_available() and onnx_available()
    return runtime in RUNTIMES


def runtime_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The runtime ``$FLOORPLAN_RUNTIME`` names, or ``None`` when it is unset or empty.

    Raises ``ValueError`` for a name that is not one of :data:`RUNTIMES`.
    """
    value = (os.environ if environ is None else environ).get(RUNTIME_ENV, "").strip()
    if not value:
        return None
    if value not in RUNTIMES:
        raise ValueError(f"{RUNTIME_ENV}={value!r} is not a runtime; choose one of {', '.join(RUNTIMES)}")
    return value


def default_runtime(environ: Mapping[str, str] | None = None) -> str:
    """The CPU runtime ``load_model`` uses when none is named: ``$FLOORPLAN_RUNTIME``, else
    :data:`DEFAULT_RUNTIME`."""
    return runtime_from_environment(environ) or DEFAULT_RUNTIME


def default_threads() -> int:
    """Threads for a forward pass when none are given: torch's count if torch is already in use,
    else the CPUs this process may run on."""
    if "torch" in sys.modules:
        return int(sys.modules["torch"].get_num_threads())
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def to_channels_last(network: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``network`` with its 4-D parameters in ``torch.channels_last`` (the original is kept)."""
    import torch

    return copy.deepcopy(network).to(memory_format=torch.channels_last).eval()


def trace_torchscript(
    network: torch.nn.Module, example: torch.Tensor, optimize: bool = False
) -> torch.jit.ScriptModule:
    """Trace ``network`` on ``example`` and freeze it; ``optimize`` adds ``optimize_for_inference``.

    The U-Net has no data-dependent control flow, and its decoder takes the upsampling sizes
    from the skip tensors' shapes, so the traced graph accepts any H, W that are multiples of 32.
    """
    import torch

    network = network.eval()
    with torch.no_grad():
        traced = torch.jit.trace(network, example, check_trace=False)
        frozen = torch.jit.freeze(traced)
        if optimize:
            frozen = torch.jit.optimize_for_inference(frozen)
    return frozen


def export_onnx(network: torch.nn.Module, destination: str | Path | IO[bytes]) -> None:
    """Export ``network`` followed by a sigmoid to ONNX (opset 17, dynamic batch/height/width).

    The graph's input is ``image`` (normalised ``(N, 3, H, W)`` float32), its output
    ``probabilities``; ``destination`` is a path or a binary buffer.  Uses the TorchScript-based
    exporter (``dynamo=False``), which needs only ``onnx``.
    """
    if not onnx_available():
        raise RuntimeUnavailable("ONNX export needs the 'onnx' and 'onnxruntime' packages (pip install them)")
    import torch

    model = torch.nn.Sequential(network.eval(), torch.nn.Sigmoid()).eval()
    example = torch.zeros(1, _in_channels(network), EXAMPLE_SIDE, EXAMPLE_SIDE)
    dynamic = {0: "batch", 2: "height", 3: "width"}
    target = str(destination) if isinstance(destination, Path) else destination
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # the legacy exporter announces its own deprecation
        torch.onnx.export(
            model,
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

    ``threads`` sets the intra-op pool; inter-op is 1 and all graph optimisations are enabled.
    ``arena`` keeps ORT's CPU memory arena (faster, but it never shrinks); without it
    activations are plain allocations returned after each run.
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


def onnx_forward(model: bytes | str | Path, threads: int, arena: bool = False) -> Forward:
    """The :data:`Forward` of an exported file (or its bytes) from :func:`export_onnx`; needs no torch."""
    session = onnx_session(model, threads, arena=arena)
    names = [output.name for output in session.get_outputs()]
    if names != [ONNX_OUTPUT]:
        raise RuntimeUnavailable(f"the ONNX model outputs {names}, expected [{ONNX_OUTPUT!r}]: re-export it")

    def forward(batch: np.ndarray) -> np.ndarray:
        array = np.ascontiguousarray(batch, dtype=np.float32)
        return session.run([ONNX_OUTPUT], {ONNX_INPUT: array})[0]

    return forward


OPENVINO_PRECISION = {"openvino": "f32", "openvino_bf16": "bf16", "openvino_int8": "f32"}


RELEASE_ABOVE_PIXELS = 512 * 512  # OpenVINO keeps buffers sized for the largest input; see OpenVINOForward


class OpenVINOForward:
    """The :data:`Forward` of an OpenVINO compiled model, with :meth:`release_memory`.

    OpenVINO keeps its activation buffers (and per-shape kernels) for the largest input it has run:
    after the 768 px tiles of a large plan a worker would hold about 200 MiB more for good.
    :meth:`release_memory` gives them back once an input larger than :data:`RELEASE_ABOVE_PIXELS` has
    run, so the common case (a plan's 512 px pass) keeps its buffers and its speed.  One infer request
    serves every call; a lock makes concurrent callers (threads sharing a pipeline) take turns, as an
    OpenVINO infer request is not thread-safe.
    """

    def __init__(self, compiled: Any):
        self.compiled = compiled
        self.request = compiled.create_infer_request()
        self.large = False
        self.lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        array = np.ascontiguousarray(batch, dtype=np.float32)
        with self.lock:
            self.large = self.large or array.shape[2] * array.shape[3] > RELEASE_ABOVE_PIXELS
            self.request.infer({ONNX_INPUT: array})
            return np.array(self.request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    def release_memory(self) -> None:
        """Free the buffers of large inputs (no-op when none ran since the last call)."""
        with self.lock:
            if not self.large:
                return
            self.compiled.release_memory()
            release_freed_memory()  # glibc keeps freed heap pages otherwise
            self.large = False


def openvino_forward(model: Any, threads: int, precision: str = "f32") -> OpenVINOForward:
    """The :data:`Forward` of a model OpenVINO reads (an ``.onnx``/``.xml`` path, ONNX bytes or an
    ``openvino.Model``), compiled for the CPU with ``threads`` threads; needs no torch.

    ``precision`` is the inference precision of the floating-point parts (``f32`` or ``bf16``; an
    int8 model's quantised convolutions run in int8 whatever it is).  Threads are not pinned to cores,
    so two workers of one container never fight over the same core, and a single stream keeps one
    request's latency low.  The input's height and width stay dynamic: each new shape costs one slower
    first run (about 50 ms at 512 px), after which OpenVINO reuses its kernels.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    try:
        import openvino as ov
    except ImportError as exc:
        raise RuntimeUnavailable("the OpenVINO runtimes need the 'openvino' package") from exc
    core = ov.Core()
    if isinstance(model, bytes | bytearray):  # an ONNX model's bytes (weights inside)
        model = core.read_model(model=bytes(model), weights=ov.Tensor(ov.Type.u8, [0]))
    elif isinstance(model, str | Path):
        model = core.read_model(str(model))
    config = {
        "INFERENCE_NUM_THREADS": threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": precision,
        "ENABLE_CPU_PINNING": False,
    }
    compiled = core.compile_model(model, "CPU", config)
    names = [output.get_any_name() for output in compiled.outputs]
    if names != [ONNX_OUTPUT]:
        raise RuntimeUnavailable(
            f"the OpenVINO model outputs {names}, expected [{ONNX_OUTPUT!r}]: re-export it"
        )
    return OpenVINOForward(compiled)


def export_onnx_bytes(network: torch.nn.Module) -> bytes:
    """:func:`export_onnx` into memory; the exporter's scratch buffers are given back afterwards."""
    buffer = io.BytesIO()
    export_onnx(network, buffer)
    data = buffer.getvalue()
    del buffer
    release_freed_memory()
    return data


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


def _in_channels(network: torch.nn.Module) -> int:
    """Input channels of the network's first convolution (3 for RGB)."""
    import torch

    conv = next(m for m in network.modules() if isinstance(m, torch.nn.Conv2d))
    return int(conv.in_channels)


def _torch_forward(
    module: Callable[[torch.Tensor], torch.Tensor], device: torch.device, channels_last: bool
) -> Forward:
    """Wrap a torch module (or traced function) as a numpy-in, probabilities-out :data:`Forward`."""
    import torch

    def forward(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device)
            if channels_last:
                tensor = tensor.contiguous(memory_format=torch.channels_last)
            return torch.sigmoid(module(tensor)).float().cpu().numpy()

    return forward


def prepare_forward(
    network: torch.nn.Module,
    runtime: str,
    threads: int | None = None,
    calibration: list[np.ndarray] | None = None,
) -> Forward:
    """Prepare ``network`` for ``runtime`` (one of :data:`RUNTIMES`) and return its :data:`Forward`.

    Every runtime but ``eager`` runs on CPU.  Traced and exported runtimes are prepared on a
    dummy ``EXAMPLE_SIDE`` square input and accept any H, W that are multiples of 32.
    ``threads`` sets ONNX Runtime's or OpenVINO's pool (default :func:`default_threads`).  The int8
    runtimes (:data:`QUANTIZED_RUNTIMES`) need ``calibration``: normalised ``(1, 3, H, W)`` batches
    (:func:`model_code.model.quantize.calibration_batches`).  Raises :class:`RuntimeUnavailable` when
    the runtime's package is missing and ``ValueError`` for an unknown runtime name or missing
    calibration.
    """
    import torch

    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    network = network.eval()
    device = next(network.parameters()).device
    if runtime == "eager":
        return _torch_forward(network, device, channels_last=False)
    if device.type != "cpu":
        raise RuntimeUnavailable(f"runtime {runtime!r} runs on CPU only (the network is on {device})")
    if runtime == "channels_last":
        return _torch_forward(to_channels_last(network), device, channels_last=True)
    if runtime in ("torchscript", "torchscript_optimized"):
        example = torch.zeros(1, _in_channels(network), EXAMPLE_SIDE, EXAMPLE_SIDE)
        module = trace_torchscript(network, example, optimize=runtime == "torchscript_optimized")
        return _torch_forward(module, device, channels_last=False)
    threads = threads or default_threads()
    if runtime in QUANTIZED_RUNTIMES and not calibration:
        raise ValueError(f"runtime {runtime!r} needs calibration batches to quantise the network")
    if not runtime_available(runtime):
        raise RuntimeUnavailable(f"runtime {runtime!r} needs packages that are not installed")
    onnx_bytes = export_onnx_bytes(network)
    if runtime == "onnx_int8":
        from model_code.model.quantize import quantize_onnx_int8

        return onnx_forward(quantize_onnx_int8(onnx_bytes, calibration or []), threads)
    if runtime == "openvino_int8":
        from model_code.model.quantize import quantize_openvino_int8

        return openvino_forward(quantize_openvino_int8(onnx_bytes, calibration or []), threads)
    if runtime in OPENVINO_RUNTIMES:
        return openvino_forward(onnx_bytes, threads, OPENVINO_PRECISION[runtime])
    return onnx_forward(onnx_bytes, threads, arena=runtime == "onnx_arena")
