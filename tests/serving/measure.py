"""Measure the serve stack: seconds from start to /ping 200, latency of 1024x1024 requests, worker memory.

Usage: ``python -m tests.serving.measure [--model-dir DIR] [--requests 5] [--workers 1]``
(default model: ``$SAGEMAKER_BASE_DIR/model`` or the bundled default, as in production).
It starts ``serve_local.py`` on a free loopback port, so it measures the real stack.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from tqdm import tqdm

from tests.serving.helpers import SERVE_LOCAL, ServerProcess, encode, free_port, plan_image, serving_env


def worker_memory_mb(server: ServerProcess) -> dict[str, float]:
    """Peak and current resident memory (MiB) of the gunicorn worker processes (children of the master)."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    out: dict[str, float] = {}
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = max(out.get(key, 0.0), int(value.split()[0]) / 1024)
    return out


def main(argv: list[str] | None = None) -> int:
    """Start the server, time it, print one summary line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="checkpoint to serve (default: as in production)")
    parser.add_argument("--requests", type=int, default=5, help="number of 1024x1024 requests (default 5)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (default 1)")
    args = parser.parse_args(argv)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, str(SERVE_LOCAL), "--port", str(port), "--workers", str(args.workers)]
        if args.model_dir:
            command += ["--model-dir", str(args.model_dir)]
        env = serving_env(Path(tmp) / "base", port, {})
        env.pop("OMP_NUM_THREADS")
        server = ServerProcess(command, env, port, Path(tmp) / "serve.log")
        try:
            ready = server.wait_for(200, timeout_s=600)
            print(f"start -> /ping 200: {ready:.1f} s")
            body = encode(plan_image(1024, 1024, seed=7))
            latencies, timings = [], []
            for _ in tqdm(range(args.requests), desc="1024x1024 requests", file=sys.stderr):
                start = time.perf_counter()
                response = requests.post(
                    f"{server.url}/invocations", data=body, headers={"Content-Type": "image/png"}, timeout=300
                )
                latencies.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
                timings.append(response.json()["timing_ms"])
            model = response.json()["model"]
            print(f"model: {model['name']} {model['version']} ({model['backend']})")
            print(
                f"1024x1024 PNG ({len(body) / 1024:.0f} KiB) latency over {args.requests} requests: "
                f"median {statistics.median(latencies):.0f} ms, min {min(latencies):.0f} ms, "
                f"max {max(latencies):.0f} ms"
            )
            for key in timings[-1]:
                print(f"  server {key}: median {statistics.median(t[key] for t in timings):.0f} ms")
            memory = worker_memory_mb(server)
            print(
                f"worker memory: RSS {memory.get('VmRSS', 0):.0f} MiB, peak {memory.get('VmHWM', 0):.0f} MiB"
            )
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
