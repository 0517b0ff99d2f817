"""Time vectorize + rooms on one large ground-truth mask, on one thread.

The mask is a synthetic plan's true wall and opening masks (``model_code.synth``) at the
requested size (default 2048 px on the longest side).  Prints the median and best of
``--repeats`` runs for each stage, as wall-clock time and as CPU time of this process (the
CPU time is what to compare on a shared, loaded machine).  The issue's target is 100 ms for
a 2048 x 2048 mask on one core.

Usage::

    .venv/bin/python benchmarks/bench_vectorize.py [--size 2048] [--seed 3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import cv2
import numpy as np


def _single_thread() -> None:
    """Pin OpenCV and the BLAS/OpenMP pools to one thread (set before heavy imports use them)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    cv2.setNumThreads(1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2048, help="longest side of the plan in px")
    parser.add_argument("--seed", type=int, default=3, help="synthetic plan seed")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (after one warm-up)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    _single_thread()
    from model_code.geometry.rooms import detect_rooms
    from model_code.geometry.vectorize import vectorize
    from model_code.synth.generator import generate_plan

    plan = generate_plan(args.seed, args.size)
    # pad to a square canvas (the 2048 x 2048), keeping the plan where it is
    wall = np.zeros((args.size, args.size), bool)
    opening = np.zeros((args.size, args.size), bool)
    height, width = plan.wall_mask.shape
    wall[:height, :width] = plan.wall_mask
    opening[:height, :width] = plan.opening_mask
    times: dict[str, list[float]] = {k: [] for k in ("vectorize", "rooms", "total", "cpu total")}
    for run in range(args.repeats + 1):
        cpu = time.process_time()
        start = time.perf_counter()
        result = vectorize(wall, opening)
        middle = time.perf_counter()
        rooms = detect_rooms(result, wall)
        end = time.perf_counter()
        cpu = time.process_time() - cpu
        if run == 0:
            continue  # warm-up
        times["vectorize"].append((middle - start) * 1000)
        times["rooms"].append((end - middle) * 1000)
        times["total"].append((end - start) * 1000)
        times["cpu total"].append(cpu * 1000)
    height, width = wall.shape
    print(
        f"mask {width}x{height}, {int(np.count_nonzero(wall))} wall px, {len(result.walls)} walls, "
        f"{len(result.openings)} openings, {len(rooms)} rooms; one thread, {args.repeats} runs"
    )
    for stage, values in times.items():
        print(f"{stage:>10}: median {statistics.median(values):7.1f} ms, best {min(values):7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
