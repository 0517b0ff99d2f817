"""Memory of the model server over many requests (a script, not a test).

Starts ``serve_local.py`` (the same gunicorn stack as the container) on a free loopback port
with the given number of workers and extra environment, waits for ``/ping``, then sends
``--requests`` requests from ``--concurrency`` clients.  The requests cycle through generated
plans of several sizes plus a share of bad requests (garbage bytes, an empty body), so error
paths are soaked too.  Every ``--every`` requests it records, for the gunicorn master and each
worker, from ``/proc/<pid>/smaps_rollup``:

* RSS - resident pages, shared ones counted in every process (the sum over-counts);
* PSS - shared pages split between the processes sharing them (the sum is the real total);
* USS - pages private to the process.

It reports the totals at the start and end, the growth between the first and the last tenth
of the run, writes JSON (``--out``) and a plot (``--plot``), and stops the server with SIGTERM.

Example (the numbers in docs/benchmarks.md)::

    .venv/bin/python benchmarks/memory_soak.py --workers 2 --requests 1000 --concurrency 4 \\
        --out docs/benchmarks/memory_soak.json --plot docs/images/memory_soak.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local_server import parse_env, running_server, server_memory  # benchmarks/ is on sys.path as a script

BAD_BODIES = (b"not an image at all", b"")


def post(url: str, body: bytes, timeout: float) -> int:
    """One ``/invocations`` request; the HTTP status, or 0 on a connection error."""
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "image/png"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def request_bodies(sizes: list[int], seed: int, bad_every: int) -> list[bytes]:
    """The cycle of bodies: one generated plan per size, and a bad body every ``bad_every``."""
    from model_code.io.images import encode_png
    from model_code.synth import generate_plan

    plans = [encode_png(generate_plan(seed + k, size=size).image) for k, size in enumerate(sizes)]
    cycle: list[bytes] = []
    for k in range(max(bad_every, 1) * len(plans)):
        if bad_every and k % bad_every == bad_every - 1:
            cycle.append(BAD_BODIES[(k // bad_every) % len(BAD_BODIES)])
        else:
            cycle.append(plans[k % len(plans)])
    return cycle


def workers_rss_mb(sample: dict[str, object]) -> float:
    """The workers' summed RSS in one sample: every process but the gunicorn master (the lowest pid,
    as the master starts its workers)."""
    processes = sample["processes"]
    assert isinstance(processes, dict)
    master = min(processes, key=int)
    return float(sum(p["rss_mb"] for pid, p in processes.items() if pid != master))


def plot(samples: list[dict[str, object]], path: Path, title: str) -> None:
    """Total RSS, PSS and USS against requests served."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [s["requests"] for s in samples]
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=110)
    curves = (
        ("rss_mb", "RSS (sum, over-counts shared pages)"),
        ("pss_mb", "PSS (sum = real total)"),
        ("uss_mb", "USS (private)"),
    )
    for key, label in curves:
        ax.plot(done, [s[key] for s in samples], marker=".", label=label)
    ax.plot(done, [workers_rss_mb(s) for s in samples], marker=".", label="RSS of the workers (sum)")
    ax.axhline(1024, color="grey", linestyle="--", linewidth=1, label="1 GiB target, workers")
    ax.set_xlabel("requests served")
    ax.set_ylabel("MiB, master + workers")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--requests", type=int, default=1000, help="requests to send (default 1000)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel clients (default 4)")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[512, 1024, 2048], help="plan sizes to cycle through"
    )
    parser.add_argument("--bad-every", type=int, default=10, help="every Nth request is a bad body (0: none)")
    parser.add_argument("--every", type=int, default=50, help="sample memory every N requests")
    parser.add_argument("--seed", type=int, default=11, help="first synthetic plan seed")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra server environment")
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request timeout, seconds")
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    parser.add_argument("--plot", type=Path, default=None, help="PNG plot of memory against requests")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the soak; returns the exit code (1 when requests failed unexpectedly)."""
    args = build_parser().parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.every < 1 or args.workers < 1:
        raise SystemExit("memory_soak: --requests, --concurrency, --every and --workers must be >= 1")
    extra = parse_env(args.env)
    bodies = request_bodies(args.sizes, args.seed, args.bad_every)
    samples: list[dict[str, object]] = []
    statuses: dict[str, int] = {}
    with running_server(args.workers, extra) as (server, url):
        time.sleep(1.0)
        samples.append({"requests": 0, **server_memory(server.pid)})
        sent = 0
        start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            while sent < args.requests:
                batch = min(args.every, args.requests - sent)
                chunk = [bodies[(sent + k) % len(bodies)] for k in range(batch)]
                for status in pool.map(lambda body: post(url, body, args.timeout), chunk):
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
                sent += batch
                samples.append({"requests": sent, **server_memory(server.pid)})
                last = samples[-1]
                print(
                    f"{sent:5d} requests: RSS {last['rss_mb']:.0f} MiB, PSS {last['pss_mb']:.0f} MiB,"
                    f" USS {last['uss_mb']:.0f} MiB",
                    flush=True,
                )
        elapsed = time.perf_counter() - start
    tenth = max(len(samples) // 10, 1)
    early = samples[1 : 1 + tenth] or samples[:1]
    late = samples[-tenth:]

    def mean(rows: list[dict[str, object]], key: str) -> float:
        return sum(float(r[key]) for r in rows) / len(rows)

    growth = {key: mean(late, key) - mean(early, key) for key in ("rss_mb", "pss_mb", "uss_mb")}
    expected_bad = sum(1 for k in range(args.requests) if bodies[k % len(bodies)] in BAD_BODIES)
    unexpected = sum(n for s, n in statuses.items() if s not in ("200", "400", "415")) + abs(
        sum(n for s, n in statuses.items() if s in ("400", "415")) - expected_bad
    )
    result = {
        "workers": args.workers,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "sizes": args.sizes,
        "bad_every": args.bad_every,
        "env": extra,
        "seconds": elapsed,
        "statuses": statuses,
        "unexpected_statuses": unexpected,
        "growth_last_vs_first_tenth_mb": growth,
        "peak_mb": {key: max(float(s[key]) for s in samples) for key in ("rss_mb", "pss_mb", "uss_mb")},
        "samples": samples,
    }
    print(f"\n{args.requests} requests in {elapsed:.0f} s, statuses {statuses}, {args.workers} workers")
    print("| memory (master + workers) | start | end | peak | growth, last vs first tenth |")
    print("| --- | --- | --- | --- | --- |")
    for key, label in (("rss_mb", "RSS sum"), ("pss_mb", "PSS sum"), ("uss_mb", "USS sum")):
        print(
            f"| {label} | {samples[0][key]:.0f} MiB | {samples[-1][key]:.0f} MiB"
            f" | {result['peak_mb'][key]:.0f} MiB | {growth[key]:+.0f} MiB |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if args.plot:
        settings = " ".join(f"{k}={v}" for k, v in extra.items()) or "default settings"
        plot(samples, args.plot, f"{args.workers} workers, {args.requests} requests, {settings}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
