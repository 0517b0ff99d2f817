"""Gunicorn settings for ``container/serve``, all derived from :class:`ServingConfig` (the env knobs).

Workers are forked before the app is imported (no preload), so each worker loads the model
once, in the background, after the fork.  ``gthread`` workers keep ``/ping`` answering while
an inference runs (the app admits fewer inference requests than there are threads); SIGTERM
stops accepting and lets requests in flight finish within ``graceful_timeout``.  The master
keeps a run directory where each worker publishes its readiness (``model_code/serving/readiness.py``),
so that ``/ping`` 200 from any worker means every worker can serve.
"""

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model_code.serving import readiness  # noqa: E402
from model_code.serving.config import ServingConfig, ServingConfigError  # noqa: E402

try:
    _config = ServingConfig.from_env()
except ServingConfigError as exc:
    sys.exit(f"serve: invalid configuration: {exc}")

chdir = str(ROOT)
bind = [f"{_config.host}:{_config.port}"]
workers = _config.workers
worker_class = "gthread"
threads = _config.threads
timeout = _config.gunicorn_timeout_s
graceful_timeout = _config.graceful_timeout_s
keepalive = 5
preload_app = False
# Headers are small; the body limit is enforced by the app (SAGEMAKER_MAX_PAYLOAD_IN_MB, JSON 413).
limit_request_line = 8190
accesslog = None
errorlog = "-"
loglevel = "info"
capture_output = True
proc_name = "floorplan-serve"
# No runtime control socket (gunicorn >= 25): nothing manages the server that way, and parallel servers
# on one host (tests) would fight over one socket path.
control_socket_disable = True
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        # Access lines for every /ping (SageMaker polls it) would drown the log; the app logs invocations.
        "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
        "model_code": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
    },
}


def on_starting(server: Any) -> None:
    """Create the workers' readiness directory (inherited through the environment); log the configuration."""
    os.environ[readiness.RUN_DIR_VARIABLE] = str(readiness.create_run_dir())
    server.log.info(
        "serving on %s: %d worker(s) x %d thread(s), at most %d inference request(s) admitted per worker, "
        "%d torch thread(s) each, timeout %ss, graceful %ss, max payload %s MiB, gpu=%s",
        bind[0],
        workers,
        threads,
        _config.max_queue,
        _config.torch_threads,
        _config.timeout_s,
        graceful_timeout,
        _config.max_payload_mb,
        _config.use_gpu,
    )


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited (or was killed): it no longer counts as ready."""
    run_dir = os.environ.get(readiness.RUN_DIR_VARIABLE)
    if run_dir:
        readiness.forget(run_dir, worker.pid)


def on_exit(server: Any) -> None:
    """Remove the readiness directory."""
    run_dir = os.environ.get(readiness.RUN_DIR_VARIABLE)
    if run_dir:
        readiness.remove_run_dir(run_dir)
