"""CPU runtime comparison of the U-Net forward pass: eager, channels_last, TorchScript, ONNX Runtime
(fp32 and int8) and OpenVINO (fp32, bf16 and int8).

A script, not a test.  Each (runtime, threads) pair runs in a fresh child process, so thread
pools, allocator caches and peak memory do not leak from one variant into the next.  The inputs
are what inference really feeds the network: a generated 1024 px plan resized to the model's
working size and padded to a multiple of 32 (``inference.working_shape`` / ``pad_to_multiple`` /
``normalize``), and the same plan padded to a 512x512 square.  ``--large 3500`` adds the whole
forward stage of the pipeline (``Pipeline.forward``: the coarse pass, the working-scale pass and its
tiles) on a generated plan of that size.  The int8 runtimes are quantised in the child, calibrated on
the generated plans of :func:`model_code.model.quantize.calibration_batches` (their ``prepare s``
includes the quantisation).  ``--max-isa AVX512_CORE_VNNI`` limits OpenVINO's kernels (oneDNN's
``ONEDNN_MAX_CPU_ISA``) to a CPU without AMX or bf16, as on older cloud instances; ONNX Runtime's own
kernels ignore it.  For every variant it reports the
median and p90 of the bare forward pass, the preparation time (trace / export), the peak RSS the
runtime adds over the loaded model and the RSS it still holds after the runs, the largest
probability difference from eager at the same thread count, and the wall-mask IoU (prob > 0.5)
against eager.  Pin it to cores: ``--cpus 1 0`` runs 1-thread variants on CPU 1 and 2-thread
variants on CPUs 1 and 0 (or wrap the whole command in ``taskset``)::

    .venv/bin/python benchmarks/runtime_compare.py --threads 1 2 --cpus 1 0 --repeats 20 \
        --out docs/benchmarks/runtimes.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from model_code.model.checkpoint import read_metadata, resolve_model_dir
from model_code.model.inference import pad_to_multiple, working_shape
from model_code.model.loader import LoadedModel, load_model
from model_code.model.preprocess import normalize
from model_code.model.quantize import calibration_batches, generated_calibration_plans
from model_code.model.runtimes import QUANTIZED_RUNTIMES, RUNTIMES, Forward, prepare_forward

SQUARE = 512


def input_batches(model: LoadedModel, seed: int, plan_size: int) -> dict[str, np.ndarray]:
    """The benchmark inputs, prepared exactly as ``inference.predict_probabilities`` prepares an image."""
    import cv2

    from model_code.synth import generate_plan

    image = generate_plan(seed, plan_size).image
    meta = model.metadata
    wh, ww = working_shape(image.shape[0], image.shape[1], meta.working_size)
    resized = (
        cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA) if (wh, ww) != image.shape[:2] else image
    )
    plan = pad_to_multiple(resized)
    square = pad_to_multiple(resized, SQUARE)
    return {
        f"plan {plan.shape[0]}x{plan.shape[1]}": normalize(plan, meta.mean, meta.std)[None],
        f"square {square.shape[0]}x{square.shape[1]}": normalize(square, meta.mean, meta.std)[None],
    }


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def time_forward(forward: Forward, batch: np.ndarray, warmup: int, repeats: int) -> list[float]:
    """Milliseconds of ``repeats`` forward passes after ``warmup`` untimed ones."""
    samples = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        forward(batch)
        if i >= warmup:
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def run_worker(args: argparse.Namespace) -> None:
    """Child process: prepare one runtime, time it on every input, write JSON + probabilities."""
    warnings.simplefilter("ignore")
    if args.cpus:
        os.sched_setaffinity(0, args.cpus[: args.threads])
    torch.set_num_threads(args.threads)
    model = load_model(args.model_dir, runtime="eager")
    inputs = input_batches(model, args.seed, args.plan_size)
    gc.collect()
    before_kib = _status_kib("VmRSS")
    peak_known = _reset_peak_rss()
    start = time.perf_counter()
    calibration = None
    if args.worker in QUANTIZED_RUNTIMES:
        meta = model.metadata
        images = None
        if args.calibration_r3d:
            images = [
                *generated_calibration_plans(),
                *r3d_training_plans(args.calibration_r3d, args.r3d_plans),
            ]
        calibration = calibration_batches(meta.working_size, meta.mean, meta.std, images)
    forward = prepare_forward(model.network, args.worker, threads=args.threads, calibration=calibration)
    prepare_s = time.perf_counter() - start
    result: dict[str, Any] = {"runtime": args.worker, "threads": args.threads, "prepare_s": prepare_s}
    arrays = {}
    for name, batch in inputs.items():
        samples = time_forward(forward, batch, args.warmup, args.repeats)
        arrays[name] = forward(batch)[0]
        result[name] = {"samples_ms": samples}
    if args.large:
        name, samples, probs = time_pipeline_forward(model, forward, args)
        arrays[name] = probs
        result[name] = {"samples_ms": samples}
    result["peak_rss_added_mib"] = (_status_kib("VmHWM") - before_kib) / 1024 if peak_known else None
    gc.collect()
    result["rss_retained_mib"] = (_status_kib("VmRSS") - before_kib) / 1024
    np.savez(args.scratch / f"{args.worker}-{args.threads}.npz", **arrays)
    (args.scratch / f"{args.worker}-{args.threads}.json").write_text(json.dumps(result))


def r3d_training_plans(folder: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` R3D plans of ``folder`` outside the bundled model's validation split."""
    from model_code.datasets.r3d import plan_ids
    from model_code.io.images import read_image

    validation = set(read_metadata(resolve_model_dir(None)).training.get("validation_ids", []))
    ids = [plan_id for plan_id in plan_ids(folder) if plan_id not in validation][:count]
    return [read_image(folder / f"{plan_id}.jpg") for plan_id in ids]


def time_pipeline_forward(
    model: LoadedModel, forward: Forward, args: argparse.Namespace
) -> tuple[str, list[float], np.ndarray]:
    """Milliseconds of the pipeline's forward stage on a generated ``--large`` px plan (all passes)."""
    from model_code.pipeline import Pipeline, PipelineOptions
    from model_code.synth import generate_plan

    image = generate_plan(args.seed, args.large).image
    pipeline = Pipeline(LoadedModel(model.metadata, forward, directory=model.directory, runtime=args.worker))
    samples, probs, passes = [], None, 0
    for i in range(1 + args.large_repeats):  # one warm-up
        start = time.perf_counter()
        probs, _, passes = pipeline.forward(image, PipelineOptions())
        if i >= 1:
            samples.append((time.perf_counter() - start) * 1000)
    assert probs is not None
    return f"pipeline forward {image.shape[0]}x{image.shape[1]} ({passes} passes)", samples, probs


def summarize(samples: list[float]) -> dict[str, float]:
    """Median and p90 (nearest rank) of a list of milliseconds."""
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(np.ceil(0.9 * len(ordered))) - 1)]
    return {"median_ms": statistics.median(ordered), "p90_ms": p90, "runs": len(ordered)}


def accuracy(probs: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Largest absolute probability difference and wall IoU (channel 0 > 0.5) against ``reference``."""
    wall, ref_wall = probs[0] > 0.5, reference[0] > 0.5
    union = np.logical_or(wall, ref_wall).sum()
    iou = float(np.logical_and(wall, ref_wall).sum() / union) if union else 1.0
    return {"max_abs_diff": float(np.abs(probs - reference).max()), "wall_iou": iou}


def run_child(args: argparse.Namespace, runtime: str, threads: int, scratch: Path) -> dict[str, Any]:
    """Run one variant in a child process and read back its JSON and probabilities."""
    command = [sys.executable, __file__, "--worker", runtime, "--threads", str(threads), "--scratch"]
    command += [str(scratch), "--seed", str(args.seed), "--plan-size", str(args.plan_size)]
    command += ["--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    command += ["--large", str(args.large), "--large-repeats", str(args.large_repeats)]
    if args.calibration_r3d:
        command += ["--calibration-r3d", str(args.calibration_r3d), "--r3d-plans", str(args.r3d_plans)]
    if args.model_dir:
        command += ["--model-dir", args.model_dir]
    if args.cpus:
        command += ["--cpus", *map(str, args.cpus)]
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": args.max_isa} if args.max_isa else None
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{runtime} with {threads} thread(s) failed:\n{done.stderr[-3000:]}")
    result = json.loads((scratch / f"{runtime}-{threads}.json").read_text())
    with np.load(scratch / f"{runtime}-{threads}.npz") as data:
        result["probs"] = {name: data[name] for name in data.files}
    return result


def compare(args: argparse.Namespace) -> list[dict[str, Any]]:
    """All rows: every runtime at every thread count on every input, with accuracy against eager."""
    runtimes = ["eager"] + [r for r in args.runtimes if r != "eager"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pairs = [(threads, runtime) for threads in args.threads for runtime in runtimes]
        results = {}
        for threads, runtime in tqdm(pairs, desc="variants", unit="variant"):
            results[(runtime, threads)] = run_child(args, runtime, threads, Path(tmp))
    for (runtime, threads), result in results.items():
        eager = results[("eager", threads)]
        for name, probs in result["probs"].items():
            row = {"runtime": runtime, "threads": threads, "input": name}
            row |= summarize(result[name]["samples_ms"])
            row["speedup_vs_eager"] = summarize(eager[name]["samples_ms"])["median_ms"] / row["median_ms"]
            row |= accuracy(probs, eager["probs"][name])
            row["prepare_s"] = result["prepare_s"]
            row["peak_rss_added_mib"] = result["peak_rss_added_mib"]
            row["rss_retained_mib"] = result["rss_retained_mib"]
            row["samples_ms"] = [round(s, 2) for s in result[name]["samples_ms"]]
            rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table."""
    lines = [
        "| input | threads | runtime | median ms | p90 ms | vs eager | max abs diff | wall IoU | prepare s "
        "| peak RSS added MiB | RSS retained MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(rows, key=lambda r: (r["input"], r["threads"], RUNTIMES.index(r["runtime"]))):
        rss = "-" if r["peak_rss_added_mib"] is None else f"{r['peak_rss_added_mib']:.0f}"
        lines.append(
            f"| {r['input']} | {r['threads']} | {r['runtime']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} "
            f"| {r['speedup_vs_eager']:.2f}x | {r['max_abs_diff']:.1e} | {r['wall_iou']:.5f} "
            f"| {r['prepare_s']:.2f} | {rss} | {r['rss_retained_mib']:.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``--worker`` and ``--scratch`` are internal, for the child processes)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", default=None, help="checkpoint directory (default: bundled model)")
    parser.add_argument(
        "--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES, help="variants (eager always runs)"
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch / ORT intra-op threads")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per input (>= 15 recommended)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before timing")
    parser.add_argument("--seed", type=int, default=900, help="synthetic plan seed")
    parser.add_argument("--plan-size", type=int, default=1024, help="longest side of the generated plan")
    parser.add_argument(
        "--large", type=int, default=0, help="also time Pipeline.forward on a plan this large (0: no)"
    )
    parser.add_argument("--large-repeats", type=int, default=5, help="timed runs on the --large plan")
    parser.add_argument(
        "--max-isa", default=None, help="ONEDNN_MAX_CPU_ISA for the children (e.g. AVX512_CORE_VNNI)"
    )
    parser.add_argument(
        "--calibration-r3d",
        type=Path,
        default=None,
        help="R3D folder: calibrate the int8 runtimes on its training plans as well as the generated ones",
    )
    parser.add_argument("--r3d-plans", type=int, default=32, help="R3D training plans with --calibration-r3d")
    parser.add_argument(
        "--cpus",
        type=int,
        nargs="+",
        default=None,
        help="pin a variant with T threads to the first T of these CPU ids (default: no pinning)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--worker", choices=RUNTIMES, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or min(args.threads) < 1:
        parser.error("--repeats must be >= 1, --warmup >= 0 and every --threads value >= 1")
    if args.cpus and len(args.cpus) < max(args.threads):
        parser.error(f"--cpus lists {len(args.cpus)} CPU(s) but --threads asks for up to {max(args.threads)}")
    if args.cpus and not set(args.cpus) <= os.sched_getaffinity(0):
        parser.error(f"--cpus {args.cpus} are not all available here ({sorted(os.sched_getaffinity(0))})")
    if args.worker and (args.scratch is None or len(args.threads) != 1):
        parser.error("--worker needs --scratch and exactly one --threads value")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the comparison (or, with ``--worker``, one variant) and print the table."""
    args = parse_args(argv)
    if args.worker:
        args.threads = args.threads[0]
        run_worker(args)
        return 0
    rows = compare(args)
    print(f"MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', '(glibc default)')}")
    print(markdown(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = read_metadata(resolve_model_dir(args.model_dir))
        payload = {
            "model": meta.name,
            "version": meta.version,
            "working_size": meta.working_size,
            "torch": torch.__version__,
            "onnxruntime": _onnxruntime_version(),
            "repeats": args.repeats,
            "warmup": args.warmup,
            "seed": args.seed,
            "plan_size": args.plan_size,
            "cpus": args.cpus,
            "large": args.large,
            "max_isa": args.max_isa,
            "calibration_r3d": str(args.calibration_r3d) if args.calibration_r3d else None,
            "openvino": _version("openvino"),
            "nncf": _version("nncf"),
            "MALLOC_MMAP_THRESHOLD_": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
            "rows": rows,
        }
        args.out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _onnxruntime_version() -> str | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.__version__


if __name__ == "__main__":
    sys.exit(main())
