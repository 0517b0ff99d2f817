"""A model server on loopback for the benchmark scripts: start, wait for ``/ping``, stop.

``running_server`` starts ``serve_local.py`` (the container's gunicorn stack) on a free port of
127.0.0.1 with an empty stand-in for ``/opt/ml`` (so the bundled model is served) and yields
the process and its URL; on exit it sends SIGTERM and waits.  The log goes to a file next to
the stand-in: a pipe nobody reads would stall the server once full.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Poll ``/ping`` until 200; raise if the server exits or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering /ping")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"/ping did not answer 200 within {timeout:.0f} s")


def parse_env(items: list[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` -> dict; raises SystemExit on an item without ``=``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env takes KEY=VALUE, got {item!r}")
        out[key] = value
    return out


@contextmanager
def running_server(
    workers: int, env: Mapping[str, str] | None = None, ready_timeout: float = 180.0
) -> Iterator[tuple[subprocess.Popen, str]]:
    """Start the server with ``workers`` workers and extra ``env``; yield ``(process, url)`` once ready."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"floorplan_bench_{port}"
    base.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base), **(env or {})}
    command = [sys.executable, str(ROOT / "serve_local.py"), "--port", str(port), "--workers", str(workers)]
    with (base / "server.log").open("w") as log:
        print(f"server log: {base / 'server.log'}", flush=True)
        server = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(url, server, ready_timeout)
            yield server, url
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
