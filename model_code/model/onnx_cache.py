"""The ONNX export of a checkpoint, made once and reused by every process that serves it.

Exporting needs torch, takes about a second and ~100 MiB of scratch memory; running the
exported file needs only ONNX Runtime.  The file is cached under a name derived from the
checkpoint's weights, its architecture and the export format, so a changed checkpoint never
meets a stale export.  ``container/serve`` runs ``floorplan export`` before gunicorn forks its
workers and the Docker build exports the bundled model, so CPU serving workers load the cached
file and never import torch (a worker without a cached file exports it itself, once).

Cache folder: ``$FLOORPLAN_CACHE_DIR/onnx``, else ``$XDG_CACHE_HOME/floorplan/onnx``, else
``~/.cache/floorplan/onnx``.  Files are written atomically, so workers exporting at the same
moment never read half a file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from model_code.io.files import atomic_write_bytes
from model_code.model.checkpoint import WEIGHTS_FILE, CheckpointError, is_checkpoint, read_metadata
from model_code.model.network import load_network
from model_code.model.runtimes import ONNX_OPSET, Forward, default_threads, export_onnx_bytes, onnx_forward

CACHE_ENV = "FLOORPLAN_CACHE_DIR"
EXPORT_VERSION = 1  # bump whenever runtimes.export_onnx produces a different graph
logger = logging.getLogger(__name__)


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder holding exported ONNX files (see the module docstring for the order of lookup)."""
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]) / "onnx"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "floorplan" / "onnx"
    return Path.home() / ".cache" / "floorplan" / "onnx"


def checkpoint_key(directory: str | Path) -> str:
    """A hex digest of what the export depends on: weights bytes, architecture, opset, export version."""
    directory = Path(directory)
    digest = hashlib.sha256()
    with open(directory / WEIGHTS_FILE, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    spec = dataclasses.asdict(read_metadata(directory).spec)
    digest.update(json.dumps(spec, sort_keys=True).encode())
    digest.update(f"opset={ONNX_OPSET};export={EXPORT_VERSION}".encode())
    return digest.hexdigest()[:32]


def cached_onnx_path(directory: str | Path, environ: Mapping[str, str] | None = None) -> Path:
    """Where the export of the checkpoint in ``directory`` lives in the cache (it may not exist yet)."""
    return cache_dir(environ) / f"{checkpoint_key(directory)}.onnx"


def _store(path: Path, data: bytes) -> None:
    """Write an export into the cache atomically (creating the folder); raises ``OSError``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


def export_checkpoint(directory: str | Path, environ: Mapping[str, str] | None = None) -> Path:
    """Make sure the checkpoint's export is in the cache and return its path (exports if missing).

    Raises:
        CheckpointError: ``directory`` holds no checkpoint.
        OSError: the cache folder cannot be written.
    """
    directory = Path(directory)
    if not is_checkpoint(directory):
        raise CheckpointError(f"no model checkpoint in {directory}")
    path = cached_onnx_path(directory, environ)
    if not path.is_file():
        _store(path, export_onnx_bytes(load_network(directory)))
    return path


def onnx_model_forward(directory: str | Path, threads: int | None = None, arena: bool = False) -> Forward:
    """The ONNX Runtime :data:`~model_code.model.runtimes.Forward` of a checkpoint, from the cache.

    A missing export is made and cached first; when the cache cannot be written the export
    runs from memory (with a warning); a cached file ONNX Runtime cannot load is replaced.
    """
    threads = threads or default_threads()
    path = cached_onnx_path(directory)
    if path.is_file():
        try:
            return onnx_forward(path, threads, arena=arena)
        except Exception as exc:  # ORT raises its own exception types for a damaged file
            logger.warning("cached ONNX export %s is unusable (%s); exporting again", path, exc)
    data = export_onnx_bytes(load_network(directory))
    try:
        _store(path, data)
    except OSError as exc:
        logger.warning(
            "cannot cache the ONNX export in %s (%s); set %s to a writable folder",
            path.parent,
            exc,
            CACHE_ENV,
        )
    return onnx_forward(data, threads, arena=arena)
