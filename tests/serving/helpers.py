"""Helpers for the serving tests: generated plans, a free port, a real server process on loopback."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import requests
from PIL import Image

from model_code.synth import generate_plan

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "container" / "serve"
ENTRYPOINT = ROOT / "container" / "entrypoint"
SERVE_LOCAL = ROOT / "serve_local.py"
GUNICORN_CONF = ROOT / "container" / "gunicorn.conf.py"
STUB_APP = "tests.serving.stub_app:create_app()"
VENV_BIN = Path(sys.executable).parent
PING_TIMEOUT_S = 2.0


def plan_image(width: int = 320, height: int = 240, seed: int = 11) -> np.ndarray:
    """A synthetic plan from ``model_code.synth`` resized to ``width`` x ``height`` (never R3D data)."""
    plan = generate_plan(seed, size=max(128, width, height))
    return cv2.resize(plan.image, (width, height), interpolation=cv2.INTER_AREA)


def encode(image: np.ndarray, fmt: str = "PNG", **params: object) -> bytes:
    """Encode an RGB array as PNG or JPEG bytes with Pillow."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def request_in_flight(
    url: str, body: bytes, headers: dict[str, str], log: Callable[[], str], poll_s: float = 0.05
) -> tuple[threading.Thread, dict[str, object]]:
    """POST ``body`` to ``url``/invocations from a thread; return once ``log()`` shows it started.

    Returns the sender thread and its outcome: ``{"response": ...}`` or ``{"error": ...}`` once it ends.
    """
    outcome: dict[str, object] = {}

    def send() -> None:
        try:
            outcome["response"] = requests.post(f"{url}/invocations", data=body, headers=headers, timeout=120)
        except requests.RequestException as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 60
    while "invocation started" not in log():
        assert time.monotonic() < deadline, log()
        time.sleep(poll_s)
    return sender, outcome


def ping_once_loaded(client, timeout_s: float = 30.0):
    """The first ``/ping`` answer of an in-process app (Flask test client) that is no longer ``loading``."""
    deadline = time.monotonic() + timeout_s
    while (answer := client.get("/ping")).json["status"] == "loading":
        assert time.monotonic() < deadline, "the model is still loading"
        time.sleep(0.05)
    return answer


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A real serving process (``container/serve`` or ``serve_local.py``) bound to 127.0.0.1."""

    def __init__(self, command: Sequence[str], env: dict[str, str], port: int, log_path: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.ping_statuses: list[int | str] = []
        self.ready_after_s: float | None = None
        self._log = log_path.open("wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            list(command),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )

    @classmethod
    def serve(
        cls, base_dir: Path, log_path: Path, command: Sequence[str] = (str(SERVE),), **env_overrides: str
    ) -> ServerProcess:
        """Start ``container/serve`` with ``SAGEMAKER_BASE_DIR=base_dir``, one worker, on a free port."""
        port = free_port()
        env = serving_env(base_dir, port, env_overrides)
        return cls(command, env, port, log_path)

    @classmethod
    def stub(cls, log_path: Path, **env_overrides: str) -> ServerProcess:
        """gunicorn with ``container/gunicorn.conf.py`` serving ``tests.serving.stub_app`` (stub model)."""
        port = free_port()
        env = serving_env(log_path.parent / "no_base", port, env_overrides)
        command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), STUB_APP]
        return cls(command, env, port, log_path)

    def log(self) -> str:
        """Everything the server wrote so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def ping(self) -> int | str:
        """The /ping status code, or the name of the connection error."""
        try:
            return requests.get(f"{self.url}/ping", timeout=PING_TIMEOUT_S).status_code
        except requests.RequestException as exc:
            return type(exc).__name__

    def ping_json(self) -> dict:
        """The /ping JSON body."""
        return requests.get(f"{self.url}/ping", timeout=PING_TIMEOUT_S).json()

    def wait_for(self, status: int, timeout_s: float = 120.0, interval_s: float = 0.25) -> float:
        """Poll /ping until it answers ``status``; returns seconds since start. Fails on exit or timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.ping()
            if not self.ping_statuses or self.ping_statuses[-1] != code:
                self.ping_statuses.append(code)
            if code == status:
                self.ready_after_s = time.monotonic() - self.started
                return self.ready_after_s
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(interval_s)
        raise AssertionError(f"/ping never answered {status} (saw {self.ping_statuses}):\n{self.log()}")

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, wait for exit (SIGKILL after ``timeout_s``); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()
        return self.process.returncode


def serving_env(base_dir: Path, port: int, overrides: dict[str, str]) -> dict[str, str]:
    """A clean environment for a test server: venv on PATH, loopback, one worker, one torch thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "SM_", "MODEL_SERVER_"))}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHON": sys.executable,
            "SAGEMAKER_BASE_DIR": str(base_dir),
            "SAGEMAKER_BIND_TO_PORT": str(port),
            "SERVING_BIND_HOST": "127.0.0.1",
            "MODEL_SERVER_WORKERS": "1",
            "OMP_NUM_THREADS": "1",
        }
    )
    env.update(overrides)
    return env
