"""End-to-end ``/invocations`` latency against the bare forward pass (a script, not a test).

The issue's target: the p50 of a whole request for a 1024 x 1024 plan is at most 1.3x the bare
model forward pass at the same working resolution.  This script measures both sides the way
a worker runs them:

1. **Bare forward.** In this process, with the server's thread count (``cpus // workers``) and
   runtime (``network.load_model``'s default), the model's forward pass alone on the plan's
   preprocessed working-size batch (no resize, normalisation or upsampling; the sigmoid is part
   of the exported graph).
2. **End to end.** A server started with ``serve_local.py`` (the container's gunicorn stack,
   ``--workers`` workers) answers ``--requests`` sequential POSTs of the same plan as a PNG;
   each response's ``timing_ms`` gives the stages inside the worker.

Prints a markdown table and writes JSON (``--out``).  Example::

    .venv/bin/python benchmarks/latency_ratio.py --size 1024 --workers 2 --requests 30 \\
        --out docs/benchmarks/latency_ratio.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from local_server import parse_env, percentile, running_server  # benchmarks/ is on sys.path as a script


def bare_forward_ms(image, threads: int, repeats: int) -> tuple[list[float], str, tuple[int, ...]]:
    """Milliseconds of the model forward alone on the plan's working-size batch; runtime; shape."""
    import cv2

    from model_code.inference import normalize, pad_to_multiple, working_shape
    from model_code.network import load_model

    model = load_model(None, threads=threads)
    if model.runtime != "onnx":  # a torch runtime (no onnxruntime here): torch's global thread count
        import torch

        torch.set_num_threads(threads)
    meta = model.metadata
    height, width = image.shape[:2]
    wh, ww = working_shape(height, width, meta.working_size)
    resized = (
        cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA) if (wh, ww) != (height, width) else image
    )
    batch = normalize(pad_to_multiple(resized), meta.mean, meta.std)[None]
    times = []
    for k in range(repeats + 2):  # two warm-ups
        start = time.perf_counter()
        model.probabilities(batch)
        if k >= 2:
            times.append((time.perf_counter() - start) * 1000)
    return times, model.runtime, tuple(batch.shape)


def post(url: str, body: bytes) -> tuple[float, dict]:
    """One request; (milliseconds, the result document)."""
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "image/png"}, method="POST"
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        document = json.loads(response.read())
    return (time.perf_counter() - start) * 1000, document


def main(argv: list[str] | None = None) -> int:
    """Measure and report; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="longest side of the generated plan")
    parser.add_argument("--seed", type=int, default=7, help="synthetic plan seed")
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2, as on 2 vCPUs)")
    parser.add_argument("--requests", type=int, default=30, help="sequential requests (after 3 warm-ups)")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra server environment")
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.workers < 1:
        raise SystemExit("latency_ratio: --requests and --workers must be >= 1")
    from model_code.imageio import encode_png
    from model_code.synth import generate_plan

    image = generate_plan(args.seed, size=args.size).image
    body = encode_png(image)
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    bare, runtime, shape = bare_forward_ms(image, threads, args.requests)

    stages: dict[str, list[float]] = {}
    e2e: list[float] = []
    with running_server(args.workers, parse_env(args.env)) as (_, url):
        for k in range(args.requests + 3):
            ms, document = post(url, body)
            if k < 3:
                continue  # warm-ups (both workers load lazily)
            e2e.append(ms)
            for stage, value in document.get("timing_ms", {}).items():
                stages.setdefault(stage, []).append(float(value))
    bare_p50, e2e_p50 = statistics.median(bare), statistics.median(e2e)
    result = {
        "size": args.size,
        "workers": args.workers,
        "torch_threads": threads,
        "runtime": runtime,
        "working_tensor": list(shape),
        "bare_forward_ms": {"p50": bare_p50, "p95": percentile(bare, 95)},
        "end_to_end_ms": {"p50": e2e_p50, "p95": percentile(e2e, 95), "p99": percentile(e2e, 99)},
        "worker_stages_ms_p50": {stage: statistics.median(v) for stage, v in stages.items()},
        "ratio_p50": e2e_p50 / bare_p50,
    }
    print(
        f"plan {args.size}px, {args.workers} workers x {threads} thread(s), runtime {runtime}, tensor {shape}"
    )
    print("| measure | p50 ms |")
    print("| --- | --- |")
    print(f"| bare forward ({runtime}) | {bare_p50:.0f} |")
    for stage, value in result["worker_stages_ms_p50"].items():
        print(f"| in the worker: {stage} | {value:.0f} |")
    print(f"| end to end /invocations | {e2e_p50:.0f} |")
    print(f"| **ratio** | **{result['ratio_p50']:.2f}** |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
