"""Synthetic plan generation speed: plans per second per style at one size, on one core.

Usage::

    .venv/bin/python benchmarks/bench_synth.py --size 512 --count 100

Every style is timed on the same seeds; "all" draws the style at random per plan.  With
``--training-mix`` a last row times what a training loader draws for the shipped recipes
(``benchmarks/device_train.py``): every style including the opt-in ones, longest side 256-2,048 px
(the generator's default range), 30 % of plans on a drawing sheet, plus the room-type map
(``datasets.torch_data.render_synthetic``).  OpenCV and the BLAS libraries are pinned to one
thread.  Two rates are printed: per wall-clock second, and per second of this process's CPU time,
which is what one idle core would deliver when the machine is shared with other jobs.
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402

import cv2  # noqa: E402
from device_train import SHEETS as TRAINING_SHEETS  # noqa: E402
from device_train import STYLES as TRAINING_STYLES  # noqa: E402

from model_code.datasets.torch_data import render_synthetic  # noqa: E402
from model_code.synth import STYLES, generate_plan  # noqa: E402


def time_style(styles: list[str] | None, size: int, count: int, first_seed: int) -> tuple[float, float]:
    """``(wall, cpu)`` plans per second for ``count`` plans of ``size`` px in ``styles`` (None: all)."""
    generate_plan(first_seed, size=size, styles=styles)  # warm-up: imports, font caches
    wall, cpu = time.perf_counter(), time.process_time()
    for seed in range(first_seed, first_seed + count):
        generate_plan(seed, size=size, styles=styles)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def time_training_mix(count: int, first_seed: int) -> tuple[float, float]:
    """``(wall, cpu)`` plans per second of the training loader's mix (see the module docstring)."""
    styles = TRAINING_STYLES.split(",")
    render_synthetic(first_seed, None, TRAINING_SHEETS, styles)
    wall, cpu = time.perf_counter(), time.process_time()
    for seed in range(first_seed, first_seed + count):
        render_synthetic(seed, None, TRAINING_SHEETS, styles)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def main() -> int:
    """Print a table of plans per second per style."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="longest image side in pixels (default 512)")
    parser.add_argument("--count", type=int, default=100, help="plans per style (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--training-mix", action="store_true", help="add a row for the training loader's mix (see above)"
    )
    parser.add_argument("--only-training-mix", action="store_true", help="time only the training mix")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    cv2.setNumThreads(1)
    print(f"plans per second at {args.size} px, one core, {args.count} plans each")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'style':<10} {'plans/s wall':>13} {'plans/s cpu':>12} {'cpu ms/plan':>12}")
    for name in [] if args.only_training_mix else [*STYLES, "all"]:
        wall, cpu = time_style(None if name == "all" else [name], args.size, args.count, args.seed)
        print(f"{name:<10} {wall:13.1f} {cpu:12.1f} {1000 / cpu:12.1f}")
    if args.training_mix or args.only_training_mix:
        wall, cpu = time_training_mix(args.count, args.seed)
        mix = "(256-2,048 px, sheets, all styles)"
        print(f"{'training':<10} {wall:13.1f} {cpu:12.1f} {1000 / cpu:12.1f}  {mix}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
