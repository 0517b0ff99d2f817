"""Every knob of the model server, read once from the environment into one frozen record.

SageMaker configures a serving container through environment variables; this module is the
only place that reads them, so ``container/serve``, the gunicorn configuration, the Flask app
and ``/execution-parameters`` agree on the same values.

| variable | meaning | default |
| --- | --- | --- |
| ``SAGEMAKER_BIND_TO_PORT`` | TCP port | 8080 |
| ``SERVING_BIND_HOST`` | interface to bind | ``0.0.0.0`` (``serve_local.py``: 127.0.0.1) |
| ``SAGEMAKER_MODEL_SERVER_WORKERS`` / ``MODEL_SERVER_WORKERS`` | gunicorn worker processes | see below |
| ``MODEL_SERVER_THREADS`` | request threads per worker (inference is serialised), at least 2 | 16 |
| ``MODEL_SERVER_MAX_QUEUE`` | inference requests a worker admits (running + queued) | threads // 2 |
| ``MODEL_SERVER_WORKER_MEMORY_MB`` | memory budget of one worker for the default | 1500 |
| ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` / ``MODEL_SERVER_TIMEOUT`` | request timeout, seconds | 60 |
| ``MODEL_SERVER_GRACEFUL_TIMEOUT`` | seconds to finish in-flight requests on SIGTERM | 25 |
| ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` | largest request body, MiB | 6 |
| ``MODEL_SERVER_MAX_PIXELS`` | largest decoded image, pixels (at most 1 000 000 000) | 150 000 000 |
| ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` | response type for no Accept or ``*/*`` | application/json |
| ``SAGEMAKER_BATCH`` | ``true`` inside a batch transform job | false |
| ``SAGEMAKER_BATCH_STRATEGY`` | ``SINGLE_RECORD`` or ``MULTI_RECORD`` (JSON Lines batches) | SINGLE_RECORD |
| ``SAGEMAKER_MAX_CONCURRENT_TRANSFORMS`` | parallel requests per instance in batch | workers |
| ``SAGEMAKER_BASE_DIR`` | stands in for ``/opt/ml`` | ``/opt/ml`` |
| ``MODEL_SERVER_VIEWS`` | the ``views`` option of a request that does not give one (1, 2 or 4) | 1 |
| ``MODEL_SERVER_TEXT_PRELOAD`` | ``true``: workers load the OCR reader at start (~65 MiB each) | false |
| ``MODEL_SERVER_RUN_DIR`` | the workers' readiness files; set by the gunicorn master, not by users | unset |

Without ``MODEL_SERVER_TEXT_PRELOAD`` a worker loads the OCR reader on its first ``text=on`` request
(about a second, once).

Default workers: ``min(CPUs, memory // MODEL_SERVER_WORKER_MEMORY_MB)``, at least 1, and 1 when a
GPU is visible.  Torch threads per worker: ``max(1, CPUs // workers)`` (no oversubscription).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from model_code.io.images import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING
from model_code.model.inference import VIEW_FLIPS
from model_code.sagemaker_contract import sagemaker_paths

DEFAULT_PORT = 8080
DEFAULT_HOST = "0.0.0.0"
DEFAULT_TIMEOUT_S = 60
DEFAULT_GRACEFUL_TIMEOUT_S = 25
DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_THREADS = 16
DEFAULT_WORKER_MEMORY_MB = 1500
# What /invocations answers, by Accept: the result JSON, the PNG mask or overlay, and the vector exports
# (model_code.exports.formats: SVG, GeoJSON and DXF, each with the aliases it answers to).
RESPONSE_TYPES = (
    "application/json",
    "image/png",
    "image/svg+xml",
    "application/geo+json",
    "application/vnd.geo+json",
    "application/dxf",
    "image/vnd.dxf",
)
BATCH_STRATEGIES = ("SINGLE_RECORD", "MULTI_RECORD")


class ServingConfigError(ValueError):
    """An environment variable holds a value the server cannot use."""


@dataclass(frozen=True)
class ServingConfig:
    """The resolved server settings (see the module docstring for the variables)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    threads: int = DEFAULT_THREADS
    max_queue: int = DEFAULT_THREADS // 2
    torch_threads: int = 1
    timeout_s: int = DEFAULT_TIMEOUT_S
    graceful_timeout_s: int = DEFAULT_GRACEFUL_TIMEOUT_S
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB
    max_pixels: int = DEFAULT_MAX_PIXELS
    default_accept: str = "application/json"
    batch: bool = False
    batch_strategy: str = "SINGLE_RECORD"
    max_concurrent_transforms: int = 1
    use_gpu: bool = False
    run_dir: str | None = None
    text_preload: bool = False
    views: int = 1  # the requests' default ``views`` option (a batch transform's records give none)

    @property
    def max_payload_bytes(self) -> int:
        """The request-body limit in bytes."""
        return self.max_payload_mb * 1024 * 1024

    @property
    def gunicorn_timeout_s(self) -> int:
        """Gunicorn's worker timeout: never shorter than the request timeout."""
        return self.timeout_s + 30

    def execution_parameters(self) -> dict[str, int | str]:
        """The body of ``GET /execution-parameters`` for batch transform."""
        return {
            "MaxConcurrentTransforms": self.max_concurrent_transforms,
            "BatchStrategy": self.batch_strategy,
            "MaxPayloadInMB": self.max_payload_mb,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServingConfig:
        """Read every knob from ``environ`` (default ``os.environ``); raises :class:`ServingConfigError`."""
        env = os.environ if environ is None else environ
        use_gpu = gpu_visible(env)
        cpus = available_cpus()
        workers = _int(env, ("SAGEMAKER_MODEL_SERVER_WORKERS", "MODEL_SERVER_WORKERS"), 0, minimum=1)
        if workers == 0:
            workers = default_workers(cpus, available_memory_mb(), _worker_memory_mb(env), use_gpu)
        timeout = _int(env, ("SAGEMAKER_MODEL_SERVER_TIMEOUT", "MODEL_SERVER_TIMEOUT"), DEFAULT_TIMEOUT_S, 1)
        strategy = _batch_strategy(env)
        threads = _int(env, ("MODEL_SERVER_THREADS",), DEFAULT_THREADS, minimum=2)
        # At least one request thread stays out of reach of inference requests: it answers /ping.
        max_queue = _int(env, ("MODEL_SERVER_MAX_QUEUE",), threads // 2, minimum=1)
        if max_queue >= threads:
            raise ServingConfigError(
                f"MODEL_SERVER_MAX_QUEUE={max_queue} must be below MODEL_SERVER_THREADS={threads}: "
                "a request thread must stay free for /ping"
            )
        return cls(
            host=env.get("SERVING_BIND_HOST", DEFAULT_HOST).strip() or DEFAULT_HOST,
            port=_int(env, ("SAGEMAKER_BIND_TO_PORT",), DEFAULT_PORT, minimum=1, maximum=65535),
            workers=workers,
            threads=threads,
            max_queue=max_queue,
            torch_threads=max(1, cpus // workers),
            timeout_s=timeout,
            graceful_timeout_s=_int(
                env, ("MODEL_SERVER_GRACEFUL_TIMEOUT",), min(DEFAULT_GRACEFUL_TIMEOUT_S, timeout), minimum=1
            ),
            max_payload_mb=_int(env, ("SAGEMAKER_MAX_PAYLOAD_IN_MB",), DEFAULT_MAX_PAYLOAD_MB, minimum=1),
            max_pixels=_int(
                env, ("MODEL_SERVER_MAX_PIXELS",), DEFAULT_MAX_PIXELS, minimum=1, maximum=MAX_PIXELS_CEILING
            ),
            default_accept=_default_accept(env),
            batch=env.get("SAGEMAKER_BATCH", "").strip().lower() in ("1", "true", "yes"),
            text_preload=env.get("MODEL_SERVER_TEXT_PRELOAD", "").strip().lower() in ("1", "true", "yes"),
            views=_views(env),
            batch_strategy=strategy,
            max_concurrent_transforms=_int(env, ("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS",), workers, minimum=1),
            use_gpu=use_gpu,
            run_dir=env.get("MODEL_SERVER_RUN_DIR", "").strip() or None,
        )


def _int(
    env: Mapping[str, str], names: tuple[str, ...], default: int, minimum: int, maximum: int | None = None
) -> int:
    """The first of ``names`` that is set, as an int within bounds, else ``default``."""
    for name in names:
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            raise ServingConfigError(f"{name}={raw!r} is not an integer") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise ServingConfigError(f"{name}={value} must be {bounds}")
        return value
    return default


def _views(env: Mapping[str, str]) -> int:
    """``MODEL_SERVER_VIEWS``: one of :data:`~model_code.model.inference.VIEW_FLIPS`' counts (default 1)."""
    views = _int(env, ("MODEL_SERVER_VIEWS",), 1, minimum=1)
    if views not in VIEW_FLIPS:
        raise ServingConfigError(f"MODEL_SERVER_VIEWS={views} must be one of {list(VIEW_FLIPS)}")
    return views


def _batch_strategy(env: Mapping[str, str]) -> str:
    """``SINGLE_RECORD`` or ``MULTI_RECORD``; the API's spellings ``SingleRecord``/``MultiRecord`` too."""
    raw = env.get("SAGEMAKER_BATCH_STRATEGY", "").strip()
    if not raw:
        return BATCH_STRATEGIES[0]
    by_key = {name.replace("_", ""): name for name in BATCH_STRATEGIES}
    strategy = by_key.get(raw.upper().replace("_", ""))
    if strategy is None:
        raise ServingConfigError(f"SAGEMAKER_BATCH_STRATEGY={raw!r} is not one of {list(BATCH_STRATEGIES)}")
    return strategy


def _worker_memory_mb(env: Mapping[str, str]) -> int:
    return _int(env, ("MODEL_SERVER_WORKER_MEMORY_MB",), DEFAULT_WORKER_MEMORY_MB, minimum=1)


def _default_accept(env: Mapping[str, str]) -> str:
    raw = env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "").split(";")[0].strip().lower()
    if not raw:
        return RESPONSE_TYPES[0]
    if raw not in RESPONSE_TYPES:
        raise ServingConfigError(
            f"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT={raw!r} is not one of {list(RESPONSE_TYPES)}"
        )
    return raw


def default_workers(cpus: int, memory_mb: int | None, worker_memory_mb: int, use_gpu: bool) -> int:
    """``min(cpus, memory // per-worker memory)``, at least 1; one worker owns a GPU."""
    if use_gpu:
        return 1
    by_memory = cpus if memory_mb is None else memory_mb // worker_memory_mb
    return max(1, min(cpus, by_memory))


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, count)


def available_memory_mb() -> int | None:
    """Memory for the workers: the cgroup v2 limit if any, else MemTotal; None when unknown."""
    limits = []
    try:
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if raw != "max":
            limits.append(int(raw) // (1024 * 1024))
    except (OSError, ValueError):
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                limits.append(int(line.split()[1]) // 1024)
    except (OSError, ValueError, IndexError):
        pass
    return min(limits) if limits else None


def gpu_visible(environ: Mapping[str, str] | None = None) -> bool:
    """True when an NVIDIA GPU is visible, checked without initialising CUDA (safe before fork)."""
    env = os.environ if environ is None else environ
    if env.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia/gpus").is_dir()


def resolve_serving_model_dir() -> Path:
    """The checkpoint the server serves: ``<SAGEMAKER_BASE_DIR or /opt/ml>/model``, or the bundled model.

    The bundled default model is served only when the model folder is absent or empty (hidden
    files such as ``.keep`` aside).  Anything else in it must be a complete checkpoint: half a
    checkpoint, an unextracted ``model.tar.gz`` or a file in place of the folder is an error,
    never silently replaced by the bundled model.

    Raises:
        CheckpointError: the model folder holds something that is not a complete checkpoint.
    """
    # Imported here so the gunicorn master, which reads this module's config, never imports torch.
    from model_code.model.checkpoint import DEFAULT_MODEL_DIR, CheckpointError, checkpoint_problem

    model_dir = sagemaker_paths().model
    if not model_dir.exists() and not model_dir.is_symlink():
        return DEFAULT_MODEL_DIR
    if model_dir.is_dir() and not any(not p.name.startswith(".") for p in model_dir.iterdir()):
        return DEFAULT_MODEL_DIR
    problem = checkpoint_problem(model_dir)
    if problem is not None:
        raise CheckpointError(
            f"model folder {model_dir} {problem} (the bundled model is served only when the folder is "
            "absent or empty)"
        )
    return model_dir
