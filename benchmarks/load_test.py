"""End-to-end load against a running endpoint on loopback (a script, not a test).

Sends the same generated plan from 1..N concurrent clients for a bounded number of requests
and reports p50/p95/p99 latency, requests per second and errors per concurrency level, plus
the resident memory of the server's processes (when ``--server-pid`` is the gunicorn master).
Example, with ``make serve`` running in another shell::

    .venv/bin/python benchmarks/load_test.py --url http://127.0.0.1:8080 --size 1024 \
        --concurrency 1 2 4 8 --requests 24 --server-pid "$(pgrep -of 'gunicorn')" \
        --out docs/benchmarks/load.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

from local_server import percentile, server_memory  # benchmarks/ is on sys.path as a script

from model_code.io.images import encode_png
from model_code.synth import generate_plan

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def post(url: str, body: bytes, timeout: float) -> tuple[float, int]:
    """One ``/invocations`` request: (seconds, HTTP status or 0 on a connection error)."""
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "image/png"}, method="POST"
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError):
        status = 0
    return time.perf_counter() - start, status


def run_level(url: str, body: bytes, concurrency: int, requests: int, timeout: float) -> dict[str, float]:
    """Send ``requests`` requests with ``concurrency`` clients; latency in ms."""
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: post(url, body, timeout), range(requests)))
    wall = time.perf_counter() - start
    ok = [s * 1000 for s, status in results if status == 200]
    return {
        "concurrency": concurrency,
        "requests": requests,
        "errors": sum(1 for _, status in results if status != 200),
        "p50_ms": percentile(ok, 50) if ok else float("nan"),
        "p95_ms": percentile(ok, 95) if ok else float("nan"),
        "p99_ms": percentile(ok, 99) if ok else float("nan"),
        "mean_ms": statistics.fmean(ok) if ok else float("nan"),
        "rps": len(ok) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="endpoint base URL (loopback only)")
    parser.add_argument("--size", type=int, default=1024, help="longest side of the generated plan")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--requests", type=int, default=24, help="requests per concurrency level")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--server-pid", type=int, default=None, help="gunicorn master pid for RSS")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if urlparse(args.url).hostname not in LOOPBACK:
        parser.error("load tests only target loopback addresses")

    body = encode_png(generate_plan(args.seed, size=args.size).image)
    post(args.url, body, args.timeout)  # warm-up
    levels = []
    for concurrency in args.concurrency:
        level = run_level(args.url, body, concurrency, args.requests, args.timeout)
        if args.server_pid:
            memory = server_memory(args.server_pid)["processes"]
            level["rss_mb"] = {pid: m["rss_mb"] for pid, m in memory.items()}
        levels.append(level)
    print(f"plan {args.size}px, {args.requests} requests per level")
    print("| concurrency | p50 ms | p95 ms | p99 ms | req/s | errors | server RSS MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for level in levels:
        rss = sum(level.get("rss_mb", {}).values()) or float("nan")
        print(
            f"| {level['concurrency']} | {level['p50_ms']:.0f} | {level['p95_ms']:.0f}"
            f" | {level['p99_ms']:.0f} | {level['rps']:.2f} | {level['errors']} | {rss:.0f} |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"size": args.size, "levels": levels}, indent=2) + "\n")


if __name__ == "__main__":
    main()
