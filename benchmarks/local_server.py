"""What the server benchmarks share: a model server on loopback, its memory, percentiles.

``running_server`` starts ``serve_local.py`` (the container's gunicorn stack) on a free port of
127.0.0.1 with an empty stand-in for ``/opt/ml`` (so the bundled model is served) and yields
the process and its URL; on exit it sends SIGTERM and waits.  The log goes to a file next to
the stand-in: a pipe nobody reads would stall the server once full.  ``server_memory`` reads the
RSS, PSS and USS of the gunicorn master and its workers from ``/proc``.
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
    workers: int,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 180.0,
    root: Path = ROOT,
) -> Iterator[tuple[subprocess.Popen, str]]:
    """Start the server with ``workers`` workers and extra ``env``; yield ``(process, url)`` once ready.

    ``root`` is the checkout whose ``serve_local.py`` runs (default: this one).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"floorplan_bench_{port}"
    base.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base), **(env or {})}
    command = [sys.executable, str(root / "serve_local.py"), "--port", str(port), "--workers", str(workers)]
    with (base / "server.log").open("w") as log:
        print(f"server log: {base / 'server.log'}", flush=True)
        # cwd: `python -m gunicorn` puts the working directory first on sys.path.
        server = subprocess.Popen(command, env=full_env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(url, server, ready_timeout)
            yield server, url
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its direct children (gunicorn master and workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


def process_memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of one process in MiB (from ``/proc/<pid>/smaps_rollup``)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
            fields[parts[0][:-1]] = int(parts[1])
    private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {
        "rss_mb": fields.get("Rss", 0) / 1024,
        "pss_mb": fields.get("Pss", 0) / 1024,
        "uss_mb": private / 1024,
    }


def server_memory(pid: int) -> dict[str, object]:
    """Per-process and total memory of the server whose master is ``pid``."""
    per = {}
    for p in process_tree(pid):
        try:
            per[str(p)] = process_memory(p)
        except (FileNotFoundError, ProcessLookupError):
            continue  # a worker being replaced
    totals = {key: sum(m[key] for m in per.values()) for key in ("rss_mb", "pss_mb", "uss_mb")}
    return {"processes": per, **totals}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
