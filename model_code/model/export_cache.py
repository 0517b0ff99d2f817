"""A checkpoint's exported models (ONNX, int8 ONNX, OpenVINO int8), made once and reused by every process.

Exporting needs torch, takes about a second and ~100 MiB of scratch memory; quantising takes
10 to 60 s more (:mod:`model_code.model.quantize`).  Running an exported file needs only ONNX Runtime
or OpenVINO.  Each file is cached under a name derived from the checkpoint's weights, its architecture
and the export format, so a changed checkpoint never meets a stale export:

| artefact | file | runtimes |
| --- | --- | --- |
| ``onnx`` | ``KEY.onnx`` | ``onnx``, ``onnx_arena``, ``openvino``, ``openvino_bf16`` |
| ``onnx_int8`` | ``KEY.int8-qN.onnx`` | ``onnx_int8`` |
| ``openvino_int8`` | ``KEY.openvino-int8-qN.xml`` + ``.bin`` | ``openvino_int8`` |

``container/serve`` runs ``floorplan export`` (the served runtime's artefact) before gunicorn forks its
workers and the Docker build does it for the bundled model, so CPU workers load the cached file and
never import torch (a worker without a cached file makes it itself, once).

Cache folder: ``$FLOORPLAN_CACHE_DIR/onnx``, else ``$XDG_CACHE_HOME/floorplan/onnx``, else
``~/.cache/floorplan/onnx``.  Files are written atomically (an IR's ``.bin`` before its ``.xml``), so
workers exporting at the same moment never read half a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from model_code.io.files import atomic_write_bytes
from model_code.model.checkpoint import (
    CheckpointError,
    is_checkpoint,
    read_metadata,
    weights_digest,
)
from model_code.model.network import load_network
from model_code.model.quantize import QUANTIZE_VERSION
from model_code.model.runtimes import (
    EXPORTED_RUNTIMES,
    ONNX_OPSET,
    OPENVINO_PRECISION,
    QUANTIZED_RUNTIMES,
    Forward,
    default_threads,
    export_onnx_bytes,
    onnx_forward,
    openvino_forward,
)

CACHE_ENV = "FLOORPLAN_CACHE_DIR"
EXPORT_VERSION = 1  # bump whenever runtimes.export_onnx produces a different graph
ARTEFACTS = ("onnx", "onnx_int8", "openvino_int8")
logger = logging.getLogger(__name__)


def artefact_of(runtime: str) -> str:
    """The cached artefact an exported runtime runs (see the module docstring's table)."""
    if runtime in QUANTIZED_RUNTIMES:
        return runtime
    if runtime in EXPORTED_RUNTIMES:
        return "onnx"
    exported = ", ".join(EXPORTED_RUNTIMES)
    raise ValueError(f"runtime {runtime!r} runs no exported file (those that do: {exported})")


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder holding exported files (see the module docstring for the order of lookup)."""
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]) / "onnx"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "floorplan" / "onnx"
    return Path.home() / ".cache" / "floorplan" / "onnx"


def checkpoint_key(directory: str | Path) -> str:
    """A hex digest of what the export depends on: weights bytes, architecture, opset, export version."""
    directory = Path(directory)
    digest = hashlib.sha256(weights_digest(directory).encode())
    spec = dataclasses.asdict(read_metadata(directory).spec)
    digest.update(json.dumps(spec, sort_keys=True).encode())
    digest.update(f"opset={ONNX_OPSET};export={EXPORT_VERSION}".encode())
    return digest.hexdigest()[:32]


def cached_export_path(
    directory: str | Path, artefact: str = "onnx", environ: Mapping[str, str] | None = None
) -> Path:
    """Where ``artefact`` of the checkpoint in ``directory`` lives in the cache (it may not exist yet);
    for ``openvino_int8`` the IR's ``.xml`` (its weights are the ``.bin`` beside it)."""
    key = checkpoint_key(directory)
    names = {
        "onnx": f"{key}.onnx",
        "onnx_int8": f"{key}.int8-q{QUANTIZE_VERSION}.onnx",
        "openvino_int8": f"{key}.openvino-int8-q{QUANTIZE_VERSION}.xml",
    }
    if artefact not in names:
        raise ValueError(f"unknown export artefact {artefact!r}; choose one of {', '.join(ARTEFACTS)}")
    return cache_dir(environ) / names[artefact]


def cached_onnx_path(directory: str | Path, environ: Mapping[str, str] | None = None) -> Path:
    """Where the fp32 ONNX export of the checkpoint in ``directory`` lives in the cache."""
    return cached_export_path(directory, "onnx", environ)


def _store(path: Path, data: bytes) -> None:
    """Write an export into the cache atomically (creating the folder); raises ``OSError``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


def _calibration(directory: Path) -> list[np.ndarray]:
    from model_code.model.quantize import calibration_batches

    meta = read_metadata(directory)
    return calibration_batches(meta.working_size, meta.mean, meta.std)


def _make(directory: Path, artefact: str, onnx_bytes: bytes | None = None) -> dict[str, bytes]:
    """The artefact's files (suffix -> bytes), made from the checkpoint (or its fp32 export's bytes)."""
    if onnx_bytes is None:
        onnx_bytes = export_onnx_bytes(load_network(directory))
    if artefact == "onnx":
        return {".onnx": onnx_bytes}
    from model_code.model import quantize

    if artefact == "onnx_int8":
        return {".onnx": quantize.quantize_onnx_int8(onnx_bytes, _calibration(directory))}
    quantized = quantize.quantize_openvino_int8(onnx_bytes, _calibration(directory))
    xml, weights = quantize.openvino_ir_bytes(quantized)
    return {".bin": weights, ".xml": xml}


def _make_from_cache(directory: Path, artefact: str, environ: Mapping[str, str] | None) -> dict[str, bytes]:
    """:func:`_make`, quantising the cached fp32 export when it is there (no torch export then).

    A cached fp32 file the quantiser cannot read is replaced by a fresh export (when the cache is
    writable) and the quantisation runs on that.
    """
    path = cached_onnx_path(directory, environ)
    if artefact == "onnx" or not path.is_file():
        return _make(directory, artefact)
    try:
        return _make(directory, artefact, path.read_bytes())
    except Exception as exc:  # a damaged fp32 file: onnx/ORT/OpenVINO raise their own types
        logger.warning("cached export %s could not be quantised (%s); exporting again", path, exc)
    fp32 = export_onnx_bytes(load_network(directory))
    with contextlib.suppress(OSError):  # the caller reports an unwritable cache
        _store(path, fp32)
    return _make(directory, artefact, fp32)


def _store_artefact(path: Path, files: Mapping[str, bytes]) -> None:
    for suffix, data in files.items():  # .bin before .xml: a present .xml means a complete IR
        _store(path.with_suffix(suffix), data)


def export_checkpoint(
    directory: str | Path, environ: Mapping[str, str] | None = None, runtime: str = "onnx"
) -> Path:
    """Make sure the file ``runtime`` runs is in the cache and return its path (made if missing).

    Quantised artefacts are made from the cached fp32 export (made first when missing).

    Raises:
        CheckpointError: ``directory`` holds no checkpoint.
        OSError: the cache folder cannot be written.
    """
    directory = Path(directory)
    if not is_checkpoint(directory):
        raise CheckpointError(f"no model checkpoint in {directory}")
    artefact = artefact_of(runtime)
    if artefact != "onnx":
        export_checkpoint(directory, environ, "onnx")
    path = cached_export_path(directory, artefact, environ)
    if not path.is_file():
        _store_artefact(path, _make_from_cache(directory, artefact, environ))
    return path


def _forward_of(source: Path | dict[str, bytes], runtime: str, threads: int, arena: bool) -> Forward:
    """The :data:`Forward` of a cached file or of freshly made files (suffix -> bytes)."""
    if runtime == "openvino_int8":
        if isinstance(source, dict):
            import openvino as ov

            model = ov.Core().read_model(
                model=source[".xml"], weights=ov.Tensor(np.frombuffer(source[".bin"], np.uint8).copy())
            )
            return openvino_forward(model, threads)
        return openvino_forward(source, threads)
    if isinstance(source, dict):
        source = source[".onnx"]  # type: ignore[assignment]
    if runtime in OPENVINO_PRECISION:
        return openvino_forward(source, threads, OPENVINO_PRECISION[runtime])
    return onnx_forward(source, threads, arena=arena)  # type: ignore[arg-type]


def exported_model_forward(
    directory: str | Path, runtime: str = "onnx", threads: int | None = None
) -> Forward:
    """The :data:`~model_code.model.runtimes.Forward` of a checkpoint's exported ``runtime``, from the cache.

    A missing file is made and cached first; when the cache cannot be written the model runs from
    memory (with a warning); a cached file the runtime cannot load is replaced.
    """
    directory = Path(directory)
    threads = threads or default_threads()
    arena = runtime == "onnx_arena"
    artefact = artefact_of(runtime)
    path = cached_export_path(directory, artefact)
    if path.is_file():
        try:
            return _forward_of(path, runtime, threads, arena)
        except Exception as exc:  # ORT and OpenVINO raise their own exception types for a damaged file
            logger.warning("cached export %s is unusable (%s); exporting again", path, exc)
    files = _make_from_cache(directory, artefact, None)
    try:
        _store_artefact(path, files)
    except OSError as exc:
        logger.warning(
            "cannot cache the export in %s (%s); set %s to a writable folder",
            path.parent,
            exc,
            CACHE_ENV,
        )
    return _forward_of(files, runtime, threads, arena)
