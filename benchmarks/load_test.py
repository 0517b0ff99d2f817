"""End-to-end load against a running endpoint on loopback (a script, not a test).

Sends the same generated plan from 1..N concurrent clients for a bounded number of requests
and reports p50/p95/p99 latency, requests per second and errors per concurrency level, plus
the resident memory of the server's processes (when ``--server-pid`` is the gunicorn master).
Example, with ``make serve`` running in another shell::

    .venv/bin/python benchmarks/load_test.py --url http://127.0.0.1:8080 --size 1024 \
        --concurrency 1 2 4 8 --requests 24 --server-pid "$(pgrep -of 'gunicorn')" \
        --out docs/benchmarks/load.json

``--ping-under-load`` instead keeps ``/invocations`` busy from each concurrency level's clients for
``--duration`` seconds (a client sends its next request as soon as one is answered, 503s included)
while one more client pings every 50 ms, and reports ``/ping`` p50/p99/max and the invocation
statuses (``--backoff``: clients wait a 503's Retry-After).  ``--timeout-probe`` sends one plan that
takes longer than the request timeout (a server with ``MODEL_SERVER_TIMEOUT=--probe-timeout``) and
measures when it is answered and how soon the worker serves again.  ``--start-server``
starts ``serve_local.py`` of ``--root`` (default: this checkout) itself, with ``--env`` settings::

    .venv/bin/python benchmarks/load_test.py --start-server --workers 2 --ping-under-load \
        --concurrency 16 32 --duration 20 --timeout-probe --out docs/benchmarks/ping.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

from local_server import (  # benchmarks/ is on sys.path as a script
    ROOT,
    parse_env,
    percentile,
    running_server,
    server_memory,
)

from model_code.io.images import encode_png
from model_code.synth import generate_plan

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def post(url: str, body: bytes, timeout: float, attributes: str | None = None) -> tuple[float, int]:
    """One ``/invocations`` request: (seconds, HTTP status or 0 on a connection error)."""
    seconds, status, _ = post_retry_after(url, body, timeout, attributes)
    return seconds, status


def post_retry_after(
    url: str, body: bytes, timeout: float, attributes: str | None = None
) -> tuple[float, int, float]:
    """One ``/invocations`` request: (seconds, HTTP status or 0, the Retry-After header's seconds or 0)."""
    headers = {"Content-Type": "image/png"}
    if attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = attributes
    request = urllib.request.Request(f"{url}/invocations", data=body, headers=headers, method="POST")
    start = time.perf_counter()
    retry_after = 0.0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        retry_after = float(exc.headers.get("Retry-After") or 0)
        exc.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        status = 0
    return time.perf_counter() - start, status, retry_after


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


def ping(url: str, timeout: float) -> tuple[float, int]:
    """One ``GET /ping``: (seconds, HTTP status or 0 on a connection error or timeout)."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        status = 0
    return time.perf_counter() - start, status


def ping_loop(url: str, start: float, stop: float) -> list[tuple[float, int]]:
    """Ping every 50 ms between the monotonic times ``start`` and ``stop`` (run in its own process)."""
    pings = []
    time.sleep(max(0.0, start - time.monotonic()))
    while time.monotonic() < stop:
        pings.append(ping(url, timeout=10.0))  # SageMaker gives up after 2 s; 10 s shows how late
        time.sleep(0.05)
    return pings


def run_ping_level(
    url: str, body: bytes, concurrency: int, duration: float, timeout: float, backoff: bool
) -> dict:
    """``/ping`` latency (ms) while ``concurrency`` clients keep ``/invocations`` busy for ``duration`` s.

    The pings come from a process of their own, so the clients' threads do not delay them here.
    With ``backoff`` a client waits the Retry-After of a 503 before its next request.
    """
    begin = time.monotonic()
    stop = begin + duration
    results: list[tuple[float, int]] = []

    def client() -> None:
        while time.monotonic() < stop:
            seconds, status, retry_after = post_retry_after(url, body, timeout)
            results.append((seconds, status))
            if backoff and retry_after:
                time.sleep(min(retry_after, max(0.0, stop - time.monotonic())))

    with ProcessPoolExecutor(1) as pinger:
        pinged = pinger.submit(ping_loop, url, begin + min(2.0, duration / 4), stop)  # after load builds up
        clients = [threading.Thread(target=client) for _ in range(concurrency)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        pings = pinged.result()
    ok_pings = [s * 1000 for s, status in pings if status == 200]
    latencies = [s * 1000 for s, status in results if status == 200]
    statuses: dict[str, int] = {}
    for _, status in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "concurrency": concurrency,
        "backoff": backoff,
        "duration_s": duration,
        "pings": len(pings),
        "ping_failures": sum(1 for _, status in pings if status != 200),
        "ping_p50_ms": percentile(ok_pings, 50) if ok_pings else float("nan"),
        "ping_p99_ms": percentile(ok_pings, 99) if ok_pings else float("nan"),
        "ping_max_ms": max(s * 1000 for s, _ in pings) if pings else float("nan"),
        "ping_over_2s": sum(1 for s, _ in pings if s > 2.0),
        "invocation_statuses": statuses,
        "invocation_p50_ms": percentile(latencies, 50) if latencies else float("nan"),
        "ok_per_s": len(latencies) / duration,
    }


def run_timeout_probe(url: str, size: int, seed: int, timeout: float) -> dict:
    """One plan slower than the request timeout, then small plans until one is served again."""
    big = encode_png(generate_plan(seed, size=size).image)
    small = encode_png(generate_plan(seed, size=256).image)
    start = time.perf_counter()
    seconds, status = post(url, big, timeout, attributes="resolution=input")
    refused = 0
    while True:
        _, again = post(url, small, timeout)
        if again == 200 or time.perf_counter() - start > timeout:
            break
        refused += 1
        time.sleep(0.05)
    return {
        "plan_px": size,
        "status": status,
        "answered_after_s": seconds,
        "next_200_after_s": time.perf_counter() - start,
        "refused_meanwhile": refused,
        "ping_ms_after": ping(url, 10.0)[0] * 1000,
    }


def ping_report(args: argparse.Namespace, url: str, body: bytes) -> dict:
    """The ``--ping-under-load`` measurements, printed as a table."""
    levels = [
        run_ping_level(url, body, c, args.duration, args.timeout, args.backoff) for c in args.concurrency
    ]
    clients = "wait Retry-After after a 503" if args.backoff else "retry at once"
    print(f"plan {args.size}px, {args.duration:.0f} s per level, /ping every 50 ms, clients {clients}")
    print("| concurrency | /ping p50 ms | p99 ms | max ms | pings > 2 s | invocations by status | ok/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for level in levels:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(level["invocation_statuses"].items()))
        print(
            f"| {level['concurrency']} | {level['ping_p50_ms']:.0f} | {level['ping_p99_ms']:.0f}"
            f" | {level['ping_max_ms']:.0f} | {level['ping_over_2s']} of {level['pings']}"
            f" | {statuses} | {level['ok_per_s']:.2f} |"
        )
    return {"size": args.size, "ping_under_load": levels}


def probe_report(args: argparse.Namespace, url: str) -> dict:
    """The ``--timeout-probe`` measurement, printed."""
    probe = run_timeout_probe(url, args.probe_size, args.seed, args.timeout)
    print(
        f"timeout probe ({probe['plan_px']} px, resolution=input, timeout {args.probe_timeout} s): "
        f"HTTP {probe['status']} after {probe['answered_after_s']:.1f} s; next 200 after "
        f"{probe['next_200_after_s']:.1f} s ({probe['refused_meanwhile']} refused meanwhile); "
        f"/ping {probe['ping_ms_after']:.0f} ms"
    )
    return probe


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
    parser.add_argument("--ping-under-load", action="store_true", help="measure /ping while invocations run")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level (--ping-under-load)")
    parser.add_argument("--backoff", action="store_true", help="clients wait Retry-After after a 503")
    parser.add_argument("--timeout-probe", action="store_true", help="send one plan over the request timeout")
    parser.add_argument(
        "--probe-timeout", type=int, default=1, help="MODEL_SERVER_TIMEOUT of the probe's server"
    )
    parser.add_argument("--probe-size", type=int, default=4096, help="longest side of the timeout probe plan")
    parser.add_argument("--start-server", action="store_true", help="start serve_local.py of --root")
    parser.add_argument("--workers", type=int, default=2, help="workers of the started server")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server starts")
    parser.add_argument("--env", nargs="*", default=[], help="KEY=VALUE settings of the started server")
    args = parser.parse_args()
    if urlparse(args.url).hostname not in LOOPBACK:
        parser.error("load tests only target loopback addresses")

    body = encode_png(generate_plan(args.seed, size=args.size).image)
    if args.ping_under_load or args.timeout_probe:
        report: dict = {}
        env = {"PYTHONPATH": str(args.root.resolve()), **parse_env(args.env)}
        if args.ping_under_load and args.start_server:
            with running_server(args.workers, env, root=args.root.resolve()) as (_, url):
                post(url, body, args.timeout)  # warm-up
                report.update(ping_report(args, url, body))
        elif args.ping_under_load:
            post(args.url, body, args.timeout)
            report.update(ping_report(args, args.url, body))
        if args.timeout_probe and args.start_server:
            env["MODEL_SERVER_TIMEOUT"] = str(args.probe_timeout)
            with running_server(args.workers, env, root=args.root.resolve()) as (_, url):
                report["timeout_probe"] = probe_report(args, url)
        elif args.timeout_probe:
            report["timeout_probe"] = probe_report(args, args.url)
        report["root"] = str(args.root.resolve())
        report["env"] = parse_env(args.env)
        report["cpus"] = os.cpu_count()
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=2) + "\n")
        return
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
