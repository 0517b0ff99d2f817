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

``--seeds`` measures several plans in turn (one server); the default is seed 7, the scanned
style, whose noisy 1 MB PNG is the slowest to decode.  ``--baseline-root DIR`` first serves the same
plans from another checkout (an older commit: ``git worktree add /tmp/before COMMIT``), in the same
run and with the same Python environment, and adds its end-to-end p50 and the ratio new / old.
Prints a markdown table (one row per plan) and writes JSON (``--out``).  Example::

    .venv/bin/python benchmarks/latency_ratio.py --size 1024 --workers 2 --requests 30 \\
        --seeds 0 1 2 3 4 5 6 7 8 9 --out docs/benchmarks/latency_ratio_styles.json
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

    from model_code.model.inference import pad_to_multiple, working_shape
    from model_code.model.loader import load_model
    from model_code.model.preprocess import normalize
    from model_code.model.runtimes import EXPORTED_RUNTIMES

    model = load_model(None, threads=threads)
    if model.runtime not in EXPORTED_RUNTIMES:  # a torch runtime: torch's global thread count
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


def end_to_end_ms(url: str, seed: int, size: int, requests: int) -> list[float]:
    """Milliseconds of ``requests`` sequential requests for one synthetic plan (after 3 warm-ups)."""
    from model_code.io.images import encode_png
    from model_code.synth import generate_plan

    body = encode_png(generate_plan(seed, size=size).image)
    times = []
    for k in range(requests + 3):
        ms, _ = post(url, body)
        if k >= 3:
            times.append(ms)
    return times


def measure_plan(url: str, seed: int, size: int, threads: int, requests: int) -> dict:
    """Bare forward and end-to-end p50 for one synthetic plan (``requests`` timed requests each)."""
    from model_code.io.images import encode_png
    from model_code.synth import generate_plan

    plan = generate_plan(seed, size=size)
    body = encode_png(plan.image)
    bare, runtime, shape = bare_forward_ms(plan.image, threads, requests)
    stages: dict[str, list[float]] = {}
    e2e: list[float] = []
    for k in range(requests + 3):
        ms, document = post(url, body)
        if k < 3:
            continue  # warm-ups (both workers load lazily)
        e2e.append(ms)
        for stage, value in document.get("timing_ms", {}).items():
            stages.setdefault(stage, []).append(float(value))
    bare_p50, e2e_p50 = statistics.median(bare), statistics.median(e2e)
    return {
        "seed": seed,
        "style": plan.style,
        "image": list(plan.image.shape[:2]),
        "png_kb": round(len(body) / 1024),
        "runtime": runtime,
        "working_tensor": list(shape),
        "bare_forward_ms": {"p50": bare_p50, "p95": percentile(bare, 95)},
        "end_to_end_ms": {"p50": e2e_p50, "p95": percentile(e2e, 95), "p99": percentile(e2e, 99)},
        "worker_stages_ms_p50": {stage: statistics.median(v) for stage, v in stages.items()},
        "ratio_p50": e2e_p50 / bare_p50,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and report; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="longest side of the generated plans")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[7],
        help="synthetic plan seeds, one plan each (default 7: the scanned style, the largest PNG)",
    )
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2, as on 2 vCPUs)")
    parser.add_argument(
        "--requests", type=int, default=30, help="sequential requests per plan (after 3 warm-ups)"
    )
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra server environment")
    parser.add_argument(
        "--baseline-root",
        type=Path,
        default=None,
        help="another checkout whose server answers the same plans first (the before of a before/after)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.workers < 1:
        raise SystemExit("latency_ratio: --requests and --workers must be >= 1")
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    baseline: dict[int, list[float]] = {}
    if args.baseline_root:
        if not (args.baseline_root / "serve_local.py").is_file():
            raise SystemExit(f"latency_ratio: no serve_local.py in {args.baseline_root}")
        with running_server(args.workers, parse_env(args.env), root=args.baseline_root.resolve()) as (_, url):
            baseline = {seed: end_to_end_ms(url, seed, args.size, args.requests) for seed in args.seeds}
    with running_server(args.workers, parse_env(args.env)) as (_, url):
        plans = [measure_plan(url, seed, args.size, threads, args.requests) for seed in args.seeds]
    for plan in plans:
        if plan["seed"] in baseline:
            old = baseline[plan["seed"]]
            plan["baseline_end_to_end_ms"] = {"p50": statistics.median(old), "p95": percentile(old, 95)}
            plan["new_over_baseline_p50"] = plan["end_to_end_ms"]["p50"] / statistics.median(old)
    ratios = [plan["ratio_p50"] for plan in plans]
    result = {
        "baseline_root": str(args.baseline_root) if args.baseline_root else None,
        "size": args.size,
        "workers": args.workers,
        "threads_per_worker": threads,
        "plans": plans,
        "ratio_p50_median": statistics.median(ratios),
        "plans_within_1_3": sum(r <= 1.3 for r in ratios),
    }
    print(f"plans {args.size}px, {args.workers} workers x {threads} thread(s), runtime {plans[0]['runtime']}")
    stage_names = list(dict.fromkeys(name for plan in plans for name in plan["worker_stages_ms_p50"]))
    print("| seed | style | PNG KB | bare forward | " + " | ".join(stage_names) + " | end to end | ratio |")
    print("|" + " --- |" * (len(stage_names) + 6))
    for plan in plans:
        cells = [f"{plan['worker_stages_ms_p50'].get(name, float('nan')):.0f}" for name in stage_names]
        print(
            f"| {plan['seed']} | {plan['style']} | {plan['png_kb']} | {plan['bare_forward_ms']['p50']:.0f} | "
            + " | ".join(cells)
            + f" | {plan['end_to_end_ms']['p50']:.0f} | **{plan['ratio_p50']:.2f}** |"
        )
    if baseline:
        print("| seed | baseline p50 ms | new p50 ms | new / baseline |")
        print("| --- | --- | --- | --- |")
        for plan in plans:
            print(
                f"| {plan['seed']} | {plan['baseline_end_to_end_ms']['p50']:.0f} | "
                f"{plan['end_to_end_ms']['p50']:.0f} | **{plan['new_over_baseline_p50']:.2f}** |"
            )
        result["new_over_baseline_p50_median"] = statistics.median(p["new_over_baseline_p50"] for p in plans)
    within = result["plans_within_1_3"]
    print(f"median ratio {result['ratio_p50_median']:.2f}; {within} of {len(plans)} plans <= 1.3")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
