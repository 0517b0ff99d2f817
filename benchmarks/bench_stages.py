"""Per-stage latency of one request: decode, forward, vectorize, rooms, encode (a script, not a test).

Plans come from the synthetic generator at each size; every stage is the production code path
(``imageio.decode_image``, ``Pipeline.analyze``, ``json.dumps``).  Prints a markdown table and
writes JSON.  Example::

    .venv/bin/python benchmarks/bench_stages.py --sizes 512 1024 2048 --repeats 5 --threads 2 \
        --out docs/benchmarks/stages.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from model_code.io.images import decode_image, encode_png
from model_code.pipeline import Pipeline, PipelineOptions
from model_code.synth import generate_plan

STAGES = ("decode", "forward", "vectorize", "rooms", "encode", "total")


def measure(
    pipeline: Pipeline, size: int, repeats: int, seed: int, backend: str, views: int = 1
) -> dict[str, float]:
    """Median milliseconds per stage for ``repeats`` plans of longest side ``size``; "forward" counts
    every network pass (the coarse one, one at another working scale, the other views)."""
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for i in range(repeats + 1):  # the first run warms caches and is discarded
        body = encode_png(generate_plan(seed + i, size=size).image)
        start = time.perf_counter()
        image = decode_image(body)
        decoded = time.perf_counter()
        result = pipeline.analyze(image, PipelineOptions(backend=backend, views=views))
        analysed = time.perf_counter()
        json.dumps(result.document.to_dict())
        done = time.perf_counter()
        if i == 0:
            continue
        timing = result.document.timing_ms
        samples["decode"].append((decoded - start) * 1000)
        passes = [ms for stage, ms in timing.items() if stage.startswith("forward")]
        samples["forward"].append(sum(passes) if passes else timing.get("baseline", 0.0))
        samples["vectorize"].append(timing["vectorize"])
        samples["rooms"].append(timing["rooms"])
        samples["encode"].append((done - analysed) * 1000)
        samples["total"].append((done - start) * 1000)
    return {stage: statistics.median(values) for stage, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", default=None, help="checkpoint directory (default: bundled model)")
    parser.add_argument("--backend", default="unet", choices=("unet", "opencv"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=900)
    parser.add_argument("--views", type=int, default=1, choices=(1, 2, 4), help="mirrored views averaged")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    pipeline = Pipeline.load(args.model_dir) if args.backend == "unet" else Pipeline(None)
    rows = {}
    for size in args.sizes:
        rows[size] = measure(pipeline, size, args.repeats, args.seed, args.backend, args.views)
    meta = pipeline.model.metadata if pipeline.model else None
    header = "| size | " + " | ".join(STAGES) + " | post-processing share |"
    working = meta.working_size if meta else "-"
    print(f"backend={args.backend} views={args.views} threads={args.threads} working_size={working}")
    print(header)
    print("|" + " --- |" * (len(STAGES) + 2))
    for size, row in rows.items():
        share = (row["total"] - row["forward"]) / row["total"]
        cells = " | ".join(f"{row[s]:.0f}" for s in STAGES)
        print(f"| {size} | {cells} | {share:.0%} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "backend": args.backend,
            "threads": args.threads,
            "views": args.views,
            "model": meta.name if meta else "opencv",
            "working_size": meta.working_size if meta else None,
            "median_ms": {str(k): v for k, v in rows.items()},
        }
        args.out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
